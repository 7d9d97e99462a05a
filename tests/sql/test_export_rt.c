/*
** test_export_rt.c: the round-trip budget of s3page_export (issue 8:
** export of the 50 MB database in at most 250 round trips).
**
** The bound comes from the design (history/export.c, docs/protocol.md
** "Opening a database"), not from a measurement. For a database of P pages
** whose page map is a tree of root level L (L = 1 up to 65,536 pages):
**   - the open: 2 round trips (HEAD, then one batch with the record, the
**     probes and the records to replay);
**   - the page map: one batch per tree level, L + 1 (no level holds more
**     than S3P_HIST_BATCH = 256 nodes below 65,536 pages);
**   - the pages: one batch per 256 consecutive pages, ceil(P / 256).
** So round_trips <= 2 + (L + 1) + ceil(P / 256), and at least ceil(P / 256)
** (every page is fetched, 256 at most per batch). A batch of 256 GETs is
** ceil(256 / C) waves at concurrency C: at C = 64 the 50 MB database's
** 12,185 pages are 4 + ceil(12,185 / 64) = 195 waves, within 250.
**
**   - imported: a file of about 2,000 distinct pages imported (a full
**     image: the tree alone), exported: within the bound, one GET per
**     distinct page and a few more, the file byte-identical.
**   - after_commit: the same after one SQL commit on top (the page map is
**     the tree plus the replayed record's changes): within the same bound.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

#define ROWS 2000               /* one row of 3,000 bytes a page (1,000
                                ** with S3PAGE_TEST_QUICK=1) */
#define BATCH 256               /* S3P_HIST_BATCH (history/internal.h) */
#define TREE_LEVELS 2           /* root level 1 + 1: up to 65,536 pages */
#define OPEN_RT 2               /* HEAD, then the record's batch */

static char tmpdir[] = "/tmp/s3p-export-rt-XXXXXX";
static char file[600];          /* the plain file imported */
static char *db_name;           /* the database */
static int rows = ROWS;         /* rows of the file */

/* make_file writes the plain SQLite file: ROWS rows of random 3,000-byte
** blobs (every page distinct). Returns its page count, or -1. */
static long make_file(void){
  snprintf(file, sizeof file, "%s/orig.db", tmpdir);
  sqlite3 *db = NULL;
  if(sqlite3_open(file, &db) != SQLITE_OK){ sqlite3_close(db); return -1; }
  char sql[512];
  snprintf(sql, sizeof sql, "PRAGMA page_size=4096; BEGIN; CREATE TABLE "
           "t(id INTEGER PRIMARY KEY, b BLOB); WITH RECURSIVE c(i) AS "
           "(SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < %d) INSERT INTO "
           "t SELECT i, randomblob(3000) FROM c; COMMIT", rows);
  long pages = -1;
  if(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK){
    pages = (long)tdb_int(db, "PRAGMA page_count");
  }
  sqlite3_close(db);
  return pages;
}

/* same_file returns 1 if files a and b have the same bytes. */
static int same_file(const char *a, const char *b){
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while(same){
    int ca = getc(fa), cb = getc(fb);
    if(ca != cb) same = 0;
    if(ca == EOF || cb == EOF) break;
  }
  if(fa) fclose(fa);
  if(fb) fclose(fb);
  return same;
}

/* check_export exports db_name to out and checks the bound for its page
** count. Returns the page count exported (0 on failure). */
static uint32_t check_export(const char *out, const char *what){
  s3page_export_result r;
  char *err = NULL;
  int rc = s3page_export(db_name, NULL, out, NULL, NULL, &r, &err);
  if(rc) printf("# export: %s\n", err ? err : "?");
  sqlite3_free(err);
  CHECK_EQ(rc, SQLITE_OK);
  if(rc) return 0;
  uint64_t page_rt = (r.page_count + BATCH - 1) / BATCH;
  uint64_t bound = OPEN_RT + TREE_LEVELS + page_rt;
  printf("# export %s: %u pages, %llu GETs, %llu HEADs, %llu round trips "
         "(bound %llu), %llu bytes\n", what, (unsigned)r.page_count,
         (unsigned long long)r.n_get, (unsigned long long)r.n_head,
         (unsigned long long)r.round_trips, (unsigned long long)bound,
         (unsigned long long)r.bytes_in);
  CHECK(r.page_count >= (uint32_t)rows);
  CHECK(r.round_trips <= bound);
  CHECK(r.round_trips >= page_rt);
  /* Every distinct page once, plus the open's and the tree's objects. */
  CHECK(r.n_get >= r.page_count - 1);
  CHECK(r.n_get <= r.page_count + 3 + 1 + (r.page_count + 255) / 256);
  CHECK(r.n_head <= 1);
  CHECK(r.bytes_in > (uint64_t)rows * 3000 / 2);   /* compressed or not */
  return r.page_count;
}

/* imported: see the top comment. */
static void imported(void){
  long pages = make_file();
  CHECK(pages >= rows);
  if(pages < rows) return;
  db_name = tdb_name("exprt");
  char *err = NULL;
  int rc = s3page_import(file, db_name, 0, NULL, NULL, NULL, &err);
  if(rc) printf("# import: %s\n", err ? err : "?");
  sqlite3_free(err);
  CHECK_EQ(rc, SQLITE_OK);
  if(rc) return;
  char out[700];
  snprintf(out, sizeof out, "%s/back.db", tmpdir);
  CHECK_EQ(check_export(out, "of the import"), pages);
  CHECK(same_file(file, out));
  unlink(out);
}

/* after_commit: see the top comment. */
static void after_commit(void){
  if(!db_name) return;
  sqlite3 *db = tdb_open(db_name, NULL);
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_exec(db, "UPDATE t SET b = randomblob(3000) WHERE id % 100 "
                        "= 0"), SQLITE_OK);
  int64_t sum = tdb_int(db, "SELECT sum(length(b)) FROM t");
  sqlite3_close(db);
  char out[700];
  snprintf(out, sizeof out, "%s/after.db", tmpdir);
  CHECK(check_export(out, "after a commit") >= (uint32_t)rows);
  sqlite3 *plain = NULL;
  CHECK_EQ(sqlite3_open(out, &plain), SQLITE_OK);
  CHECK_EQ(tdb_int(plain, "SELECT sum(length(b)) FROM t"), sum);
  CHECK(tdb_integrity_ok(plain));
  sqlite3_close(plain);
  unlink(out);
}

int main(void){
  if(tdb_init() != 0 || !mkdtemp(tmpdir)){
    printf("not ok - init\n");
    return 1;
  }
  if(tdb_quick()) rows = ROWS / 2;
  RUN(imported);
  RUN(after_commit);
  unlink(file);
  rmdir(tmpdir);
  free(db_name);
  return CHECK_DONE();
}
