/*
** test_gc_safety.c: gc while other connections stay open (docs/history.md,
** "Why gc is safe"). The library clock is shifted forward
** (s3p_test_clock_shift) so that gc's grace period passes in a moment:
** objects keep their real modification times and so look hours old.
**
**   - idle_writer_behind_gc: a connection idle since before gc removed the
**     record after its version writes again. It must move to the newest
**     version (its write lands on top of everyone else's), never re-create
**     the removed version, and HEAD must name an openable version.
**   - empty_opener_behind_gc: the same for a connection opened when the
**     database had no version yet.
**   - failed_replay_behind_gc: the same for a connection whose view was
**     reset to version 0 by a failed replay (a damaged record, restored).
**   - long_write_behind_gc: a write transaction open across gc fails its
**     COMMIT with SQLITE_BUSY_SNAPSHOT saying why; the retry succeeds.
**   - old_head_not_written: a connection whose last commit gc removed does
**     not write that version into HEAD when it closes.
**   - stale_known_page: a page read inside a long read transaction on an
**     old version, then removed by gc, is uploaded again when a later
**     commit reproduces its bytes (not skipped as "known present").
**   - long_read_behind_gc: a read transaction whose version gc removed
**     gets an error saying so (not a bare "missing object"), and the next
**     transaction sees the newest version.
**   - aged_knowledge_at_commit: when the uploads take so long that what a
**     commit relied on ages past S3P_TRUST_MS, pages skipped as known
**     present are uploaded after all, and a commit whose view was last
**     known to be the newest that long ago fails with SQLITE_BUSY_SNAPSHOT.
**     (A thread moves the clock while a slow store delays round trip 1.)
**   - unknown_mtime_is_young: an unreferenced object whose listing gives no
**     usable modification time (0) is not deleted.
**   - grace_minimum: gc refuses a grace period that is neither 0 nor at
**     least S3P_TRUST_MS plus the margin (15 minutes), with a message
**     saying why, and deletes nothing then; 15 minutes and 0 are accepted.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/db.h"
#include "../../index/head.h"
#include "../../vfs/store/s3xml.h"

/* Shifts that make everything older than gc's default grace (one hour). */
#define HOURS(h) ((int64_t)(h) * 3600 * 1000)

/* run_gc runs s3page_gc on name keeping the newest keep versions with the
** default grace period. Returns the SQLite code; *res gets the result. */
static int run_gc(const char *name, uint64_t keep, s3page_gc_result *res){
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  go.keep_versions = keep;
  go.grace_ms = -1;
  char *err = NULL;
  int rc = s3page_gc(name, &go, NULL, NULL, res, &err);
  if(err){ printf("# gc: %s\n", err); sqlite3_free(err); }
  return rc;
}

/* verify_all returns the problems s3page_verify --all finds (-1: it
** failed to run). */
static int64_t verify_all(const char *name){
  s3page_verify_result vr;
  char *err = NULL;
  int rc = s3page_verify(name, NULL, 1, NULL, NULL, NULL, &vr, &err);
  if(err){ printf("# verify: %s\n", err); sqlite3_free(err); }
  if(rc != SQLITE_OK && rc != SQLITE_CORRUPT) return -1;
  return (int64_t)vr.problems;
}

/* head_version returns the version named by the HEAD object of name, 0 if
** there is none, -1 on error. */
static int64_t head_version(const char *name){
  s3p_store *st = NULL;
  s3p_store_opts so;
  memset(&so, 0, sizeof so);
  char *msg = NULL;
  if(s3p_store_open(&st, name, &so, &msg)){ free(msg); return -1; }
  unsigned char *data = NULL;
  size_t len = 0;
  int64_t out = -1;
  int rc = s3p_store_get(st, "HEAD", &data, &len, &msg);
  s3p_head h;
  if(rc == S3P_ENOTFOUND) out = 0;
  else if(rc == S3P_OK && s3p_head_decode(&h, data, len, NULL) == S3P_OK){
    out = (int64_t)h.version;
  }
  free(data);
  free(msg);
  s3p_store_close(st);
  return out;
}

/* advance makes commits more versions on name through a connection of its
** own (rows into table other), then makes the newest a checkpoint, so that
** gc keeping one version removes every record before it. Returns the
** newest version or -1. */
static int64_t advance(const char *name, int commits){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return -1;
  int rc = tdb_exec(db, "CREATE TABLE IF NOT EXISTS other(x)");
  for(int i = 0; i < commits && rc == SQLITE_OK; i++){
    rc = tdb_execf(db, "INSERT INTO other VALUES(%d)", i);
  }
  sqlite3_close(db);
  if(rc) return -1;
  uint64_t cv = 0;
  int created = 0;
  char *err = NULL;
  if(s3page_checkpoint(name, &cv, &created, &err) != SQLITE_OK){
    printf("# checkpoint: %s\n", err ? err : "?");
    sqlite3_free(err);
    return -1;
  }
  return (int64_t)cv;
}

/* check_whole opens name afresh and checks that it is intact, at version
** want (0: any) with rows rows in t. */
static void check_whole(const char *name, int64_t want, int64_t rows){
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db) return;
  if(want) CHECK_EQ(tdb_version(db), want);
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), rows);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
  CHECK_EQ(verify_all(name), 0);
}

/* idle_writer_behind_gc: see the top comment. */
static void idle_writer_behind_gc(void){
  char *name = tdb_name("gcidle");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  int64_t va = tdb_version(a);
  CHECK_EQ(va, 2);
  int64_t newest = advance(name, 5);
  CHECK(newest > va + 1);
  s3p_test_clock_shift(HOURS(2));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  CHECK_EQ(gr.oldest_kept, (uint64_t)newest);
  /* a wakes up: its write must land on top of the newest version. */
  CHECK_EQ(tdb_exec(a, "INSERT INTO t VALUES(2, 'b')"), SQLITE_OK);
  CHECK_EQ(tdb_version(a), newest + 1);
  CHECK_EQ(tdb_int(a, "SELECT count(*) FROM other"), 5);
  sqlite3_close(a);
  int64_t head = head_version(name);
  CHECK(head >= newest);
  check_whole(name, newest + 1, 2);
  free(name);
}

/* empty_opener_behind_gc: see the top comment. */
static void empty_opener_behind_gc(void){
  char *name = tdb_name("gcempty");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_version(a), 0);
  sqlite3 *b = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(b, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  sqlite3_close(b);
  int64_t newest = advance(name, 3);
  CHECK(newest > 2);
  s3p_test_clock_shift(HOURS(2));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  CHECK_EQ(tdb_exec(a, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, "
                       "v); INSERT INTO t VALUES(2, 'b')"), SQLITE_OK);
  CHECK_EQ(tdb_version(a), newest + 1);
  sqlite3_close(a);
  check_whole(name, newest + 1, 2);
  free(name);
}

/* swap_file replaces the content of path by data[0..len), keeping the old
** content in *old (malloc'd, *oldlen bytes) when old is not NULL. Returns
** 0 or -1. */
static int swap_file(const char *path, const void *data, size_t len,
                     char **old, size_t *oldlen){
  if(old){
    FILE *f = fopen(path, "rb");
    if(!f) return -1;
    *old = malloc(4096);
    *oldlen = *old ? fread(*old, 1, 4096, f) : 0;
    fclose(f);
    if(!*old) return -1;
  }
  FILE *f = fopen(path, "wb");
  if(!f) return -1;
  size_t n = fwrite(data, 1, len, f);
  return fclose(f) == 0 && n == len ? 0 : -1;
}

/* failed_replay_behind_gc: see the top comment. */
static void failed_replay_behind_gc(void){
  if(tdb_on_s3()){
    printf("# directory store only (damages a record file)\n");
    return;
  }
  char *name = tdb_name("gcreplay");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  sqlite3 *b = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(b, "INSERT INTO t VALUES(2, 'b');"
                       "INSERT INTO t VALUES(3, 'c')"), SQLITE_OK);
  sqlite3_close(b);
  /* Record 4 is damaged while a replays it: a's view is reset. */
  char path[1200], *old = NULL;
  size_t oldlen = 0;
  snprintf(path, sizeof path, "%s/wal/%020d", name, 4);
  CHECK_EQ(swap_file(path, "damaged", 7, &old, &oldlen), 0);
  CHECK(tdb_exec_quiet(a, "SELECT count(*) FROM t") != SQLITE_OK);
  CHECK_EQ(swap_file(path, old, oldlen, NULL, NULL), 0);
  free(old);
  int64_t newest = advance(name, 3);
  s3p_test_clock_shift(HOURS(2));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  CHECK_EQ(tdb_exec(a, "INSERT INTO t VALUES(4, 'd')"), SQLITE_OK);
  CHECK_EQ(tdb_version(a), newest + 1);
  sqlite3_close(a);
  check_whole(name, newest + 1, 4);
  free(name);
}

/* long_write_behind_gc: see the top comment. */
static void long_write_behind_gc(void){
  char *name = tdb_name("gclong");
  /* a acts as if on another machine: locally, SQLite's locks would
  ** keep the other connections out while it holds a transaction. */
  char *elsewhere = tdb_elsewhere();
  sqlite3 *a = tdb_open(name, elsewhere);
  free(elsewhere);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  CHECK_EQ(tdb_exec(a, "BEGIN; INSERT INTO t VALUES(2, 'b')"), SQLITE_OK);
  int64_t newest = advance(name, 4);
  CHECK(newest > 3);
  s3p_test_clock_shift(HOURS(2));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  tdb_log_clear();
  int rc = tdb_exec_quiet(a, "COMMIT");
  CHECK_EQ(rc, SQLITE_BUSY_SNAPSHOT);
  CHECK(tdb_log_has("removed by gc"));
  if(!tdb_log_has("removed by gc")) tdb_log_dump();
  if(!sqlite3_get_autocommit(a)) tdb_exec_quiet(a, "ROLLBACK");
  /* The retry starts on the newest version. */
  CHECK_EQ(tdb_exec(a, "INSERT INTO t VALUES(2, 'b')"), SQLITE_OK);
  CHECK_EQ(tdb_version(a), newest + 1);
  sqlite3_close(a);
  check_whole(name, newest + 1, 2);
  free(name);
}

/* old_head_not_written: see the top comment. */
static void old_head_not_written(void){
  char *name = tdb_name("gchead");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  int64_t newest = advance(name, 3);
  s3p_test_clock_shift(HOURS(2));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  CHECK_EQ(head_version(name), newest);
  sqlite3_close(a);              /* its last commit, version 2, is gone */
  CHECK_EQ(head_version(name), newest);
  check_whole(name, newest, 1);
  free(name);
}

/* stale_known_page: see the top comment. */
static void stale_known_page(void){
  char *name = tdb_name("gcknown");
  sqlite3 *w = tdb_open(name, NULL);
  CHECK(w != NULL);
  if(!w){ free(name); return; }
  CHECK_EQ(tdb_exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                       "INSERT INTO t VALUES(1, 'xxxx'), (2, 'yyyy');"
                       "CREATE TABLE other(x)"), SQLITE_OK);
  /* r starts a read transaction on this version, reading only page 1. */
  /* r acts as if on another machine: locally, SQLite's locks would
  ** keep the other connections out while it holds a transaction. */
  char *elsewhere = tdb_elsewhere();
  sqlite3 *r = tdb_open(name, elsewhere);
  free(elsewhere);
  CHECK(r != NULL);
  if(!r){ sqlite3_close(w); free(name); return; }
  CHECK_EQ(tdb_exec(r, "BEGIN"), SQLITE_OK);
  CHECK_EQ(tdb_int(r, "SELECT count(*) FROM sqlite_master"), 2);
  /* Meanwhile t's page changes, and the old content is no longer used. */
  CHECK_EQ(tdb_exec(w, "UPDATE t SET v = 'zzzz' WHERE id = 1"), SQLITE_OK);
  sqlite3_close(w);
  int64_t newest = advance(name, 2);
  s3p_test_clock_shift(HOURS(2));
  /* Hours into its transaction, r reads t's old page ... */
  CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t WHERE v = 'xxxx'"), 1);
  CHECK_EQ(tdb_exec(r, "COMMIT"), SQLITE_OK);
  /* ... which gc then removes: no kept version uses it. */
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  CHECK(gr.pages_deleted > 0);
  /* Writing the old value back makes exactly the old page again. */
  CHECK_EQ(tdb_exec(r, "UPDATE t SET v = 'xxxx' WHERE id = 1"), SQLITE_OK);
  CHECK_EQ(tdb_version(r), newest + 1);
  sqlite3_close(r);
  check_whole(name, newest + 1, 2);
  sqlite3 *c = tdb_open(name, NULL);
  CHECK_EQ(tdb_int(c, "SELECT count(*) FROM t WHERE v = 'xxxx'"), 1);
  sqlite3_close(c);
  free(name);
}

/* long_read_behind_gc: see the top comment. */
static void long_read_behind_gc(void){
  char *name = tdb_name("gcread");
  sqlite3 *w = tdb_open(name, NULL);
  CHECK(w != NULL);
  if(!w){ free(name); return; }
  /* More rows than a page holds: row 1 is on a leaf below t's root page,
  ** which r does not read before gc (opening brings root pages along with
  ** the record: HEAD names them). */
  CHECK_EQ(tdb_exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                       "INSERT INTO t VALUES(1, 'xxxx');"
                       "WITH RECURSIVE c(i) AS (SELECT 2 UNION ALL SELECT "
                       "i + 1 FROM c WHERE i < 300) INSERT INTO t SELECT i, "
                       "printf('%0100d', i) FROM c"), SQLITE_OK);
  /* r acts as if on another machine: locally, SQLite's locks would
  ** keep the other connections out while it holds a transaction. */
  char *elsewhere = tdb_elsewhere();
  sqlite3 *r = tdb_open(name, elsewhere);
  free(elsewhere);
  CHECK(r != NULL);
  if(!r){ sqlite3_close(w); free(name); return; }
  CHECK_EQ(tdb_exec(r, "BEGIN"), SQLITE_OK);
  CHECK_EQ(tdb_int(r, "SELECT count(*) FROM sqlite_master"), 1);
  CHECK_EQ(tdb_exec(w, "UPDATE t SET v = 'zzzz' WHERE id = 1"), SQLITE_OK);
  sqlite3_close(w);
  int64_t newest = advance(name, 2);
  s3p_test_clock_shift(HOURS(2));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  /* On another machine, t's old page is in no cache of r's process (here
  ** w's commit left it in the process cache, and r would read it there). */
  s3p_pagecache_clear();
  tdb_log_clear();
  CHECK_EQ(tdb_exec_quiet(r, "SELECT * FROM t"), SQLITE_CORRUPT);
  CHECK(tdb_log_has("gc removed that version"));
  if(!tdb_log_has("gc removed that version")) tdb_log_dump();
  if(!sqlite3_get_autocommit(r)) tdb_exec_quiet(r, "ROLLBACK");
  CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t WHERE v = 'zzzz'"), 1);
  CHECK_EQ(tdb_version(r), newest);
  sqlite3_close(r);
  free(name);
}

/* shift_later is a thread: after 100 ms, shifts the clock by *arg ms. */
static void *shift_later(void *arg){
  tdb_sleep_ms(100);
  s3p_test_clock_shift(*(int64_t *)arg);
  return NULL;
}

/* commit_while_shifting runs COMMIT on db while a thread shifts the clock
** by ms during its first round trip (the store delays each batch by 250
** ms). Returns COMMIT's code. */
static int commit_while_shifting(sqlite3 *db, int64_t ms){
  pthread_t th;
  if(pthread_create(&th, NULL, shift_later, &ms)) return -1;
  int rc = tdb_exec_quiet(db, "COMMIT");
  pthread_join(th, NULL);
  return rc;
}

/* aged_knowledge_at_commit: see the top comment. */
static void aged_knowledge_at_commit(void){
  char *name = tdb_name("gcaged");
  sqlite3 *c = tdb_open(name, "fault=delay_ms=250");
  CHECK(c != NULL);
  if(!c){ free(name); return; }
  CHECK_EQ(tdb_exec(c, "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);"
                       "INSERT INTO k VALUES(1, 'aaaa')"), SQLITE_OK);
  CHECK_EQ(tdb_exec(c, "UPDATE k SET v = 'bbbb' WHERE id = 1"), SQLITE_OK);
  /* 9 minutes on, the page of 'aaaa' is still known (committed here). */
  s3p_test_clock_shift(9 * 60 * 1000);
  CHECK_EQ(tdb_exec(c, "BEGIN; UPDATE k SET v = 'aaaa' WHERE id = 1"),
           SQLITE_OK);
  CHECK_EQ(tdb_stats_reset(c), 0);
  CHECK_EQ(commit_while_shifting(c, 2 * 60 * 1000), SQLITE_OK);
  s3page_stats st;
  CHECK_EQ(tdb_stats(c, &st), 0);
  /* Page 1, HEAD, the record, and the table page after all. */
  CHECK_EQ(st.n_put, 4);
  CHECK_EQ(st.round_trips, 3);
  /* A view last known to be the newest more than 10 minutes before the
  ** record would be created: refused. */
  CHECK_EQ(tdb_exec(c, "BEGIN; UPDATE k SET v = 'cccc' WHERE id = 1"),
           SQLITE_OK);
  tdb_log_clear();
  CHECK_EQ(commit_while_shifting(c, 11 * 60 * 1000), SQLITE_BUSY_SNAPSHOT);
  CHECK(tdb_log_has("took too long"));
  if(!sqlite3_get_autocommit(c)) tdb_exec_quiet(c, "ROLLBACK");
  CHECK_EQ(tdb_exec(c, "UPDATE k SET v = 'cccc' WHERE id = 1"), SQLITE_OK);
  sqlite3_close(c);
  sqlite3 *d = tdb_open(name, NULL);
  CHECK_EQ(tdb_int(d, "SELECT count(*) FROM k WHERE v = 'cccc'"), 1);
  sqlite3_close(d);
  CHECK_EQ(verify_all(name), 0);
  free(name);
}

/* xml_mtime is the listing callback of unknown_mtime_is_young: keeps the
** mtime reported. Returns 0 (go on). */
static int xml_mtime(void *arg, const char *key, uint64_t size, int64_t mtime){
  (void)key;
  (void)size;
  *(int64_t *)arg = mtime;
  return 0;
}

/* unknown_mtime_is_young: see the top comment. The S3 listing parser
** reports a missing or unparsable LastModified as a time <= 0 (checked
** here); on the directory store an object's mtime is set to 0 to make gc
** see exactly that. */
static void unknown_mtime_is_young(void){
  static const char *bodies[2] = {
    "<ListBucketResult><Contents><Key>db/pages/x</Key><Size>1</Size>"
    "</Contents></ListBucketResult>",
    "<ListBucketResult><Contents><Key>db/pages/x</Key><Size>1</Size>"
    "<LastModified>yesterday</LastModified></Contents></ListBucketResult>",
  };
  for(int i = 0; i < 2; i++){
    int64_t mtime = 12345;
    s3p_xml_list lc;
    memset(&lc, 0, sizeof lc);
    lc.full = "db/";
    lc.strip = 3;
    lc.fn = xml_mtime;
    lc.arg = &mtime;
    char *token = NULL;
    const char *why = NULL;
    CHECK_EQ(s3p_xml_list_page(&lc, bodies[i], strlen(bodies[i]), &token,
                               &why), S3P_OK);
    free(token);
    CHECK(mtime <= 0);
  }
  if(tdb_on_s3()){
    printf("# the gc half needs the directory store (sets an mtime)\n");
    return;
  }
  char *name = tdb_name("gcmtime");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  sqlite3_close(a);
  /* An object a writer just uploaded: no record refers to it yet. */
  const char *key = "pages/" S3P_HASH_PREFIX "0123456789abcdef0123456789abcdef";
  s3p_store *st = NULL;
  s3p_store_opts so;
  memset(&so, 0, sizeof so);
  char *msg = NULL;
  CHECK_EQ(s3p_store_open(&st, name, &so, &msg), S3P_OK);
  free(msg);
  msg = NULL;
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, key, (const unsigned char *)"x", 1,
                           &msg), S3P_OK);
    free(msg);
    s3p_store_close(st);
  }
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", name, key);
  struct utimbuf ut = { 0, 0 };
  CHECK_EQ(utime(path, &ut), 0);
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 1, &gr), SQLITE_OK);
  struct stat sb;
  CHECK_EQ(stat(path, &sb), 0);
  CHECK(gr.objects_young >= 1);
  free(name);
}

/* gc_grace runs s3page_gc on name keeping one version with grace ms.
** Returns the SQLite code; *err gets the message (sqlite3_malloc'd) or
** NULL, *res the result. */
static int gc_grace(const char *name, int64_t ms, s3page_gc_result *res,
                    char **err){
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  go.keep_versions = 1;
  go.grace_ms = ms;
  *err = NULL;
  return s3page_gc(name, &go, NULL, NULL, res, err);
}

/* grace_minimum: see the top comment. */
static void grace_minimum(void){
  char *name = tdb_name("gcgrace");
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(!a){ free(name); return; }
  CHECK_EQ(tdb_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
                       "INSERT INTO t VALUES(1, 'a')"), SQLITE_OK);
  sqlite3_close(a);
  int64_t newest = advance(name, 3);
  CHECK(newest > 2);
  s3p_test_clock_shift(HOURS(2));
  static const int64_t too_short[] = { 1, 5 * 60 * 1000,
                                       15 * 60 * 1000 - 1 };
  for(size_t i = 0; i < sizeof too_short / sizeof *too_short; i++){
    s3page_gc_result gr;
    char *err = NULL;
    int rc = gc_grace(name, too_short[i], &gr, &err);
    CHECK_EQ(rc, SQLITE_MISUSE);
    CHECK(err && strstr(err, "too short") && strstr(err, "at least 900 s"));
    if(rc != SQLITE_MISUSE || !err || !strstr(err, "too short")){
      printf("# grace %lld ms: rc %d: %s\n", (long long)too_short[i], rc,
             err ? err : "(no message)");
    }
    sqlite3_free(err);
    CHECK_EQ(gr.records_deleted, 0);
  }
  CHECK_EQ(verify_all(name), 0);
  sqlite3 *b = tdb_open(name, "version=1");
  CHECK(b != NULL);
  if(b) CHECK(tdb_integrity_ok(b));   /* version 1 was not removed */
  sqlite3_close(b);
  /* The minimum itself is accepted, and so is 0. */
  s3page_gc_result gr;
  char *err = NULL;
  CHECK_EQ(gc_grace(name, 15 * 60 * 1000, &gr, &err), SQLITE_OK);
  if(err){ printf("# gc: %s\n", err); sqlite3_free(err); }
  CHECK(gr.records_deleted > 0);
  CHECK_EQ(gc_grace(name, 0, &gr, &err), SQLITE_OK);
  if(err){ printf("# gc: %s\n", err); sqlite3_free(err); }
  check_whole(name, newest, 1);
  free(name);
}

int main(void){
  if(tdb_init()) return 1;
  RUN(idle_writer_behind_gc);
  RUN(empty_opener_behind_gc);
  RUN(failed_replay_behind_gc);
  RUN(long_write_behind_gc);
  RUN(old_head_not_written);
  RUN(stale_known_page);
  RUN(long_read_behind_gc);
  RUN(aged_knowledge_at_commit);
  RUN(unknown_mtime_is_young);
  RUN(grace_minimum);
  return CHECK_DONE();
}
