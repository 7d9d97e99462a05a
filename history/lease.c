/*
** lease.c: in-progress markers of bulk writers (lease/<name>), both
** sides: the writer that holds one, and gc that reads them.
**
** A writer that uploads objects before it creates the one record naming
** them (s3page import; any operation outside SQL that may run for longer
** than a grace period) cannot rely on the objects' age to protect them:
** its first uploads may be older than gc's grace period by the time its
** record exists. So it creates lease/<random name> first, holding its
** start time, writes it again every S3P_LEASE_RENEW_MS while it runs, and
** deletes it at the end (s3p_lease_begin, s3p_lease_keep, s3p_lease_end).
**
** gc lists lease/ before it looks for the newest version (s3p_lease_scan_run):
** a marker renewed within its liveness period is live, and gc spares every
** unreferenced object modified at or after the earliest live start, less
** the clock margin. A marker not renewed for that long is dead: its writer
** stopped, or must fail (below), and gc deletes it.
**
** The writer's side of the bargain: it never goes S3P_TRUST_MS without a
** renewal that succeeded (from sending one PUT of the marker to the end of
** the next, or to the creation of its record). If it did, a gc may have
** found the marker dead and deleted what was uploaded, so s3p_lease_keep
** fails and the writer must not create its record. gc's liveness period
** is at least S3P_GC_MIN_GRACE_MS = S3P_TRUST_MS + S3P_GC_MARGIN_MS, the
** margin covering clock skew and the record's creation. Why this order of
** gc's steps is sound is argued in docs/history.md ("Bulk writers").
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <sqlite3.h>
#include "internal.h"
#include "../index/lease.h"

/* lease_name writes "lease/" and 32 random hex digits into key. */
static void lease_name(char key[S3P_KEY_MAX]){
  unsigned char r[S3P_LEASE_NAME_HEX / 2];
  size_t got = 0;
  while(got < sizeof r){
    ssize_t n = getrandom(r + got, sizeof r - got, 0);
    if(n <= 0) break;
    got += (size_t)n;
  }
  if(got < sizeof r){
    /* No entropy source: time and address still make the name unique
    ** enough; a clash only merges two writers' markers (the earlier start
    ** is lost, and with it protection: so mix in as much as we can). */
    uint64_t t = s3p_now_ms() * 0x9E3779B97F4A7C15ull;
    uint64_t a = (uint64_t)(uintptr_t)key ^ (uint64_t)getpid() << 32;
    memcpy(r, &t, 8);
    memcpy(r + 8, &a, 8);
  }
  int n = snprintf(key, S3P_KEY_MAX, "lease/");
  for(size_t i = 0; i < sizeof r; i++){
    n += snprintf(key + n, (size_t)(S3P_KEY_MAX - n), "%02x", r[i]);
  }
  assert(s3p_lease_key_ok(key));
}

/* lease_put writes the marker of l with renewal time now. Returns
** SQLITE_OK or an error recorded in l->db. */
static int lease_put(s3p_lease *l, uint64_t now){
  unsigned char b[S3P_LEASE_LEN];
  s3p_lease_encode(b, l->start_ms, now > l->start_ms ? now : l->start_ms);
  char *msg = NULL;
  int src = s3p_store_put(l->db->store, S3P_OP_PUT, l->key, b, sizeof b, &msg);
  int rc = SQLITE_OK;
  if(src){
    rc = s3p_db_store_error(l->db, src, SQLITE_IOERR_WRITE, "PUT", l->key, msg);
  }
  free(msg);
  return rc;
}

/* lease_start creates a new marker for db with start time start_ms (at
** least 1). Returns SQLITE_OK or an error in db. */
static int lease_start(s3p_lease *l, s3p_db *db, uint64_t start_ms){
  memset(l, 0, sizeof *l);
  l->db = db;
  lease_name(l->key);
  l->start_ms = start_ms ? start_ms : 1;
  int rc = lease_put(l, s3p_now_ms());
  if(rc) return rc;
  l->issued_ms = s3p_now_ms();
  l->held = 1;
  return SQLITE_OK;
}

int s3p_lease_begin(s3p_lease *l, s3p_db *db){
  return lease_start(l, db, s3p_now_ms());
}

int s3p_lease_begin_reuse(s3p_lease *l, s3p_db *db){
  return lease_start(l, db, 1);
}

/* lease_lapsed records the error of a writer that went too long without a
** renewal: gap ms since the last one was sent. Returns its code. */
static int lease_lapsed(s3p_lease *l, uint64_t gap){
  return s3p_db_error(l->db, SQLITE_ABORT, "%s: this bulk write went %llu s "
                      "without renewing its marker %s (at most %d s are "
                      "allowed): gc may have removed what it uploaded, so "
                      "nothing was committed; run it again",
                      l->db->store->desc, (unsigned long long)(gap / 1000),
                      l->key, S3P_TRUST_MS / 1000);
}

int s3p_lease_keep(s3p_lease *l){
  assert(l->held);
  uint64_t now = s3p_now_ms();
  uint64_t gap = now > l->issued_ms ? now - l->issued_ms : 0;
  if(gap >= S3P_TRUST_MS) return lease_lapsed(l, gap);
  if(gap < S3P_LEASE_RENEW_MS) return SQLITE_OK;
  int rc = lease_put(l, now);
  if(rc) return rc;
  /* Until this PUT landed, gc saw the previous one. */
  uint64_t done = s3p_now_ms();
  gap = done > l->issued_ms ? done - l->issued_ms : 0;
  if(gap >= S3P_TRUST_MS) return lease_lapsed(l, gap);
  l->issued_ms = now;
  return SQLITE_OK;
}

void s3p_lease_end(s3p_lease *l){
  if(!l->held) return;
  l->held = 0;
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_DELETE;
  op.key = l->key;
  int src = s3p_store_exec(l->db->store, &op, 1);
  if(src || (op.rc && op.rc != S3P_ENOTFOUND)){
    /* Harmless: gc deletes a marker once it is dead. */
    sqlite3_log(SQLITE_IOERR_DELETE, "s3page: %s: could not delete %s (%s); "
                "gc removes it once it is dead", l->db->store->desc, l->key,
                op.errmsg ? op.errmsg : s3p_errstr(src ? src : op.rc));
  }
  s3p_op_reset(&op);
}


/* A marker found by the listing. */
typedef struct lease_seen {
  char key[S3P_KEY_MAX];     /* its name */
  int64_t mtime;             /* its modification time (s), <= 0: unknown */
} lease_seen;

/* The listing of lease/. */
typedef struct lease_list {
  lease_seen *v;             /* markers */
  size_t n, cap;             /* entries / room */
  int nomem;                 /* out of memory */
} lease_list;

/* lease_list_fn collects the canonical names from a listing of lease/.
** Returns 0, or 1 (stop) when out of memory. */
static int lease_list_fn(void *arg, const char *key, uint64_t size,
                         int64_t mtime){
  lease_list *ls = arg;
  (void)size;
  if(!s3p_lease_key_ok(key)) return 0;       /* not ours: left alone */
  if(ls->n == ls->cap){
    size_t n = ls->cap ? ls->cap * 2 : 16;
    lease_seen *p = realloc(ls->v, n * sizeof *p);
    if(!p){ ls->nomem = 1; return 1; }
    ls->v = p;
    ls->cap = n;
  }
  snprintf(ls->v[ls->n].key, S3P_KEY_MAX, "%s", key);
  ls->v[ls->n].mtime = mtime;
  ls->n++;
  return 0;
}

/* lease_judge adds the marker e, read by the finished GET op, to sc: live
** (lowering sc->floor_ms) or dead (to be deleted). Returns SQLITE_OK or
** the error of a failed GET. */
static int lease_judge(s3p_db *db, s3p_lease_scan *sc, const lease_seen *e,
                       const s3p_op *op, uint64_t now, uint64_t dead_ms){
  if(op->rc == S3P_ENOTFOUND) return SQLITE_OK;   /* its writer finished */
  uint64_t start = 0, renewed = 0;
  const char *why = NULL;
  int sound = 0;
  if(op->rc == S3P_OK){
    sound = s3p_lease_decode(&start, &renewed, op->data, op->len, &why)
            == S3P_OK;
  }else if(op->rc == S3P_ECORRUPT){
    why = op->errmsg ? op->errmsg : "too big";     /* refused unread */
  }else{
    return s3p_db_store_error(db, op->rc, SQLITE_IOERR_READ, "GET", e->key,
                              op->errmsg);
  }
  /* Last renewal: the later of the store's time and the writer's (a clock
  ** that is off only keeps a marker alive longer). Whole seconds round up. */
  int known = e->mtime > 0;
  uint64_t last = known ? ((uint64_t)e->mtime + 1) * 1000 : 0;
  if(sound && renewed > last) last = renewed;
  int live = (!known && !sound) || last >= now || now - last < dead_ms;
  if(!live){
    if(sc->ndead == sc->capdead){
      size_t n = sc->capdead ? sc->capdead * 2 : 16;
      char (*k)[S3P_KEY_MAX] = realloc(sc->dead, n * sizeof *k);
      if(!k) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
      sc->dead = k;
      sc->capdead = n;
    }
    snprintf(sc->dead[sc->ndead++], S3P_KEY_MAX, "%s", e->key);
    return SQLITE_OK;
  }
  sc->live++;
  /* Everything the writer uploaded was modified after it started: the
  ** earlier of its start and the marker's own time, less the margin. A
  ** damaged marker tells no start: it spares every unreferenced object. */
  int64_t from = 0;
  if(sound){
    uint64_t s = start;
    if(known && (uint64_t)e->mtime * 1000 < s) s = (uint64_t)e->mtime * 1000;
    from = s > (uint64_t)S3P_GC_MARGIN_MS ? (int64_t)(s - S3P_GC_MARGIN_MS) : 0;
  }else{
    sqlite3_log(SQLITE_CORRUPT, "s3page: %s: the bulk-write marker %s is "
                "damaged (%s) and %s: gc spares every unreferenced object "
                "until it is dead (or removed by hand)", db->store->desc,
                e->key, why ? why : "?", known ? "recent" : "of unknown age");
  }
  if(from < sc->floor_ms) sc->floor_ms = from;
  return SQLITE_OK;
}

int s3p_lease_scan_run(s3p_db *db, uint64_t now, uint64_t dead_ms,
                       s3p_lease_scan *sc){
  memset(sc, 0, sizeof *sc);
  sc->floor_ms = INT64_MAX;
  lease_list ls;
  memset(&ls, 0, sizeof ls);
  char *msg = NULL;
  int src = s3p_store_list(db->store, "lease/", lease_list_fn, &ls, &msg);
  int rc = SQLITE_OK;
  if(ls.nomem) rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  else if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "LIST",
                                       "lease/", msg);
  free(msg);
  s3p_op ops[S3P_HIST_BATCH];
  for(size_t a = 0; a < ls.n && rc == SQLITE_OK; a += S3P_HIST_BATCH){
    size_t m = ls.n - a < S3P_HIST_BATCH ? ls.n - a : S3P_HIST_BATCH;
    memset(ops, 0, m * sizeof *ops);
    for(size_t i = 0; i < m; i++){
      ops[i].kind = S3P_OP_GET;
      ops[i].key = ls.v[a + i].key;
      ops[i].max_len = S3P_LEASE_LEN;
    }
    src = s3p_store_exec(db->store, ops, m);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET",
                                    ls.v[a].key, NULL);
    for(size_t i = 0; i < m; i++){
      if(rc == SQLITE_OK){
        rc = lease_judge(db, sc, &ls.v[a + i], &ops[i], now, dead_ms);
      }
      s3p_op_reset(&ops[i]);
    }
  }
  free(ls.v);
  return rc;
}

void s3p_lease_scan_free(s3p_lease_scan *sc){
  free(sc->dead);
  memset(sc, 0, sizeof *sc);
}
