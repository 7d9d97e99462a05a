/*
** tail.c: the lower end of the history. gc writes TAIL (the oldest
** version it kept) before deleting older records; readers start the time
** search of asof= there, and the search for the newest version when HEAD
** names a removed version. See index/tail.h and docs/history.md.
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "tail.h"
#include "../index/tail.h"

int s3p_tail_from_op(s3p_db *db, const s3p_op *op, uint64_t *tail){
  *tail = 0;
  if(op->rc == S3P_ENOTFOUND) return SQLITE_OK;
  if(op->rc){
    return s3p_db_store_error(db, op->rc, SQLITE_IOERR_READ, "GET", "TAIL",
                              op->errmsg);
  }
  const char *why = NULL;
  uint64_t v;
  if(s3p_tail_decode(&v, op->data, op->len, &why)){
    sqlite3_log(SQLITE_CORRUPT, "s3page: %s: TAIL is corrupt (%s); "
                "ignoring it", db->store->desc, why ? why : "?");
    return SQLITE_OK;
  }
  *tail = v;
  if(v > db->tail_seen) db->tail_seen = v;
  return SQLITE_OK;
}

int s3p_version_floor(s3p_db *db, uint64_t *floor){
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_GET;
  op.key = "TAIL";
  uint64_t tail = 0;
  int src = s3p_store_exec(db->store, &op, 1);
  int rc = src ? s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", "TAIL",
                                    NULL)
               : s3p_tail_from_op(db, &op, &tail);
  s3p_op_reset(&op);
  *floor = tail ? tail : 1;
  return rc;
}

int s3p_version_oldest(s3p_db *db, uint64_t latest, uint64_t *oldest){
  uint64_t lo;
  int yes, rc;
  *oldest = 0;
  if(latest == 0) return SQLITE_OK;
  rc = s3p_version_floor(db, &lo);
  if(rc) return rc;
  if(lo > latest) lo = 1;     /* a TAIL beyond the newest is not believed */
  rc = s3p_version_exists(db, lo, &yes);
  if(rc) return rc;
  if(yes){ *oldest = lo; return SQLITE_OK; }
  /* Records exist densely from the true oldest to latest, and lo is below
  ** the true oldest: bisect (lo missing, latest present). */
  uint64_t hi = latest;
  while(hi - lo > 1){
    uint64_t mid = lo + (hi - lo) / 2;
    rc = s3p_version_exists(db, mid, &yes);
    if(rc) return rc;
    if(yes) hi = mid; else lo = mid;
  }
  *oldest = hi;
  return SQLITE_OK;
}

int s3p_tail_write(s3p_db *db, uint64_t version){
  unsigned char b[S3P_TAIL_LEN];
  s3p_tail_encode(b, version);
  char *msg = NULL;
  int rc = s3p_store_put(db->store, S3P_OP_PUT, "TAIL", b, sizeof b, &msg);
  int out = SQLITE_OK;
  if(rc) out = s3p_db_store_error(db, rc, SQLITE_IOERR_WRITE, "PUT", "TAIL", msg);
  free(msg);
  return out;
}
