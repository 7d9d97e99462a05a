/*
** mem.c: the in-memory backend, for tests.
**
** A store is named ("mem:NAME") and shared by every handle of the process
** that opens the same NAME, like a bucket shared by clients. Each handle has
** its own stats and its own readonly flag. A named store keeps its objects
** for the life of the process, even while no handle is open, so that a test
** can close a database and open it again; stores no handle holds are freed
** at exit (atexit), stores still held are freed when their last handle
** closes after that. Use a fresh NAME for a fresh, empty store.
**
** All state lives in one registry guarded by one mutex; every operation
** holds it, so PUT_NEW is atomic and handles may be used from different
** threads (each handle by one thread at a time).
*/
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store.h"

typedef struct mem_obj mem_obj;
struct mem_obj {
  char *key;                    /* malloc'd key */
  unsigned char *data;          /* malloc'd bytes (NULL when len is 0) */
  size_t len;                   /* bytes in data */
  int64_t mtime;                /* time(NULL) when written */
  mem_obj *next;                /* next object in the same hash bucket */
};

typedef struct mem_bucket mem_bucket;
struct mem_bucket {
  char *name;                   /* malloc'd store name (without "mem:") */
  int n_ref;                    /* handles open on this store */
  mem_obj **slots;              /* hash table of objects, n_slot entries */
  size_t n_slot;                /* power of two */
  size_t n_obj;                 /* objects in the table */
  mem_bucket *next;             /* next store in the registry */
};

typedef struct mem_store {
  s3p_store base;               /* must be first */
  mem_bucket *b;                /* the shared store, one n_ref of it ours */
  int readonly;                 /* refuse writes */
} mem_store;

/* The registry: every named store of the process, under mem_mutex. */
static pthread_mutex_t mem_mutex = PTHREAD_MUTEX_INITIALIZER;
static mem_bucket *mem_buckets;    /* list of stores (under mem_mutex) */
static int mem_exiting;            /* atexit ran: free at last close */
static pthread_once_t mem_once = PTHREAD_ONCE_INIT;

/* mem_hash returns the FNV-1a hash of key. */
static uint64_t mem_hash(const char *key){
  uint64_t h = 1469598103934665603ULL;
  while(*key){
    h ^= (unsigned char)*key++;
    h *= 1099511628211ULL;
  }
  return h;
}

/* mem_find returns the link pointing at key's object in b (so the caller
** can unlink it), or the NULL link at the end of its chain. Caller holds
** mem_mutex. */
static mem_obj **mem_find(mem_bucket *b, const char *key){
  mem_obj **pp = &b->slots[mem_hash(key) & (b->n_slot - 1)];
  while(*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
  return pp;
}

/* mem_grow doubles b's hash table. Returns S3P_OK or S3P_ENOMEM. Caller
** holds mem_mutex. */
static int mem_grow(mem_bucket *b){
  size_t n = b->n_slot * 2, i;
  mem_obj **slots = calloc(n, sizeof(*slots));
  if(slots == NULL) return S3P_ENOMEM;
  for(i = 0; i < b->n_slot; i++){
    mem_obj *o = b->slots[i], *next;
    for(; o; o = next){
      size_t j = mem_hash(o->key) & (n - 1);
      next = o->next;
      o->next = slots[j];
      slots[j] = o;
    }
  }
  free(b->slots);
  b->slots = slots;
  b->n_slot = n;
  return S3P_OK;
}

/* mem_obj_free frees one object. */
static void mem_obj_free(mem_obj *o){
  free(o->key);
  free(o->data);
  free(o);
}

/* mem_bucket_free frees a store and all its objects; the caller has taken
** it out of the registry. */
static void mem_bucket_free(mem_bucket *b){
  size_t i;
  for(i = 0; i < b->n_slot; i++){
    mem_obj *o = b->slots[i], *next;
    for(; o; o = next){
      next = o->next;
      mem_obj_free(o);
    }
  }
  free(b->slots);
  free(b->name);
  free(b);
}

/* mem_unlink_bucket removes b from the registry. Caller holds mem_mutex. */
static void mem_unlink_bucket(mem_bucket *b){
  mem_bucket **pp = &mem_buckets;
  while(*pp && *pp != b) pp = &(*pp)->next;
  assert(*pp == b);
  *pp = b->next;
}

/* mem_atexit frees every store no handle holds, and makes the last close
** of the others free them. */
static void mem_atexit(void){
  mem_bucket *b, *next;
  pthread_mutex_lock(&mem_mutex);
  mem_exiting = 1;
  for(b = mem_buckets; b; b = next){
    next = b->next;
    if(b->n_ref == 0){
      mem_unlink_bucket(b);
      mem_bucket_free(b);
    }
  }
  pthread_mutex_unlock(&mem_mutex);
}

/* mem_init registers mem_atexit, once. */
static void mem_init(void){
  atexit(mem_atexit);
}

/* mem_put stores a copy of body under key; with only_new, leaves an existing
** object alone and returns S3P_EEXISTS. Returns S3P_OK or an error. Caller
** holds mem_mutex. */
static int mem_put(mem_bucket *b, const char *key, const unsigned char *body,
                   size_t len, int only_new){
  mem_obj **pp = mem_find(b, key);
  unsigned char *copy = NULL;
  if(*pp && only_new) return S3P_EEXISTS;
  if(len > 0){
    copy = malloc(len);
    if(copy == NULL) return S3P_ENOMEM;
    memcpy(copy, body, len);
  }
  if(*pp){
    free((*pp)->data);
    (*pp)->data = copy;
    (*pp)->len = len;
    (*pp)->mtime = (int64_t)time(NULL);
    return S3P_OK;
  }else{
    mem_obj *o = calloc(1, sizeof(*o));
    if(o == NULL || (o->key = strdup(key)) == NULL){
      free(o);
      free(copy);
      return S3P_ENOMEM;
    }
    o->data = copy;
    o->len = len;
    o->mtime = (int64_t)time(NULL);
    o->next = NULL;
    *pp = o;
    b->n_obj++;
    if(b->n_obj > b->n_slot) (void)mem_grow(b);  /* failure: just slower */
    return S3P_OK;
  }
}

/* mem_get copies [off, off+want) of key's object (want 0 = to the end;
** the range is clipped to the object) into op->data/op->len. Returns
** S3P_OK, S3P_ENOTFOUND, S3P_ENOMEM or S3P_ECORRUPT (more than
** op->max_len bytes, with the message set). Caller holds mem_mutex. */
static int mem_get(mem_store *ms, mem_bucket *b, s3p_op *op){
  mem_obj *o = *mem_find(b, op->key);
  uint64_t off = op->range_off, n;
  if(o == NULL) return S3P_ENOTFOUND;
  if(off > o->len) off = o->len;
  n = o->len - off;
  if(op->range_len > 0 && op->range_len < n) n = op->range_len;
  if(op->max_len > 0 && n > op->max_len){
    s3p_op_too_big(op, ms->base.desc, n);
    return op->rc;
  }
  op->data = malloc(n > 0 ? (size_t)n : 1);
  if(op->data == NULL) return S3P_ENOMEM;
  if(n > 0) memcpy(op->data, o->data + off, (size_t)n);
  op->len = (size_t)n;
  return S3P_OK;
}

/* mem_exec runs the batch sequentially under the registry mutex. Always
** returns S3P_OK (every op gets its own rc). */
static int mem_exec(s3p_store *st, s3p_op *ops, size_t n){
  mem_store *ms = (mem_store *)st;
  mem_bucket *b = ms->b;
  size_t i;
  pthread_mutex_lock(&mem_mutex);
  for(i = 0; i < n; i++){
    s3p_op *op = &ops[i];
    int is_write = op->kind == S3P_OP_PUT || op->kind == S3P_OP_PUT_NEW
                   || op->kind == S3P_OP_DELETE;
    if(is_write && ms->readonly){
      op->rc = S3P_EINVAL;
      op->errmsg = s3p_store_msg("%s: %s: store is read-only", st->desc, op->key);
      continue;
    }
    switch(op->kind){
      case S3P_OP_GET:
        op->rc = mem_get(ms, b, op);
        break;
      case S3P_OP_PUT:
      case S3P_OP_PUT_NEW:
        op->rc = mem_put(b, op->key, op->body, op->body_len,
                         op->kind == S3P_OP_PUT_NEW);
        break;
      case S3P_OP_HEAD: {
        mem_obj *o = *mem_find(b, op->key);
        op->rc = o ? S3P_OK : S3P_ENOTFOUND;
        op->len = o ? o->len : 0;
        break;
      }
      case S3P_OP_DELETE: {
        mem_obj **pp = mem_find(b, op->key);
        if(*pp){
          mem_obj *o = *pp;
          *pp = o->next;
          mem_obj_free(o);
          b->n_obj--;
        }
        op->rc = S3P_OK;
        break;
      }
      default:
        op->rc = S3P_EINVAL;
        break;
    }
    if(op->rc == S3P_ENOMEM){
      op->errmsg = s3p_store_msg("%s: %s: out of memory", st->desc, op->key);
    }else if(op->rc == S3P_EINVAL){
      op->errmsg = s3p_store_msg("%s: %s: bad operation", st->desc, op->key);
    }
  }
  pthread_mutex_unlock(&mem_mutex);
  return S3P_OK;
}

/* mem_list calls fn for every key of the store starting with prefix. The
** keys are collected under the mutex and reported after releasing it, so
** fn may use the store. Returns S3P_OK or S3P_ENOMEM. */
static int mem_list(s3p_store *st, const char *prefix, s3p_list_fn fn,
                    void *arg, char **errmsg){
  mem_store *ms = (mem_store *)st;
  mem_bucket *b = ms->b;
  size_t plen = strlen(prefix), i, n = 0, cap = 0;
  struct mem_ent { char *key; uint64_t size; int64_t mtime; } *ents = NULL;
  int rc = S3P_OK;

  pthread_mutex_lock(&mem_mutex);
  for(i = 0; i < b->n_slot && rc == S3P_OK; i++){
    mem_obj *o;
    for(o = b->slots[i]; o && rc == S3P_OK; o = o->next){
      if(strncmp(o->key, prefix, plen) != 0) continue;
      if(n == cap){
        size_t ncap = cap ? cap * 2 : 64;
        struct mem_ent *e = realloc(ents, ncap * sizeof(*e));
        if(e == NULL){ rc = S3P_ENOMEM; break; }
        ents = e;
        cap = ncap;
      }
      ents[n].key = strdup(o->key);
      if(ents[n].key == NULL){ rc = S3P_ENOMEM; break; }
      ents[n].size = o->len;
      ents[n].mtime = o->mtime;
      n++;
    }
  }
  pthread_mutex_unlock(&mem_mutex);

  for(i = 0; i < n; i++){
    if(rc == S3P_OK && fn(arg, ents[i].key, ents[i].size, ents[i].mtime)){
      rc = 1;   /* stopped by fn; reported as success below */
    }
    free(ents[i].key);
  }
  free(ents);
  if(rc == S3P_ENOMEM){
    *errmsg = s3p_store_msg("%s: list %s: out of memory", st->desc, prefix);
    return rc;
  }
  return S3P_OK;
}

/* mem_close drops the handle's reference; the store's objects stay until
** exit unless exit has already begun. */
static void mem_close(s3p_store *st){
  mem_store *ms = (mem_store *)st;
  mem_bucket *b = ms->b;
  pthread_mutex_lock(&mem_mutex);
  assert(b->n_ref > 0);
  b->n_ref--;
  if(b->n_ref == 0 && mem_exiting){
    mem_unlink_bucket(b);
    mem_bucket_free(b);
  }
  pthread_mutex_unlock(&mem_mutex);
  free(st->desc);
  free(ms);
}

static const s3p_store_vtab mem_vtab = {
  "mem", mem_exec, mem_list, mem_close
};

/* s3p_store_mem_open opens a handle on the in-memory store NAME (a leading
** "mem:" is ignored), creating the store if this process has none of that
** name. NAME must be non-empty. Returns S3P_OK, S3P_EINVAL or S3P_ENOMEM
** (with *errmsg set). */
int s3p_store_mem_open(s3p_store **out, const char *name,
                       const s3p_store_opts *opts, char **errmsg){
  mem_store *ms;
  mem_bucket *b;

  *out = NULL;
  if(name && strncmp(name, "mem:", 4) == 0) name += 4;
  if(name == NULL || name[0] == 0){
    if(errmsg) *errmsg = s3p_store_msg("mem: store name is empty");
    return S3P_EINVAL;
  }
  pthread_once(&mem_once, mem_init);
  ms = calloc(1, sizeof(*ms));
  if(ms == NULL || (ms->base.desc = s3p_store_msg("mem:%s", name)) == NULL){
    free(ms);
    if(errmsg) *errmsg = s3p_store_msg("mem:%s: out of memory", name);
    return S3P_ENOMEM;
  }
  ms->base.vt = &mem_vtab;
  ms->readonly = opts ? opts->readonly : 0;

  pthread_mutex_lock(&mem_mutex);
  for(b = mem_buckets; b; b = b->next){
    if(strcmp(b->name, name) == 0) break;
  }
  if(b == NULL){
    b = calloc(1, sizeof(*b));
    if(b){
      b->n_slot = 64;
      b->name = strdup(name);
      b->slots = calloc(b->n_slot, sizeof(*b->slots));
      if(b->name == NULL || b->slots == NULL){
        free(b->name);
        free(b->slots);
        free(b);
        b = NULL;
      }
    }
    if(b == NULL){
      pthread_mutex_unlock(&mem_mutex);
      free(ms->base.desc);
      free(ms);
      if(errmsg) *errmsg = s3p_store_msg("mem:%s: out of memory", name);
      return S3P_ENOMEM;
    }
    b->next = mem_buckets;
    mem_buckets = b;
  }
  b->n_ref++;
  ms->b = b;
  pthread_mutex_unlock(&mem_mutex);
  *out = &ms->base;
  return S3P_OK;
}
