/*
** test_prefetch.c: round-trip budgets of b-tree-aware prefetch
** (vfs/prefetch.c), measured with PRAGMA s3page_stats and PRAGMA
** s3page_prefetch on cold connections.
**
** The database: t(id INTEGER PRIMARY KEY, k INT, v TEXT) with rows of 100
** characters inserted in a scrambled id order and an index on k, so that
** the b-tree pages are not in page order (sequential read-ahead cannot
** help); built with plain SQLite and imported (a full checkpoint tree).
** Its per-tree page counts and depths come from dbstat.
**
** Budgets, with W the batch width (the store's concurrency, 64) and
** B(P) = ceil(P / (W - 1)), the batches P pages need when each miss
** carries W - 1 pages fetched ahead:
**   - a point query by k: at most 1 (freshness) + the two trees' depths +
**     2 node batches round trips, and no page fetched that SQLite did not
**     read; the same for 200 random point queries, in autocommit and in one
**     transaction, with SQLite's own cache tiny (no page GET wasted, no
**     scan started); and point queries on the neighbouring subtrees 0, 1,
**     2, 3 of t's root with pages of another tree read in between;
**   - a full scan of t: at most B(table pages) + depth + 12 (the three
**     reads that reveal the scan, the ramp of 8, 16, 32 pages, node
**     batches);
**   - count(*), which walks the index: the same with the index's pages;
**   - a scan of a table whose rows each have an overflow page: the same
**     with its pages, overflow pages included, plus the 6 overflow pages
**     of the first three leaves (read before the scan shows, one round
**     trip each); its count(*), which reads
**     no overflow page, within the budget of its b-tree pages alone;
**   - integrity_check and quick_check: at most B(all pages) + 4 per
**     b-tree (freshness, node batches, each tree's last partial batch);
**   - VACUUM INTO: at most B(all pages) + 12 per b-tree;
**   - in every scan, at most W pages fetched ahead and never read;
**   - a range scan that stops before damaged pages it fetched ahead
**     succeeds, and a query that reads them fails with SQLITE_CORRUPT.
** The counts are printed ("# ...").
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/pagecache.h"
#include "../../index/hash.h"

/* The database and what dbstat says of it. */
static char *name;             /* the s3page database */
static char dir[] = "/tmp/s3p-prefetch-XXXXXX";   /* local files */
static int rows;               /* rows of t */
static int64_t pages_all;      /* pages of the file */
static int64_t pages_t, depth_t;   /* table t: pages, levels */
static int64_t pages_k, depth_k;   /* index t_k: pages, levels */
static int64_t pages_o, depth_o;   /* table o: pages (with overflow), levels */
static int ovfl_rows;          /* rows of o, one overflow page each */
static int64_t trees;          /* b-trees (schema, t, t_k, o) */
static int64_t width = 64;     /* batch width */


/* PRAGMA s3page_prefetch, parsed. */
typedef struct pf_stats {
  int64_t delivered, pages, used, nodes, node_batches, scans, page_gets;
} pf_stats;

/* pf_get parses PRAGMA s3page_prefetch of db into *p (zeros if the
** pragma is missing). */
static void pf_get(sqlite3 *db, pf_stats *p){
  memset(p, 0, sizeof *p);
  sqlite3_stmt *st;
  if(sqlite3_prepare_v2(db, "PRAGMA s3page_prefetch", -1, &st, 0)) return;
  if(sqlite3_step(st) == SQLITE_ROW){
    const char *t = (const char *)sqlite3_column_text(st, 0);
    if(t){
      sscanf(t, "delivered=%ld pages=%ld used=%ld nodes=%ld node_batches=%ld "
             "scans=%ld page_gets=%ld", &p->delivered, &p->pages, &p->used,
             &p->nodes, &p->node_batches, &p->scans, &p->page_gets);
    }
  }
  sqlite3_finalize(st);
}

/* batches returns B(p): batches of W - 1 pages ahead plus the miss. */
static int64_t batches(int64_t p){
  return (p + width - 2) / (width - 1);
}

/* tree_stats sets *pages and *depth of b-tree tree from dbstat of the
** local file db. */
static void tree_stats(sqlite3 *db, const char *tree, int64_t *pages,
                       int64_t *depth){
  char *q = sqlite3_mprintf("SELECT count(*) FROM dbstat WHERE name = '%q'",
                            tree);
  *pages = tdb_int(db, q);
  sqlite3_free(q);
  q = sqlite3_mprintf("SELECT max(length(path) - length(replace(path, '/', "
                      "''))) FROM dbstat WHERE name = '%q' AND pagetype != "
                      "'overflow'", tree);
  *depth = tdb_int(db, q);
  sqlite3_free(q);
}

/* make_db builds the database locally and imports it. Returns 0 or -1. */
static int make_db(void){
  if(!mkdtemp(dir)) return -1;
  const char *w = getenv("S3PAGE_CONCURRENCY");
  if(w && atoi(w) > 1) width = atoi(w);
  rows = tdb_quick() ? 15000 : 50000;
  char *file = sqlite3_mprintf("%s/src.db", dir);
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, "unix");
  if(rc == SQLITE_OK){
    rc = tdb_exec(db, "PRAGMA page_size=4096;"
                      "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, v TEXT);"
                      "CREATE INDEX t_k ON t(k)");
  }
  /* id = i * 7919 mod rows: every id once, in a scrambled order. */
  if(rc == SQLITE_OK){
    rc = tdb_execf(db, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL "
                   "SELECT i+1 FROM c WHERE i < %d) INSERT INTO t SELECT "
                   "(i * 7919) %% %d + 1, (i * 104729) %% 1000003, "
                   "substr(hex(randomblob(50)) || hex(randomblob(50)), 1, "
                   "100) FROM c; COMMIT", rows - 1, rows);
  }
  /* o: 6000-byte blobs, each a local part and one overflow page. */
  ovfl_rows = tdb_quick() ? 100 : 300;
  if(rc == SQLITE_OK){
    rc = tdb_execf(db, "CREATE TABLE o(id INTEGER PRIMARY KEY, b BLOB);"
                   "BEGIN; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL "
                   "SELECT i+1 FROM c WHERE i < %d) INSERT INTO o SELECT "
                   "(i * 37) %% %d + 1, randomblob(6000) FROM c; COMMIT",
                   ovfl_rows - 1, ovfl_rows);
  }
  if(rc == SQLITE_OK){
    pages_all = tdb_int(db, "PRAGMA page_count");
    tree_stats(db, "o", &pages_o, &depth_o);
    tree_stats(db, "t", &pages_t, &depth_t);
    tree_stats(db, "t_k", &pages_k, &depth_k);
    trees = 4;
  }
  sqlite3_close(db);
  printf("# %d rows, %lld pages: t %lld pages, %lld levels; t_k %lld pages, "
         "%lld levels; o %lld pages with overflow, %lld levels; W %lld\n",
         rows, (long long)pages_all, (long long)pages_t, (long long)depth_t,
         (long long)pages_k, (long long)depth_k, (long long)pages_o,
         (long long)depth_o, (long long)width);
  name = tdb_name("prefetch");
  char *err = NULL;
  if(rc == SQLITE_OK){
    rc = s3page_import(file, name, 0, NULL, NULL, NULL, &err);
    if(rc) printf("# import: %s\n", err ? err : "?");
    sqlite3_free(err);
  }
  sqlite3_free(file);
  return rc == SQLITE_OK && pages_t > 300 && depth_t >= 2 ? 0 : -1;
}

/* cold opens a new connection with the process's page cache emptied (as
** in a new process) that has read the schema, with its counters reset.
** Returns it or NULL. */
static sqlite3 *cold(void){
  s3p_pagecache_clear();
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return NULL;
  s3page_stats s;
  pf_stats p;
  if(tdb_int(db, "SELECT count(*) FROM sqlite_schema") != 3 ||
     tdb_stats(db, &s) != 0){
    sqlite3_close(db);
    return NULL;
  }
  static int shown;
  if(!shown++){
    printf("# open and schema: round_trips=%llu get=%llu\n",
           (unsigned long long)s.round_trips, (unsigned long long)s.n_get);
  }
  tdb_stats_reset(db);
  tdb_exec(db, "PRAGMA s3page_prefetch=reset");
  pf_get(db, &p);
  return db;
}

/* measure runs sql on db, all rows, and gets the counters. Returns the
** result code. */
static int measure(sqlite3 *db, const char *sql, s3page_stats *s,
                   pf_stats *p){
  int rc = tdb_exec(db, sql);
  memset(s, 0, sizeof *s);
  if(tdb_stats(db, s) != 0) rc = SQLITE_ERROR;
  pf_get(db, p);
  return rc;
}

/* show prints what one workload cost. */
static void show(const char *what, const s3page_stats *s, const pf_stats *p,
                 int64_t budget){
  printf("# %s: round_trips=%llu (budget %lld) get=%llu bytes_in=%llu; "
         "prefetch: delivered=%lld page_gets=%lld ahead=%lld used=%lld "
         "nodes=%lld in %lld batches, scans=%lld\n", what,
         (unsigned long long)s->round_trips, (long long)budget,
         (unsigned long long)s->n_get, (unsigned long long)s->bytes_in,
         (long long)p->delivered, (long long)p->page_gets, (long long)p->pages,
         (long long)p->used, (long long)p->nodes, (long long)p->node_batches,
         (long long)p->scans);
}

/* point_query: a cold indexed point query costs one round trip per b-tree
** level (plus freshness and node batches) and fetches only pages SQLite
** reads. */
static void point_query(void){
  for(int i = 0; i < 3; i++){
    sqlite3 *db = cold();
    CHECK(db != NULL);
    if(!db) return;
    /* Row i of the insert has k = i * 104729 mod 1000003. */
    int64_t k = (int64_t)((i * 4099) % rows) * 104729 % 1000003;
    s3page_stats s;
    pf_stats p;
    char *q;
    q = sqlite3_mprintf("SELECT length(v) FROM t WHERE k = %lld", (long long)k);
    CHECK_EQ(measure(db, q, &s, &p), SQLITE_OK);
    sqlite3_free(q);
    int64_t budget = 1 + depth_k + depth_t + 2;
    show("point query", &s, &p, budget);
    CHECK((int64_t)s.round_trips <= budget);
    CHECK_EQ(p.pages, 0);
    CHECK(p.page_gets <= p.delivered);
    sqlite3_close(db);
  }
}

/* many_points: 200 random point queries on one connection, in autocommit
** and then in one transaction, start no scan and fetch no page SQLite does
** not read. SQLite's own cache is kept tiny, so that it reads interior
** pages again and again: successive queries then often read neighbouring
** children of one interior page, which is not a scan. */
static void many_points(void){
  sqlite3 *db = cold();
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_exec(db, "PRAGMA cache_size=5"), SQLITE_OK);
  for(int txn = 0; txn < 2; txn++){
    tdb_stats_reset(db);
    tdb_exec(db, "PRAGMA s3page_prefetch=reset");
    if(txn) CHECK_EQ(tdb_exec(db, "BEGIN"), SQLITE_OK);
    uint32_t x = 12345 + (uint32_t)txn;
    for(int i = 0; i < 200; i++){
      x = x * 1103515245u + 12345u;
      int id = 1 + (int)((x >> 8) % (uint32_t)rows);
      char *q = sqlite3_mprintf("SELECT length(v) FROM t WHERE k = (SELECT k "
                                "FROM t WHERE id = %d)", id);
      CHECK_EQ(tdb_int(db, q), 100);
      sqlite3_free(q);
    }
    if(txn) CHECK_EQ(tdb_exec(db, "COMMIT"), SQLITE_OK);
    s3page_stats s;
    pf_stats p;
    CHECK_EQ(tdb_stats(db, &s), 0);
    pf_get(db, &p);
    show(txn ? "200 point queries, one transaction"
             : "200 point queries, autocommit", &s, &p, 0);
    CHECK_EQ(p.pages, 0);
    CHECK_EQ(p.scans, 0);
    CHECK(p.page_gets <= p.delivered);
  }
  sqlite3_close(db);
}

/* mid_id returns the id of a row in the middle of the subtree of the
** j-th child of t's root, from dbstat of the local copy loc. */
static int64_t mid_id(sqlite3 *loc, int j){
  char *q = sqlite3_mprintf("SELECT 1 + (SELECT coalesce(sum(ncell), 0) FROM "
                            "dbstat WHERE name = 't' AND pagetype = 'leaf' AND "
                            "path < '/%03x/') + (SELECT sum(ncell) FROM dbstat "
                            "WHERE name = 't' AND pagetype = 'leaf' AND path "
                            "LIKE '/%03x/%%') / 2", j, j);
  int64_t id = tdb_int(loc, q);
  sqlite3_free(q);
  return id;
}

/* neighbours: point queries of one transaction that read neighbouring
** children of t's root (0, 1, 2, 3), with other b-tree pages (of o) read
** in between, are no scan: nothing is fetched ahead. (Before prefetch
** asked that each child be read right after its neighbour or its
** neighbour's subtree, three in a row made a scan and the next miss
** fetched 8 pages for nothing.) */
static void neighbours(void){
  char *file = sqlite3_mprintf("%s/src.db", dir);
  sqlite3 *loc = NULL;
  sqlite3_open_v2(file, &loc, SQLITE_OPEN_READONLY, "unix");
  sqlite3_free(file);
  int64_t id[4];
  for(int j = 0; j < 4; j++) id[j] = mid_id(loc, j);
  sqlite3_close(loc);
  sqlite3 *db = cold();
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_exec(db, "BEGIN"), SQLITE_OK);
  for(int j = 0; j < 4; j++){
    char *q = sqlite3_mprintf("SELECT length(v) FROM t WHERE id = %lld",
                              (long long)id[j]);
    CHECK_EQ(tdb_int(db, q), 100);
    sqlite3_free(q);
    if(j < 2){
      q = sqlite3_mprintf("SELECT length(b) FROM o WHERE id = %d", 1 + j * 40);
      CHECK_EQ(tdb_int(db, q), 6000);
      sqlite3_free(q);
    }
  }
  s3page_stats s;
  pf_stats p;
  CHECK_EQ(tdb_stats(db, &s), 0);
  pf_get(db, &p);
  CHECK_EQ(tdb_exec(db, "COMMIT"), SQLITE_OK);
  show("point queries on neighbouring subtrees", &s, &p, 0);
  CHECK_EQ(p.scans, 0);
  CHECK_EQ(p.pages, 0);
  CHECK(p.page_gets <= p.delivered);
  sqlite3_close(db);
}

/* scan_budget runs sql on a cold connection and checks its round trips
** against budget and its waste (pages fetched ahead never read) against
** one batch. */
static void scan_budget(const char *what, const char *sql, int64_t budget){
  sqlite3 *db = cold();
  CHECK(db != NULL);
  if(!db) return;
  s3page_stats s;
  pf_stats p;
  CHECK_EQ(measure(db, sql, &s, &p), SQLITE_OK);
  show(what, &s, &p, budget);
  CHECK((int64_t)s.round_trips <= budget);
  CHECK(p.pages > 0);
  CHECK(p.pages - p.used <= width);
  sqlite3_close(db);
}

/* full_scan: a full scan of t. */
static void full_scan(void){
  scan_budget("full scan", "SELECT count(*), sum(length(v)) FROM t",
              batches(pages_t) + depth_t + 12);
}

/* index_count: count(*), which SQLite answers from the smaller index. */
static void index_count(void){
  scan_budget("count(*) by the index", "SELECT count(*) FROM t",
              batches(pages_k) + depth_k + 12);
}

/* overflow_scan: a scan that reads the blobs of o fetches their overflow
** pages ahead too; count(*) of o, which reads none, does not go on
** fetching them. */
static void overflow_scan(void){
  /* Before the scan shows (the third leaf), each leaf read costs a round
  ** trip and so does each of its rows' overflow pages: two rows a leaf. */
  scan_budget("scan with overflow", "SELECT sum(length(hex(b))) FROM o",
              batches(pages_o) + depth_o + 12 + 3 * 2);
  scan_budget("count(*) of the overflow table", "SELECT count(*) FROM o",
              batches(pages_o - ovfl_rows) + depth_o + 12);
}

/* integrity: PRAGMA integrity_check and quick_check. */
static void integrity(void){
  scan_budget("integrity_check", "PRAGMA integrity_check",
              batches(pages_all) + 4 * trees);
  scan_budget("quick_check", "PRAGMA quick_check",
              batches(pages_all) + 4 * trees);
}

/* vacuum_into: VACUUM INTO a local file reads every b-tree in order. */
static void vacuum_into(void){
  char *sql = sqlite3_mprintf("VACUUM INTO '%s/copy.db'", dir);
  scan_budget("VACUUM INTO", sql, batches(pages_all) + 12 * trees);
  sqlite3_free(sql);
}

/* page_object returns the file (malloc'd) of the page object holding
** page pgno of the local copy, in the directory store. */
static char *page_object(uint32_t pgno){
  char *file = sqlite3_mprintf("%s/src.db", dir);
  FILE *f = fopen(file, "rb");
  sqlite3_free(file);
  unsigned char page[4096];
  int ok = f && fseek(f, (long)(pgno - 1) * 4096, SEEK_SET) == 0 &&
           fread(page, 1, sizeof page, f) == sizeof page;
  if(f) fclose(f);
  if(!ok) return NULL;
  s3p_hash h;
  char key[S3P_KEY_MAX];
  s3p_hash_bytes(&h, page, sizeof page);
  s3p_hash_key(key, "pages", &h);
  char *path = malloc(strlen(name) + strlen(key) + 2);
  if(path) sprintf(path, "%s/%s", name, key);
  return path;
}

/* flip_byte flips a byte in the middle of file. Returns 0 or -1. */
static int flip_byte(const char *file){
  FILE *f = fopen(file, "r+b");
  if(!f) return -1;
  fseek(f, 0, SEEK_END);
  long at = ftell(f) / 2;
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0x55, f);
  return fclose(f) == 0 && c != EOF ? 0 : -1;
}

/* Leaves of t the range scan of damaged_ahead reads. */
#define RANGE_LEAVES 30

/* damaged_ahead: pages fetched ahead that do not verify are not an error
** of a query that does not read them (a range scan that stops before
** them), and are reported when a query does read one. The W leaves after
** the range are damaged, so whatever the scan fetched ahead and did not
** read is damaged. Directory store only: the case damages object files. */
static void damaged_ahead(void){
  if(tdb_on_s3()){
    printf("# damaged_ahead: skipped on S3\n");
    return;
  }
  char *file = sqlite3_mprintf("%s/src.db", dir);
  sqlite3 *loc = NULL;
  sqlite3_open_v2(file, &loc, SQLITE_OPEN_READONLY, "unix");
  sqlite3_free(file);
  char *q = sqlite3_mprintf("SELECT sum(ncell) FROM (SELECT ncell FROM "
                            "dbstat WHERE name = 't' AND pagetype = 'leaf' "
                            "ORDER BY path LIMIT %d)", RANGE_LEAVES);
  int64_t in_range = tdb_int(loc, q);          /* rows of those leaves */
  sqlite3_free(q);
  char *obj[128];
  int nobj = 0;
  sqlite3_stmt *st;
  q = sqlite3_mprintf("SELECT pageno FROM dbstat WHERE name = 't' AND "
                      "pagetype = 'leaf' ORDER BY path LIMIT %d OFFSET %d",
                      (int)(width < 128 ? width : 128), RANGE_LEAVES);
  sqlite3_prepare_v2(loc, q, -1, &st, 0);
  sqlite3_free(q);
  while(sqlite3_step(st) == SQLITE_ROW && nobj < 128){
    obj[nobj] = page_object((uint32_t)sqlite3_column_int(st, 0));
    if(obj[nobj] && flip_byte(obj[nobj]) == 0) nobj++;
  }
  sqlite3_finalize(st);
  sqlite3_close(loc);
  CHECK(nobj > 10);
  sqlite3 *db = cold();
  CHECK(db != NULL);
  if(db){
    s3page_stats s;
    pf_stats p;
    /* Rows 1..in_range are exactly those leaves' (ids are 1..rows); the
    ** scan stops at the last one (id <= in_range would read the next
    ** leaf to see that its first row is beyond). */
    q = sqlite3_mprintf("SELECT sum(length(v)) FROM t WHERE id < %lld",
                        (long long)in_range);
    CHECK_EQ(tdb_int(db, q), (in_range - 1) * 100);
    sqlite3_free(q);
    CHECK_EQ(tdb_stats(db, &s), 0);
    pf_get(db, &p);
    show("range scan, the leaves after it damaged", &s, &p, 0);
    CHECK(p.pages > p.used);     /* damaged pages were fetched ahead */
    CHECK_EQ(tdb_exec_quiet(db, "SELECT sum(length(v)) FROM t"),
             SQLITE_CORRUPT);
    char *err = tdb_text(db, "PRAGMA s3page_error");
    printf("# then: %s\n", err ? err : "?");
    CHECK(err && strstr(err, "is corrupt") != NULL);
    free(err);
    sqlite3_close(db);
  }
  for(int i = 0; i < nobj; i++){
    CHECK_EQ(flip_byte(obj[i]), 0);   /* restored */
    free(obj[i]);
  }
}

/* main builds the database and runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0 || make_db() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(point_query);
  RUN(many_points);
  RUN(neighbours);
  RUN(full_scan);
  RUN(index_count);
  RUN(overflow_scan);
  RUN(integrity);
  RUN(vacuum_into);
  RUN(damaged_ahead);
  tdb_rm_rf(dir);
  free(name);
  return CHECK_DONE();
}
