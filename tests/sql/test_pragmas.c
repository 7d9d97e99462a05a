/*
** test_pragmas.c: the pragmas and file controls asking for something
** s3page cannot do get SQLite's own answer for a VFS without the feature
** (docs/protocol.md, "Pragmas and file controls"): journal_mode=WAL keeps
** the mode in force and says why in the log and PRAGMA s3page_error, also
** in locking_mode=EXCLUSIVE (where SQLite would otherwise run WAL with a
** heap-memory index and a local -wal file); no database in the store ever
** gets a WAL-mode header (a backup from a WAL-mode file, as the shell's
** .restore does); mmap_size is 0; the hint file controls are accepted and
** change nothing; the rest of the common connect-time pragmas work.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* open_table opens a fresh database with table t(a) holding 1. Returns the
** handle (NULL on failure) and sets *name (malloc'd). */
static sqlite3 *open_table(const char *tag, char **name){
  *name = tdb_name(tag);
  sqlite3 *db = tdb_open(*name, NULL);
  if(db && tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1)")){
    sqlite3_close(db);
    db = NULL;
  }
  return db;
}

/* reopen_with: a new connection to name with URI params opens it in
** rollback-journal mode and reads sum(a) of t. Returns 1 if that sum is
** want. */
static int reopen_with(const char *name, const char *params, int64_t want){
  sqlite3 *db = tdb_open(name, params);
  if(!db) return 0;
  int ok = tdb_text_is(db, "PRAGMA journal_mode", "delete") &&
           tdb_int(db, "SELECT sum(a) FROM t") == want &&
           tdb_integrity_ok(db);
  sqlite3_close(db);
  return ok;
}

/* reopen_reads is reopen_with on this machine, no parameters. */
static int reopen_reads(const char *name, int64_t want){
  return reopen_with(name, NULL, want);
}

/* wal_keeps_mode: PRAGMA journal_mode=WAL returns the mode in force with
** no error, logs why once, and PRAGMA s3page_error shows it; commits go on
** and a new connection finds a rollback-journal database. */
static void wal_keeps_mode(void){
  char *name;
  sqlite3 *db = open_table("walmode", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  tdb_log_clear();
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=WAL", "delete"));
  CHECK(tdb_log_has("journal_mode=WAL"));
  char *log = tdb_log_text();
  const char *first = strstr(log, "journal_mode=WAL");
  CHECK(first && !strstr(first + 1, "journal_mode=WAL"));   /* one line */
  free(log);
  char *err = tdb_text(db, "PRAGMA s3page_error");
  CHECK(err && strstr(err, "journal_mode=WAL") && strstr(err, "shared memory"));
  free(err);
  CHECK(tdb_text_is(db, "PRAGMA main.journal_mode = wal", "delete"));
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=truncate", "truncate"));
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=WAL", "truncate"));
  CHECK(tdb_text_is(db, "PRAGMA journal_mode", "truncate"));
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(2)"), SQLITE_OK);
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=delete", "delete"));
  sqlite3_close(db);
  CHECK(reopen_reads(name, 3));
  /* A read-only connection to a pinned version answers the same way. */
  sqlite3 *old = tdb_open_ex(name, "version=2", SQLITE_OPEN_READONLY, 0, NULL);
  CHECK(old != NULL);
  if(old){
    CHECK(tdb_text_is(old, "PRAGMA journal_mode=WAL", "delete"));
    CHECK_EQ(tdb_int(old, "SELECT count(*) FROM t"), 1);
    sqlite3_close(old);
  }
  free(name);
}

/* wal_exclusive: in locking_mode=EXCLUSIVE, where SQLite would run WAL
** with its index in heap memory, journal_mode=WAL still keeps the mode in
** force (also one set earlier), and the data stays readable by others. */
static void wal_exclusive(void){
  char *name;
  sqlite3 *db = open_table("walexcl", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK(tdb_text_is(db, "PRAGMA locking_mode=EXCLUSIVE", "exclusive"));
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=WAL", "delete"));
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(2)"), SQLITE_OK);
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=persist", "persist"));
  CHECK(tdb_text_is(db, "PRAGMA journal_mode=WAL", "persist"));
  CHECK(tdb_text_is(db, "PRAGMA journal_mode", "persist"));
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(3)"), SQLITE_OK);
  CHECK(tdb_text_is(db, "PRAGMA locking_mode=NORMAL", "normal"));
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 3);   /* lets go */
  sqlite3_close(db);
  CHECK(reopen_reads(name, 6));
  free(name);
}

/* wal_attached: journal_mode=WAL with no schema name goes to the main
** database's file only but applies to every attached database, so an
** s3page database attached in locking_mode=EXCLUSIVE cannot answer it:
** SQLite switches it to WAL. Its WAL-mode header never reaches the store
** (new connections read it in rollback mode), no local WAL file is made
** (the connection gets SQLITE_CANTOPEN, saying why in the log), and
** PRAGMA s.journal_mode=DELETE puts the connection right. */
static void wal_attached(void){
  char *name;
  sqlite3 *db = open_table("walatt", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  sqlite3_close(db);
  CHECK_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  char *uri = tdb_uri(name, NULL);
  CHECK_EQ(tdb_execf(db, "ATTACH %Q AS s", uri), SQLITE_OK);
  free(uri);
  CHECK_EQ(tdb_exec(db, "PRAGMA locking_mode=EXCLUSIVE"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "PRAGMA journal_mode=WAL"), SQLITE_OK);
  char *away = tdb_elsewhere();        /* the lock is held: elsewhere */
  CHECK(reopen_with(name, away, 1));
  free(away);
  tdb_log_clear();
  CHECK_EQ(tdb_exec_quiet(db, "INSERT INTO s.t VALUES(2)"), SQLITE_CANTOPEN);
  CHECK(tdb_log_has("refusing to open a WAL"));
  CHECK(tdb_text_is(db, "PRAGMA s.journal_mode=DELETE", "delete"));
  CHECK_EQ(tdb_exec(db, "INSERT INTO s.t VALUES(2)"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "SELECT sum(a) FROM s.t"), 3);
  sqlite3_close(db);
  CHECK(reopen_reads(name, 3));
  free(name);
}

/* restore_from_wal_file: the backup API copying a WAL-mode local file
** into an s3page database (what the shell's .restore does) leaves a
** rollback-journal database that this and every new connection opens. */
static void restore_from_wal_file(void){
  char *name;
  sqlite3 *db = open_table("walrestore", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  char plain[] = "/tmp/s3page-walsrc-XXXXXX";
  int fd = mkstemp(plain);
  CHECK(fd >= 0);
  if(fd >= 0) close(fd);
  sqlite3 *src = NULL;
  CHECK_EQ(sqlite3_open(plain, &src), SQLITE_OK);
  CHECK(tdb_text_is(src, "PRAGMA journal_mode=WAL", "wal"));
  CHECK_EQ(tdb_exec(src, "CREATE TABLE t(a); INSERT INTO t VALUES(40),(2)"),
           SQLITE_OK);
  sqlite3_backup *b = sqlite3_backup_init(db, "main", src, "main");
  CHECK(b != NULL);
  if(b){
    CHECK_EQ(sqlite3_backup_step(b, -1), SQLITE_DONE);
    CHECK_EQ(sqlite3_backup_finish(b), SQLITE_OK);
  }
  CHECK_EQ(tdb_int(db, "SELECT sum(a) FROM t"), 42);
  CHECK(tdb_text_is(db, "PRAGMA journal_mode", "delete"));
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(100)"), SQLITE_OK);
  sqlite3_close(db);
  sqlite3_close(src);
  CHECK(reopen_reads(name, 142));
  unlink(plain);
  char *side = sqlite3_mprintf("%s-wal", plain);
  unlink(side);
  sqlite3_free(side);
  side = sqlite3_mprintf("%s-shm", plain);
  unlink(side);
  sqlite3_free(side);
  free(name);
}

/* mmap_size: s3page never memory-maps the database, and PRAGMA mmap_size
** says so (0) whatever is asked. */
static void mmap_size(void){
  char *name;
  sqlite3 *db = open_table("mmap", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_int(db, "PRAGMA mmap_size=268435456"), 0);
  CHECK_EQ(tdb_int(db, "PRAGMA mmap_size"), 0);
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), 1);
  sqlite3_close(db);
  free(name);
}

/* file_size returns xFileSize of the main database of db, or -1. */
static sqlite3_int64 file_size(sqlite3 *db){
  sqlite3_file *f = NULL;
  sqlite3_int64 n = -1;
  if(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) ||
     !f || f->pMethods->xFileSize(f, &n)) return -1;
  return n;
}

/* file_controls: PERSIST_WAL reports 0 (there is never a WAL file to
** keep), POWERSAFE_OVERWRITE reports 1 (as xDeviceCharacteristics says),
** SIZE_HINT and CHUNK_SIZE are accepted and the file stays exactly its
** pages; unknown opcodes are SQLITE_NOTFOUND. */
static void file_controls(void){
  char *name;
  sqlite3 *db = open_table("fcntl", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  int x = -1;
  CHECK_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &x),
           SQLITE_OK);
  CHECK_EQ(x, 0);
  x = 1;
  CHECK_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &x),
           SQLITE_OK);
  CHECK_EQ(x, 0);
  x = -1;
  CHECK_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_POWERSAFE_OVERWRITE,
                                &x), SQLITE_OK);
  CHECK_EQ(x, 1);
  int64_t psz = tdb_int(db, "PRAGMA page_size");
  CHECK_EQ(file_size(db), tdb_int(db, "PRAGMA page_count") * psz);
  sqlite3_int64 hint = 64 << 20;
  CHECK_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_SIZE_HINT, &hint),
           SQLITE_OK);
  int chunk = 1 << 20;
  CHECK_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk),
           SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t SELECT randomblob(3000) FROM t"),
           SQLITE_OK);
  CHECK_EQ(file_size(db), tdb_int(db, "PRAGMA page_count") * psz);
  CHECK(tdb_int(db, "PRAGMA page_count") < 10);
  CHECK_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_EXTERNAL_READER, &x),
           SQLITE_NOTFOUND);
  sqlite3_close(db);
  free(name);
}

/* connect_pragmas: the pragmas frameworks set at connect time get
** SQLite's answers, and the database works with them in force. */
static void connect_pragmas(void){
  char *name;
  sqlite3 *db = open_table("connect", &name);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "PRAGMA synchronous=NORMAL"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "PRAGMA synchronous"), 1);
  CHECK_EQ(tdb_int(db, "PRAGMA journal_size_limit=67108864"), 67108864);
  CHECK_EQ(tdb_exec(db, "PRAGMA temp_store=MEMORY"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "PRAGMA temp_store"), 2);
  CHECK_EQ(tdb_exec(db, "PRAGMA cache_size=-20000"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "PRAGMA cache_size"), -20000);
  CHECK_EQ(tdb_int(db, "PRAGMA busy_timeout=5000"), 5000);
  CHECK_EQ(tdb_exec(db, "PRAGMA foreign_keys=ON"), SQLITE_OK);
  CHECK_EQ(tdb_int(db, "PRAGMA wal_autocheckpoint=1000"), 1000);
  CHECK(tdb_text_is(db, "PRAGMA wal_checkpoint(TRUNCATE)", "0"));
  CHECK_EQ(tdb_exec(db, "CREATE TEMP TABLE tt(x); INSERT INTO tt VALUES(5);"
                        "INSERT INTO t SELECT x FROM tt"), SQLITE_OK);
  sqlite3_close(db);
  CHECK(reopen_reads(name, 6));
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(wal_keeps_mode);
  RUN(wal_exclusive);
  RUN(wal_attached);
  RUN(restore_from_wal_file);
  RUN(mmap_size);
  RUN(file_controls);
  RUN(connect_pragmas);
  return CHECK_DONE();
}
