/*
** test_hydrate.c: hydration (prefetch=all, PRAGMA s3page_hydrate;
** vfs/hydrate.h).
**
**   - complete: after hydration of a database made in one transaction,
**     done = total = the page objects in the store, and a full scan and
**     integrity_check download nothing (0 GETs with staleness=).
**   - tree_and_overlay: the same for a version whose pages come from a
**     checkpoint tree and, for some, from the records after it: total is
**     the page count (every page differs) and nothing is missed.
**   - during: queries while a slow store hydrates give the right answers;
**     the progress never goes backwards and ends at done = total.
**   - close_during: closing a connection while it hydrates a slow store
**     is prompt and clean (ASan, valgrind); the database is intact.
**   - memory_full: without a disk cache, hydration of a database larger
**     than the memory cache stops at the cache's size (state "full").
**   - to_disk: with cache_dir=, hydration fills the disk cache: a new
**     process cache (all connections closed) reads everything from disk.
**   - failure: with a page object removed from the store, hydration ends
**     "failed" after the batch that met it, failed = 1, the log names the
**     object, and the connection goes on working.
**   - pragma: no hydration is "state=none"; "=start" starts one; a bad
**     value is an error; prefetch= takes only all or auto.
*/
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

#define ROWS 2000               /* rows of 1000 characters: ~500 pages */
#define BIG_ROWS 8000           /* ~2000 pages: 8 batches of hydration */

static char cache_root[] = "/tmp/s3p-hydrate-XXXXXX";

/* make_db creates a database of ROWS rows in one transaction, so that the
** store holds exactly its pages, as a checkpoint tree (checkpoint=1).
** Returns its name (malloc'd) or NULL. */
static char *make_db_rows(const char *tag, int rows){
  char *name = tdb_name(tag);
  sqlite3 *db = tdb_open(name, "checkpoint=1");
  if(!db){ free(name); return NULL; }
  int rc = tdb_execf(db, "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                     "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
                     "FROM c WHERE i < %d) INSERT INTO t SELECT i, "
                     "printf('%%04d', i) || hex(randomblob(498)) FROM c;"
                     "COMMIT", rows);
  sqlite3_close(db);
  if(rc){ free(name); return NULL; }
  return name;
}

/* make_db is make_db_rows of ROWS rows. */
static char *make_db(const char *tag){
  return make_db_rows(tag, ROWS);
}

/* Progress as PRAGMA s3page_hydrate reports it. */
typedef struct hprog {
  char state[16];            /* state name */
  long long done, total, fetched, failed;  /* counters */
} hprog;

/* get_prog parses PRAGMA s3page_hydrate of db into *p. Returns 0 or -1. */
static int get_prog(sqlite3 *db, hprog *p){
  char *t = tdb_text(db, "PRAGMA s3page_hydrate");
  if(!t) return -1;
  long long version, bytes, ms;
  int n = sscanf(t, "state=%15s version=%lld done=%lld total=%lld "
                 "fetched=%lld failed=%lld bytes=%lld ms=%lld", p->state,
                 &version, &p->done, &p->total, &p->fetched, &p->failed,
                 &bytes, &ms);
  if(n != 8) printf("# bad pragma text: %s\n", t);
  free(t);
  return n == 8 ? 0 : -1;
}

/* wait_end polls db until hydration ends (or 30 s pass). Returns 0 when
** it ended, -1 otherwise; *p gets the last progress. */
static int wait_end(sqlite3 *db, hprog *p){
  for(int i = 0; i < 3000; i++){
    if(get_prog(db, p)) return -1;
    if(strcmp(p->state, "listing") && strcmp(p->state, "running")) return 0;
    tdb_sleep_ms(10);
  }
  return -1;
}

/* wait_done waits for the hydration of db to end (progress in *p) and
** checks that it completed: every page, none failed. */
static void wait_done(sqlite3 *db, hprog *p){
  CHECK_EQ(wait_end(db, p), 0);
  CHECK(!strcmp(p->state, "done"));
  CHECK_EQ(p->failed, 0);
  CHECK_EQ(p->done, p->total);
}

static long long walk_files;                /* files counted by walk_one */

/* walk_one counts a regular file (nftw callback). Returns 0. */
static int walk_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw){
  (void)path; (void)sb; (void)ftw;
  if(flag == FTW_F && !strstr(path, "/.t")) walk_files++;
  return 0;
}

/* count_files returns the files under dir (-1 if it cannot be read). */
static long long count_files(const char *dir){
  walk_files = 0;
  if(nftw(dir, walk_one, 16, FTW_PHYS)) return -1;
  return walk_files;
}

/* sum_rows_ok returns 1 if the scan of t (rows rows) gives the known sum. */
static int sum_rows_ok(sqlite3 *db, int64_t rows){
  int64_t want = rows * (rows + 1) / 2 + rows * 1000;
  return tdb_int(db, "SELECT sum(id + length(v)) FROM t") == want;
}

/* sum_ok returns 1 if the scan of t (ROWS rows) gives the known sum. */
static int sum_ok(sqlite3 *db){
  int64_t want = (int64_t)ROWS * (ROWS + 1) / 2 + (int64_t)ROWS * 1000;
  return tdb_int(db, "SELECT sum(id + length(v)) FROM t") == want;
}

/* reads_local returns the GETs that a full scan and an integrity check of
** db make (after checking both give the right answers). */
static uint64_t reads_local(sqlite3 *db){
  s3page_stats s;
  memset(&s, 0, sizeof s);
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK(sum_ok(db));
  CHECK(tdb_integrity_ok(db));
  CHECK_EQ(tdb_stats(db, &s), 0);
  return s.n_get;
}

/* complete: see the top comment. */
static void complete(void){
  char *name = make_db("hcomp");
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *db = tdb_open(name, "prefetch=all&staleness=600000");
  CHECK(db != NULL);
  hprog p;
  wait_done(db, &p);
  /* Nothing was cached before but what the connection read itself. */
  CHECK(p.fetched <= p.total && p.fetched + 5 >= p.total);
  CHECK_EQ(p.total, tdb_int(db, "PRAGMA page_count"));
  if(!tdb_on_s3()){
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/pages", name);
    CHECK_EQ(p.total, count_files(dir));    /* every object, once */
  }
  CHECK(p.total > 400);
  uint64_t gets = reads_local(db);
  printf("# hydrated %lld pages; then scan + integrity_check: %llu GETs\n",
         p.total, (unsigned long long)gets);
  CHECK_EQ(gets, 0);
  sqlite3_close(db);
  free(name);
}

/* tree_and_overlay: see the top comment. */
static void tree_and_overlay(void){
  char *name = make_db("hover");
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *w = tdb_open(name, NULL);
  CHECK(w != NULL);
  CHECK_EQ(tdb_exec(w, "UPDATE t SET v = printf('%04d', id) || "
                       "hex(randomblob(498)) WHERE id % 200 = 0"), SQLITE_OK);
  sqlite3_close(w);
  sqlite3 *db = tdb_open(name, "prefetch=all&staleness=600000");
  CHECK(db != NULL);
  hprog p;
  wait_done(db, &p);
  CHECK_EQ(p.total, tdb_int(db, "PRAGMA page_count"));
  CHECK_EQ(reads_local(db), 0);
  sqlite3_close(db);
  free(name);
}

/* during: see the top comment. */
static void during(void){
  char *name = make_db_rows("hdur", BIG_ROWS);
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *db = tdb_open(name, "prefetch=all&fault=delay_ms=50");
  CHECK(db != NULL);
  hprog p, last;
  memset(&last, 0, sizeof last);
  int queries = 0, bad = 0, running = 0;
  for(int i = 0; i < 500; i++){
    if(get_prog(db, &p)){ bad++; break; }
    if(p.done < last.done || (last.total && p.total != last.total)) bad++;
    last = p;
    if(strcmp(p.state, "listing") && strcmp(p.state, "running")) break;
    running += !strcmp(p.state, "running");
    int id = 1 + (i * 397) % BIG_ROWS;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT substr(v, 1, 4) = printf('%%04d', id) "
             "FROM t WHERE id = %d", id);
    if(tdb_int(db, sql) != 1) bad++;
    queries++;
  }
  printf("# %d queries during hydration (%d while fetching pages)\n", queries,
         running);
  CHECK_EQ(bad, 0);
  CHECK(queries >= 2);
  wait_done(db, &p);
  CHECK(sum_rows_ok(db, BIG_ROWS));
  sqlite3_close(db);
  free(name);
}

/* close_during: see the top comment. */
static void close_during(void){
  char *name = make_db_rows("hclose", BIG_ROWS);
  CHECK(name != NULL);
  if(!name) return;
  for(int wait = 0; wait <= 200; wait += 100){
    sqlite3 *db = tdb_open(name, "prefetch=all&fault=delay_ms=50");
    CHECK(db != NULL);
    tdb_sleep_ms(wait);
    hprog p;
    CHECK_EQ(get_prog(db, &p), 0);
    CHECK(!strcmp(p.state, "listing") || !strcmp(p.state, "running"));
    int64_t t0 = tdb_now_ms();
    CHECK_EQ(sqlite3_close(db), SQLITE_OK);
    int64_t took = tdb_now_ms() - t0;
    printf("# close after %d ms of hydration took %lld ms\n", wait,
           (long long)took);
    CHECK(took < 2000);                     /* one batch in flight at most */
  }
  sqlite3 *c = tdb_open(name, NULL);
  CHECK(c != NULL);
  CHECK(sum_rows_ok(c, BIG_ROWS));
  sqlite3_close(c);
  free(name);
}

/* memory_full: see the top comment. */
static void memory_full(void){
  char *name = make_db("hfull");
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *db = tdb_open(name, "prefetch=all&cache_mb=1");
  CHECK(db != NULL);
  hprog p;
  CHECK_EQ(wait_end(db, &p), 0);
  CHECK(!strcmp(p.state, "full"));
  CHECK(p.done > 0 && p.done < p.total);
  char *t = tdb_text(db, "PRAGMA s3page_cache");
  long long pb = -1;
  const char *at = t ? strstr(t, "page_bytes=") : NULL;
  if(at) pb = atoll(at + 11);
  printf("# %s after hydrating %lld of %lld pages (%s)\n", p.state, p.done,
         p.total, t ? t : "?");
  CHECK(pb > 0 && pb <= (1 << 20));
  /* done is exact: every page counted is in memory. */
  const char *np = t ? strstr(t, " pages=") : NULL;
  CHECK(np && atoll(np + 7) == p.done);
  free(t);
  CHECK(sum_ok(db));
  sqlite3_close(db);
  free(name);
}

/* to_disk: see the top comment. */
static void to_disk(void){
  char *name = make_db("hdisk");
  CHECK(name != NULL);
  if(!name) return;
  char params[4200];
  snprintf(params, sizeof params, "prefetch=all&cache_mb=1&cache_dir=%s/d",
           cache_root);
  sqlite3 *db = tdb_open(name, params);
  CHECK(db != NULL);
  hprog p;
  CHECK_EQ(wait_end(db, &p), 0);
  CHECK(!strcmp(p.state, "done"));          /* not "full": the disk takes it */
  CHECK_EQ(p.done, p.total);
  sqlite3_close(db);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/d", cache_root);
  CHECK_EQ(count_files(dir), p.total);
  /* All connections closed: the process cache is gone, the disk has all. */
  snprintf(params, sizeof params, "cache_dir=%s/d&staleness=600000",
           cache_root);
  sqlite3 *c = tdb_open(name, params);
  CHECK(c != NULL);
  CHECK_EQ(tdb_int(c, "PRAGMA schema_version"), 1);
  CHECK_EQ(tdb_stats_reset(c), 0);
  CHECK(sum_ok(c));
  s3page_stats s;
  CHECK_EQ(tdb_stats(c, &s), 0);
  /* No page: only the checkpoint-tree nodes that page 1 did not need (the
  ** disk cache holds pages, the nodes were in the process cache). */
  printf("# from the disk cache: %llu GETs, %llu bytes\n",
         (unsigned long long)s.n_get, (unsigned long long)s.bytes_in);
  CHECK(s.n_get <= 2);
  CHECK(s.bytes_in < 2 * 4200);
  sqlite3_close(c);
  free(name);
}

static char victim[4200];                   /* a file found by find_one */

/* find_one remembers the first regular file (nftw callback). Returns 1 to
** stop at it, else 0. */
static int find_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw){
  (void)sb; (void)ftw;
  if(flag != FTW_F) return 0;
  snprintf(victim, sizeof victim, "%s", path);
  return 1;
}

/* failure: see the top comment. */
static void failure(void){
  if(tdb_on_s3()) return;                   /* removes a file of the store */
  char *name = make_db("hfail");
  CHECK(name != NULL);
  if(!name) return;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/pages", name);
  victim[0] = 0;
  nftw(dir, find_one, 16, FTW_PHYS);
  CHECK(victim[0] && unlink(victim) == 0);
  tdb_log_clear();
  sqlite3 *db = tdb_open(name, "prefetch=all");
  CHECK(db != NULL);
  hprog p;
  CHECK_EQ(wait_end(db, &p), 0);
  printf("# one page object removed: state=%s done=%lld total=%lld "
         "failed=%lld\n", p.state, p.done, p.total, p.failed);
  CHECK(!strcmp(p.state, "failed"));
  CHECK_EQ(p.failed, 1);
  CHECK(p.done < p.total);
  CHECK(tdb_log_has("is missing"));
  /* The connection itself is unharmed (whichever page was removed). */
  CHECK(tdb_version(db) > 0);
  sqlite3_close(db);
  free(name);
}

/* pragma: see the top comment. */
static void pragma(void){
  char *name = make_db("hprag");
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  hprog p;
  CHECK_EQ(get_prog(db, &p), 0);
  CHECK(!strcmp(p.state, "none"));
  CHECK(tdb_exec_quiet(db, "PRAGMA s3page_hydrate=bogus") != SQLITE_OK);
  char *st = tdb_text(db, "PRAGMA s3page_hydrate=start");
  CHECK(st && strstr(st, "state=") == st);
  free(st);
  CHECK_EQ(wait_end(db, &p), 0);
  CHECK(!strcmp(p.state, "done"));
  CHECK_EQ(p.done, p.total);
  /* Started again after the end: everything is cached, nothing fetched. */
  char *t = tdb_text(db, "PRAGMA s3page_hydrate=start");
  free(t);
  CHECK_EQ(wait_end(db, &p), 0);
  CHECK(!strcmp(p.state, "done"));
  CHECK_EQ(p.fetched, 0);
  CHECK_EQ(p.done, p.total);
  sqlite3_close(db);
  int rc = 0;
  sqlite3 *bad = tdb_open_ex(name, "prefetch=some", 0, 1, &rc);
  CHECK(bad == NULL);
  CHECK(rc != SQLITE_OK);
  sqlite3_close(bad);
  free(name);
}

/* rm_one removes one file or directory (nftw callback). Returns 0. */
static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw){
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0 || !mkdtemp(cache_root)){
    printf("not ok - init\n");
    return 1;
  }
  RUN(complete);
  RUN(tree_and_overlay);
  RUN(during);
  RUN(close_during);
  RUN(memory_full);
  RUN(to_disk);
  RUN(failure);
  RUN(pragma);
  nftw(cache_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return CHECK_DONE();
}
