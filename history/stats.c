/*
** stats.c: s3page_stats_report, what a database stores and costs.
**
** One LIST of each of wal/, pages/ and index/ (plus HEAD and TAIL) gives
** the objects and bytes by kind; the records of the kept versions (one
** batch of GETs per 256 versions) give the time span, the logical sizes
** and the pages changed per commit; a dry run of gc at the retention asked
** for gives what it would free. The estimates multiply those by prices:
** storage per month, the requests of an average commit (its changed pages
** and the record: PUTs; the freshness probe: one GET) and of a cold scan
** of the newest version (every page, the tree nodes above them, the
** record and the probe: GETs).
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"

/* Tallies of one listing. */
typedef struct stats_list {
  uint64_t objects;          /* keys of the kind */
  uint64_t bytes;            /* their sizes */
  const char *prefix;        /* "wal/", "pages/", "index/" */
} stats_list;

/* stats_list_cb counts one listed key (a s3p_list_fn). */
static int stats_list_cb(void *arg, const char *key, uint64_t size,
                         int64_t mtime){
  stats_list *l = arg;
  (void)mtime;
  if(strncmp(key, l->prefix, strlen(l->prefix))) return 0;
  l->objects++;
  l->bytes += size;
  return 0;
}

/* stats_count lists prefix of db into *objects and *bytes. Returns
** SQLITE_OK or an error. */
static int stats_count(s3p_db *db, const char *prefix, uint64_t *objects,
                       uint64_t *bytes){
  stats_list l = { 0, 0, prefix };
  char *msg = NULL;
  int src = s3p_store_list(db->store, prefix, stats_list_cb, &l, &msg);
  int rc = SQLITE_OK;
  if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "LIST", prefix,
                                  msg);
  free(msg);
  *objects = l.objects;
  *bytes = l.bytes;
  return rc;
}

/* stats_small adds the size of object key (if it exists) to *objects and
** *bytes. Returns SQLITE_OK or an error. */
static int stats_small(s3p_db *db, const char *key, uint64_t *objects,
                       uint64_t *bytes){
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_HEAD;
  op.key = key;
  int src = s3p_store_exec(db->store, &op, 1);
  int rc = SQLITE_OK;
  if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "HEAD", key, NULL);
  else if(op.rc == S3P_OK){ (*objects)++; *bytes += op.len; }
  else if(op.rc != S3P_ENOTFOUND){
    rc = s3p_db_store_error(db, op.rc, SQLITE_IOERR_READ, "HEAD", key,
                            op.errmsg);
  }
  s3p_op_reset(&op);
  return rc;
}

/* stats_records reads the records oldest..newest, filling the time span,
** logical sizes and changes per commit of *r. Returns SQLITE_OK or an
** error. */
static int stats_records(s3p_db *db, uint64_t oldest, uint64_t newest,
                         s3page_stats_report_result *r){
  s3p_record recs[S3P_HIST_BATCH];
  uint64_t commits = 0, changes = 0;
  int rc = SQLITE_OK;
  for(uint64_t lo = oldest; lo <= newest && rc == SQLITE_OK; lo += S3P_HIST_BATCH){
    uint64_t hi = newest - lo >= S3P_HIST_BATCH ? lo + S3P_HIST_BATCH - 1 : newest;
    size_t n = (size_t)(hi - lo + 1);
    memset(recs, 0, sizeof recs);
    rc = s3p_db_get_records(db, lo, hi, recs);
    for(size_t i = 0; i < n; i++){
      if(rc == SQLITE_OK){
        const s3p_record *x = &recs[i];
        if(x->version == oldest) r->oldest_ms = (int64_t)x->time_ms;
        if(x->version == newest) r->newest_ms = (int64_t)x->time_ms;
        r->logical_bytes_all += (uint64_t)x->page_size * x->page_count;
        if(!(x->flags & S3P_RECORD_FULL)){
          commits++;
          changes += x->nchange;
        }
      }
      s3p_record_free(&recs[i]);
    }
  }
  r->commits = commits;
  r->avg_pages_per_commit = commits ? (double)changes / (double)commits : 0;
  return rc;
}

int s3page_stats_report(const char *name, const s3page_stats_opts *opts,
                        s3page_stats_report_result *res, char **errmsg){
  s3page_stats_report_result r;
  memset(&r, 0, sizeof r);
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  s3page_stats_opts o;
  memset(&o, 0, sizeof o);
  if(opts) o = *opts;
  if(o.price_gb_month <= 0) o.price_gb_month = S3PAGE_PRICE_GB_MONTH;
  if(o.price_put_1k <= 0) o.price_put_1k = S3PAGE_PRICE_PUT_1K;
  if(o.price_get_1k <= 0) o.price_get_1k = S3PAGE_PRICE_GET_1K;
  if(!o.keep_versions && !o.has_keep_since) o.keep_versions = 100;
  s3p_db *db = NULL;
  int rc = s3p_hist_open(&db, name, 0, 0, NULL, errmsg);
  if(rc) return rc;
  s3p_view *v = &db->view;
  r.newest = v->version;
  if(r.newest == 0){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: no database here (no commit "
                      "records)", db->store->desc);
  }
  if(rc == SQLITE_OK) rc = s3p_version_oldest(db, r.newest, &r.oldest);
  if(rc == SQLITE_OK) rc = stats_count(db, "wal/", &r.records, &r.record_bytes);
  if(rc == SQLITE_OK) rc = stats_count(db, "pages/", &r.pages, &r.page_bytes);
  if(rc == SQLITE_OK) rc = stats_count(db, "index/", &r.nodes, &r.node_bytes);
  if(rc == SQLITE_OK) rc = stats_small(db, "HEAD", &r.other, &r.other_bytes);
  if(rc == SQLITE_OK) rc = stats_small(db, "TAIL", &r.other, &r.other_bytes);
  if(rc == SQLITE_OK) rc = stats_records(db, r.oldest, r.newest, &r);
  r.page_size = v->page_size;
  r.page_count = v->page_count;
  r.logical_bytes = (uint64_t)v->page_size * v->page_count;
  r.stored_bytes = r.record_bytes + r.page_bytes + r.node_bytes + r.other_bytes;
  uint64_t content = r.pages * (uint64_t)v->page_size;
  r.compression_ratio = r.page_bytes ? (double)content / (double)r.page_bytes : 0;
  r.dedup_ratio = content ? (double)r.logical_bytes_all / (double)content : 0;
  /* What gc would free, by its own dry run. */
  if(rc == SQLITE_OK){
    s3page_gc_opts g;
    memset(&g, 0, sizeof g);
    g.keep_versions = o.has_keep_since ? 0 : o.keep_versions;
    g.has_keep_since = o.has_keep_since;
    g.keep_since_ms = o.keep_since_ms;
    g.grace_ms = -1;
    g.dry_run = 1;
    s3page_gc_result gr;
    char *gmsg = NULL;
    int grc = s3page_gc(name, &g, NULL, NULL, &gr, &gmsg);
    if(grc == SQLITE_OK){
      r.gc_bytes = gr.bytes_freed;
      r.gc_objects = gr.records_deleted + gr.pages_deleted + gr.nodes_deleted;
      r.gc_oldest_kept = gr.oldest_kept;
    }else{
      rc = s3p_db_error(db, grc, "%s", gmsg ? gmsg : "gc dry run failed");
    }
    sqlite3_free(gmsg);
  }
  r.keep_versions = o.has_keep_since ? 0 : o.keep_versions;
  r.keep_since_ms = o.has_keep_since ? o.keep_since_ms : 0;
  r.price_gb_month = o.price_gb_month;
  r.price_put_1k = o.price_put_1k;
  r.price_get_1k = o.price_get_1k;
  r.storage_month = (double)r.stored_bytes / (1024.0 * 1024 * 1024) *
                    o.price_gb_month;
  r.commit_puts = r.avg_pages_per_commit + 1;
  r.commit_cost = r.commit_puts * o.price_put_1k / 1000 + o.price_get_1k / 1000;
  /* A cold scan: each page, the nodes above them (one per 256 entries,
  ** per level), the record and the probe. */
  double gets = (double)v->page_count + 2;
  for(double level = v->page_count / 256.0; level >= 1; level /= 256) gets += level;
  gets += 1;                                    /* the root */
  r.scan_gets = gets;
  r.scan_cost = gets * o.price_get_1k / 1000;
  const s3p_store_stats *st = &db->store->stats;
  r.n_get = st->n_get + st->n_head;
  r.n_list = st->n_list;
  if(res) *res = r;
  return s3p_hist_finish(db, rc, errmsg);
}
