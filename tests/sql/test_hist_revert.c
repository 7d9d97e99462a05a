/*
** test_hist_revert.c: s3page_revert (s3page revert NAME --to V).
**
**   revert_migration   after a destructive migration, the newest version's
**                      content (schema and rows) equals V's, the versions
**                      after V stay readable, verify --all passes, and a
**                      connection open in another process on V + 1 sees
**                      the reverted content on its next transaction (and
**                      its next write keeps it);
**   revert_stamp_cache the same when a commit on top of the revert brings
**                      page 1's header back to bytes a connection cached;
**   revert_page_size   to a version whose SQLite page size is not the
**                      store's: the header states V's size in SQLite pages;
**   revert_asof        --asof picks the newest version at or before a time;
**   revert_cost        on a database of some thousand pages, the revert
**                      uploads one page object, a handful of tree nodes
**                      and the record (counted requests), not the database;
**   revert_race        writers incrementing a counter while reverts run:
**                      every version after the start is either a revert
**                      (V's content) or exactly one increment of its
**                      parent, and every acknowledged increment is one
**                      such version: no update is lost;
**   revert_errors      no version, a missing version, the newest version.
*/
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* A growing string. */
typedef struct rv_buf {
  char *p;                   /* text (malloc'd), NUL-terminated */
  size_t n;                  /* length */
  size_t cap;                /* bytes allocated */
} rv_buf;

/* rv_add appends s to b, growing it geometrically (a dump of a large
** table appends tens of thousands of values: growing by each would copy
** the whole text every time, for minutes under ASan). */
static void rv_add(rv_buf *b, const char *s){
  size_t m = strlen(s);
  if(b->n + m + 1 > b->cap){
    size_t cap = b->cap ? b->cap : 4096;
    while(cap < b->n + m + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if(!q) return;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, m + 1);
  b->n += m;
}

/* rv_dump returns the content of db as text (malloc'd): every schema
** entry, then every row of every table in rowid order, values quoted; or
** NULL on error (with a diagnostic). */
static char *rv_dump(sqlite3 *db){
  rv_buf b = { NULL, 0, 0 };
  rv_add(&b, "");
  sqlite3_stmt *st = NULL;
  if(sqlite3_prepare_v2(db, "SELECT type, name, quote(sql) FROM sqlite_master"
                        " ORDER BY name", -1, &st, NULL) != SQLITE_OK){
    printf("# dump: %s\n", sqlite3_errmsg(db));
    free(b.p);
    return NULL;
  }
  char **tables = NULL;
  int ntab = 0;
  while(sqlite3_step(st) == SQLITE_ROW){
    const char *type = (const char *)sqlite3_column_text(st, 0);
    const char *nm = (const char *)sqlite3_column_text(st, 1);
    rv_add(&b, type);
    rv_add(&b, " ");
    rv_add(&b, nm);
    rv_add(&b, " ");
    rv_add(&b, (const char *)sqlite3_column_text(st, 2));
    rv_add(&b, "\n");
    if(!strcmp(type, "table")){
      tables = realloc(tables, (size_t)(ntab + 1) * sizeof *tables);
      tables[ntab++] = strdup(nm);
    }
  }
  sqlite3_finalize(st);
  for(int t = 0; t < ntab; t++){
    char *q = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid", tables[t]);
    if(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK){
      while(sqlite3_step(st) == SQLITE_ROW){
        rv_add(&b, tables[t]);
        for(int c = 0; c < sqlite3_column_count(st); c++){
          char *v = sqlite3_mprintf(" %Q", sqlite3_column_text(st, c));
          rv_add(&b, v);
          sqlite3_free(v);
        }
        rv_add(&b, "\n");
      }
    }else{
      printf("# dump %s: %s\n", tables[t], sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_free(q);
    free(tables[t]);
  }
  free(tables);
  return b.p;
}

/* rv_dump_at returns rv_dump of version v of name (0: the newest). */
static char *rv_dump_at(const char *name, int64_t v){
  char params[64];
  snprintf(params, sizeof params, "version=%lld", (long long)v);
  sqlite3 *db = tdb_open_ex(name, v ? params : NULL, SQLITE_OPEN_READONLY, 0,
                            NULL);
  if(!db) return NULL;
  char *d = rv_dump(db);
  sqlite3_close(db);
  return d;
}

/* rv_same returns 1 if dumps a and b are equal and not NULL (printing the
** start of both otherwise). */
static int rv_same(const char *a, const char *b){
  if(a && b && !strcmp(a, b)) return 1;
  printf("# dumps differ:\n# [%.200s]\n# [%.200s]\n", a ? a : "(null)",
         b ? b : "(null)");
  return 0;
}

/* rv_revert reverts name to version v (or, if v is 0, to time asof_ms).
** Returns the SQLite code; prints the error message. */
static int rv_revert(const char *name, uint64_t v, int64_t asof_ms,
                     s3page_revert_result *res){
  s3page_at at;
  memset(&at, 0, sizeof at);
  if(v) at.version = v;
  else{ at.has_asof = 1; at.asof_ms = asof_ms; }
  char *err = NULL;
  int rc = s3page_revert(name, &at, res, &err);
  if(err) printf("# revert: %s\n", err);
  sqlite3_free(err);
  return rc;
}

/* rv_child holds a connection open across a revert made by its parent:
** reads before (must give want_before, caching the content), tells the
** parent on wfd, waits for a byte on rfd, then must read want_after with
** after, and its write (an insert into a) must keep what it sees. Returns
** the exit status (0: all as expected). */
static int rv_child(const char *name, int rfd, int wfd, const char *before,
                    const char *want_before, const char *after,
                    const char *want_after){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return 1;
  int bad = 0;
  if(!tdb_text_is(db, before, want_before)) bad |= 2;
  char c = 1;
  if(write(wfd, &c, 1) != 1 || read(rfd, &c, 1) != 1) bad |= 4;
  if(!tdb_text_is(db, after, want_after)) bad |= 8;
  if(tdb_exec(db, "INSERT INTO a(k, v) VALUES(100000, 'child')") != SQLITE_OK){
    bad |= 16;
  }
  if(!tdb_integrity_ok(db)) bad |= 32;
  if(bad) printf("# child: failures %#x\n", bad);
  fflush(stdout);
  sqlite3_close(db);
  return bad;
}

/* revert_migration: see the file comment. */
static void revert_migration(void){
  char *name = tdb_name("revmig");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE a(k INTEGER PRIMARY KEY, v TEXT);"
                        "CREATE INDEX a_v ON a(v);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                        "i + 1 FROM n WHERE i < 500) INSERT INTO a "
                        "SELECT i, printf('row %d %s', i, hex(randomblob(40))) "
                        "FROM n"), SQLITE_OK);
  int64_t v = tdb_version(db);
  char *want = rv_dump(db);
  /* The destructive migration, one transaction (version V + 1). */
  CHECK_EQ(tdb_exec(db, "BEGIN; DROP INDEX a_v; DELETE FROM a WHERE k > 10;"
                        "ALTER TABLE a ADD COLUMN w;"
                        "CREATE TABLE b(x); INSERT INTO b VALUES(1),(2),(3);"
                        "COMMIT"), SQLITE_OK);
  int64_t migrated = tdb_version(db);
  CHECK_EQ(migrated, v + 1);
  char *after = rv_dump(db);
  sqlite3_close(db);
  int p2c[2], c2p[2];
  CHECK_EQ(pipe(p2c), 0);
  CHECK_EQ(pipe(c2p), 0);
  fflush(stdout);
  pid_t kid = fork();
  if(kid == 0){
    _exit(rv_child(name, p2c[0], c2p[1], "SELECT count(*) FROM b", "3",
                   "SELECT count(*) FROM a", "501"));
  }
  CHECK(kid > 0);
  char c = 0;
  CHECK_EQ(read(c2p[0], &c, 1), 1);      /* the child has read b */
  s3page_revert_result r;
  CHECK_EQ(rv_revert(name, (uint64_t)v, 0, &r), SQLITE_OK);
  CHECK_EQ(r.version, (uint64_t)migrated + 1);
  CHECK_EQ(r.parent, (uint64_t)migrated);
  CHECK_EQ(r.to, (uint64_t)v);
  char *now = rv_dump_at(name, (int64_t)r.version);
  CHECK(rv_same(want, now));
  free(now);
  now = rv_dump_at(name, migrated);      /* later versions stay readable */
  CHECK(rv_same(after, now));
  free(now);
  /* An ordinary commit on top of the revert. */
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db) CHECK_EQ(tdb_exec(db, "INSERT INTO a(k, v) VALUES(200000, 'p')"),
                  SQLITE_OK);
  sqlite3_close(db);
  CHECK_EQ(write(p2c[1], &c, 1), 1);     /* the child reads again */
  int st = 0;
  CHECK_EQ(waitpid(kid, &st, 0), kid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(p2c[0]); close(p2c[1]); close(c2p[0]); close(c2p[1]);
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM a"), 502);
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name='b'"),
             0);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  s3page_verify_result vr;
  char *err = NULL;
  CHECK_EQ(s3page_verify(name, NULL, 1, NULL, NULL, NULL, &vr, &err),
           SQLITE_OK);
  if(err) printf("# verify: %s\n", err);
  sqlite3_free(err);
  CHECK_EQ(vr.problems, 0);
  free(want);
  free(after);
  free(name);
}

/* revert_stamp_cache: V + 1 changes rows but keeps page 1's header
** bytes 24..39 but the change counter (same size, no free pages). A
** connection in another process reads V + 1; after the revert to V, one
** ordinary commit raises page 1's change counter by one: without the
** revert's stamp it would be V + 1's again, and SQLite would keep that
** connection's cache of V + 1 (old rows, then a write on top of them). */
static void revert_stamp_cache(void){
  char *name = tdb_name("revstamp");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "BEGIN; CREATE TABLE a(k INTEGER PRIMARY KEY, v TEXT);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                        "i + 1 FROM n WHERE i < 300) INSERT INTO a SELECT i, "
                        "printf('row%04d', i) FROM n; COMMIT"), SQLITE_OK);
  int64_t v = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "UPDATE a SET v = upper(v)"), SQLITE_OK);
  sqlite3_close(db);
  int p2c[2], c2p[2];
  CHECK_EQ(pipe(p2c), 0);
  CHECK_EQ(pipe(c2p), 0);
  fflush(stdout);
  pid_t kid = fork();
  if(kid == 0){
    _exit(rv_child(name, p2c[0], c2p[1], "SELECT v FROM a WHERE k = 200",
                   "ROW0200", "SELECT v FROM a WHERE k = 200", "row0200"));
  }
  CHECK(kid > 0);
  char c = 0;
  CHECK_EQ(read(c2p[0], &c, 1), 1);
  s3page_revert_result r;
  CHECK_EQ(rv_revert(name, (uint64_t)v, 0, &r), SQLITE_OK);
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db) CHECK_EQ(tdb_exec(db, "UPDATE a SET v = 'x' WHERE k = 1"),
                  SQLITE_OK);
  sqlite3_close(db);
  CHECK_EQ(write(p2c[1], &c, 1), 1);
  int st = 0;
  CHECK_EQ(waitpid(kid, &st, 0), kid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(p2c[0]); close(p2c[1]); close(c2p[0]); close(c2p[1]);
  db = tdb_open(name, NULL);
  if(db){
    CHECK(tdb_text_is(db, "SELECT count(*) || ' ' || sum(v = lower(v)) FROM a",
                      "301 301"));
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  free(name);
}

/* revert_page_size: a revert to a version whose SQLite page size differs
** from the store's (after a VACUUM that changed it) states V's size in
** SQLite pages in the stamped header: integrity_check passes and the rows
** are V's. */
static void revert_page_size(void){
  static const int sizes[2][2] = { { 4096, 1024 }, { 1024, 4096 } };
  for(int round = 0; round < 2; round++){
    char *name = tdb_name("revpsz");
    sqlite3 *db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(!db){ free(name); return; }
    CHECK_EQ(tdb_execf(db, "PRAGMA page_size=%d; CREATE TABLE t(id INTEGER "
                           "PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS "
                           "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                           "i < 500) INSERT INTO t SELECT i, hex(randomblob("
                           "30)) FROM n", sizes[round][0]), SQLITE_OK);
    CHECK_EQ(tdb_execf(db, "PRAGMA page_size=%d; VACUUM", sizes[round][1]),
             SQLITE_OK);
    int64_t v = tdb_version(db);
    int64_t pages = tdb_int(db, "PRAGMA page_count");
    CHECK_EQ(tdb_exec(db, "DELETE FROM t WHERE id > 100; VACUUM"), SQLITE_OK);
    sqlite3_close(db);
    s3page_revert_result r;
    CHECK_EQ(rv_revert(name, (uint64_t)v, 0, &r), SQLITE_OK);
    db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(db){
      CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 500);
      CHECK_EQ(tdb_int(db, "PRAGMA page_size"), sizes[round][1]);
      CHECK_EQ(tdb_int(db, "PRAGMA page_count"), pages);
      CHECK(tdb_integrity_ok(db));
      sqlite3_close(db);
    }
    free(name);
  }
}

/* revert_asof: reverting to a time takes the newest version committed at
** or before it. */
static void revert_asof(void){
  char *name = tdb_name("revasof");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES('one')"),
           SQLITE_OK);
  tdb_sleep_ms(30);
  int64_t t1 = tdb_now_ms();
  tdb_sleep_ms(30);
  CHECK_EQ(tdb_exec(db, "UPDATE t SET x = 'two'"), SQLITE_OK);
  int64_t v2 = tdb_version(db);
  s3page_revert_result r;
  CHECK_EQ(rv_revert(name, 0, t1, &r), SQLITE_OK);
  CHECK_EQ(r.to, (uint64_t)v2 - 1);
  CHECK_EQ(r.version, (uint64_t)v2 + 1);
  CHECK(tdb_text_is(db, "SELECT x FROM t", "one"));
  sqlite3_close(db);
  free(name);
}

/* revert_cost: see the file comment. V has a few pages changed since its
** checkpoint, so the new tree differs from V's checkpoint on the paths to
** those pages and to page 1 only. */
static void revert_cost(void){
  char *name = tdb_name("revcost");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  int rows = tdb_quick() ? 4000 : 20000;   /* about 1,100 or 5,500 pages */
  CHECK_EQ(tdb_execf(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                         "i + 1 FROM n WHERE i < %d) INSERT INTO t SELECT i, "
                         "randomblob(900) FROM n", rows), SQLITE_OK);
  char *err = NULL;
  CHECK_EQ(s3page_checkpoint(name, NULL, NULL, &err), SQLITE_OK);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(tdb_exec(db, "UPDATE t SET v = randomblob(900) WHERE k = 7"),
           SQLITE_OK);
  int64_t v = tdb_version(db);
  int64_t pages = tdb_int(db, "PRAGMA page_count");
  CHECK(pages > 1000);
  for(int i = 0; i < 5; i++){
    CHECK_EQ(tdb_execf(db, "UPDATE t SET v = randomblob(900) WHERE k = %d",
                       i * 997 % rows + 1), SQLITE_OK);
  }
  s3page_revert_result r;
  CHECK_EQ(rv_revert(name, (uint64_t)v, 0, &r), SQLITE_OK);
  printf("# revert of %lld pages: %llu pages, %llu nodes, %llu bytes put; "
         "%llu GET/HEAD, %llu PUT\n", (long long)pages,
         (unsigned long long)r.pages_put, (unsigned long long)r.nodes_put,
         (unsigned long long)r.bytes_put, (unsigned long long)r.n_get,
         (unsigned long long)r.n_put);
  CHECK_EQ(r.pages_put, 1);
  /* V changed page 1 and a leaf (with its parents) since the checkpoint:
  ** at most three paths of at most three nodes each. */
  CHECK(r.nodes_put >= 1 && r.nodes_put <= 9);
  CHECK(r.n_put <= r.pages_put + r.nodes_put + 2);  /* + record + HEAD */
  CHECK(r.bytes_put < 64 * 1024);
  CHECK(r.n_get <= 24);
  sqlite3_close(db);
  char *a = rv_dump_at(name, v), *b = rv_dump_at(name, 0);
  CHECK(rv_same(a, b));
  free(a);
  free(b);
  free(name);
}

#define RACE_PROC 2

/* race_worker makes n increments of counter.n in name, retrying on BUSY,
** and returns the exit status: 0 when all n were acknowledged. */
static int race_worker(const char *name, int n){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return 1;
  unsigned seed = (unsigned)getpid();
  for(int i = 0; i < n; i++){
    for(int attempt = 0;; attempt++){
      if(attempt > 10000){ sqlite3_close(db); return 1; }
      int rc = tdb_exec_quiet(db, "BEGIN IMMEDIATE");
      if(rc == SQLITE_OK) rc = tdb_exec_quiet(db, "UPDATE counter SET n = n + 1");
      if(rc == SQLITE_OK) rc = tdb_exec_quiet(db, "COMMIT");
      if(rc == SQLITE_OK) break;
      if(!sqlite3_get_autocommit(db)) tdb_exec_quiet(db, "ROLLBACK");
      if((rc & 0xff) != SQLITE_BUSY){
        printf("# worker: error %d: %s\n", rc, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
      }
      usleep((useconds_t)(rand_r(&seed) % 500));
    }
  }
  sqlite3_close(db);
  return 0;
}

/* revert_race: see the file comment. */
static void revert_race(void){
  int n_incr = tdb_quick() ? 15 : 40, n_revert = 4;
  char *name = tdb_name("revrace");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE counter(n INTEGER);"
                        "INSERT INTO counter VALUES(1000)"), SQLITE_OK);
  int64_t v = tdb_version(db);
  sqlite3_close(db);
  fflush(stdout);
  pid_t kids[RACE_PROC];
  for(int i = 0; i < RACE_PROC; i++){
    kids[i] = fork();
    if(kids[i] == 0) _exit(race_worker(name, n_incr));
    CHECK(kids[i] > 0);
  }
  uint64_t reverts[8];
  int nrev = 0;
  for(int i = 0; i < n_revert; i++){
    tdb_sleep_ms(20);
    s3page_revert_result r;
    int rc = rv_revert(name, (uint64_t)v, 0, &r);
    CHECK(rc == SQLITE_OK || rc == SQLITE_BUSY);
    if(rc == SQLITE_OK && r.version) reverts[nrev++] = r.version;
  }
  for(int i = 0; i < RACE_PROC; i++){
    int st = 0;
    if(kids[i] <= 0) continue;
    CHECK_EQ(waitpid(kids[i], &st, 0), kids[i]);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  db = tdb_open(name, NULL);
  int64_t newest = db ? tdb_version(db) : 0;
  sqlite3_close(db);
  /* Walk the history: each version is a revert or one increment. */
  int64_t prev = 1000, increments = 0, bad = 0;
  for(int64_t k = v + 1; k <= newest; k++){
    char params[48];
    snprintf(params, sizeof params, "version=%lld", (long long)k);
    sqlite3 *h = tdb_open_ex(name, params, SQLITE_OPEN_READONLY, 0, NULL);
    int64_t n = h ? tdb_int(h, "SELECT n FROM counter") : INT64_MIN;
    sqlite3_close(h);
    int is_revert = 0;
    for(int i = 0; i < nrev; i++) is_revert |= reverts[i] == (uint64_t)k;
    if(is_revert){
      if(n != 1000) bad++;
    }else if(n == prev + 1){
      increments++;
    }else{
      printf("# version %lld: n = %lld after %lld\n", (long long)k,
             (long long)n, (long long)prev);
      bad++;
    }
    prev = n;
  }
  printf("# %d reverts among %lld versions\n", nrev, (long long)(newest - v));
  CHECK(nrev >= 1);
  CHECK_EQ(bad, 0);
  CHECK_EQ(increments, RACE_PROC * n_incr);
  CHECK_EQ(newest - v, RACE_PROC * n_incr + nrev);
  free(name);
}

/* revert_errors: no target, a version that does not exist, and the
** newest version (nothing to do). */
static void revert_errors(void){
  char *name = tdb_name("reverr");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x)"), SQLITE_OK);
  int64_t v = tdb_version(db);
  sqlite3_close(db);
  char *err = NULL;
  s3page_revert_result r;
  CHECK_EQ(s3page_revert(name, NULL, &r, &err), SQLITE_MISUSE);
  CHECK(err != NULL);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(rv_revert(name, (uint64_t)v + 5, 0, &r), SQLITE_CANTOPEN);
  CHECK_EQ(rv_revert(name, (uint64_t)v, 0, &r), SQLITE_OK);
  CHECK_EQ(r.version, 0);
  CHECK_EQ(r.to, (uint64_t)v);
  char *missing = tdb_name("revnone");
  CHECK_EQ(rv_revert(missing, 1, 0, &r), SQLITE_CANTOPEN);
  free(missing);
  free(name);
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(revert_migration);
  RUN(revert_stamp_cache);
  RUN(revert_page_size);
  RUN(revert_asof);
  RUN(revert_cost);
  RUN(revert_race);
  RUN(revert_errors);
  return CHECK_DONE();
}
