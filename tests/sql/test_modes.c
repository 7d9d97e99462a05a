/*
** test_modes.c: every rollback-journal mode and synchronous setting
** commits durably, a commit that fails makes SQLite roll back (also with
** synchronous=OFF, where SQLite never calls xSync), and VACUUM may change
** the page size.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../lib/testdb.h"

/* journal_modes: DELETE, TRUNCATE, PERSIST, MEMORY and OFF, each with
** synchronous OFF and FULL, commit data that a new connection reads. */
static void journal_modes(void){
  const char *modes[] = { "delete", "truncate", "persist", "memory", "off" };
  const char *syncs[] = { "off", "full" };
  for(size_t m = 0; m < sizeof modes / sizeof *modes; m++){
    for(size_t y = 0; y < 2; y++){
      char *name = tdb_name("mode");
      sqlite3 *db = tdb_open(name, NULL);
      CHECK(db != NULL);
      if(!db){ free(name); continue; }
      char *sql = sqlite3_mprintf("PRAGMA journal_mode=%s", modes[m]);
      CHECK(tdb_text_is(db, sql, modes[m]));
      sqlite3_free(sql);
      CHECK_EQ(tdb_execf(db, "PRAGMA synchronous=%s", syncs[y]), SQLITE_OK);
      CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a, b);"
                            "BEGIN; INSERT INTO t VALUES(1, randomblob(3000));"
                            "INSERT INTO t VALUES(2, 'two'); COMMIT;"
                            "BEGIN; INSERT INTO t VALUES(3, 'three'); ROLLBACK;"
                            "UPDATE t SET b = 'uno' WHERE a = 1"), SQLITE_OK);
      sqlite3_close(db);
      db = tdb_open(name, NULL);
      CHECK(db != NULL);
      if(db){
        CHECK(tdb_text_is(db, "SELECT group_concat(a || '=' || b) FROM t",
                          "1=uno,2=two"));
        CHECK(tdb_integrity_ok(db));
        sqlite3_close(db);
      }
      free(name);
    }
  }
}

/* failed_commit: with every create-if-absent failing (fault injection),
** COMMIT fails with an I/O error, SQLite rolls the transaction back, the
** connection goes on working, and nothing of it ever becomes visible;
** synchronous=OFF changes none of that. */
static void failed_commit(void){
  const char *syncs[] = { "full", "off" };
  for(size_t y = 0; y < 2; y++){
    char *name = tdb_name("failcommit");
    sqlite3 *db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(!db){ free(name); continue; }
    CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1)"),
             SQLITE_OK);
    int64_t v = tdb_version(db);
    sqlite3_close(db);

    db = tdb_open(name, "fault=kinds=n,rate=1");
    CHECK(db != NULL);
    if(!db){ free(name); continue; }
    CHECK_EQ(tdb_execf(db, "PRAGMA synchronous=%s", syncs[y]), SQLITE_OK);
    CHECK_EQ(tdb_exec(db, "BEGIN; INSERT INTO t VALUES(2);"
                          "INSERT INTO t SELECT a + 10 FROM t"), SQLITE_OK);
    int rc = tdb_exec_quiet(db, "COMMIT");
    CHECK_EQ(rc & 0xff, SQLITE_IOERR);
    CHECK(sqlite3_get_autocommit(db));          /* rolled back */
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_version(db), v);
    CHECK(tdb_integrity_ok(db));
    /* Autocommit statements fail the same way and leave nothing. */
    CHECK_EQ(tdb_exec_quiet(db, "INSERT INTO t VALUES(3)") & 0xff, SQLITE_IOERR);
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 1);
    sqlite3_close(db);

    db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(db){
      CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 1);
      CHECK_EQ(tdb_version(db), v);
      CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(4)"), SQLITE_OK);
      CHECK_EQ(tdb_version(db), v + 1);
      CHECK(tdb_text_is(db, "SELECT group_concat(a) FROM t", "1,4"));
      sqlite3_close(db);
    }
    free(name);
  }
}

/* vacuum_page_size: VACUUM to a larger and then a smaller page size keeps
** the data, and the new page size sticks across connections, also as the
** first answer of a connection opened after it (whose HEAD names the
** version before the VACUUM, with the old size), and after another
** pragma loaded the version without SQLite reading its header. */
static void vacuum_page_size(void){
  char *name = tdb_name("vacpsz");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "PRAGMA page_size=4096; CREATE TABLE t(a, b);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
                        "FROM c WHERE i < 3000) INSERT INTO t SELECT i, "
                        "printf('%0200d', i) FROM c"), SQLITE_OK);
  const int sizes[] = { 16384, 1024 };
  for(size_t i = 0; i < 2; i++){
    CHECK_EQ(tdb_execf(db, "PRAGMA page_size=%d; VACUUM", sizes[i]), SQLITE_OK);
    CHECK_EQ(tdb_int(db, "PRAGMA page_size"), sizes[i]);
    sqlite3_close(db);
    db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(!db) break;
    if(i == 1) CHECK(tdb_int(db, "PRAGMA s3page_version") > 0);
    CHECK_EQ(tdb_int(db, "PRAGMA page_size"), sizes[i]);
    CHECK_EQ(tdb_int(db, "SELECT sum(a) FROM t"), 3000 * 3001 / 2);
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t WHERE b = printf('%0200d', a)"),
             3000);
    CHECK(tdb_integrity_ok(db));
  }
  if(db){
    CHECK_EQ(tdb_exec(db, "UPDATE t SET b = 'x' WHERE a % 2 = 0"), SQLITE_OK);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  free(name);
}

/* attached: a transaction over two attached s3page databases (SQLite
** then writes a super-journal) commits both, and leaves no file behind in
** the working directory. */
static void attached(void){
  char *a = tdb_name("atta"), *b = tdb_name("attb");
  sqlite3 *db = tdb_open(a, NULL);
  CHECK(db != NULL);
  if(!db){ free(a); free(b); return; }
  char *uri = tdb_uri(b, NULL);
  char *sql = sqlite3_mprintf("ATTACH %Q AS o", uri);
  CHECK_EQ(tdb_exec(db, sql), SQLITE_OK);
  sqlite3_free(sql);
  free(uri);
  int64_t va = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x); CREATE TABLE o.u(y);"
                        "BEGIN; INSERT INTO t VALUES(1); INSERT INTO o.u VALUES(2);"
                        "COMMIT"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "SELECT x + y FROM t, o.u"), 3);
  CHECK_EQ(tdb_version(db), va + 2);
  sqlite3_close(db);
  db = tdb_open(b, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT y FROM u"), 2);
    sqlite3_close(db);
  }
  /* No super-journal or journal was left in the working directory. */
  int stray = 0;
  DIR *d = opendir(".");
  struct dirent *de;
  while(d && (de = readdir(d)) != NULL){
    if(strstr(de->d_name, "-mj") || strstr(de->d_name, "-journal")) stray++;
  }
  if(d) closedir(d);
  CHECK_EQ(stray, 0);
  free(a);
  free(b);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(journal_modes);
  RUN(failed_commit);
  RUN(vacuum_page_size);
  RUN(attached);
  return CHECK_DONE();
}
