/*
** hydrate.c: the background download of every page of a version
** (hydrate.h).
*/
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
  s3p_options opt2;          /* those of the second fetching thread's */
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
  if(l->n > 1) qsort(l->p, l->n, sizeof *l->p, hyd_cmp_pgno);
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
  if(l->n > 1) qsort(l->p, l->n, sizeof *l->p, hyd_cmp_hash);
  w = 0;
  for(size_t i = 0; i < l->n; i++){
    if(w && s3p_hash_eq(&l->p[w - 1].hash, &l->p[i].hash)) continue;
    l->p[w++] = l->p[i];
  }
  l->n = w;
  return SQLITE_OK;
}

/* The work the fetching threads share: the list and who takes which batch.
** next, reserved and bad are guarded by the hydration's mutex (mu). */
typedef struct hyd_work {
  s3p_hydrate *hy;           /* the hydration */
  const hyd_list *l;         /* the distinct pages, read-only */
  size_t room;               /* pages memory takes from hydration */
  size_t next;               /* first page of the next batch to take */
  size_t reserved;           /* pages taken so far (against room) */
  int bad;                   /* a batch failed: everyone stops */
} hyd_work;

/* hyd_take claims the next batch for a worker whose handle has a disk
** cache (disk) or not: *at and *m, or an end state (DONE, FULL, STOPPED,
** FAILED). Returns -1 when a batch was claimed. */
static int hyd_take(hyd_work *w, int disk, size_t *at, size_t *m){
  int end = -1;
  pthread_mutex_lock(&w->hy->mu);
  size_t n = w->l->n;
  if(w->bad) end = S3P_HYDRATE_FAILED;
  else if(atomic_load(&w->hy->stop)) end = S3P_HYDRATE_STOPPED;
  else if(w->next >= n) end = S3P_HYDRATE_DONE;
  else if(!disk && w->reserved >= w->room) end = S3P_HYDRATE_FULL;
  else{
    size_t k = n - w->next < S3P_HYDRATE_BATCH ? n - w->next : S3P_HYDRATE_BATCH;
    if(!disk && k > w->room - w->reserved) k = w->room - w->reserved;
    *at = w->next;
    *m = k;
    w->next += k;
    w->reserved += k;
  }
  pthread_mutex_unlock(&w->hy->mu);
  return end;
}

/* hyd_fetch brings the pages of the batches it takes from w into the
** caches through db's store. Returns its end state. */
static int hyd_fetch(hyd_work *w, s3p_db *db){
  s3p_hydrate *hy = w->hy;
  const hyd_list *l = w->l;
  uint32_t psz = db->view.page_size;
  unsigned char *buf = malloc(psz);
  s3p_op *ops = calloc(S3P_HYDRATE_BATCH, sizeof *ops);
  hyd_page *want = malloc(S3P_HYDRATE_BATCH * sizeof *want);
  char (*keys)[S3P_KEY_MAX] = malloc(S3P_HYDRATE_BATCH * sizeof *keys);
  size_t pos[S3P_HYDRATE_BATCH];             /* want[i] is l->p[pos[i]] */
  int state;
  if(!buf || !ops || !want || !keys){
    s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    state = S3P_HYDRATE_FAILED;
    goto out;
  }
  size_t at = 0, m = 0;
  while((state = hyd_take(w, db->disk != NULL, &at, &m)) < 0){
    /* Memory takes pages while the room lasts (without a disk cache no
    ** batch goes beyond it: hyd_take cut it). */
    size_t k = 0;
    uint64_t cached = 0;
    for(size_t i = 0; i < m; i++){
      const hyd_page *p = &l->p[at + i];
      int keep = at + i < w->room;
      int in_mem = s3p_pagecache_has(S3P_PC_PAGE, &p->hash);
      if(db->disk){
        if(in_mem){
          /* On disk too (the put is a no-op if it is there already). */
          if(s3p_pagecache_get(S3P_PC_PAGE, &p->hash, buf, psz)){
            s3p_diskcache_put(db->disk, &p->hash, buf, psz);
            cached++;
            continue;
          }
        }else if(s3p_diskcache_get(db->disk, &p->hash, buf, psz)){
          if(keep) s3p_pagecache_put(S3P_PC_PAGE, &p->hash, buf, psz);
          cached++;
          continue;
        }
      }else if(in_mem){
        cached++;
        continue;
      }
      want[k] = *p;
      pos[k] = at + i;
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
        if(pos[i] < w->room) s3p_pagecache_put(S3P_PC_PAGE, &want[i].hash, buf, psz);
        if(db->disk) s3p_diskcache_put(db->disk, &want[i].hash, buf, psz);
      }
      for(size_t i = 0; i < k; i++) s3p_op_reset(&ops[i]);
    }
    hyd_set(hy, -1, cached + fetched, fetched, bad, bytes);
    if(bad){
      /* A failure (the version removed by gc, a store in trouble) would
      ** repeat for every page after it: everyone stops. */
      pthread_mutex_lock(&hy->mu);
      w->bad = 1;
      pthread_mutex_unlock(&hy->mu);
      state = S3P_HYDRATE_FAILED;
      break;
    }
  }
out:
  free(buf);
  free(ops);
  free(want);
  free(keys);
  return state;
}

/* A second fetching thread: its own handle (own store connections), the
** same work. */
typedef struct hyd_helper {
  hyd_work *w;               /* the shared work */
  int state;                 /* its end state */
} hyd_helper;

/* hyd_helper_main opens its own handle on the version and fetches.
** Returns NULL. */
static void *hyd_helper_main(void *arg){
  hyd_helper *hp = arg;
  s3p_hydrate *hy = hp->w->hy;
  s3p_db *db = NULL;
  char *msg = NULL;
  int rc = s3p_db_open(&db, hy->name, &hy->opt2, &msg);
  if(rc){
    /* The other thread does all the work then. */
    sqlite3_log(rc, "s3page: hydration of %s (second thread): %s", hy->name,
                msg ? msg : "open failed");
    sqlite3_free(msg);
    hp->state = S3P_HYDRATE_DONE;
    return NULL;
  }
  hp->state = hyd_fetch(hp->w, db);
  s3p_db_close(db);
  return NULL;
}

/* hyd_worse returns the state to report of two threads' end states: a
** failure first, then a stop, then a full cache. */
static int hyd_worse(int a, int b){
  static const int rank[] = { 0, 0, 0, 1, 3, 2 };  /* by S3P_HYDRATE_* */
  return rank[a] >= rank[b] ? a : b;
}

/* hyd_main is the thread: open, list, fetch (with a second thread, so
** that one checks and caches a batch while the other's is in flight),
** close. Returns NULL. */
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
    hyd_work w;
    memset(&w, 0, sizeof w);
    w.hy = hy;
    w.l = &l;
    uint32_t psz = db->view.page_size;
    w.room = s3p_pagecache_page_budget() / (psz + S3P_LRU_OVERHEAD);
    pthread_mutex_lock(&hy->mu);
    hy->prog.total = l.n;
    hy->prog.state = S3P_HYDRATE_RUNNING;
    pthread_mutex_unlock(&hy->mu);
    hyd_helper hp = { &w, S3P_HYDRATE_DONE };
    pthread_t th;
    int helper = l.n > S3P_HYDRATE_BATCH &&
                 pthread_create(&th, NULL, hyd_helper_main, &hp) == 0;
    state = hyd_fetch(&w, db);
    if(helper){
      pthread_join(th, NULL);
      state = hyd_worse(state, hp.state);
    }
  }
  free(l.p);
  s3p_db_close(db);
  hyd_set(hy, state, 0, 0, 0, 0);
  return NULL;
}

/* hyd_free releases h (the thread must be joined). */
static void hyd_free(s3p_hydrate *h){
  s3p_options_free(&h->opt);
  s3p_options_free(&h->opt2);
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
  /* Two fetching threads, each with half the concurrency: together they
  ** keep the store's parallel rate, and one checks its batch while the
  ** other's is in flight. */
  int conc = h->opt.concurrency ? h->opt.concurrency : S3P_HYDRATE_CONCURRENCY;
  h->opt.concurrency = conc > 1 ? conc / 2 : 1;
  if(s3p_options_dup(&h->opt2, &h->opt)){
    hyd_free(h);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  h->opt2.concurrency = conc > 1 ? conc - conc / 2 : 1;
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
