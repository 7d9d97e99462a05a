/*
** log.c: s3page_log, the versions of a database, newest first.
**
** Records are read LOG_CHUNK at a time in one batch. With S3PAGE_LOG_SIZES
** the page objects a record's change list names are sized with one batch of
** HEAD requests per version (each distinct content once).
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"

/* Records fetched per batch. */
#define LOG_CHUNK 64

/* log_sizes sets *bytes to the stored size of the distinct non-zero page
** objects rec names. Returns SQLITE_OK or an error. */
static int log_sizes(s3p_db *db, const s3p_record *rec, uint64_t *bytes){
  s3p_hset seen;
  memset(&seen, 0, sizeof seen);
  s3p_op ops[S3P_HIST_BATCH];
  char keys[S3P_HIST_BATCH][S3P_KEY_MAX];
  size_t n = 0;
  int rc = SQLITE_OK;
  *bytes = 0;
  for(uint32_t i = 0; i <= rec->nchange && rc == SQLITE_OK; i++){
    if(i < rec->nchange){
      int added = s3p_hset_add(&seen, &rec->changes[i].hash, 0);
      if(added < 0){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); break; }
      if(added){
        memset(&ops[n], 0, sizeof ops[n]);
        s3p_hash_key(keys[n], "pages", &rec->changes[i].hash);
        ops[n].kind = S3P_OP_HEAD;
        ops[n].key = keys[n];
        n++;
      }
    }
    if(n && (n == S3P_HIST_BATCH || i == rec->nchange)){
      int src = s3p_store_exec(db->store, ops, n);
      if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "HEAD",
                                      keys[0], NULL);
      for(size_t k = 0; k < n; k++){
        if(rc == SQLITE_OK && ops[k].rc == S3P_OK) *bytes += ops[k].len;
        else if(rc == SQLITE_OK && ops[k].rc != S3P_ENOTFOUND){
          rc = s3p_db_store_error(db, ops[k].rc, SQLITE_IOERR_READ, "HEAD",
                                  keys[k], ops[k].errmsg);
        }
        s3p_op_reset(&ops[k]);
      }
      n = 0;
    }
  }
  s3p_hset_free(&seen);
  return rc;
}

int s3page_log(const char *name, uint64_t limit, unsigned flags,
               int (*fn)(void *arg, const s3page_log_entry *e), void *arg,
               char **errmsg){
  s3p_db *db = NULL;
  if(errmsg) *errmsg = NULL;
  int rc = s3p_hist_open(&db, name, 0, 0, NULL, errmsg);
  if(rc) return rc;
  uint64_t latest = db->view.version, oldest = 0;
  if(latest == 0){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: no database here (no commit "
                      "records)", db->store->desc);
    return s3p_hist_finish(db, rc, errmsg);
  }
  rc = s3p_version_oldest(db, latest, &oldest);
  uint64_t stop = oldest;
  if(limit && latest - oldest + 1 > limit) stop = latest - limit + 1;
  s3p_record recs[LOG_CHUNK];
  for(uint64_t hi = latest; rc == SQLITE_OK && hi >= stop; ){
    uint64_t lo = hi - stop + 1 > LOG_CHUNK ? hi - LOG_CHUNK + 1 : stop;
    rc = s3p_db_get_records(db, lo, hi, recs);
    if(rc) break;
    for(uint64_t v = hi; v >= lo; v--){
      s3p_record *r = &recs[v - lo];
      if(rc == SQLITE_OK){
        s3page_log_entry e;
        memset(&e, 0, sizeof e);
        e.version = r->version;
        e.time_ms = (int64_t)r->time_ms;
        e.page_size = r->page_size;
        e.page_count = r->page_count;
        e.nchange = r->nchange;
        e.full_image = (r->flags & S3P_RECORD_FULL) != 0;
        e.checkpoint = r->ckpt_version == r->version;
        e.ckpt_version = r->ckpt_version;
        e.record_bytes = S3P_RECORD_HDR + 8 + 20ull * r->nchange;
        e.bytes_added = UINT64_MAX;
        if((flags & S3PAGE_LOG_SIZES) && !e.full_image){
          uint64_t b = 0;
          rc = log_sizes(db, r, &b);
          e.bytes_added = e.record_bytes + b;
        }
        if(rc == SQLITE_OK) rc = fn(arg, &e);
      }
      s3p_record_free(r);
      if(v == lo) break;
    }
    if(lo == stop) break;
    hi = lo - 1;
  }
  return s3p_hist_finish(db, rc, errmsg);
}
