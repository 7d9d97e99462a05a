/*
** test_history.c: point-in-time opens. ?version=N shows exactly the state
** committed as version N and refuses writes; ?asof=TIME picks the newest
** version committed at or before TIME; versions and times that do not
** exist fail to open with a clear message; with checkpoints every 8
** versions, each of 40 versions opens with its own content.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../check.h"
#include "../lib/testdb.h"

/* open_pinned opens name with params read-only-by-option (the URI makes it
** a snapshot). Returns the handle or NULL (quietly, *rc set). */
static sqlite3 *open_pinned(const char *name, const char *params, int *rc){
  return tdb_open_ex(name, params, SQLITE_OPEN_READWRITE, 1, rc);
}

/* asof_param formats "asof=SECONDS.mmm" for Unix time ms into out[64]. */
static void asof_param(char *out, int64_t ms){
  snprintf(out, 64, "asof=%lld.%03lld", (long long)(ms / 1000),
           (long long)(ms % 1000));
}

/* three_versions: after three commits, version=2 shows exactly the second
** state, stays there after later commits, and refuses writes with
** SQLITE_READONLY. */
static void three_versions(void){
  char *name = tdb_name("three");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "BEGIN; CREATE TABLE t(x); INSERT INTO t "
                        "VALUES('first'); COMMIT"), SQLITE_OK);
  int64_t v1 = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES('second')"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "UPDATE t SET x = 'third' WHERE x = 'first'"),
           SQLITE_OK);
  CHECK_EQ(tdb_version(db), v1 + 2);
  const char *q = "SELECT group_concat(x, ',') FROM (SELECT x FROM t ORDER BY "
                  "rowid)";
  char p[64];
  int rc;

  snprintf(p, sizeof p, "version=%lld", (long long)(v1 + 1));
  sqlite3 *s = open_pinned(name, p, &rc);
  CHECK(s != NULL);
  CHECK(tdb_text_is(s, q, "first,second"));
  CHECK_EQ(tdb_version(s), v1 + 1);
  /* A commit after the snapshot was opened does not move it. */
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES('fourth')"), SQLITE_OK);
  CHECK(tdb_text_is(s, q, "first,second"));
  rc = tdb_exec_quiet(s, "INSERT INTO t VALUES('through snapshot')");
  CHECK_EQ(rc & 0xff, SQLITE_READONLY);
  rc = tdb_exec_quiet(s, "CREATE TABLE u(y)");
  CHECK_EQ(rc & 0xff, SQLITE_READONLY);
  CHECK(tdb_text_is(s, q, "first,second"));
  CHECK(tdb_integrity_ok(s));
  sqlite3_close(s);

  snprintf(p, sizeof p, "version=%lld", (long long)v1);
  s = open_pinned(name, p, &rc);
  CHECK(s != NULL);
  CHECK(tdb_text_is(s, q, "first"));
  sqlite3_close(s);
  snprintf(p, sizeof p, "version=%lld", (long long)(v1 + 2));
  s = open_pinned(name, p, &rc);
  CHECK(tdb_text_is(s, q, "third,second"));
  sqlite3_close(s);
  /* Opened read-only by flag as well. */
  snprintf(p, sizeof p, "version=%lld", (long long)(v1 + 1));
  s = tdb_open_ex(name, p, SQLITE_OPEN_READONLY, 0, &rc);
  CHECK(tdb_text_is(s, q, "first,second"));
  sqlite3_close(s);
  /* Nothing written through the snapshots reached the database. */
  CHECK(tdb_text_is(db, q, "third,second,fourth"));
  CHECK_EQ(tdb_version(db), v1 + 3);
  sqlite3_close(db);
  free(name);
}

/* missing_version: a version after the newest fails to open, and the
** message says it does not exist. */
static void missing_version(void){
  char *name = tdb_name("missing");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)"),
           SQLITE_OK);
  int64_t v = tdb_version(db);
  sqlite3_close(db);
  char p[64];
  int rc = SQLITE_OK;
  snprintf(p, sizeof p, "version=%lld", (long long)(v + 1));
  tdb_log_clear();
  sqlite3 *s = open_pinned(name, p, &rc);
  CHECK(s == NULL);
  CHECK(rc != SQLITE_OK);
  CHECK(tdb_log_has("does not exist"));
  if(!tdb_log_has("does not exist")) tdb_log_dump();
  sqlite3_close(s);
  snprintf(p, sizeof p, "version=%lld", (long long)(v + 1000000));
  s = open_pinned(name, p, &rc);
  CHECK(s == NULL);
  sqlite3_close(s);
  /* A malformed version is refused too, not taken as "newest". */
  tdb_log_clear();
  s = open_pinned(name, "version=abc", &rc);
  CHECK(s == NULL);
  sqlite3_close(s);
  free(name);
}

/* asof_between: asof between two commits gives the earlier one, as Unix
** seconds with a fraction or ISO-8601; asof after the last gives the last;
** asof before the first fails with a message. */
static void asof_between(void){
  char *name = tdb_name("asof");
  sqlite3 *db = tdb_open(name, NULL);
  const char *q = "SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)";
  int64_t before = tdb_now_ms() - 5;
  tdb_sleep_ms(20);
  CHECK_EQ(tdb_exec(db, "BEGIN; CREATE TABLE t(x); INSERT INTO t VALUES(1); "
                        "COMMIT"), SQLITE_OK);
  tdb_sleep_ms(20);
  int64_t t1 = tdb_now_ms();
  tdb_sleep_ms(20);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(2)"), SQLITE_OK);
  tdb_sleep_ms(20);
  int64_t t2 = tdb_now_ms();
  tdb_sleep_ms(20);
  CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES(3)"), SQLITE_OK);
  int64_t v3 = tdb_version(db);
  sqlite3_close(db);

  char p[64];
  int rc;
  asof_param(p, t1);
  sqlite3 *s = open_pinned(name, p, &rc);
  CHECK(s != NULL);
  CHECK(tdb_text_is(s, q, "1"));
  CHECK_EQ(tdb_version(s), v3 - 2);
  rc = tdb_exec_quiet(s, "INSERT INTO t VALUES(9)");
  CHECK_EQ(rc & 0xff, SQLITE_READONLY);
  sqlite3_close(s);

  asof_param(p, t2);
  s = open_pinned(name, p, &rc);
  CHECK(tdb_text_is(s, q, "1,2"));
  sqlite3_close(s);

  /* The same instant as ISO-8601 UTC. */
  time_t secs = (time_t)(t2 / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(p, sizeof p, "asof=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (int)(t2 % 1000));
  s = open_pinned(name, p, &rc);
  CHECK(tdb_text_is(s, q, "1,2"));
  sqlite3_close(s);

  asof_param(p, tdb_now_ms() + 1000);
  s = open_pinned(name, p, &rc);
  CHECK(tdb_text_is(s, q, "1,2,3"));
  sqlite3_close(s);

  asof_param(p, before);
  tdb_log_clear();
  s = open_pinned(name, p, &rc);
  CHECK(s == NULL);
  CHECK(rc != SQLITE_OK);
  CHECK(tdb_log_has("no version at or before"));
  if(!tdb_log_has("no version at or before")) tdb_log_dump();
  sqlite3_close(s);
  free(name);
}

/* forty_versions: 40 commits with a checkpoint every 8 versions; every
** version 1..40 opens and shows exactly its own rows. */
static void forty_versions(void){
  char *name = tdb_name("forty");
  sqlite3 *db = tdb_open(name, "checkpoint=8");
  CHECK_EQ(tdb_exec(db, "BEGIN; CREATE TABLE t(i INTEGER PRIMARY KEY, pad);"
                        "INSERT INTO t VALUES(1, randomblob(3000)); COMMIT"),
           SQLITE_OK);
  int64_t first = tdb_version(db);
  CHECK_EQ(first, 1);
  for(int i = 2; i <= 40; i++){
    /* Also rewrite an old row so pages change all over the tree. */
    CHECK_EQ(tdb_execf(db, "BEGIN; INSERT INTO t VALUES(%d, randomblob(3000));"
                           "UPDATE t SET pad = zeroblob(%d) WHERE i = %d;"
                           "COMMIT", i, 100 + i, i / 2), SQLITE_OK);
  }
  CHECK_EQ(tdb_version(db), 40);
  sqlite3_close(db);
  for(int v = 1; v <= 40; v++){
    char p[64];
    int rc;
    snprintf(p, sizeof p, "version=%d", v);
    sqlite3 *s = open_pinned(name, p, &rc);
    CHECK(s != NULL);
    if(!s){ printf("# version %d failed to open\n", v); continue; }
    CHECK_EQ(tdb_version(s), v);
    CHECK_EQ(tdb_int(s, "SELECT count(*) FROM t"), v);
    CHECK_EQ(tdb_int(s, "SELECT max(i) FROM t"), v);
    /* Row j was shrunk to 100+2j or 101+2j bytes by commit 2j or 2j+1. */
    int64_t shrunk = tdb_int(s, "SELECT count(*) FROM t WHERE length(pad) < "
                                "3000");
    CHECK_EQ(shrunk, v / 2);
    if(v % 8 == 0 || v == 40) CHECK(tdb_integrity_ok(s));
    sqlite3_close(s);
  }
  free(name);
}

/* log_time keeps the commit time of the version asked for in *arg. */
static int log_time(void *arg, const s3page_log_entry *e){
  int64_t *want = arg;              /* [0] version in, [1] time out */
  if((int64_t)e->version == want[0]) want[1] = e->time_ms;
  return 0;
}

/* asof_is_logarithmic: resolving asof= among 128 versions reads a few
** commit records (a bisection), not all of them. */
static void asof_is_logarithmic(void){
  char *name = tdb_name("asoflog");
  sqlite3 *db = tdb_open(name, "checkpoint=4");
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(v)"), SQLITE_OK);
  for(int i = 0; i < 127; i++){
    CHECK_EQ(tdb_execf(db, "INSERT INTO t VALUES(%d)", i), SQLITE_OK);
  }
  CHECK_EQ(tdb_version(db), 128);
  sqlite3_close(db);
  int64_t want[2] = { 77, -1 };
  char *err = NULL;
  CHECK_EQ(s3page_log(name, 0, 0, log_time, want, &err), SQLITE_OK);
  sqlite3_free(err);
  CHECK(want[1] > 0);
  char p[64];
  asof_param(p, want[1]);
  strcat(p, "&checkpoint=4");
  db = tdb_open(name, p);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  /* Versions committed in the same millisecond resolve to the newest. */
  int64_t v = tdb_version(db);
  CHECK(v >= 77 && v < 90);
  s3page_stats s;
  CHECK_EQ(tdb_stats(db, &s), 0);
  printf("# asof among 128 versions: version %lld, get=%llu head=%llu\n",
         (long long)v, (unsigned long long)s.n_get,
         (unsigned long long)s.n_head);
  /* log2(128) = 7 records for the bisection, the first record, at most 4
  ** to load the version, HEAD and the newest-version probes. */
  CHECK(s.n_get + s.n_head <= 24);
  sqlite3_close(db);
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(three_versions);
  RUN(missing_version);
  RUN(asof_between);
  RUN(forty_versions);
  RUN(asof_is_logarithmic);
  return CHECK_DONE();
}
