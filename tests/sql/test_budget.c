/*
** test_budget.c: request and byte budgets, measured with PRAGMA
** s3page_stats (and, on a directory store, by counting the files).
**
**   - Changing one row of a 20 MB database adds at most 10 objects and
**     under 100 KB to the store. Measured for 33 consecutive one-row
**     commits, so that one of them is a checkpoint version (the default
**     interval is 32) and the worst case is covered.
**   - A commit is exactly 2 sequential round trips (pages, then the
**     record), whatever the number of pages. Method: the transaction is
**     opened and its writes are done (BEGIN; UPDATE ...), which does every
**     read the transaction needs (freshness check, page GETs) while the
**     connection holds its lock; then the stats are reset and COMMIT runs.
**     Everything COMMIT counts is the commit itself: round_trips must be
**     exactly 2, commits 1, one GET (TAIL, read with the uploads: has gc
**     removed the version the transaction read?) and no LIST/HEAD.
**   - Opening a database and one indexed point query does no LIST.
*/
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../lib/testdb.h"

/* Every connection uses the default checkpoint interval, explicitly. */
#define CKPT "checkpoint=32"

static char *big_name;         /* the 20 MB database, made once */
static int big_rows;           /* its rows */

/* Totals of walk_count. */
static uint64_t walk_files, walk_bytes;
static size_t walk_skip;       /* length of the store's path */

/* walk_one is the nftw callback of count_objects: counts regular files
** that are objects (not under tmp/). Returns 0 to go on. */
static int walk_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw){
  (void)ftw;
  if(flag == FTW_F && strncmp(path + walk_skip, "/tmp/", 5) != 0){
    walk_files++;
    walk_bytes += (uint64_t)sb->st_size;
  }
  return 0;
}

/* count_objects counts the object files of directory store dir and their
** bytes. Returns 0, or -1 on S3 (nothing to count). */
static int count_objects(const char *dir, uint64_t *files, uint64_t *bytes){
  if(tdb_on_s3()) return -1;
  walk_files = walk_bytes = 0;
  walk_skip = strlen(dir);
  if(nftw(dir, walk_one, 16, FTW_PHYS) != 0) return -1;
  *files = walk_files;
  *bytes = walk_bytes;
  return 0;
}

/* make_big creates the 20 MB database (4 KiB pages, rows of 1 KB with an
** index on k). Returns 0 or -1. */
static int make_big(void){
  big_name = tdb_name("big");
  big_rows = 20000;
  sqlite3 *db = tdb_open(big_name, CKPT);
  int rc = tdb_exec(db, "PRAGMA page_size=4096;"
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, b BLOB);"
                        "CREATE INDEX t_k ON t(k)");
  if(rc == SQLITE_OK){
    rc = tdb_execf(db, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                       "SELECT i+1 FROM c WHERE i < %d) INSERT INTO t SELECT "
                       "i, i * 7, randomblob(1000) FROM c; COMMIT", big_rows);
  }
  int64_t bytes = tdb_int(db, "SELECT page_count * page_size FROM "
                              "pragma_page_count, pragma_page_size");
  sqlite3_close(db);
  printf("# big database: %lld bytes\n", (long long)bytes);
  return rc == SQLITE_OK && bytes >= 20000000 ? 0 : -1;
}

/* one_row_commits makes n consecutive commits on big_name, each changing
** one row (all over the table if spread, else among 40 neighbours), and checks each adds at most 10 objects and under 100 KB (by
** the stats, and by counting files on a directory store). */
static void one_row_commits(int n, int spread){
  sqlite3 *db = tdb_open(big_name, CKPT);
  CHECK(db != NULL);
  if(!db) return;
  uint64_t max_put = 0, max_out = 0, max_files = 0, max_fbytes = 0;
  for(int i = 0; i < n; i++){
    uint64_t f0 = 0, b0 = 0, f1 = 0, b1 = 0;
    int have_files = count_objects(big_name, &f0, &b0) == 0;
    CHECK_EQ(tdb_stats_reset(db), 0);
    CHECK_EQ(tdb_execf(db, "UPDATE t SET b = randomblob(1000) WHERE id = %d",
                       spread ? 1 + (int)(tdb_version(db) * 613) % big_rows :
                       5000 + (int)tdb_version(db) % 40), SQLITE_OK);
    s3page_stats s;
    CHECK_EQ(tdb_stats(db, &s), 0);
    CHECK_EQ(s.n_commit, 1);
    CHECK(s.n_put >= 2);     /* at least the page and the record */
    CHECK(s.n_put <= 10);
    CHECK(s.bytes_out < 100 * 1024);
    CHECK_EQ(s.n_list, 0);
    if(getenv("BUDGET_VERBOSE") || s.n_put > 10 || s.bytes_out >= 100 * 1024){
      printf("# one-row commit of version %llu: put=%llu bytes_out=%llu\n",
             (unsigned long long)s.version, (unsigned long long)s.n_put,
             (unsigned long long)s.bytes_out);
    }
    if(s.n_put > max_put) max_put = s.n_put;
    if(s.bytes_out > max_out) max_out = s.bytes_out;
    if(have_files && count_objects(big_name, &f1, &b1) == 0){
      CHECK(f1 > f0);
      CHECK(f1 - f0 <= 10);
      CHECK(b1 - b0 < 100 * 1024);
      if(f1 - f0 > max_files) max_files = f1 - f0;
      if(b1 - b0 > max_fbytes) max_fbytes = b1 - b0;
    }
  }
  printf("# %d one-row commits: max %llu PUTs, %llu bytes out; max %llu "
         "files, %llu bytes added\n", n, (unsigned long long)max_put,
         (unsigned long long)max_out, (unsigned long long)max_files,
         (unsigned long long)max_fbytes);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
}

/* one_row_change_after_load: the 33 one-row commits right after the bulk
** load, changing neighbouring rows; one of them is the first checkpoint
** version (32), which must not write the loaded database's whole page map
** (about 24 tree nodes of 4 KB for 20 MB). */
static void one_row_change_after_load(void){
  one_row_commits(33, 0);
}

/* one_row_change_steady: 33 more one-row commits of neighbouring rows,
** crossing the next checkpoint version (64), which rewrites only the tree
** paths of the few pages changed since 32. (With rows spread all over the
** table, a checkpoint rewrites nearly every leaf of the map: 32 changes
** over ~22 leaves; that is the checkpoint interval's cost, amortized, and
** not what this case measures.) */
static void one_row_change_steady(void){
  one_row_commits(33, 0);
}

/* measure_commit runs BEGIN and an UPDATE of rows rows, resets the stats
** and runs COMMIT; *s gets what COMMIT alone cost. Returns the version the
** commit made, or -1. */
static int64_t measure_commit(sqlite3 *db, int rows, s3page_stats *s){
  static int first = 100;
  first = first % (big_rows - 1000) + 7;
  memset(s, 0, sizeof *s);
  if(tdb_execf(db, "BEGIN; UPDATE t SET k = k + 1 WHERE id BETWEEN %d AND %d",
               first, first + rows - 1) != SQLITE_OK) return -1;
  if(tdb_stats_reset(db) != 0 || tdb_exec(db, "COMMIT") != SQLITE_OK){
    if(!sqlite3_get_autocommit(db)) tdb_exec(db, "ROLLBACK");
    return -1;
  }
  if(tdb_stats(db, s) != 0) return -1;
  return (int64_t)s->version;
}

/* check_commit_cost checks that the commit measured in *s of rows rows
** was one commit in exactly 2 round trips whose only read is TAIL. */
static void check_commit_cost(const s3page_stats *s, int rows){
  CHECK_EQ(s->n_commit, 1);
  CHECK_EQ(s->round_trips, 2);
  CHECK_EQ(s->n_get, 1);
  CHECK_EQ(s->n_list, 0);
  CHECK_EQ(s->n_head, 0);
  if(rows > 1) CHECK(s->n_put > 50);  /* really many pages in 2 trips */
  if(s->round_trips != 2 || s->n_get != 1 || s->n_head){
    printf("# COMMIT of version %llu (%d rows): round_trips=%llu get=%llu "
           "head=%llu put=%llu\n", (unsigned long long)s->version, rows,
           (unsigned long long)s->round_trips, (unsigned long long)s->n_get,
           (unsigned long long)s->n_head, (unsigned long long)s->n_put);
  }
}

/* commit_round_trips: COMMIT of an open transaction on a version that is
** not a checkpoint is exactly 2 round trips, for one changed page and for
** hundreds. */
static void commit_round_trips(void){
  sqlite3 *db = tdb_open(big_name, CKPT);
  CHECK(db != NULL);
  if(!db) return;
  for(int i = 0; i < 20; i++){
    int64_t next = tdb_version(db) + 1;
    if(next % 32 == 0){  /* a checkpoint: not this case's subject */
      CHECK_EQ(tdb_exec(db, "UPDATE t SET k = k WHERE id = 1; "
                            "UPDATE t SET k = k + 1 WHERE id = 2"), SQLITE_OK);
      continue;
    }
    int rows = i % 2 ? 600 : 1;
    s3page_stats s;
    CHECK_EQ(measure_commit(db, rows, &s), next);
    check_commit_cost(&s, rows);
  }
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
}

/* checkpoint_round_trips: COMMIT of a checkpoint version (32, 64, ...)
** is also exactly 2 round trips: the tree nodes it rewrites go in the
** first batch with the pages, and it reads nothing. */
static void checkpoint_round_trips(void){
  sqlite3 *db = tdb_open(big_name, CKPT);
  CHECK(db != NULL);
  if(!db) return;
  for(int i = 0; i < 2; i++){
    while((tdb_version(db) + 1) % 32 != 0){
      CHECK_EQ(tdb_execf(db, "UPDATE t SET k = k + 1 WHERE id = %d",
                         1 + (int)tdb_version(db) % big_rows), SQLITE_OK);
    }
    int rows = i ? 600 : 1;
    s3page_stats s;
    CHECK_EQ(measure_commit(db, rows, &s) % 32, 0);
    check_commit_cost(&s, rows);
  }
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
}

/* open_point_query: opening the database and one indexed point query does
** no LIST and only a handful of requests. */
static void open_point_query(void){
  sqlite3 *db = tdb_open(big_name, CKPT);
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_int(db, "SELECT id FROM t WHERE k = 7 * 12345"), 12345);
  s3page_stats s;
  CHECK_EQ(tdb_stats(db, &s), 0);
  CHECK_EQ(s.n_list, 0);
  CHECK(s.n_get > 0);    /* it did read from the store */
  CHECK(s.n_get < 40);   /* HEAD hint, probe, tree path, a few pages */
  CHECK_EQ(s.n_put, 0);
  printf("# open + point query: get=%llu head=%llu round_trips=%llu "
         "bytes_in=%llu\n", (unsigned long long)s.n_get,
         (unsigned long long)s.n_head, (unsigned long long)s.round_trips,
         (unsigned long long)s.bytes_in);
  sqlite3_close(db);
}

/* scan_read_ahead: a full scan by a cold connection fetches its pages in
** batches (read-ahead on sequential misses), not one round trip per page. */
static void scan_read_ahead(void){
  sqlite3 *db = tdb_open(big_name, CKPT);
  CHECK(db != NULL);
  if(!db) return;
  CHECK(tdb_int(db, "SELECT count(*) FROM t WHERE length(b) = 1000") == big_rows);
  s3page_stats s;
  CHECK_EQ(tdb_stats(db, &s), 0);
  printf("# full scan: get=%llu round_trips=%llu\n",
         (unsigned long long)s.n_get, (unsigned long long)s.round_trips);
  CHECK(s.n_get > 3000);                   /* it did read the table */
  CHECK(s.round_trips * 8 < s.n_get);      /* in batches */
  sqlite3_close(db);
}

/* known_pages_not_uploaded: content the store is known to hold is not
** uploaded again: setting a row back to its old value re-creates a page
** this connection committed before, so only page 1 (whose change counter
** moved), the HEAD hint and the record are PUT. */
static void known_pages_not_uploaded(void){
  char *name = tdb_name("known");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);"
                        "INSERT INTO k VALUES(1, 'aaaa'), (2, 'bbbb')"), SQLITE_OK);
  s3page_stats s1, s2;
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK_EQ(tdb_exec(db, "UPDATE k SET v = 'cccc' WHERE id = 1"), SQLITE_OK);
  CHECK_EQ(tdb_stats(db, &s1), 0);
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK_EQ(tdb_exec(db, "UPDATE k SET v = 'aaaa' WHERE id = 1"), SQLITE_OK);
  CHECK_EQ(tdb_stats(db, &s2), 0);
  printf("# change: put=%llu; change back: put=%llu\n",
         (unsigned long long)s1.n_put, (unsigned long long)s2.n_put);
  CHECK_EQ(s1.n_put, 4);       /* page 1, the table page, HEAD, record */
  CHECK_EQ(s2.n_put, 3);       /* the table page is known: not sent */
  sqlite3_close(db);
  free(name);
}

/* overlay_checkpoint: when 4096 pages have changed since the last
** checkpoint, the next commit, however small, writes one (so that readers
** never replay more), and the commit after it is small again. */
static void overlay_checkpoint(void){
  char *name = tdb_name("overlay");
  sqlite3 *db = tdb_open(name, "checkpoint=100000");
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "PRAGMA page_size=4096;"
                        "CREATE TABLE o(id INTEGER PRIMARY KEY, b BLOB)"),
           SQLITE_OK);
  /* Five commits of about 900 new pages each: under the 1024 pages that
  ** make a commit checkpoint by itself, 4500 together. */
  for(int i = 0; i < 5; i++){
    CHECK_EQ(tdb_execf(db, "WITH RECURSIVE c(j) AS (SELECT 1 UNION ALL SELECT "
                           "j+1 FROM c WHERE j < 900) INSERT INTO o(b) SELECT "
                           "randomblob(3500) FROM c"), SQLITE_OK);
  }
  s3page_stats due, after;
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK_EQ(tdb_exec(db, "UPDATE o SET b = x'00' WHERE id = 1"), SQLITE_OK);
  CHECK_EQ(tdb_stats(db, &due), 0);
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK_EQ(tdb_exec(db, "UPDATE o SET b = x'01' WHERE id = 1"), SQLITE_OK);
  CHECK_EQ(tdb_stats(db, &after), 0);
  printf("# one-row commit with 4500 pages pending: put=%llu; next: put=%llu\n",
         (unsigned long long)due.n_put, (unsigned long long)after.n_put);
  CHECK(due.n_put >= after.n_put + 15);    /* the tree's ~18 leaves and root */
  CHECK(after.n_put <= 6);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
  free(name);
}

/* main builds the big database and runs the cases. Returns 0 if all
** passed. */
int main(void){
  if(tdb_init() != 0 || make_big() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(open_point_query);
  RUN(one_row_change_after_load);
  RUN(one_row_change_steady);
  RUN(commit_round_trips);
  RUN(checkpoint_round_trips);
  RUN(scan_read_ahead);
  RUN(known_pages_not_uploaded);
  RUN(overlay_checkpoint);
  free(big_name);
  return CHECK_DONE();
}
