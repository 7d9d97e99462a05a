/*
** gc.c: s3page_gc, mark and sweep of old versions and unused objects.
**
**   0. Read the markers of bulk writers in progress (lease/, see
**      lease.c): unreferenced objects modified since the oldest live
**      one started are spared. This comes before N is found: a writer
**      whose marker is gone by now had created its record, so N is at or
**      above it.
**   1. Decide the kept range [K, N]: N is the newest version when gc starts;
**      K is the oldest version the options keep, lowered to the oldest
**      version that was the newest at any moment within the grace period
**      (readers may still be reading it, writers may reuse its pages), then
**      lowered again to the first record after its checkpoint, so that
**      every kept record can be replayed: every record left in the store
**      is a complete, openable version.
**   2. Mark: read records K..N; mark the pages their change lists name and
**      walk each distinct checkpoint tree they start from (a visited set
**      makes shared subtrees cost one walk). Any failure here stops gc
**      before anything is deleted.
**   3. Write HEAD = N and TAIL = K (unless a dry run): readers never start
**      from a version about to go.
**   4. Sweep records: LIST wal/, delete the records below K, oldest first
**      (one batch after another), never one above N.
**   5. Catch up: read the markers again and mark what the versions made
**      since N reference (a revert names an old version's objects: see
**      gc_catch_up).
**   6. Sweep objects: LIST pages/ and index/, delete every object that is
**      not marked, whose mtime is older than the grace period and older
**      than the oldest live marker's start; then the dead markers.
** Why this is safe while writers run is argued in docs/history.md.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"

/* One hour, the default grace period. */
#define GC_DEFAULT_GRACE_MS (3600 * 1000)
/* Records read per batch while marking. */
#define GC_CHUNK 256

/* The state of one collection. */
typedef struct gc_state {
  s3p_db *db;                /* the database */
  s3p_hset nodes;            /* marked checkpoint nodes */
  s3p_hset pages;            /* marked page objects */
  uint64_t keep_from;        /* K */
  uint64_t newest;           /* N */
  int64_t cutoff_s;          /* objects with mtime before this may go;
                             ** INT64_MAX: any age (grace 0) */
  int64_t lease_s;           /* ... and before this (live bulk writers);
                             ** INT64_MAX: none */
  s3p_lease_scan leases;     /* what the markers said */
  int dry_run;               /* delete nothing */
  uint64_t *dead_versions;   /* records to delete (from the listing) */
  size_t ndead, capdead;     /* entries / room in dead_versions */
  char (*dead_keys)[S3P_KEY_MAX];  /* objects to delete */
  uint64_t *dead_sizes;      /* their sizes */
  size_t nkeys, capkeys;     /* entries / room */
  s3page_progress_fn progress;  /* progress callback or NULL */
  void *parg;                /* its argument */
  s3page_gc_result res;      /* what was done */
  int rc;                    /* error inside a listing callback */
} gc_state;

/* gc_mark_page marks a page found by the tree walk. Returns 0 or
** SQLITE_NOMEM. */
static int gc_mark_page(void *arg, uint32_t pgno, const s3p_hash *h){
  gc_state *g = arg;
  (void)pgno;
  return s3p_hset_add(&g->pages, h, 1) < 0 ? SQLITE_NOMEM : 0;
}

/* gc_version_time reads the commit time of version v. */
static int gc_version_time(s3p_db *db, uint64_t v, uint64_t *ms,
                           uint64_t *ckpt){
  s3p_record rec;
  int rc = s3p_db_get_record(db, v, &rec);
  if(rc == SQLITE_NOTFOUND){
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: version %llu vanished during "
                        "gc", db->store->desc, (unsigned long long)v);
  }
  if(rc) return rc;
  if(ms) *ms = rec.time_ms;
  if(ckpt) *ckpt = rec.ckpt_version == v ? v : rec.ckpt_version + 1;
  s3p_record_free(&rec);
  return SQLITE_OK;
}

/* gc_current_at sets *v to the version that was the newest at time ms:
** the newest committed at or before ms, or oldest when none was. */
static int gc_current_at(s3p_db *db, uint64_t oldest, uint64_t newest,
                         int64_t ms, uint64_t *v){
  uint64_t t = 0;
  int rc = gc_version_time(db, oldest, &t, NULL);
  if(rc) return rc;
  if(ms < 0 || t > (uint64_t)ms){ *v = oldest; return SQLITE_OK; }
  uint64_t lo = oldest, hi = newest + 1;
  while(hi - lo > 1){
    uint64_t mid = lo + (hi - lo) / 2;
    rc = gc_version_time(db, mid, &t, NULL);
    if(rc) return rc;
    if(t <= (uint64_t)ms) lo = mid; else hi = mid;
  }
  *v = lo;
  return SQLITE_OK;
}

/* gc_mark reads records from..to and marks everything they reference.
** Returns SQLITE_OK or an error (nothing may be deleted then). */
static int gc_mark(gc_state *g, uint64_t from, uint64_t to){
  s3p_db *db = g->db;
  s3p_record recs[GC_CHUNK];
  s3p_hset roots;
  memset(&roots, 0, sizeof roots);
  int rc = SQLITE_OK;
  for(uint64_t a = from; a <= to && rc == SQLITE_OK; a += GC_CHUNK){
    uint64_t b = to - a >= GC_CHUNK ? a + GC_CHUNK - 1 : to;
    rc = s3p_db_get_records(db, a, b, recs);
    if(rc) break;
    for(uint64_t v = a; v <= b; v++){
      s3p_record *r = &recs[v - a];
      for(uint32_t c = 0; c < r->nchange && rc == SQLITE_OK; c++){
        if(s3p_hset_add(&g->pages, &r->changes[c].hash, 1) < 0){
          rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
        }
      }
      if(rc == SQLITE_OK && !s3p_hash_is_zero(&r->ckpt_root)){
        int added = s3p_hset_add(&roots, &r->ckpt_root, 1);
        if(added < 0) rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
        if(added > 0){
          s3p_treeref t = { r->ckpt_root, r->ckpt_level };
          s3p_hwalk w;
          memset(&w, 0, sizeof w);
          w.db = db;
          w.visited = &g->nodes;
          w.page = gc_mark_page;
          w.arg = g;
          rc = s3p_hist_walk(&w, &t);
          if(rc == SQLITE_NOMEM && !db->errmsg){
            rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
          }
        }
      }
      s3p_record_free(r);
    }
    if(g->progress) g->progress(g->parg, b - from + 1, to - from + 1);
  }
  s3p_hset_free(&roots);
  return rc;
}

/* gc_list_wal collects the records below K from a listing of wal/. */
static int gc_list_wal(void *arg, const char *key, uint64_t size,
                       int64_t mtime){
  gc_state *g = arg;
  (void)mtime;
  const char *d = key + 4;
  if(strncmp(key, "wal/", 4) || strlen(d) != S3P_VERSION_DIGITS) return 0;
  uint64_t v = 0;
  for(const char *p = d; *p; p++){
    if(*p < '0' || *p > '9') return 0;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if(v >= g->keep_from || v > g->newest) return 0;
  if(g->ndead == g->capdead){
    size_t n = g->capdead ? g->capdead * 2 : 256;
    uint64_t *p = realloc(g->dead_versions, n * sizeof *p);
    if(!p){ g->rc = SQLITE_NOMEM; return 1; }
    g->dead_versions = p;
    g->capdead = n;
  }
  g->dead_versions[g->ndead++] = v;
  g->res.bytes_freed += size;
  return 0;
}

/* gc_list_objects collects unmarked objects older than the grace period
** from a listing of pages/ or index/. */
static int gc_list_objects(void *arg, const char *key, uint64_t size,
                           int64_t mtime){
  gc_state *g = arg;
  int is_page = !strncmp(key, "pages/", 6);
  const char *name = key + (is_page ? 6 : 6);
  if(!is_page && strncmp(key, "index/", 6)) return 0;
  size_t plen = strlen(S3P_HASH_PREFIX);
  s3p_hash h;
  if(strncmp(name, S3P_HASH_PREFIX, plen) || strlen(name + plen) !=
     S3P_HASH_HEXLEN || s3p_hash_from_hex(&h, name + plen)){
    return 0;   /* not ours to judge: left alone */
  }
  /* A name that is not its canonical spelling is left alone too. */
  char canon[S3P_KEY_MAX];
  s3p_hash_key(canon, is_page ? "pages" : "index", &h);
  if(strcmp(canon, key)) return 0;
  if(s3p_hset_get(is_page ? &g->pages : &g->nodes, &h, NULL)){
    g->res.objects_kept++;
    return 0;
  }
  /* A listing may give no usable time (S3 without a LastModified we can
  ** parse: 0, or negative): an object of unknown age counts as young. */
  if(g->cutoff_s != INT64_MAX && (mtime <= 0 || mtime >= g->cutoff_s)){
    g->res.objects_young++;
    return 0;
  }
  if(g->lease_s != INT64_MAX && (mtime <= 0 || mtime >= g->lease_s)){
    g->res.objects_leased++;
    return 0;
  }
  if(g->nkeys == g->capkeys){
    size_t n = g->capkeys ? g->capkeys * 2 : 1024;
    char (*k)[S3P_KEY_MAX] = realloc(g->dead_keys, n * sizeof *k);
    if(!k){ g->rc = SQLITE_NOMEM; return 1; }
    g->dead_keys = k;
    uint64_t *s = realloc(g->dead_sizes, n * sizeof *s);
    if(!s){ g->rc = SQLITE_NOMEM; return 1; }
    g->dead_sizes = s;
    g->capkeys = n;
  }
  snprintf(g->dead_keys[g->nkeys], S3P_KEY_MAX, "%s", key);
  g->dead_sizes[g->nkeys] = size;
  g->nkeys++;
  if(is_page) g->res.pages_deleted++; else g->res.nodes_deleted++;
  g->res.bytes_freed += size;
  return 0;
}

/* gc_list runs one listing of prefix with callback fn. Returns SQLITE_OK
** or an error. */
static int gc_list(gc_state *g, const char *prefix, s3p_list_fn fn){
  char *msg = NULL;
  g->rc = SQLITE_OK;
  int src = s3p_store_list(g->db->store, prefix, fn, g, &msg);
  int rc = SQLITE_OK;
  if(g->rc) rc = s3p_db_error(g->db, g->rc, "out of memory");
  else if(src) rc = s3p_db_store_error(g->db, src, SQLITE_IOERR_READ, "LIST",
                                       prefix, msg);
  free(msg);
  return rc;
}

/* gc_delete deletes keys[0..n) in batches, in order (each batch finishes
** before the next starts). Returns SQLITE_OK or the first error. */
static int gc_delete(gc_state *g, char (*keys)[S3P_KEY_MAX], size_t n){
  s3p_db *db = g->db;
  s3p_op ops[S3P_HIST_BATCH];
  for(size_t a = 0; a < n; a += S3P_HIST_BATCH){
    size_t m = n - a < S3P_HIST_BATCH ? n - a : S3P_HIST_BATCH;
    memset(ops, 0, sizeof ops);
    for(size_t i = 0; i < m; i++){
      ops[i].kind = S3P_OP_DELETE;
      ops[i].key = keys[a + i];
    }
    int rc = SQLITE_OK;
    int src = s3p_store_exec(db->store, ops, m);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_DELETE, "DELETE",
                                    keys[a], NULL);
    for(size_t i = 0; i < m; i++){
      if(rc == SQLITE_OK && ops[i].rc && ops[i].rc != S3P_ENOTFOUND){
        rc = s3p_db_store_error(db, ops[i].rc, SQLITE_IOERR_DELETE, "DELETE",
                                keys[a + i], ops[i].errmsg);
      }
      s3p_op_reset(&ops[i]);
    }
    if(rc) return rc;
  }
  return SQLITE_OK;
}

/* gc_u64_cmp orders versions for qsort. */
static int gc_u64_cmp(const void *a, const void *b){
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* gc_sweep_records deletes the collected records, oldest first. Returns
** SQLITE_OK or an error. */
static int gc_sweep_records(gc_state *g){
  s3p_db *db = g->db;
  if(g->ndead > 1){
    qsort(g->dead_versions, g->ndead, sizeof *g->dead_versions, gc_u64_cmp);
  }
  g->res.records_deleted = g->ndead;
  if(g->dry_run) return SQLITE_OK;
  char (*rkeys)[S3P_KEY_MAX] = malloc((g->ndead + 1) * sizeof *rkeys);
  if(!rkeys) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  for(size_t i = 0; i < g->ndead; i++){
    s3p_record_key(rkeys[i], g->dead_versions[i]);
  }
  int rc = gc_delete(g, rkeys, g->ndead);
  free(rkeys);
  return rc;
}

/* gc_catch_up runs after the records are deleted and before the objects
** are listed: it reads the markers again, and marks what the versions
** made since N reference (N2: the newest now). Why: a revert names
** objects of an older version V that no kept version may use. It creates
** its marker (s3p_lease_begin_reuse: spare everything) before it reads
** V's record and deletes it after creating its own, so either its marker
** is live now (everything is spared), or its record was created before
** now (marked here), or it began after the records were deleted (then V
** is kept, or the revert finds V gone). Returns SQLITE_OK or an error. */
static int gc_catch_up(gc_state *g, uint64_t dead_ms){
  s3p_db *db = g->db;
  s3p_lease_scan sc;
  int rc = s3p_lease_scan_run(db, s3p_now_ms(), dead_ms, &sc);
  if(rc == SQLITE_OK && sc.floor_ms != INT64_MAX){
    int64_t ls = sc.floor_ms / 1000;
    if(ls < g->lease_s) g->lease_s = ls;
    if(sc.live > g->res.leases_live) g->res.leases_live = sc.live;
  }
  s3p_lease_scan_free(&sc);
  uint64_t now_newest = g->newest;
  if(rc == SQLITE_OK) rc = s3p_version_latest(db, g->newest, &now_newest);
  if(rc == SQLITE_OK && now_newest > g->newest){
    s3page_progress_fn fn = g->progress;
    g->progress = NULL;
    rc = gc_mark(g, g->newest + 1, now_newest);
    g->progress = fn;
  }
  return rc;
}

/* gc_sweep_objects deletes the collected objects, then the dead markers.
** Returns SQLITE_OK or an error. */
static int gc_sweep_objects(gc_state *g){
  g->res.leases_deleted = g->leases.ndead;
  if(g->dry_run) return SQLITE_OK;
  int rc = gc_delete(g, g->dead_keys, g->nkeys);
  if(rc == SQLITE_OK) rc = gc_delete(g, g->leases.dead, g->leases.ndead);
  return rc;
}

/* gc_write_hints writes HEAD = N and, unless TAIL is already at or above
** K, TAIL = K. Returns SQLITE_OK or an error. */
static int gc_write_hints(gc_state *g){
  s3p_db *db = g->db;
  uint64_t floor = 1;
  int rc = s3p_version_floor(db, &floor);
  if(rc) return rc;
  s3p_db_set_head(db, g->newest);
  s3p_db_flush_head(db);
  if(floor < g->keep_from) rc = s3p_tail_write(db, g->keep_from);
  return rc;
}

int s3page_gc(const char *name, const s3page_gc_opts *opts,
              s3page_progress_fn progress, void *arg,
              s3page_gc_result *res, char **errmsg){
  gc_state g;
  memset(&g, 0, sizeof g);
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  if(!opts || (!opts->keep_versions == !opts->has_keep_since)){
    return s3p_hist_set_error(errmsg, SQLITE_MISUSE, "gc: give exactly one of "
                              "--keep-versions N (N >= 1) or --keep-since TIME");
  }
  int64_t grace = opts->grace_ms < 0 ? GC_DEFAULT_GRACE_MS : opts->grace_ms;
  if(grace > 0 && grace < S3P_GC_MIN_GRACE_MS){
    /* Shorter breaks the safety argument silently: an idle connection, a
    ** skipped upload or a bulk writer could lose what gc deletes. */
    int whole_s = grace % 1000 == 0;
    return s3p_hist_set_error(errmsg, SQLITE_MISUSE, "gc: a grace period of "
                              "%lld %s is too short: other connections rely "
                              "on what they learned about the store for up "
                              "to %d s, so gc needs at least %d s (%d min; "
                              "the default is 1 h), or 0 only when nothing "
                              "else uses the database",
                              (long long)(whole_s ? grace / 1000 : grace),
                              whole_s ? "s" : "ms", S3P_TRUST_MS / 1000,
                              S3P_GC_MIN_GRACE_MS / 1000,
                              S3P_GC_MIN_GRACE_MS / 60000);
  }
  g.dry_run = opts->dry_run;
  g.progress = progress;
  g.parg = arg;
  int rc = s3p_hist_open(&g.db, name, !opts->dry_run, 0, NULL, errmsg);
  if(rc) return rc;
  s3p_db *db = g.db;
  uint64_t start_ms = s3p_now_ms();
  uint64_t newest = db->view.version, oldest = 0, want, current;
  /* Bulk writers first, then the newest version (see the top comment).
  ** A marker is dead when not renewed for the grace period; with grace 0
  ** (nobody else should be here) live ones are still honoured. */
  uint64_t dead_ms = grace ? (uint64_t)grace : (uint64_t)S3P_GC_MIN_GRACE_MS;
  rc = s3p_lease_scan_run(db, start_ms, dead_ms, &g.leases);
  if(rc == SQLITE_OK) rc = s3p_version_latest(db, newest, &newest);
  if(rc){
    s3p_lease_scan_free(&g.leases);
    return s3p_hist_finish(db, rc, errmsg);
  }
  g.res.leases_live = g.leases.live;
  g.lease_s = g.leases.floor_ms == INT64_MAX ? INT64_MAX
            : g.leases.floor_ms / 1000;
  if(newest == 0){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: no database here (no commit "
                      "records)", db->store->desc);
    s3p_lease_scan_free(&g.leases);
    return s3p_hist_finish(db, rc, errmsg);
  }
  rc = s3p_version_oldest(db, newest, &oldest);
  if(rc){
    s3p_lease_scan_free(&g.leases);
    return s3p_hist_finish(db, rc, errmsg);
  }
  /* What the options keep. */
  if(opts->keep_versions){
    want = newest >= opts->keep_versions ? newest - opts->keep_versions + 1 : 1;
  }else{
    rc = gc_current_at(db, oldest, newest, opts->keep_since_ms, &want);
  }
  if(want < oldest) want = oldest;
  /* What was the newest at some moment within the grace period. */
  if(rc == SQLITE_OK){
    rc = gc_current_at(db, oldest, newest, (int64_t)start_ms - grace, &current);
  }
  if(rc == SQLITE_OK && current < want) want = current;
  /* Down to the first record after its checkpoint: replayable. */
  uint64_t from = want;
  if(rc == SQLITE_OK) rc = gc_version_time(db, want, NULL, &from);
  if(rc == SQLITE_OK){
    if(from < oldest) from = oldest;
    g.keep_from = from;
    g.newest = newest;
    /* Grace 0 means no age protection at all (only safe when nothing else
    ** uses the database); else whole seconds, as listings report them. */
    g.cutoff_s = grace == 0 ? INT64_MAX : ((int64_t)start_ms - grace) / 1000;
    g.res.newest = newest;
    g.res.oldest_before = oldest;
    g.res.oldest_kept = from;
    rc = gc_mark(&g, g.keep_from, g.newest);
  }
  if(rc == SQLITE_OK && !g.dry_run) rc = gc_write_hints(&g);
  if(rc == SQLITE_OK) rc = gc_list(&g, "wal/", gc_list_wal);
  if(rc == SQLITE_OK) s3p_test_hist_hook("gc: records");
  if(rc == SQLITE_OK) rc = gc_sweep_records(&g);
  /* Objects go only once no dropped record is left to refer to them, and
  ** after the markers and the newest version are read again. */
  if(rc == SQLITE_OK) rc = gc_catch_up(&g, dead_ms);
  if(rc == SQLITE_OK) rc = gc_list(&g, "pages/", gc_list_objects);
  if(rc == SQLITE_OK) rc = gc_list(&g, "index/", gc_list_objects);
  if(rc == SQLITE_OK) rc = gc_sweep_objects(&g);
  if(res) *res = g.res;
  s3p_lease_scan_free(&g.leases);
  s3p_hset_free(&g.nodes);
  s3p_hset_free(&g.pages);
  free(g.dead_versions);
  free(g.dead_keys);
  free(g.dead_sizes);
  return s3p_hist_finish(db, rc, errmsg);
}
