/*
** version.c: finding versions without listing the bucket.
**
** Versions are dense: record N exists only if N-1 does, because a writer
** creates N only on top of a parent it has read. So the newest version is
** found by starting from the HEAD hint (which may lag, never lead) and
** probing forward: exponentially until a miss, then by bisection. With a
** fresh hint that is one GET of HEAD and one probe.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "db.h"
#include "tail.h"
#include "../index/head.h"
#include "../index/page.h"

int s3p_version_exists(s3p_db *db, uint64_t v, int *yes){
  char key[32];
  s3p_record_key(key, v);
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_HEAD;
  op.key = key;
  int rc = s3p_store_exec(db->store, &op, 1);
  if(rc == S3P_OK) rc = op.rc;
  *yes = rc == S3P_OK;
  if(rc == S3P_ENOTFOUND) rc = S3P_OK;
  int out = SQLITE_OK;
  if(rc) out = s3p_db_store_error(db, rc, SQLITE_IOERR_READ, "HEAD", key,
                                  op.errmsg);
  s3p_op_reset(&op);
  return out;
}

/* version_hint reads HEAD into *h; h->version is 0 if there is none or it
** is unreadable (a damaged hint only costs probes; it is logged). */
static void version_hint(s3p_db *db, s3p_head *h){
  unsigned char *data = NULL;
  size_t len = 0;
  char *msg = NULL;
  memset(h, 0, sizeof *h);
  int rc = s3p_store_get(db->store, "HEAD", &data, &len, &msg);
  if(rc == S3P_OK){
    const char *why = NULL;
    if(s3p_head_decode(h, data, len, &why)){
      sqlite3_log(SQLITE_CORRUPT, "s3page: %s: HEAD is corrupt (%s); probing "
                  "from the start", db->store->desc, why ? why : "?");
      memset(h, 0, sizeof *h);
    }
  }else if(rc != S3P_ENOTFOUND){
    sqlite3_log(SQLITE_IOERR, "s3page: %s: GET HEAD: %s", db->store->desc,
                msg ? msg : s3p_errstr(rc));
  }
  free(data);
  free(msg);
}

/* version_from_start finds, with no usable hint, a version lo to search
** forward from: TAIL when gc wrote one (the records below it are going, or
** gone), else 1; both are asked in one batch so that a database never
** collected pays no round trip for this. *lo gets 0 for a database
** without versions. Returns SQLITE_OK or an error. */
static int version_from_start(s3p_db *db, uint64_t *lo){
  s3p_op ops[2];
  char k1[32];
  int rc;
  *lo = 0;
  s3p_record_key(k1, 1);
  memset(ops, 0, sizeof ops);
  ops[0].kind = S3P_OP_HEAD;
  ops[0].key = k1;
  ops[1].kind = S3P_OP_GET;
  ops[1].key = "TAIL";
  uint64_t tail = 0;
  int src = s3p_store_exec(db->store, ops, 2);
  if(src){
    rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "HEAD", k1, NULL);
  }else if(ops[0].rc != S3P_OK && ops[0].rc != S3P_ENOTFOUND){
    rc = s3p_db_store_error(db, ops[0].rc, SQLITE_IOERR_READ, "HEAD", k1,
                            ops[0].errmsg);
  }else{
    rc = s3p_tail_from_op(db, &ops[1], &tail);
  }
  int yes = ops[0].rc == S3P_OK;
  s3p_op_reset(&ops[0]);
  s3p_op_reset(&ops[1]);
  if(rc) return rc;
  if(tail > 1){
    int there;
    rc = s3p_version_exists(db, tail, &there);
    if(rc) return rc;
    if(there) *lo = tail;
  }
  if(*lo == 0 && yes) *lo = 1;
  return SQLITE_OK;
}

/* version_search sets *latest to the newest version, given that version lo
** (>= 1) exists: gallop lo+1, lo+2, lo+4, ... to a miss, then bisect.
** Returns SQLITE_OK or an error. */
static int version_search(s3p_db *db, uint64_t lo, uint64_t *latest){
  uint64_t step = 1, hi;
  int yes, rc;
  for(;;){
    rc = s3p_version_exists(db, lo + step, &yes);
    if(rc) return rc;
    if(!yes){ hi = lo + step; break; }
    lo += step;
    if(step < (UINT64_C(1) << 40)) step *= 2;
  }
  /* Bisect in (lo, hi): lo exists, hi does not. */
  while(hi - lo > 1){
    uint64_t mid = lo + (hi - lo) / 2;
    rc = s3p_version_exists(db, mid, &yes);
    if(rc) return rc;
    if(yes) lo = mid; else hi = mid;
  }
  *latest = lo;
  return SQLITE_OK;
}

int s3p_version_latest(s3p_db *db, uint64_t from, uint64_t *latest){
  uint64_t lo = from;
  s3p_head head;
  int rc;
  version_hint(db, &head);
  uint64_t hint = head.version;
  if(hint > lo){
    /* One batch verifies the hint (a hint naming a missing version is
    ** ignored), fetches its record, which the caller most likely loads
    ** next, and probes the version after it. */
    char k1[32], k2[32];
    s3p_record_key(k1, hint);
    s3p_record_key(k2, hint + 1);
    s3p_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].kind = S3P_OP_GET;
    ops[0].key = k1;
    ops[1].kind = S3P_OP_HEAD;
    ops[1].key = k2;
    int src = s3p_store_exec(db->store, ops, 2);
    int bad = src ? 0 : ops[0].rc != S3P_OK && ops[0].rc != S3P_ENOTFOUND ? 0
            : ops[1].rc != S3P_OK && ops[1].rc != S3P_ENOTFOUND ? 1 : -1;
    rc = SQLITE_OK;
    if(src){
      rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", k1, NULL);
    }else if(bad >= 0){
      rc = s3p_db_store_error(db, ops[bad].rc, SQLITE_IOERR_READ,
                              bad ? "HEAD" : "GET", bad ? k2 : k1,
                              ops[bad].errmsg);
    }else if(ops[0].rc == S3P_OK){
      s3p_db_stash_record(db, hint, ops[0].data, ops[0].len);
      lo = ops[1].rc == S3P_OK ? hint + 1 : hint;
      if(lo == hint) *latest = hint;
    }
    s3p_op_reset(&ops[0]);
    s3p_op_reset(&ops[1]);
    if(rc) return rc;
    if(lo == hint) return SQLITE_OK;
  }
  if(lo == 0){
    rc = version_from_start(db, &lo);
    if(rc) return rc;
    if(lo == 0){ *latest = 0; return SQLITE_OK; }
  }
  return version_search(db, lo, latest);
}

/* Most records between the hint's checkpoint and its version fetched with
** it at open (the default checkpoint interval is 32). */
#define VERSION_OPEN_REPLAY 64

/* One object of the open batch besides the probes. */
typedef struct version_fetch {
  char key[S3P_KEY_MAX];       /* wal/<N>, index/<hash> or pages/<hash> */
  uint8_t kind;                /* S3P_HINT_*, or 0 for a record */
  s3p_hash hash;               /* the hinted object's name */
  uint64_t version;            /* the record's version */
} version_fetch;

/* version_keep checks a hinted object that arrived and keeps it in the
** caches: a node or page is kept only if its bytes hash to its name, so a
** stale, damaged or hostile hint can cost bytes but never change what is
** read. psz is the page size of the hinted version (0: unknown). */
static void version_keep(s3p_db *db, const version_fetch *f, const s3p_op *op,
                         uint32_t psz, unsigned char *buf){
  if(op->rc != S3P_OK) return;          /* gone (gc) or failing: not needed */
  if(f->kind == S3P_HINT_NODE){
    s3p_node node;
    if(s3p_node_decode(&node, op->data, op->len, &f->hash, NULL) == S3P_OK){
      s3p_pagecache_put(S3P_PC_NODE, &f->hash, &node, sizeof node);
    }
  }else if(f->kind == S3P_HINT_PAGE && psz && buf){
    const char *why;
    if(s3p_page_decode(buf, psz, &f->hash, op->data, op->len, &why) == S3P_OK){
      s3p_pagecache_put(S3P_PC_PAGE, &f->hash, buf, psz);
      if(db->disk) s3p_diskcache_put(db->disk, &f->hash, buf, psz);
    }
  }
}

/* version_cached returns 1 if the hinted object h is cached already (a
** page in the disk cache is moved up to memory); psz is the page size
** HEAD states, 0 if none. */
static int version_cached(s3p_db *db, const s3p_hint *h, uint32_t psz,
                          unsigned char *buf){
  if(h->kind == S3P_HINT_NODE) return s3p_pagecache_has(S3P_PC_NODE, &h->hash);
  if(s3p_pagecache_has(S3P_PC_PAGE, &h->hash)) return 1;
  if(!db->disk || !psz || !buf ||
     !s3p_diskcache_get(db->disk, &h->hash, buf, psz)) return 0;
  s3p_pagecache_put(S3P_PC_PAGE, &h->hash, buf, psz);
  return 1;
}

int s3p_version_read_head(s3p_db *db, s3p_head *head){
  version_hint(db, head);
  return head->version != 0 && head->version <= UINT64_MAX - 2;
}

int s3p_version_open(s3p_db *db, uint64_t *latest){
  s3p_head head;
  version_hint(db, &head);                         /* round trip 1 */
  return s3p_version_open_head(db, &head, latest);
}

int s3p_version_open_head(s3p_db *db, const s3p_head *hp, uint64_t *latest){
  const s3p_head head = *hp;
  uint64_t n = head.version;
  uint64_t lo = 0;                     /* a version known to exist */
  int rc;
  if(n == 0 || n > UINT64_MAX - 2) goto no_hint;
  /* Round trip 2, one batch: GET wal/<N> (proves the hint right), GET
  ** wal/<N+1> and HEAD wal/<N+2> (a HEAD written with the next commit
  ** lags by one: then the newest is N+1 and its record is here), the
  ** records N's checkpoint needs replayed, and the hinted objects not
  ** cached. */
  uint64_t c = head.ckpt_version;
  size_t nrep = n - c > 1 && n - c - 1 <= VERSION_OPEN_REPLAY
              ? (size_t)(n - c - 1) : 0;
  size_t cap = 3 + nrep + head.nhint;
  version_fetch *f = calloc(cap, sizeof *f);
  s3p_op *ops = calloc(cap, sizeof *ops);
  unsigned char *buf = malloc(head.page_size ? head.page_size : 65536);
  if(!f || !ops || !buf){
    free(f); free(ops); free(buf);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  size_t m = 0;
  for(uint64_t v = n; v <= n + 2; v++){
    f[m].version = v;
    s3p_record_key(f[m].key, v);
    ops[m].kind = v == n + 2 ? S3P_OP_HEAD : S3P_OP_GET;
    m++;
  }
  for(size_t i = 0; i < nrep; i++){
    f[m].version = c + 1 + i;
    s3p_record_key(f[m].key, c + 1 + i);
    ops[m++].kind = S3P_OP_GET;
  }
  for(unsigned i = 0; i < head.nhint && !db->opt.skip_hints; i++){
    const s3p_hint *h = &head.hint[i];
    if(version_cached(db, h, head.page_size, buf)) continue;
    f[m].kind = h->kind;
    f[m].hash = h->hash;
    s3p_hash_key(f[m].key, h->kind == S3P_HINT_NODE ? "index" : "pages",
                 &h->hash);
    ops[m++].kind = S3P_OP_GET;
  }
  for(size_t i = 0; i < m; i++) ops[i].key = f[i].key;
  int src = s3p_store_exec(db->store, ops, m);
  int done = 0;
  rc = SQLITE_OK;
  if(src){
    rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", f[0].key, NULL);
  }else{
    for(int i = 0; i < 3 && rc == SQLITE_OK; i++){
      if(ops[i].rc != S3P_OK && ops[i].rc != S3P_ENOTFOUND){
        rc = s3p_db_store_error(db, ops[i].rc, SQLITE_IOERR_READ,
                                i == 2 ? "HEAD" : "GET", f[i].key,
                                ops[i].errmsg);
      }
    }
  }
  if(rc == SQLITE_OK && ops[0].rc == S3P_OK){
    /* The records first: the hinted pages decode at N's page size. */
    uint32_t psz = head.page_size;
    for(size_t i = 0; i < m && !f[i].kind; i++){
      if(i == 2 || ops[i].rc != S3P_OK) continue;
      s3p_db_stash_record(db, f[i].version, ops[i].data, ops[i].len);
    }
    for(size_t i = 0; i < db->nstash && !psz; i++){
      if(db->stash[i].version == n) psz = db->stash[i].page_size;
    }
    if(psz > 65536) psz = 0;
    for(size_t i = 0; i < m; i++){
      if(f[i].kind) version_keep(db, &f[i], &ops[i], psz, buf);
    }
    if(ops[1].rc != S3P_OK){
      *latest = n;
      done = 1;
    }else if(ops[2].rc != S3P_OK){
      *latest = n + 1;
      done = 1;
    }else{
      lo = n + 2;
    }
  }
  for(size_t i = 0; i < m; i++) s3p_op_reset(&ops[i]);
  free(ops);
  free(f);
  free(buf);
  if(rc || done) return rc;
  if(lo) return version_search(db, lo, latest);
no_hint:
  /* No HEAD, or one naming a version that is not there (removed by gc). */
  rc = version_from_start(db, &lo);
  if(rc) return rc;
  if(lo == 0){ *latest = 0; return SQLITE_OK; }
  return version_search(db, lo, latest);
}

int s3p_version_behind(s3p_db *db, uint64_t v, uint64_t tail,
                       uint64_t *latest, int *behind){
  *behind = 0;
  *latest = v;
  assert(tail > v + 1);
  int rc = s3p_version_latest(db, 0, latest);
  if(rc) return rc;
  if(*latest >= tail){
    *behind = 1;
  }else{
    /* No record at or above TAIL: not written by gc for this history. */
    sqlite3_log(SQLITE_WARNING, "s3page: %s: TAIL names version %llu but the "
                "newest is %llu; ignoring it", db->store->desc,
                (unsigned long long)tail, (unsigned long long)*latest);
  }
  return SQLITE_OK;
}

/* version_time reads the commit time of version v into *ms. */
static int version_time(s3p_db *db, uint64_t v, uint64_t *ms){
  s3p_record rec;
  int rc = s3p_db_get_record(db, v, &rec);
  if(rc == SQLITE_NOTFOUND){
    char key[32];
    s3p_record_key(key, v);
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %s vanished "
                        "during a time search", db->store->desc, key);
  }
  if(rc) return rc;
  *ms = rec.time_ms;
  s3p_record_free(&rec);
  return SQLITE_OK;
}

int s3p_version_asof(s3p_db *db, int64_t ms, uint64_t *version){
  uint64_t latest, t;
  char when[32];
  s3p_time_format(when, ms);
  int rc = s3p_version_latest(db, 0, &latest);
  if(rc) return rc;
  if(latest == 0){
    s3p_db_error(db, SQLITE_CANTOPEN, "%s: no version at or before %s: the "
                 "database has no commits", db->store->desc, when);
    return SQLITE_NOTFOUND;
  }
  /* The history starts at the oldest version gc kept (1 without gc). */
  uint64_t oldest;
  rc = s3p_version_oldest(db, latest, &oldest);
  if(rc) return rc;
  rc = version_time(db, oldest, &t);
  if(rc) return rc;
  if(ms < 0 || t > (uint64_t)ms){
    char first[32];
    s3p_time_format(first, (int64_t)t);
    if(oldest > 1){
      s3p_db_error(db, SQLITE_CANTOPEN, "%s: no version at or before %s: "
                   "versions before %llu were removed by gc, and version "
                   "%llu was committed at %s", db->store->desc, when,
                   (unsigned long long)oldest, (unsigned long long)oldest,
                   first);
    }else{
      s3p_db_error(db, SQLITE_CANTOPEN, "%s: no version at or before %s: the "
                   "first commit was at %s", db->store->desc, when, first);
    }
    return SQLITE_NOTFOUND;
  }
  /* Commit times never decrease, so bisect: lo is at or before ms. */
  uint64_t lo = oldest, hi = latest + 1;
  while(hi - lo > 1){
    uint64_t mid = lo + (hi - lo) / 2;
    rc = version_time(db, mid, &t);
    if(rc) return rc;
    if(t <= (uint64_t)ms) lo = mid; else hi = mid;
  }
  *version = lo;
  return SQLITE_OK;
}
