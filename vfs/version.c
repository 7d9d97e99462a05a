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

/* version_hint returns the version named by HEAD, 0 if there is none or it
** is unreadable (a damaged hint only costs probes; it is logged). */
static uint64_t version_hint(s3p_db *db){
  unsigned char *data = NULL;
  size_t len = 0;
  char *msg = NULL;
  uint64_t v = 0;
  int rc = s3p_store_get(db->store, "HEAD", &data, &len, &msg);
  if(rc == S3P_OK){
    const char *why = NULL;
    if(s3p_head_decode(&v, data, len, &why)){
      sqlite3_log(SQLITE_CORRUPT, "s3page: %s: HEAD is corrupt (%s); probing "
                  "from the start", db->store->desc, why ? why : "?");
      v = 0;
    }
  }else if(rc != S3P_ENOTFOUND){
    sqlite3_log(SQLITE_IOERR, "s3page: %s: GET HEAD: %s", db->store->desc,
                msg ? msg : s3p_errstr(rc));
  }
  free(data);
  free(msg);
  return v;
}

int s3p_version_latest(s3p_db *db, uint64_t from, uint64_t *latest){
  uint64_t lo = from, hint = version_hint(db);
  int yes, rc;
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
    /* No usable hint. Start from TAIL when gc wrote one (the records below
    ** it are going, or gone), else from wal/1; both are asked in one batch
    ** so that a database never collected pays no round trip for this. */
    s3p_op ops[2];
    char k1[32];
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
    yes = ops[0].rc == S3P_OK;
    s3p_op_reset(&ops[0]);
    s3p_op_reset(&ops[1]);
    if(rc) return rc;
    if(tail > 1){
      int there;
      rc = s3p_version_exists(db, tail, &there);
      if(rc) return rc;
      if(there) lo = tail;
    }
    if(lo == 0 && yes) lo = 1;
    if(lo == 0){ *latest = 0; return SQLITE_OK; }
  }
  /* lo exists. Gallop: lo+1, lo+2, lo+4, ... */
  uint64_t step = 1, hi;
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
