/*
** test_sql.c: SQL through the s3page VFS: schema changes, DML, a large
** transaction that spills, rollback, savepoints, VACUUM, blobs, many
** tables, page sizes, auto_vacuum truncation, reopening, two connections
** in conflict, WAL refused, and how PRAGMA s3page_version moves.
** Every case ends with PRAGMA integrity_check on a fresh connection.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../lib/testdb.h"

/* reopen_check opens name in a new connection and checks integrity and
** that query gives want. Returns nothing; failures are CHECKs. */
static void reopen_check(const char *name, const char *query, const char *want){
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db) return;
  CHECK(tdb_integrity_ok(db));
  if(query) CHECK(tdb_text_is(db, query, want));
  sqlite3_close(db);
}

/* fill_random fills buf with n bytes from a xorshift generator seeded with
** seed. */
static void fill_random(unsigned char *buf, size_t n, uint64_t seed){
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for(size_t i = 0; i < n; i++){
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    buf[i] = (unsigned char)(x >> 24);
  }
}

/* schema_changes: create, alter, index, rename, drop; all visible to a new
** connection. */
static void schema_changes(void){
  char *name = tdb_name("schema");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE a(x INTEGER PRIMARY KEY, y TEXT);"
                        "INSERT INTO a(y) VALUES('one'),('two'),('three');"
                        "ALTER TABLE a ADD COLUMN z INT DEFAULT 7;"
                        "CREATE INDEX a_y ON a(y);"
                        "CREATE TABLE b(q); CREATE VIEW v AS SELECT y FROM a;"
                        "ALTER TABLE b RENAME TO c; DROP TABLE c;"
                        "CREATE TRIGGER tr AFTER INSERT ON a BEGIN "
                        "  UPDATE a SET z = z + 1 WHERE x = new.x; END;"
                        "INSERT INTO a(y) VALUES('four');"), SQLITE_OK);
  sqlite3_close(db);
  reopen_check(name, "SELECT group_concat(name, ',') FROM (SELECT name FROM "
               "sqlite_schema ORDER BY name)", "a,a_y,tr,v");
  reopen_check(name, "SELECT group_concat(y || z, ',') FROM a ORDER BY x",
               "one7,two7,three7,four8");
  reopen_check(name, "SELECT count(*) FROM a INDEXED BY a_y WHERE y > 'o'",
               "3");
  free(name);
}

/* dml: inserts, updates and deletes over several transactions. */
static void dml(void){
  char *name = tdb_name("dml");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v INT, s TEXT)"),
           SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                        "i+1 FROM c WHERE i < 5000) INSERT INTO t SELECT i, "
                        "i*2, printf('row %d', i) FROM c"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "UPDATE t SET v = v + 1 WHERE k % 3 = 0"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "DELETE FROM t WHERE k % 5 = 0"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "UPDATE t SET s = 'changed' WHERE k = 4999"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 4000);
  sqlite3_close(db);
  /* sum over k not divisible by 5 of 2k, plus 1 for k divisible by 3 but not
  ** by 15: computed independently in C. */
  long long sum = 0;
  for(int k = 1; k <= 5000; k++){
    if(k % 5 == 0) continue;
    sum += 2 * k + (k % 3 == 0);
  }
  char want[32];
  snprintf(want, sizeof want, "%lld", sum);
  reopen_check(name, "SELECT sum(v) FROM t", want);
  reopen_check(name, "SELECT s FROM t WHERE k = 4999", "changed");
  reopen_check(name, "SELECT s FROM t WHERE k = 4998", "row 4998");
  free(name);
}

/* large_spill: 20 MB in one transaction with a 1 MB transaction buffer,
** so the buffer spills to its temporary file; all of it is committed. */
static void large_spill(void){
  char *name = tdb_name("spill");
  int rows = tdb_quick() ? 10000 : 20000;
  sqlite3 *db = tdb_open(name, "txbuf_mb=1");
  CHECK(db != NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE big(k INTEGER PRIMARY KEY, b BLOB)"),
           SQLITE_OK);
  int64_t v0 = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "BEGIN"), SQLITE_OK);
  CHECK_EQ(tdb_execf(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                         "i+1 FROM c WHERE i < %d) INSERT INTO big SELECT i, "
                         "randomblob(1000) FROM c", rows), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE sums AS SELECT sum(length(b)) AS n, "
                        "total(unicode(b)) AS u FROM big"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "COMMIT"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 1);
  char *u = tdb_text(db, "SELECT u FROM sums");
  sqlite3_close(db);
  char want[64];
  snprintf(want, sizeof want, "%d", rows * 1000);
  reopen_check(name, "SELECT sum(length(b)) FROM big", want);
  if(u){
    reopen_check(name, "SELECT total(unicode(b)) FROM big", u);
  }
  CHECK(u != NULL);
  free(u);
  free(name);
}

/* rollback: a rolled-back transaction leaves data and version unchanged,
** also when it spilled. */
static void rollback(void){
  char *name = tdb_name("rollback");
  sqlite3 *db = tdb_open(name, "txbuf_mb=1");
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1),(2),(3)"),
           SQLITE_OK);
  int64_t v = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "BEGIN; DELETE FROM t; INSERT INTO t VALUES(99);"
                        "CREATE TABLE u(x);"
                        "INSERT INTO u SELECT randomblob(1000) FROM "
                        "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                        "i+1 FROM c WHERE i < 3000) SELECT i FROM c);"),
           SQLITE_OK);
  CHECK_EQ(tdb_int(db, "SELECT sum(a) FROM t"), 99);
  CHECK_EQ(tdb_exec(db, "ROLLBACK"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "SELECT sum(a) FROM t"), 6);
  CHECK_EQ(tdb_version(db), v);
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM sqlite_schema WHERE name='u'"), 0);
  sqlite3_close(db);
  reopen_check(name, "SELECT group_concat(a) FROM t", "1,2,3");
  reopen_check(name, "SELECT count(*) FROM sqlite_schema", "1");
  free(name);
}

/* savepoints: SAVEPOINT, RELEASE and ROLLBACK TO, nested. */
static void savepoints(void){
  char *name = tdb_name("savepoint");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a)"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "SAVEPOINT s1; INSERT INTO t VALUES(1);"
                        "SAVEPOINT s2; INSERT INTO t VALUES(2);"
                        "ROLLBACK TO s2; INSERT INTO t VALUES(3);"
                        "SAVEPOINT s3; INSERT INTO t VALUES(4); RELEASE s3;"
                        "SAVEPOINT s4; INSERT INTO t VALUES(5); ROLLBACK TO s4;"
                        "RELEASE s4; RELEASE s1;"), SQLITE_OK);
  CHECK_EQ(sqlite3_get_autocommit(db), 1);
  /* A savepoint rolled back entirely, outside any transaction. */
  CHECK_EQ(tdb_exec(db, "SAVEPOINT x; INSERT INTO t VALUES(6); ROLLBACK TO x;"
                        "RELEASE x"), SQLITE_OK);
  sqlite3_close(db);
  reopen_check(name, "SELECT group_concat(a) FROM (SELECT a FROM t ORDER BY a)",
               "1,3,4");
  free(name);
}

/* vacuum: VACUUM after a big delete shrinks the file and keeps the data. */
static void vacuum(void){
  char *name = tdb_name("vacuum");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, b);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                        "i+1 FROM c WHERE i < 4000) INSERT INTO t SELECT i, "
                        "randomblob(500) FROM c;"
                        "DELETE FROM t WHERE k > 100;"), SQLITE_OK);
  int64_t before = tdb_int(db, "PRAGMA page_count");
  int64_t v = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "VACUUM"), SQLITE_OK);
  int64_t after = tdb_int(db, "PRAGMA page_count");
  CHECK(after > 0 && after * 4 < before);
  CHECK_EQ(tdb_version(db), v + 1);
  sqlite3_close(db);
  char want[32];
  snprintf(want, sizeof want, "%lld", (long long)after);
  reopen_check(name, "PRAGMA page_count", want);
  reopen_check(name, "SELECT count(*) || ',' || sum(length(b)) FROM t",
               "100,50000");
  free(name);
}

/* blobs: blobs of 0 bytes to 5 MB come back byte for byte. */
static void blobs(void){
  static const int sizes[] = { 0, 1, 1000, 4096, 65537, 1000000, 5 << 20 };
  const int n = (int)(sizeof sizes / sizeof sizes[0]);
  char *name = tdb_name("blobs");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB)"),
           SQLITE_OK);
  unsigned char *buf = malloc(5 << 20);
  CHECK(buf != NULL);
  if(!buf || !db){ sqlite3_close(db); free(name); free(buf); return; }
  sqlite3_stmt *st = NULL;
  CHECK_EQ(sqlite3_prepare_v2(db, "INSERT INTO b VALUES(?, ?)", -1, &st, NULL),
           SQLITE_OK);
  for(int i = 0; i < n; i++){
    fill_random(buf, (size_t)sizes[i], (uint64_t)i + 1);
    sqlite3_bind_int(st, 1, i);
    sqlite3_bind_blob(st, 2, buf, sizes[i], SQLITE_TRANSIENT);
    CHECK_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);

  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  st = NULL;
  CHECK_EQ(sqlite3_prepare_v2(db, "SELECT v FROM b WHERE id = ?", -1, &st,
                              NULL), SQLITE_OK);
  for(int i = 0; i < n && st; i++){
    sqlite3_bind_int(st, 1, i);
    CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
    const void *got = sqlite3_column_blob(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    CHECK_EQ(len, sizes[i]);
    fill_random(buf, (size_t)sizes[i], (uint64_t)i + 1);
    if(len == sizes[i] && len > 0) CHECK(got && memcmp(got, buf, (size_t)len) == 0);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
  free(buf);
  free(name);
}

/* many_tables: 200 tables with an index each, in one transaction. */
static void many_tables(void){
  char *name = tdb_name("tables");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "BEGIN"), SQLITE_OK);
  for(int i = 0; i < 200; i++){
    CHECK_EQ(tdb_execf(db, "CREATE TABLE t%d(a, b); CREATE INDEX t%d_b ON "
                           "t%d(b); INSERT INTO t%d VALUES(%d, 'v%d')",
                       i, i, i, i, i, i), SQLITE_OK);
  }
  CHECK_EQ(tdb_exec(db, "COMMIT"), SQLITE_OK);
  sqlite3_close(db);
  reopen_check(name, "SELECT count(*) FROM sqlite_schema WHERE type='table'",
               "200");
  reopen_check(name, "SELECT a || b FROM t137 WHERE b = 'v137'", "137v137");
  db = tdb_open(name, NULL);
  long long sum = 0;
  for(int i = 0; i < 200; i += 7){
    char q[64];
    snprintf(q, sizeof q, "SELECT a FROM t%d", i);
    sum += tdb_int(db, q);
  }
  CHECK_EQ(sum, 2842);  /* 0 + 7 + ... + 196 */
  sqlite3_close(db);
  free(name);
}

/* page_sizes: 512, 4096 and 65536-byte pages set before the first table. */
static void page_sizes(void){
  static const int sizes[] = { 512, 4096, 65536 };
  for(int i = 0; i < 3; i++){
    char *name = tdb_name("pgsz");
    sqlite3 *db = tdb_open(name, NULL);
    CHECK_EQ(tdb_execf(db, "PRAGMA page_size=%d", sizes[i]), SQLITE_OK);
    CHECK_EQ(tdb_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, b);"
                          "CREATE INDEX t_b ON t(b);"
                          "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                          "i+1 FROM c WHERE i < 2000) INSERT INTO t SELECT i, "
                          "hex(randomblob(100)) FROM c;"
                          "DELETE FROM t WHERE k % 2 = 0;"), SQLITE_OK);
    sqlite3_close(db);
    char want[16];
    snprintf(want, sizeof want, "%d", sizes[i]);
    reopen_check(name, "PRAGMA page_size", want);
    reopen_check(name, "SELECT count(*) || ',' || sum(length(b)) FROM t",
                 "1000,200000");
    free(name);
  }
}

/* auto_vacuum_full: deletes truncate the database; the smaller size is
** what a new connection sees. */
static void auto_vacuum_full(void){
  char *name = tdb_name("autovac");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "PRAGMA auto_vacuum=FULL;"
                        "CREATE TABLE t(k INTEGER PRIMARY KEY, b);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                        "i+1 FROM c WHERE i < 3000) INSERT INTO t SELECT i, "
                        "randomblob(600) FROM c;"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "PRAGMA auto_vacuum"), 1);
  int64_t big = tdb_int(db, "PRAGMA page_count");
  CHECK_EQ(tdb_exec(db, "DELETE FROM t WHERE k > 30"), SQLITE_OK);
  int64_t small = tdb_int(db, "PRAGMA page_count");
  CHECK(small > 0 && small * 10 < big);
  CHECK_EQ(tdb_int(db, "PRAGMA freelist_count"), 0);
  sqlite3_close(db);
  char want[32];
  snprintf(want, sizeof want, "%lld", (long long)small);
  reopen_check(name, "PRAGMA page_count", want);
  reopen_check(name, "SELECT count(*) || ',' || sum(length(b)) FROM t",
               "30,18000");
  /* Growing again after the truncation works too. */
  db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t SELECT k + 100, b FROM t"), SQLITE_OK);
  sqlite3_close(db);
  reopen_check(name, "SELECT count(*) FROM t", "60");
  free(name);
}

/* reopen: data written by one connection is seen by a connection opened
** later, and by one opened earlier once it starts a new read. */
static void reopen(void){
  char *name = tdb_name("reopen");
  sqlite3 *w = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(w, "CREATE TABLE t(a)"), SQLITE_OK);
  sqlite3 *r = tdb_open(name, NULL);
  CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t"), 0);
  CHECK_EQ(tdb_exec(w, "INSERT INTO t VALUES('hello')"), SQLITE_OK);
  CHECK(tdb_text_is(r, "SELECT group_concat(a) FROM t", "hello"));
  CHECK_EQ(tdb_version(r), tdb_version(w));
  sqlite3_close(w);
  sqlite3_close(r);
  reopen_check(name, "SELECT a FROM t", "hello");
  free(name);
}

/* finish_busy ends a transaction that failed with BUSY: rolls back if
** SQLite kept it open. */
static void finish_busy(sqlite3 *db){
  if(!sqlite3_get_autocommit(db)) tdb_exec(db, "ROLLBACK");
}

/* two_connections: two writers on different machines (the second has
** its own lock directory, so local locks do not keep them apart) both read
** version N and write; the second to commit gets SQLITE_BUSY_SNAPSHOT, and
** its retry on the new version succeeds without losing the first update. */
static void two_connections(void){
  char *name = tdb_name("conflict");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(a, "CREATE TABLE c(n); INSERT INTO c VALUES(0)"), SQLITE_OK);
  char *elsewhere = tdb_elsewhere();
  sqlite3 *b = tdb_open(name, elsewhere);
  free(elsewhere);
  if(!a || !b){ CHECK(0); sqlite3_close(a); sqlite3_close(b); free(name); return; }

  /* Explicit transactions: both read, A commits, B's COMMIT fails. */
  CHECK_EQ(tdb_exec(a, "BEGIN; UPDATE c SET n = n + 1"), SQLITE_OK);
  CHECK_EQ(tdb_exec(b, "BEGIN; UPDATE c SET n = n + 10"), SQLITE_OK);
  CHECK_EQ(tdb_exec(a, "COMMIT"), SQLITE_OK);
  int rc = tdb_exec_quiet(b, "COMMIT");
  CHECK_EQ(rc & 0xff, SQLITE_BUSY);
  CHECK_EQ(rc, SQLITE_BUSY_SNAPSHOT);
  finish_busy(b);
  CHECK_EQ(tdb_int(b, "SELECT n FROM c"), 1);
  CHECK_EQ(tdb_exec(b, "BEGIN; UPDATE c SET n = n + 10; COMMIT"), SQLITE_OK);
  CHECK_EQ(tdb_int(a, "SELECT n FROM c"), 11);

  /* B reads in a transaction, A commits, then B writes on the version it
  ** read: B's commit loses; an autocommit retry succeeds. */
  CHECK_EQ(tdb_exec(b, "BEGIN; SELECT n FROM c"), SQLITE_OK);
  CHECK_EQ(tdb_exec(a, "UPDATE c SET n = n + 100"), SQLITE_OK);
  rc = tdb_exec_quiet(b, "UPDATE c SET n = n + 1000; COMMIT");
  CHECK_EQ(rc & 0xff, SQLITE_BUSY);
  finish_busy(b);
  CHECK_EQ(tdb_exec(b, "UPDATE c SET n = n + 1000"), SQLITE_OK);
  CHECK_EQ(tdb_int(a, "SELECT n FROM c"), 1111);
  s3page_stats s;
  CHECK_EQ(tdb_stats(b, &s), 0);
  CHECK(s.n_conflict >= 2);
  sqlite3_close(a);
  sqlite3_close(b);
  reopen_check(name, "SELECT n FROM c", "1111");
  free(name);
}

/* wal_refused: journal_mode=WAL keeps the rollback-journal mode in force
** and returns it, as SQLite does for a VFS without shared memory (more in
** test_pragmas), and the database keeps working. */
static void wal_refused(void){
  char *name = tdb_name("wal");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a)"), SQLITE_OK);
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=WAL", "delete"));
  char *mode = tdb_text(db, "PRAGMA journal_mode");
  CHECK(mode && strcmp(mode, "wal") != 0);
  free(mode);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(1)"), SQLITE_OK);
  sqlite3_close(db);
  reopen_check(name, "SELECT count(*) FROM t", "1");
  free(name);
}

/* version_counting: PRAGMA s3page_version grows by one per committed
** transaction and not for reads, rollbacks or writes that change nothing;
** another connection agrees. */
static void version_counting(void){
  char *name = tdb_name("version");
  sqlite3 *db = tdb_open(name, NULL);
  int64_t v0 = tdb_version(db);
  CHECK(v0 >= 0);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a)"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 1);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(1)"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 2);
  CHECK_EQ(tdb_exec(db, "BEGIN; INSERT INTO t VALUES(2); INSERT INTO t "
                        "VALUES(3); UPDATE t SET a = a * 10; COMMIT"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 3);
  CHECK_EQ(tdb_int(db, "SELECT sum(a) FROM t"), 60);
  CHECK_EQ(tdb_version(db), v0 + 3);
  CHECK_EQ(tdb_exec(db, "BEGIN; SELECT * FROM t; COMMIT"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 3);
  CHECK_EQ(tdb_exec(db, "BEGIN; INSERT INTO t VALUES(4); ROLLBACK"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 3);
  CHECK_EQ(tdb_exec(db, "UPDATE t SET a = 5 WHERE a < 0"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 3);
  CHECK_EQ(tdb_exec(db, "BEGIN IMMEDIATE; COMMIT"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 3);
  sqlite3 *o = tdb_open(name, NULL);
  CHECK_EQ(tdb_version(o), v0 + 3);
  CHECK_EQ(tdb_exec(o, "DELETE FROM t WHERE a = 10"), SQLITE_OK);
  CHECK_EQ(tdb_version(o), v0 + 4);
  CHECK_EQ(tdb_version(db), v0 + 4);
  sqlite3_close(o);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(schema_changes);
  RUN(dml);
  RUN(large_spill);
  RUN(rollback);
  RUN(savepoints);
  RUN(vacuum);
  RUN(blobs);
  RUN(many_tables);
  RUN(page_sizes);
  RUN(auto_vacuum_full);
  RUN(reopen);
  RUN(two_connections);
  RUN(wal_refused);
  RUN(version_counting);
  return CHECK_DONE();
}
