/*
** test_shrink.c: a transaction that shrinks the database (VACUUM,
** auto_vacuum=FULL deletes, incremental_vacuum) stores the smaller size in
** the version it commits. SQLite truncates the file only after the commit,
** past the sync point where s3page commits; the same statements are run on
** a plain file of the unix VFS and on an s3page database, whose export
** must then be byte-identical to the plain file, hold no trace of the
** deleted rows, and open with the smaller page count.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* Pages the cases grow the database to before shrinking it. */
#define SHRINK_PAGES (tdb_quick() ? 150 : 300)
/* A marker no page of the database holds unless a row still does. */
#define SHRINK_SECRET "shrink-secret-d3f1a9"

/* shrink_path returns a malloc'd local file path for tag (in TMPDIR). */
static char *shrink_path(const char *tag){
  const char *d = getenv("TMPDIR");
  char *p = malloc(512);
  snprintf(p, 512, "%s/s3page-shrink-%d-%s.db", d && *d ? d : "/tmp",
           (int)getpid(), tag);
  return p;
}

/* shrink_read reads the whole file at path into *out (malloc'd) and *n.
** Returns 0 or -1. */
static int shrink_read(const char *path, unsigned char **out, size_t *n){
  FILE *f = fopen(path, "rb");
  *out = NULL;
  *n = 0;
  if(!f) return -1;
  size_t cap = 1 << 16, len = 0;
  unsigned char *b = malloc(cap);
  while(b){
    if(len == cap){
      unsigned char *g = realloc(b, cap * 2);
      if(!g){ free(b); b = NULL; break; }
      b = g;
      cap *= 2;
    }
    size_t r = fread(b + len, 1, cap - len, f);
    if(r == 0) break;
    len += r;
  }
  fclose(f);
  if(!b) return -1;
  *out = b;
  *n = len;
  return 0;
}

/* shrink_has returns 1 if the file at path contains the bytes of s. */
static int shrink_has(const char *path, const char *s){
  unsigned char *b;
  size_t n, m = strlen(s);
  if(shrink_read(path, &b, &n)) return 0;
  int found = 0;
  for(size_t i = 0; !found && i + m <= n; i++) found = !memcmp(b + i, s, m);
  free(b);
  return found;
}

/* shrink_same returns 1 if the file at b holds the bytes of the file at a
** followed by nothing, or by zeros up to the next multiple of unit (s3page
** keeps whole pages of its own size, which a VACUUM to a smaller SQLite
** page size does not fill), printing sizes and the first difference
** otherwise. */
static int shrink_same(const char *a, const char *b, size_t unit){
  unsigned char *x, *y;
  size_t nx, ny;
  if(shrink_read(a, &x, &nx)) return 0;
  if(shrink_read(b, &y, &ny)){ free(x); return 0; }
  size_t want = (nx + unit - 1) / unit * unit;
  int same = (ny == nx || ny == want) && !memcmp(x, y, nx);
  for(size_t i = nx; same && i < ny; i++) same = y[i] == 0;
  if(!same){
    size_t i = 0;
    while(i < nx && i < ny && x[i] == y[i]) i++;
    printf("# plain file %zu bytes, export %zu bytes, first difference at "
           "byte %zu\n", nx, ny, i);
  }
  free(x);
  free(y);
  return same;
}

/* shrink_both runs sql on the plain database and on the s3page database.
** Returns 0 if both succeeded. */
static int shrink_both(sqlite3 *plain, sqlite3 *s3, const char *sql){
  int a = tdb_exec(plain, sql), b = tdb_exec(s3, sql);
  return a == SQLITE_OK && b == SQLITE_OK ? 0 : -1;
}

/* shrink_compare exports the newest version of name and checks it against
** the plain file: identical bytes, page_count as the plain connection
** says, and a new s3page connection sees that size; with secret_gone, no
** page holds the deleted rows' marker. */
static void shrink_compare(const char *name, const char *plain_path,
                           sqlite3 *plain, const char *tag, int secret_gone){
  char *etag = sqlite3_mprintf("%s-export", tag);
  char *out = shrink_path(etag);
  sqlite3_free(etag);
  char *err = NULL;
  s3page_export_result er;
  CHECK_EQ(s3page_export(name, NULL, out, NULL, NULL, &er, &err), SQLITE_OK);
  if(err) printf("# export: %s\n", err);
  sqlite3_free(err);
  int64_t want = tdb_int(plain, "PRAGMA page_count");
  int64_t bytes = want * tdb_int(plain, "PRAGMA page_size");
  int64_t unit = er.page_size ? er.page_size : 1;
  printf("# %s: plain file %lld bytes, stored version %u pages of %u\n",
         tag, (long long)bytes, (unsigned)er.page_count,
         (unsigned)er.page_size);
  CHECK_EQ((int64_t)er.page_count * unit, (bytes + unit - 1) / unit * unit);
  CHECK(shrink_same(plain_path, out, (size_t)unit));
  if(secret_gone) CHECK(!shrink_has(out, SHRINK_SECRET));
  /* Read the stored version as another machine would: the connection that
  ** shrank it may still hold its lock (locking_mode=EXCLUSIVE). */
  char *elsewhere = tdb_elsewhere();
  sqlite3 *db = tdb_open(name, elsewhere);
  free(elsewhere);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "PRAGMA page_count"), want);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  unlink(out);
  free(out);
}

/* shrink_setup returns (sqlite3_malloc'd) pre followed by the statements
** that make the rows every case starts from: one row a page of 4 KiB, the
** secret in each, plus a table that stays. */
static char *shrink_setup(const char *pre){
  return sqlite3_mprintf("%s CREATE TABLE t(n INTEGER PRIMARY KEY, v BLOB);"
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
    "WHERE i < %d) INSERT INTO t(v) SELECT '%s' || printf('%%03900d', i) "
    "FROM c; CREATE TABLE keep(a); INSERT INTO keep VALUES('kept');", pre,
    SHRINK_PAGES, SHRINK_SECRET);
}

/* shrink_case runs setup (making SHRINK_PAGES pages, with secret rows),
** then shrink (deleting them and shrinking the file) on both databases
** (setup: pre, then the rows of shrink_setup),
** compares, then grows both again and compares once more. secret_gone:
** the shrink leaves no trace of the deleted rows (VACUUM rewrites every
** page; a plain DELETE leaves bytes in freed cells, as in any file). */
static void shrink_case(const char *tag, const char *pre,
                        const char *shrink, int secret_gone){
  char *plain_path = shrink_path(tag), *name = tdb_name(tag);
  char *setup = shrink_setup(pre);
  unlink(plain_path);
  sqlite3 *plain = NULL;
  CHECK_EQ(sqlite3_open_v2(plain_path, &plain, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, "unix"), SQLITE_OK);
  sqlite3 *s3 = tdb_open(name, NULL);
  CHECK(s3 != NULL);
  if(plain && s3){
    CHECK_EQ(shrink_both(plain, s3, setup), 0);
    CHECK(tdb_int(s3, "PRAGMA page_count") >= SHRINK_PAGES);
    CHECK_EQ(shrink_both(plain, s3, shrink), 0);
    CHECK(tdb_int(plain, "PRAGMA page_count") < 10);
    CHECK_EQ(tdb_int(s3, "PRAGMA page_count"),
             tdb_int(plain, "PRAGMA page_count"));
    shrink_compare(name, plain_path, plain, tag, secret_gone);
    /* The smaller version is a sound base: grow it, shrink it again. */
    CHECK_EQ(shrink_both(plain, s3, "WITH RECURSIVE c(i) AS (SELECT 1 "
                         "UNION ALL SELECT i+1 FROM c WHERE i < 100) "
                         "INSERT INTO t(v) SELECT printf('%03000d', i) "
                         "FROM c"), 0);
    shrink_compare(name, plain_path, plain, tag, 0);
    CHECK_EQ(shrink_both(plain, s3, shrink), 0);
    shrink_compare(name, plain_path, plain, tag, secret_gone);
  }
  sqlite3_close(plain);
  sqlite3_close(s3);
  unlink(plain_path);
  free(plain_path);
  free(name);
  sqlite3_free(setup);
}

/* vacuum_shrinks: DELETE then VACUUM (auto_vacuum off, secure_delete
** off: without the fix the deleted rows survived in the stored pages). */
static void vacuum_shrinks(void){
  shrink_case("vacuum", "PRAGMA page_size=4096; PRAGMA secure_delete=OFF;",
              "DELETE FROM t; VACUUM", 1);
}

/* auto_vacuum_shrinks: with auto_vacuum=FULL a DELETE shrinks the file in
** the same transaction. */
static void auto_vacuum_shrinks(void){
  shrink_case("autovac", "PRAGMA page_size=4096; PRAGMA auto_vacuum=FULL;"
              "PRAGMA secure_delete=OFF;", "DELETE FROM t", 0);
}

/* incremental_vacuum_shrinks: auto_vacuum=INCREMENTAL, DELETE, then
** PRAGMA incremental_vacuum hands the free pages back. */
static void incremental_vacuum_shrinks(void){
  shrink_case("incvac", "PRAGMA page_size=4096; "
              "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA secure_delete=OFF;",
              "DELETE FROM t; PRAGMA incremental_vacuum", 0);
}

/* vacuum_journal_modes: the same with the journal in memory, with no
** journal (TRUNCATE and PERSIST treat the database file as DELETE does),
** and in locking_mode=EXCLUSIVE, where the lock is never lowered between
** transactions (so nothing but the commit may drop a buffer). */
static void vacuum_journal_modes(void){
  static const char *const tags[] = { "vac-memory", "vac-off", "vac-excl" };
  static const char *const pres[] = {
    "PRAGMA journal_mode=memory;", "PRAGMA journal_mode=off;",
    "PRAGMA locking_mode=exclusive;",
  };
  for(size_t i = 0; i < sizeof tags / sizeof *tags; i++){
    char setup[256];
    snprintf(setup, sizeof setup, "%s PRAGMA page_size=4096; "
             "PRAGMA secure_delete=OFF;", pres[i]);
    shrink_case(tags[i], setup, "DELETE FROM t; VACUUM", 1);
  }
}

/* vacuum_page_size_shrinks: a VACUUM that shrinks the file and changes
** SQLite's page size (s3page keeps storing its own page size): the size
** in the new header is converted, and the export is still the plain
** file's bytes (rounded up to whole s3page pages with zeros when SQLite's
** pages are smaller). Both ways: larger and smaller pages. */
static void vacuum_page_size_shrinks(void){
  shrink_case("vac-16k", "PRAGMA page_size=4096; PRAGMA secure_delete=OFF;",
              "DELETE FROM t; PRAGMA page_size=16384; VACUUM",
              1);
  shrink_case("vac-1k", "PRAGMA page_size=4096; PRAGMA secure_delete=OFF;",
              "DELETE FROM t; PRAGMA page_size=1024; VACUUM",
              1);
}

/* shrink_then_write: after a shrinking commit the same connection goes
** on committing (no transaction buffer left open by the truncation that
** follows), and a second connection sees every commit. */
static void shrink_then_write(void){
  char *name = tdb_name("shrinkw");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  char *setup = shrink_setup("PRAGMA page_size=4096; "
                             "PRAGMA auto_vacuum=FULL;");
  CHECK_EQ(tdb_exec(db, setup), SQLITE_OK);
  sqlite3_free(setup);
  int64_t v0 = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "DELETE FROM t"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 1);     /* one version, not two */
  CHECK_EQ(tdb_exec(db, "INSERT INTO keep VALUES('after')"), SQLITE_OK);
  CHECK_EQ(tdb_version(db), v0 + 2);
  sqlite3 *other = tdb_open(name, NULL);
  CHECK(other != NULL);
  if(other){
    CHECK(tdb_text_is(other, "SELECT group_concat(a) FROM keep",
                      "kept,after"));
    CHECK_EQ(tdb_int(other, "PRAGMA page_count"),
             tdb_int(db, "PRAGMA page_count"));
    CHECK(tdb_integrity_ok(other));
    sqlite3_close(other);
  }
  sqlite3_close(db);
  free(name);
}

/* int s3p_test_fail_syncs(int n): the library's test hook (vfs/db.h). */
int s3p_test_fail_syncs(int n);

/* rollback_after_shrink: the sync after a shrinking commit fails, so
** SQLite rolls the committed transaction back from its journal, which
** holds only the pages the transaction changed. The pages beyond the new
** end that it never touched must still be there: the database must be
** intact and as before the statement, in this connection and the next. */
static void rollback_after_shrink(void){
  char *name = tdb_name("shrinkrb");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "PRAGMA page_size=4096; PRAGMA auto_vacuum="
                        "INCREMENTAL; PRAGMA journal_mode=DELETE;"
                        "CREATE TABLE t(a PRIMARY KEY, b);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                        "i+1 FROM c WHERE i < 40) INSERT INTO t SELECT "
                        "randomblob(1000), randomblob(1000) FROM c;"
                        "DELETE FROM t WHERE rowid % 2"), SQLITE_OK);
  int64_t pages = tdb_int(db, "PRAGMA page_count");
  int64_t rows = tdb_int(db, "SELECT count(*) FROM t");
  CHECK(tdb_int(db, "PRAGMA freelist_count") > 10);
  s3p_test_fail_syncs(1);
  int rc = tdb_exec_quiet(db, "PRAGMA incremental_vacuum(10)");
  s3p_test_fail_syncs(0);
  CHECK_EQ(rc & 0xff, SQLITE_IOERR);
  CHECK(tdb_integrity_ok(db));
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), rows);
  CHECK_EQ(tdb_int(db, "PRAGMA page_count"), pages);
  sqlite3_close(db);
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK(tdb_integrity_ok(db));
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), rows);
    /* And the shrink, tried again, is stored. */
    CHECK_EQ(tdb_exec(db, "PRAGMA incremental_vacuum(10)"), SQLITE_OK);
    CHECK_EQ(tdb_int(db, "PRAGMA page_count"), pages - 10);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  free(name);
}

/* rollback_after_partial_shrink: as rollback_after_shrink, with SQLite's
** pages (1024 bytes, after a VACUUM) smaller than the store's (4096), so
** that the new end falls inside a store page whose zeroed tail holds
** SQLite pages the transaction never touched. */
static void rollback_after_partial_shrink(void){
  for(int k = 1; k <= 6; k++){
    char tag[32];
    snprintf(tag, sizeof tag, "shrinkpart%d", k);
    char *name = tdb_name(tag);
    sqlite3 *db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(!db){ free(name); return; }
    CHECK_EQ(tdb_exec(db, "PRAGMA page_size=4096; CREATE TABLE x(y);"
                          "PRAGMA page_size=1024; PRAGMA auto_vacuum="
                          "INCREMENTAL; VACUUM; PRAGMA journal_mode=DELETE;"
                          "CREATE TABLE t(a PRIMARY KEY, b);"
                          "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                          "i+1 FROM c WHERE i < 60) INSERT INTO t SELECT "
                          "randomblob(300), randomblob(700) FROM c;"
                          "DELETE FROM t WHERE rowid % 2"), SQLITE_OK);
    CHECK_EQ(tdb_int(db, "PRAGMA page_size"), 1024);
    int64_t pages = tdb_int(db, "PRAGMA page_count");
    int64_t rows = tdb_int(db, "SELECT count(*) FROM t");
    s3p_test_fail_syncs(1);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", k);
    int rc = tdb_exec_quiet(db, sql);
    s3p_test_fail_syncs(0);
    CHECK_EQ(rc & 0xff, SQLITE_IOERR);
    CHECK(tdb_integrity_ok(db));
    CHECK_EQ(tdb_int(db, "PRAGMA page_count"), pages);
    sqlite3_close(db);
    db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(db){
      CHECK(tdb_integrity_ok(db));
      CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), rows);
      sqlite3_close(db);
    }
    free(name);
  }
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(vacuum_shrinks);
  RUN(auto_vacuum_shrinks);
  RUN(incremental_vacuum_shrinks);
  RUN(vacuum_journal_modes);
  RUN(vacuum_page_size_shrinks);
  RUN(shrink_then_write);
  RUN(rollback_after_shrink);
  RUN(rollback_after_partial_shrink);
  return CHECK_DONE();
}
