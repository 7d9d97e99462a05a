/*
** test_hist_stats.c: s3page_stats_report (s3page stats NAME).
**
**   stats_match_list   the objects and bytes by kind equal a walk of the
**                      store's directory (on S3: the versions and the
**                      records agree with the log), the sizes and ratios
**                      follow from them, the gc estimate equals a gc dry
**                      run, and the cost estimates are the stated prices
**                      times the counts;
**   stats_no_db        a missing database is an error.
*/
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../check.h"
#include "../lib/testdb.h"

/* st_walk counts the files of directory dir/sub and their bytes. */
static void st_walk(const char *dir, const char *sub, uint64_t *n,
                    uint64_t *bytes){
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  *n = *bytes = 0;
  DIR *d = opendir(path);
  if(!d) return;
  struct dirent *e;
  while((e = readdir(d)) != NULL){
    if(e->d_name[0] == '.') continue;
    char f[2048];
    struct stat sb;
    snprintf(f, sizeof f, "%s/%s", path, e->d_name);
    if(stat(f, &sb) == 0 && S_ISREG(sb.st_mode)){
      (*n)++;
      *bytes += (uint64_t)sb.st_size;
    }
  }
  closedir(d);
}

/* stats_match_list: see the file comment. */
static void stats_match_list(void){
  char *name = tdb_name("stats");
  sqlite3 *db = tdb_open(name, "checkpoint=8");
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                        "i + 1 FROM n WHERE i < 400) INSERT INTO t SELECT i, "
                        "zeroblob(700) FROM n"), SQLITE_OK);
  for(int i = 0; i < 30; i++){
    CHECK_EQ(tdb_execf(db, "UPDATE t SET v = randomblob(700) WHERE id = %d",
                       i * 13 + 1), SQLITE_OK);
  }
  int64_t newest = tdb_version(db);
  int64_t pages = tdb_int(db, "PRAGMA page_count");
  sqlite3_close(db);
  s3page_stats_report_result r;
  char *err = NULL;
  CHECK_EQ(s3page_stats_report(name, NULL, &r, &err), SQLITE_OK);
  if(err) printf("# stats: %s\n", err);
  sqlite3_free(err);
  err = NULL;
  printf("# %llu records %llu B, %llu pages %llu B, %llu nodes %llu B, "
         "%llu other %llu B; compression %.2f dedup %.2f\n",
         (unsigned long long)r.records, (unsigned long long)r.record_bytes,
         (unsigned long long)r.pages, (unsigned long long)r.page_bytes,
         (unsigned long long)r.nodes, (unsigned long long)r.node_bytes,
         (unsigned long long)r.other, (unsigned long long)r.other_bytes,
         r.compression_ratio, r.dedup_ratio);
  CHECK_EQ(r.newest, (uint64_t)newest);
  CHECK_EQ(r.oldest, 1);
  CHECK_EQ(r.records, (uint64_t)newest);
  CHECK_EQ(r.page_count, (uint64_t)pages);
  CHECK_EQ(r.logical_bytes, (uint64_t)pages * r.page_size);
  CHECK(r.newest_ms >= r.oldest_ms);
  CHECK_EQ(r.stored_bytes, r.record_bytes + r.page_bytes + r.node_bytes +
           r.other_bytes);
  if(!tdb_on_s3()){
    uint64_t n, b;
    st_walk(name, "wal", &n, &b);
    CHECK_EQ(r.records, n);
    CHECK_EQ(r.record_bytes, b);
    st_walk(name, "pages", &n, &b);
    CHECK_EQ(r.pages, n);
    CHECK_EQ(r.page_bytes, b);
    st_walk(name, "index", &n, &b);
    CHECK_EQ(r.nodes, n);
    CHECK_EQ(r.node_bytes, b);
    CHECK(r.nodes > 0);
  }
  double content = (double)r.pages * r.page_size;
  CHECK(fabs(r.compression_ratio - content / (double)r.page_bytes) < 1e-9);
  CHECK(r.compression_ratio > 1);    /* zeroblobs compress */
  CHECK(r.dedup_ratio > 1);          /* versions share their pages */
  /* The gc estimate is gc's own dry run. */
  s3page_gc_opts g;
  memset(&g, 0, sizeof g);
  g.keep_versions = 100;
  g.grace_ms = -1;
  g.dry_run = 1;
  s3page_gc_result gr;
  CHECK_EQ(s3page_gc(name, &g, NULL, NULL, &gr, &err), SQLITE_OK);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(r.gc_bytes, gr.bytes_freed);
  /* Prices: the defaults, then given ones. */
  CHECK(r.price_put_1k == S3PAGE_PRICE_PUT_1K);
  s3page_stats_opts o;
  memset(&o, 0, sizeof o);
  o.price_gb_month = 1;
  o.price_put_1k = 1000;
  o.price_get_1k = 1000;
  CHECK_EQ(s3page_stats_report(name, &o, &r, &err), SQLITE_OK);
  sqlite3_free(err);
  CHECK(fabs(r.storage_month - (double)r.stored_bytes / 1073741824.0) < 1e-9);
  CHECK(fabs(r.commit_cost - (r.commit_puts + 1)) < 1e-9);
  CHECK(fabs(r.scan_cost - r.scan_gets) < 1e-9);
  CHECK(r.scan_gets >= (double)pages);
  CHECK(fabs(r.commit_puts - (r.avg_pages_per_commit + 1)) < 1e-9);
  free(name);
}

/* stats_no_db: see the file comment. */
static void stats_no_db(void){
  char *name = tdb_name("statsnone");
  s3page_stats_report_result r;
  char *err = NULL;
  CHECK_EQ(s3page_stats_report(name, NULL, &r, &err), SQLITE_CANTOPEN);
  CHECK(err != NULL);
  sqlite3_free(err);
  free(name);
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(stats_match_list);
  RUN(stats_no_db);
  return CHECK_DONE();
}
