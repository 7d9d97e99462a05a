/*
** hydrate.c: the background download of every page of a version
** (hydrate.h).
*/
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "hydrate.h"
#include "db.h"
#include "../index/page.h"

struct s3p_hydrate {
  pthread_t thread;          /* the hydrating thread */
  int joinable;              /* thread was started and not yet joined */
  char *name;                /* database name (malloc'd) */
  s3p_options opt;           /* options of the thread's own handle */
  uint64_t start_ms;         /* when hydration started */
  atomic_int stop;           /* set by s3p_hydrate_stop */
  pthread_mutex_t mu;        /* guards prog */
  s3p_hydrate_progress prog; /* progress (ms: set at the end) */
};

/* One page object to hydrate. */
typedef struct hyd_page {
  s3p_hash hash;             /* its content hash */
  uint32_t pgno;             /* a page of the version that has it */
} hyd_page;

/* A node of the walk: its hash, its level and the first key it covers. */
typedef struct hyd_item {
  s3p_hash h;                /* node hash */
  uint8_t level;             /* its level */
  uint32_t base;             /* first key (pgno - 1) below it */
} hyd_item;

/* The pages found by the walk, growing. */
typedef struct hyd_list {
  hyd_page *p;               /* entries (malloc'd) */
  size_t n;                  /* used */
  size_t cap;                /* allocated */
} hyd_list;

const char *s3p_hydrate_state_name(int state){
  switch(state){
    case S3P_HYDRATE_LISTING: return "listing";
    case S3P_HYDRATE_RUNNING: return "running";
    case S3P_HYDRATE_DONE: return "done";
    case S3P_HYDRATE_FULL: return "full";
    case S3P_HYDRATE_FAILED: return "failed";
    case S3P_HYDRATE_STOPPED: return "stopped";
  }
  return "?";
}

/* hyd_set updates the progress under the lock: adds the deltas and sets
** the state unless state is -1. */
static void hyd_set(s3p_hydrate *h, int state, uint64_t done,
                    uint64_t fetched, uint64_t failed, uint64_t bytes){
  pthread_mutex_lock(&h->mu);
  if(state >= 0) h->prog.state = state;
  h->prog.done += done;
  h->prog.fetched += fetched;
  h->prog.failed += failed;
  h->prog.bytes += bytes;
  if(state >= S3P_HYDRATE_DONE) h->prog.ms = s3p_now_ms() - h->start_ms;
  pthread_mutex_unlock(&h->mu);
}

/* hyd_add appends a page to l. Returns 0, or -1 when out of memory. */
static int hyd_add(hyd_list *l, uint32_t pgno, const s3p_hash *hash){
  if(l->n == l->cap){
    size_t cap = l->cap ? 2 * l->cap : 1024;
    hyd_page *p = realloc(l->p, cap * sizeof *p);
    if(!p) return -1;
    l->p = p;
    l->cap = cap;
  }
  l->p[l->n].pgno = pgno;
  l->p[l->n].hash = *hash;
  l->n++;
  return 0;
}

/* hyd_walk lists into l the pages of db's view that its tree supplies
** (pgno up to the page count and the truncation mark), fetching the nodes
** of a level in batches. Returns SQLITE_OK or an error recorded in db. */
static int hyd_walk(s3p_hydrate *hy, s3p_db *db, hyd_list *l){
  const s3p_view *v = &db->view;
  uint32_t limit = v->page_count < v->trunc ? v->page_count : v->trunc;
  if(s3p_hash_is_zero(&v->tree.root) || limit == 0) return SQLITE_OK;
  if(v->tree.level > S3P_TREE_MAXLEVEL){
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: the checkpoint tree of "
                        "version %llu claims level %u", db->store->desc,
                        (unsigned long long)v->version,
                        (unsigned)v->tree.level);
  }
  hyd_item *cur = malloc(sizeof *cur);
  s3p_node *node = malloc(sizeof *node);
  s3p_op *ops = calloc(S3P_HYDRATE_BATCH, sizeof *ops);
  char (*keys)[S3P_KEY_MAX] = malloc(S3P_HYDRATE_BATCH * sizeof *keys);
  size_t n = 1;
  int rc = SQLITE_OK;
  if(!cur || !node || !ops || !keys){
    rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    goto out;
  }
  cur[0].h = v->tree.root;
  cur[0].level = v->tree.level;
  cur[0].base = 0;
  while(n && rc == SQLITE_OK && !atomic_load(&hy->stop)){
    hyd_item *next = NULL;
    size_t nn = 0, ncap = 0;
    for(size_t at = 0; at < n && rc == SQLITE_OK && !atomic_load(&hy->stop);
        at += S3P_HYDRATE_BATCH){
      size_t m = n - at < S3P_HYDRATE_BATCH ? n - at : S3P_HYDRATE_BATCH;
      /* The nodes the process cache lacks, in one batch. */
      size_t k = 0;
      for(size_t i = 0; i < m; i++){
        if(s3p_pagecache_has(S3P_PC_NODE, &cur[at + i].h)) continue;
        s3p_hash_key(keys[k], "index", &cur[at + i].h);
        memset(&ops[k], 0, sizeof ops[k]);
        ops[k].kind = S3P_OP_GET;
        ops[k].key = keys[k];
        k++;
      }
      if(k){
        int src = s3p_store_exec(db->store, ops, k);
        if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET",
                                        keys[0], NULL);
      }
      size_t j = 0;
      for(size_t i = 0; i < m && rc == SQLITE_OK; i++){
        hyd_item *it = &cur[at + i];
        s3p_tree_io io = s3p_db_tree_io(db);
        /* Decode the fetched node, or load it (from the cache, or with a
        ** GET of its own if it was evicted meanwhile). */
        char key[S3P_KEY_MAX];
        s3p_hash_key(key, "index", &it->h);
        if(j < k && !strcmp(key, keys[j])){
          rc = s3p_db_node_from_op(db, &it->h, &ops[j], node);
          j++;
        }else if(io.load(io.ctx, &it->h, node)){
          rc = db->errcode ? db->errcode : SQLITE_IOERR_READ;
        }
        if(rc == SQLITE_OK && node->level != it->level){
          rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: checkpoint node %s is "
                            "at level %u where level %u belongs",
                            db->store->desc, key, (unsigned)node->level,
                            (unsigned)it->level);
        }
        for(unsigned s = 0; s < S3P_TREE_FANOUT && rc == SQLITE_OK; s++){
          if(s3p_hash_is_zero(&node->slot[s])) continue;
          uint64_t key0 = (uint64_t)it->base +
                          ((uint64_t)s << (8 * it->level));
          if(key0 >= limit) break;               /* beyond the version */
          if(it->level == 0){
            if(hyd_add(l, (uint32_t)key0 + 1, &node->slot[s])){
              rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
            }
            continue;
          }
          if(nn == ncap){
            ncap = ncap ? 2 * ncap : 256;
            hyd_item *t = realloc(next, ncap * sizeof *t);
            if(!t){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); break; }
            next = t;
          }
          next[nn].h = node->slot[s];
          next[nn].level = (uint8_t)(it->level - 1);
          next[nn].base = (uint32_t)key0;
          nn++;
        }
      }
      for(size_t i = 0; i < k; i++) s3p_op_reset(&ops[i]);
    }
    free(cur);
    cur = next;
    n = nn;
  }
out:
  free(cur);
  free(node);
  free(ops);
  free(keys);
  return rc;
}

/* hyd_cmp_pgno orders pages by page number. */
static int hyd_cmp_pgno(const void *a, const void *b){
  uint32_t x = ((const hyd_page *)a)->pgno, y = ((const hyd_page *)b)->pgno;
  return x < y ? -1 : x > y;
}

/* hyd_cmp_hash orders pages by hash. */
static int hyd_cmp_hash(const void *a, const void *b){
  return memcmp(&((const hyd_page *)a)->hash, &((const hyd_page *)b)->hash,
                sizeof(s3p_hash));
}

/* hyd_list_pages sets *l to the distinct non-zero page objects of db's
** view: the tree's pages, replaced by the overlay's where it has them.
** Returns SQLITE_OK or an error recorded in db. */
static int hyd_list_pages(s3p_hydrate *hy, s3p_db *db, hyd_list *l){
  int rc = hyd_walk(hy, db, l);
  s3p_change *ov = NULL;
  size_t nov = 0;
  if(rc == SQLITE_OK && s3p_view_overlay(&db->view, &ov, &nov)){
    rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  if(rc) return rc;
  /* Drop tree pages the overlay replaces (both sorted by page number). */
  qsort(l->p, l->n, sizeof *l->p, hyd_cmp_pgno);
  size_t w = 0, o = 0;
  for(size_t i = 0; i < l->n; i++){
    while(o < nov && ov[o].pgno < l->p[i].pgno) o++;
    if(o < nov && ov[o].pgno == l->p[i].pgno) continue;
    l->p[w++] = l->p[i];
  }
  l->n = w;
  for(size_t i = 0; i < nov && rc == SQLITE_OK; i++){
    if(ov[i].pgno == 0 || ov[i].pgno > db->view.page_count) continue;
    if(s3p_hash_is_zero(&ov[i].hash)) continue;
    if(hyd_add(l, ov[i].pgno, &ov[i].hash)){
      rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    }
  }
  free(ov);
  if(rc) return rc;
  /* One entry per distinct object. */
  qsort(l->p, l->n, sizeof *l->p, hyd_cmp_hash);
  w = 0;
  for(size_t i = 0; i < l->n; i++){
    if(w && s3p_hash_eq(&l->p[w - 1].hash, &l->p[i].hash)) continue;
    l->p[w++] = l->p[i];
  }
  l->n = w;
  return SQLITE_OK;
}

/* hyd_fetch brings every page of l into the caches, a batch at a time.
** Returns the final state. */
static int hyd_fetch(s3p_hydrate *hy, s3p_db *db, const hyd_list *l){
  uint32_t psz = db->view.page_size;
  unsigned char *buf = malloc(psz);
  s3p_op *ops = calloc(S3P_HYDRATE_BATCH, sizeof *ops);
  hyd_page *want = malloc(S3P_HYDRATE_BATCH * sizeof *want);
  char (*keys)[S3P_KEY_MAX] = malloc(S3P_HYDRATE_BATCH * sizeof *keys);
  int state = S3P_HYDRATE_DONE;
  uint64_t failed = 0, counted = 0;
  if(!buf || !ops || !want || !keys){
    s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    state = S3P_HYDRATE_FAILED;
    goto out;
  }
  /* Pages held in memory for this hydration, against the cache's share:
  ** beyond it, memory takes no more from hydration (without a disk cache,
  ** hydration stops there). */
  size_t room = s3p_pagecache_page_budget() / (psz + S3P_LRU_OVERHEAD);
  size_t m = 0;
  for(size_t at = 0; at < l->n; at += m){
    if(atomic_load(&hy->stop)){ state = S3P_HYDRATE_STOPPED; break; }
    if(!db->disk && counted >= room){ state = S3P_HYDRATE_FULL; break; }
    m = l->n - at < S3P_HYDRATE_BATCH ? l->n - at : S3P_HYDRATE_BATCH;
    if(!db->disk && m > room - counted) m = room - counted;
    size_t k = 0;
    uint64_t cached = 0;
    for(size_t i = 0; i < m; i++){
      const hyd_page *p = &l->p[at + i];
      int in_mem = s3p_pagecache_has(S3P_PC_PAGE, &p->hash);
      if(db->disk){
        if(in_mem){
          /* On disk too (the put is a no-op if it is there already). */
          if(s3p_pagecache_get(S3P_PC_PAGE, &p->hash, buf, psz)){
            s3p_diskcache_put(db->disk, &p->hash, buf, psz);
            cached++;
            counted++;
            continue;
          }
        }else if(s3p_diskcache_get(db->disk, &p->hash, buf, psz)){
          if(counted < room) s3p_pagecache_put(S3P_PC_PAGE, &p->hash, buf, psz);
          cached++;
          counted++;
          continue;
        }
      }else if(in_mem){
        cached++;
        counted++;
        continue;
      }
      want[k] = *p;
      s3p_hash_key(keys[k], "pages", &p->hash);
      memset(&ops[k], 0, sizeof ops[k]);
      ops[k].kind = S3P_OP_GET;
      ops[k].key = keys[k];
      k++;
    }
    uint64_t fetched = 0, bytes = 0, bad = 0;
    if(k){
      int src = s3p_store_exec(db->store, ops, k);
      if(src){
        s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", keys[0], NULL);
        bad = k;
      }
      for(size_t i = 0; i < k && !src; i++){
        if(s3p_db_page_from_op(db, want[i].pgno, &want[i].hash, &ops[i],
                               buf) != SQLITE_OK){
          bad++;                        /* logged by s3p_db_error */
          continue;
        }
        bytes += ops[i].len;
        fetched++;
        if(counted < room) s3p_pagecache_put(S3P_PC_PAGE, &want[i].hash, buf, psz);
        counted++;
        if(db->disk) s3p_diskcache_put(db->disk, &want[i].hash, buf, psz);
      }
      for(size_t i = 0; i < k; i++) s3p_op_reset(&ops[i]);
    }
    failed += bad;
    hyd_set(hy, -1, cached + fetched, fetched, bad, bytes);
    /* A failure (the version removed by gc, a store in trouble) would
    ** repeat for every page after it: stop at the first failed batch. */
    if(bad) break;
  }
  if(state == S3P_HYDRATE_DONE && failed) state = S3P_HYDRATE_FAILED;
out:
  free(buf);
  free(ops);
  free(want);
  free(keys);
  return state;
}

/* hyd_main is the thread: open, list, fetch, close. Returns NULL. */
static void *hyd_main(void *arg){
  s3p_hydrate *hy = arg;
  s3p_db *db = NULL;
  char *msg = NULL;
  int rc = s3p_db_open(&db, hy->name, &hy->opt, &msg);
  if(rc){
    sqlite3_log(rc, "s3page: hydration of %s: %s", hy->name,
                msg ? msg : "open failed");
    sqlite3_free(msg);
    hyd_set(hy, S3P_HYDRATE_FAILED, 0, 0, 0, 0);
    return NULL;
  }
  hyd_list l;
  memset(&l, 0, sizeof l);
  rc = hyd_list_pages(hy, db, &l);
  int state;
  if(rc){
    state = S3P_HYDRATE_FAILED;
  }else if(atomic_load(&hy->stop)){
    state = S3P_HYDRATE_STOPPED;
  }else{
    pthread_mutex_lock(&hy->mu);
    hy->prog.total = l.n;
    hy->prog.state = S3P_HYDRATE_RUNNING;
    pthread_mutex_unlock(&hy->mu);
    state = hyd_fetch(hy, db, &l);
  }
  free(l.p);
  s3p_db_close(db);
  hyd_set(hy, state, 0, 0, 0, 0);
  return NULL;
}

/* hyd_free releases h (the thread must be joined). */
static void hyd_free(s3p_hydrate *h){
  s3p_options_free(&h->opt);
  free(h->name);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

int s3p_hydrate_start(s3p_db *db, s3p_hydrate **out){
  *out = NULL;
  s3p_hydrate *h = calloc(1, sizeof *h);
  if(!h) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  pthread_mutex_init(&h->mu, NULL);
  atomic_init(&h->stop, 0);
  h->start_ms = s3p_now_ms();
  h->prog.version = db->view.version;
  h->name = strdup(db->name);
  if(!h->name || s3p_options_dup(&h->opt, &db->opt)){
    hyd_free(h);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  /* The thread's handle shows exactly this version, reads only, and does
  ** not hydrate in turn. */
  h->opt.version = db->view.version;
  h->opt.has_asof = 0;
  h->opt.readonly = 1;
  h->opt.create = 0;
  h->opt.prefetch_all = 0;
  if(db->view.version == 0){
    h->prog.state = S3P_HYDRATE_DONE;   /* the empty database: no pages */
    *out = h;
    return SQLITE_OK;
  }
  int e = pthread_create(&h->thread, NULL, hyd_main, h);
  if(e){
    hyd_free(h);
    return s3p_db_error(db, SQLITE_ERROR, "%s: cannot start the hydration "
                        "thread (error %d)", db->store->desc, e);
  }
  h->joinable = 1;
  *out = h;
  return SQLITE_OK;
}

void s3p_hydrate_stop(s3p_hydrate *h){
  if(!h) return;
  atomic_store(&h->stop, 1);
  if(h->joinable) pthread_join(h->thread, NULL);
  hyd_free(h);
}

void s3p_hydrate_get(s3p_hydrate *h, s3p_hydrate_progress *out){
  pthread_mutex_lock(&h->mu);
  *out = h->prog;
  if(out->state < S3P_HYDRATE_DONE) out->ms = s3p_now_ms() - h->start_ms;
  pthread_mutex_unlock(&h->mu);
}
