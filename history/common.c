/*
** common.c: what the history operations share: opening a database,
** a set of hashes, batched tree walks, the page 1 stamp that makes a
** version created outside the SQLite commit path invalidate caches, and
** creating such a version on top of a newest version known fresh.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sqlite3.h>
#include "internal.h"

int s3p_hist_set_error(char **errmsg, int code, const char *fmt, ...){
  if(errmsg){
    va_list ap;
    va_start(ap, fmt);
    sqlite3_free(*errmsg);
    *errmsg = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
  }
  return code;
}

int s3p_hist_open(s3p_db **out, const char *name, int writable, int create,
                  const s3page_at *at, char **errmsg){
  s3p_options o;
  char *msg = NULL;
  *out = NULL;
  if(!name || !*name){
    return s3p_hist_set_error(errmsg, SQLITE_MISUSE, "no database name");
  }
  if(s3p_options_parse(&o, NULL, &msg)){
    int rc = s3p_hist_set_error(errmsg, SQLITE_MISUSE, "%s", msg ? msg : "bad options");
    sqlite3_free(msg);
    s3p_options_free(&o);
    return rc;
  }
  if(at && at->version){
    o.version = at->version;
  }else if(at && at->has_asof){
    o.has_asof = 1;
    o.asof_ms = at->asof_ms;
  }
  o.readonly = !writable;
  o.create = writable && create;
  o.skip_hints = 1;                    /* no SQL reads follow */
  int rc = s3p_db_open(out, name, &o, &msg);
  if(rc){
    s3p_hist_set_error(errmsg, rc, "%s", msg ? msg : "cannot open database");
    sqlite3_free(msg);
    *out = NULL;
  }
  return rc;
}

int s3p_hist_finish(s3p_db *db, int rc, char **errmsg){
  if(rc != SQLITE_OK && errmsg && !*errmsg){
    const char *m = db ? s3p_db_errmsg(db) : NULL;
    *errmsg = sqlite3_mprintf("%s", m ? m : sqlite3_errstr(rc));
  }
  s3p_db_close(db);
  return rc;
}

/* hist_get32 reads the big-endian 32-bit number at p. */
static uint32_t hist_get32(const unsigned char *p){
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* hist_put32 writes x big-endian at p. */
static void hist_put32(unsigned char *p, uint32_t x){
  p[0] = (unsigned char)(x >> 24);
  p[1] = (unsigned char)(x >> 16);
  p[2] = (unsigned char)(x >> 8);
  p[3] = (unsigned char)x;
}

/* hist_next returns one more than the larger of a and b, skipping 0 on
** wrap-around (0 makes the in-header size invalid). */
static uint32_t hist_next(uint32_t a, uint32_t b){
  uint32_t n = (a > b ? a : b) + 1;
  return n ? n : 1;
}

int s3p_hist_stamp_page1(s3p_db *db, unsigned char *page1,
                         uint32_t page_count){
  s3p_view *v = &db->view;
  if(v->version == 0) return SQLITE_OK;
  uint32_t counter = 0, cookie = 0;
  if(v->page_count >= 1 && v->page_size >= 100){
    unsigned char *prev = malloc(v->page_size);
    if(!prev) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    int rc = s3p_db_read_page(db, 1, prev);
    if(rc){ free(prev); return rc; }
    counter = hist_get32(prev + 24);
    cookie = hist_get32(prev + 40);
    free(prev);
  }
  counter = hist_next(counter, hist_get32(page1 + 24));
  hist_put32(page1 + 24, counter);
  hist_put32(page1 + 92, counter);
  hist_put32(page1 + 28, page_count);
  hist_put32(page1 + 40, hist_next(cookie, hist_get32(page1 + 40)));
  return SQLITE_OK;
}

/* hset_slot returns the slot of h in s: where it is, or the empty slot
** where it would go. s->nslot must be non-zero. */
static size_t hset_slot(const s3p_hash *keys, size_t nslot, const s3p_hash *h){
  uint64_t x;
  memcpy(&x, h->b, sizeof x);
  size_t i = (size_t)(x ^ (x >> 29)) & (nslot - 1);
  while(!s3p_hash_is_zero(&keys[i]) && !s3p_hash_eq(&keys[i], h)){
    i = (i + 1) & (nslot - 1);
  }
  return i;
}

/* hset_grow doubles the table of s. Returns 0 or -1 when out of memory. */
static int hset_grow(s3p_hset *s){
  size_t n = s->nslot ? s->nslot * 2 : 1024;
  s3p_hash *k = calloc(n, sizeof *k);
  uint32_t *v = calloc(n, sizeof *v);
  if(!k || !v){ free(k); free(v); return -1; }
  for(size_t i = 0; i < s->nslot; i++){
    if(s3p_hash_is_zero(&s->keys[i])) continue;
    size_t j = hset_slot(k, n, &s->keys[i]);
    k[j] = s->keys[i];
    v[j] = s->vals[i];
  }
  free(s->keys);
  free(s->vals);
  s->keys = k;
  s->vals = v;
  s->nslot = n;
  return 0;
}

int s3p_hset_add(s3p_hset *s, const s3p_hash *h, uint32_t val){
  if(s3p_hash_is_zero(h)) return 0;
  if((s->count + 1) * 2 > s->nslot && hset_grow(s)) return -1;
  size_t i = hset_slot(s->keys, s->nslot, h);
  if(!s3p_hash_is_zero(&s->keys[i])) return 0;
  s->keys[i] = *h;
  s->vals[i] = val;
  s->count++;
  return 1;
}

int s3p_hset_get(const s3p_hset *s, const s3p_hash *h, uint32_t *val){
  if(!s->nslot || s3p_hash_is_zero(h)) return 0;
  size_t i = hset_slot(s->keys, s->nslot, h);
  if(s3p_hash_is_zero(&s->keys[i])) return 0;
  if(val) *val = s->vals[i];
  return 1;
}

void s3p_hset_free(s3p_hset *s){
  free(s->keys);
  free(s->vals);
  memset(s, 0, sizeof *s);
}

/* One node waiting to be fetched by the walk. */
typedef struct hwalk_item {
  s3p_hash h;                /* node name */
  uint8_t level;             /* its level */
  uint32_t base;             /* first key (pgno - 1) it covers */
} hwalk_item;

/* hwalk_problem reports a bad node: to the problem callback, or as the
** walk's error. Returns SQLITE_OK to go on, or the error. */
static int hwalk_problem(s3p_hwalk *w, int code, const char *fmt, ...){
  va_list ap;
  va_start(ap, fmt);
  char *m = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  int rc = SQLITE_OK;
  if(w->problem){
    w->problem(w->arg, m ? m : "out of memory");
  }else{
    rc = s3p_db_error(w->db, code, "%s", m ? m : "out of memory");
  }
  sqlite3_free(m);
  return rc;
}

int s3p_hist_walk(s3p_hwalk *w, const s3p_treeref *t){
  s3p_db *db = w->db;
  if(s3p_hash_is_zero(&t->root)) return SQLITE_OK;
  size_t n = 1, cap = 16;
  hwalk_item *cur = malloc(cap * sizeof *cur);
  if(!cur) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  cur[0].h = t->root;
  cur[0].level = t->level;
  cur[0].base = 0;
  int rc = SQLITE_OK;
  s3p_node *node = malloc(sizeof *node);
  if(!node){ free(cur); return s3p_db_error(db, SQLITE_NOMEM, "out of memory"); }
  while(n && rc == SQLITE_OK){
    hwalk_item *next = NULL;
    size_t nn = 0, ncap = 0;
    for(size_t at = 0; at < n && rc == SQLITE_OK; at += S3P_HIST_BATCH){
      size_t m = n - at < S3P_HIST_BATCH ? n - at : S3P_HIST_BATCH;
      s3p_op ops[S3P_HIST_BATCH];
      char keys[S3P_HIST_BATCH][S3P_KEY_MAX];
      int want[S3P_HIST_BATCH];
      memset(ops, 0, sizeof ops);
      for(size_t i = 0; i < m; i++){
        want[i] = 1;
        if(w->visited){
          int added = s3p_hset_add(w->visited, &cur[at + i].h, 1);
          if(added < 0){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); break; }
          want[i] = added;
        }
        if(!want[i]) continue;
        s3p_hash_key(keys[i], "index", &cur[at + i].h);
        ops[i].kind = S3P_OP_GET;
        ops[i].key = keys[i];
      }
      if(rc) break;
      /* Compact the wanted ops into one batch. */
      s3p_op batch[S3P_HIST_BATCH];
      size_t map[S3P_HIST_BATCH], k = 0;
      for(size_t i = 0; i < m; i++){
        if(want[i]){ batch[k] = ops[i]; map[k] = i; k++; }
      }
      if(k){
        int src = s3p_store_exec(db->store, batch, k);
        if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET",
                                        batch[0].key, NULL);
      }
      for(size_t b = 0; b < k; b++){
        hwalk_item *it = &cur[at + map[b]];
        s3p_op *op = &batch[b];
        if(rc){ s3p_op_reset(op); continue; }
        if(op->rc == S3P_ENOTFOUND){
          rc = hwalk_problem(w, SQLITE_CORRUPT, "%s: checkpoint node %s is "
                             "missing", db->store->desc, op->key);
        }else if(op->rc){
          rc = s3p_db_store_error(db, op->rc, SQLITE_IOERR_READ, "GET",
                                  op->key, op->errmsg);
        }else{
          const char *why = NULL;
          if(s3p_node_decode(node, op->data, op->len, &it->h, &why) ||
             node->level != it->level){
            rc = hwalk_problem(w, SQLITE_CORRUPT, "%s: checkpoint node %s is "
                               "corrupt: %s", db->store->desc, op->key,
                               why ? why : "wrong level");
          }else{
            w->nodes++;
            w->bytes += op->len;
            uint32_t span = it->level ? (uint32_t)1 << (8 * it->level) : 1;
            for(unsigned s = 0; s < S3P_TREE_FANOUT && rc == SQLITE_OK; s++){
              if(s3p_hash_is_zero(&node->slot[s])) continue;
              uint32_t base = it->base + s * span;
              if(it->level == 0){
                if(w->page) rc = w->page(w->arg, base + 1, &node->slot[s]);
                continue;
              }
              if(nn == ncap){
                ncap = ncap ? ncap * 2 : 256;
                hwalk_item *g = realloc(next, ncap * sizeof *g);
                if(!g){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); break; }
                next = g;
              }
              next[nn].h = node->slot[s];
              next[nn].level = (uint8_t)(it->level - 1);
              next[nn].base = base;
              nn++;
            }
          }
        }
        s3p_op_reset(op);
      }
    }
    free(cur);
    cur = next;
    n = nn;
  }
  free(cur);
  free(node);
  return rc;
}

int s3page_time_parse(const char *text, int64_t *ms){
  return s3p_time_parse(ms, text) == S3P_OK ? SQLITE_OK : SQLITE_MISUSE;
}

int s3p_hist_refresh(s3p_db *db, uint64_t from){
  uint64_t start = s3p_now_ms(), latest = 0;
  int rc = s3p_version_latest(db, from, &latest);
  if(rc == SQLITE_OK && latest != db->view.version){
    rc = s3p_db_load(db, latest);
  }
  if(rc == SQLITE_OK) db->fresh_ms = start;
  return rc;
}

int s3p_hist_create_record(s3p_db *db, s3p_record *rec, s3p_lease *lease){
  if(lease){
    int rc = s3p_lease_keep(lease);
    if(rc) return rc;
  }
  /* By gc's rule (G1, docs/history.md) the record after a version known
  ** to be the newest at t cannot be removed before t + grace: creating it
  ** within S3P_TRUST_MS of t can never re-create a removed version. */
  uint64_t now = s3p_now_ms();
  if(db->fresh_ms == 0 || now < db->fresh_ms ||
     now - db->fresh_ms >= S3P_TRUST_MS){
    return s3p_db_error(db, SQLITE_BUSY_SNAPSHOT, "%s: version %llu was last "
                        "known to be the newest %llu s ago; looking again",
                        db->store->desc, (unsigned long long)db->view.version,
                        (unsigned long long)(now > db->fresh_ms ?
                                             (now - db->fresh_ms) / 1000 : 0));
  }
  return s3p_db_create_record(db, rec);
}

void s3p_hist_full_record(s3p_record *rec, uint64_t parent, uint64_t parent_ms,
                          uint32_t page_size, uint32_t page_count,
                          const s3p_treeref *tree){
  memset(rec, 0, sizeof *rec);
  rec->version = parent + 1;
  rec->parent = parent;
  uint64_t now = s3p_now_ms();
  rec->time_ms = now > parent_ms ? now : parent_ms;
  rec->flags = S3P_RECORD_FULL;
  rec->page_size = page_size;
  rec->page_count = page_count;
  rec->trunc_mark = 0;
  rec->ckpt_version = rec->version;
  rec->ckpt_level = tree->level;
  rec->ckpt_root = tree->root;
}
