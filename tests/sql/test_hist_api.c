/*
** test_hist_api.c: the history C API (s3page.h) and what it promises about
** cost: on a large imported database, opening the newest version and one
** indexed point query download < 1 MB in < 30 objects; with checkpoints
** every K versions, opening any of 200 versions replays at most K records;
** import/export round trip; log, checkpoint, verify and gc through the API
** (gc by --keep-since), with kept versions still complete afterwards.
** Sizes shrink under sanitizers, on S3 and with S3PAGE_TEST_QUICK=1.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/db.h"

#if defined(__SANITIZE_ADDRESS__)
#define HIST_SANITIZED 1
#else
#define HIST_SANITIZED 0
#endif

/* scratch_path returns a malloc'd local file path for tag (in TMPDIR). */
static char *scratch_path(const char *tag){
  const char *d = getenv("TMPDIR");
  char *p = malloc(512);
  snprintf(p, 512, "%s/s3page-hist-%d-%s.db", d && *d ? d : "/tmp",
           (int)getpid(), tag);
  return p;
}

/* make_plain writes a plain SQLite file of about mb megabytes (4 KiB pages,
** table t(id, k indexed, v blob)). Returns 0 or -1. */
static int make_plain(const char *path, int mb){
  sqlite3 *db = NULL;
  unlink(path);
  if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                     "unix") != SQLITE_OK){
    sqlite3_close(db);
    return -1;
  }
  char sql[512];
  snprintf(sql, sizeof sql, "PRAGMA page_size=4096; PRAGMA journal_mode=OFF;"
           "PRAGMA synchronous=OFF;"
           "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, v BLOB);"
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
           "WHERE i < %d) INSERT INTO t SELECT i, i*7, randomblob(900) FROM c;"
           "CREATE INDEX tk ON t(k);", mb * 1024 * 1024 / 1000);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

/* files_equal returns 1 if the two files have the same bytes. */
static int files_equal(const char *a, const char *b){
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while(same){
    int x = fgetc(fa), y = fgetc(fb);
    if(x != y) same = 0;
    if(x == EOF || y == EOF) break;
  }
  if(fa) fclose(fa);
  if(fb) fclose(fb);
  return same;
}

/* large_import_point_query: import a big file, then one indexed point query
** on the newest version costs < 1 MB and < 30 objects; export is equal. */
static void large_import_point_query(void){
  int mb = tdb_quick() || HIST_SANITIZED || tdb_on_s3() ? 16 : 64;
  char *file = scratch_path("big"), *back = scratch_path("big-back");
  char *name = tdb_name("bigimp");
  CHECK_EQ(make_plain(file, mb), 0);
  s3page_import_result ir;
  char *err = NULL;
  CHECK_EQ(s3page_import(file, name, 0, NULL, NULL, &ir, &err), SQLITE_OK);
  if(err) printf("# import: %s\n", err);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(ir.version, 1);
  CHECK(ir.page_count > (uint32_t)mb * 200);
  sqlite3 *db = tdb_open_ex(name, NULL, SQLITE_OPEN_READONLY, 0, NULL);
  CHECK(db != NULL);
  if(db){
    int64_t id = tdb_int(db, "SELECT id FROM t WHERE k = 7 * 4321");
    CHECK_EQ(id, 4321);
    s3page_stats s;
    CHECK_EQ(s3page_stats_get(db, NULL, &s), SQLITE_OK);
    uint64_t objects = s.n_get + s.n_head;
    printf("# %d MB, %u pages: open + point query: %llu objects, %llu bytes\n",
           mb, (unsigned)ir.page_count, (unsigned long long)objects,
           (unsigned long long)s.bytes_in);
    CHECK(objects < 30);
    CHECK(s.bytes_in < 1024 * 1024);
    CHECK_EQ(s.n_list, 0);
    sqlite3_close(db);
  }
  s3page_export_result er;
  CHECK_EQ(s3page_export(name, NULL, back, NULL, NULL, &er, &err), SQLITE_OK);
  sqlite3_free(err);
  CHECK_EQ(er.version, 1);
  CHECK(files_equal(file, back));
  unlink(file);
  unlink(back);
  free(file);
  free(back);
  free(name);
}

/* replay_bounded: 200 commits with a checkpoint every K; opening any
** version reads its record plus at most K-1 others (K records in all). */
static void replay_bounded(void){
  int total = tdb_quick() || tdb_on_s3() ? 100 : 200, k = 10;
  char *name = tdb_name("replay");
  sqlite3 *db = tdb_open(name, "checkpoint=10");
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE r(n INTEGER PRIMARY KEY, s TEXT)"),
           SQLITE_OK);
  for(int i = 2; i <= total; i++){
    CHECK_EQ(tdb_execf(db, "INSERT INTO r(s) VALUES('v%d')", i), SQLITE_OK);
  }
  CHECK_EQ(tdb_version(db), total);
  sqlite3_close(db);
  uint64_t worst = 0;
  for(int v = 1; v <= total; v++){
    s3p_options o;
    char *msg = NULL;
    CHECK_EQ(s3p_options_parse(&o, NULL, &msg), S3P_OK);
    o.version = (uint64_t)v;
    o.readonly = 1;
    s3p_db *d = NULL;
    int rc = s3p_db_open(&d, name, &o, &msg);
    CHECK_EQ(rc, SQLITE_OK);
    if(rc){ printf("# %s\n", msg ? msg : "?"); sqlite3_free(msg); break; }
    /* Every GET of opening a pinned version is a commit record. */
    uint64_t records = d->store->stats.n_get;
    if(records > worst) worst = records;
    CHECK(records <= (uint64_t)k);
    s3p_db_close(d);
  }
  printf("# %d versions, checkpoint every %d: at most %llu records read\n",
         total, k, (unsigned long long)worst);
  /* And the content of a few versions is right. */
  for(int v = 1; v <= total; v += total / 4){
    char params[32];
    snprintf(params, sizeof params, "version=%d", v + 1);
    if(v + 1 > total) break;
    sqlite3 *p = tdb_open_ex(name, params, SQLITE_OPEN_READONLY, 0, NULL);
    CHECK(p != NULL);
    if(p){
      CHECK_EQ(tdb_int(p, "SELECT count(*) FROM r"), v);
      sqlite3_close(p);
    }
  }
  free(name);
}

/* Collected log entries. */
typedef struct log_acc {
  int n;                     /* entries seen */
  uint64_t first, last;      /* first and last version seen */
  int full, ckpt;            /* full images / checkpoints seen */
} log_acc;

/* log_collect is the s3page_log callback of the tests. Returns 0. */
static int log_collect(void *arg, const s3page_log_entry *e){
  log_acc *a = arg;
  if(a->n == 0) a->first = e->version;
  a->last = e->version;
  a->n++;
  a->full += e->full_image;
  a->ckpt += e->checkpoint;
  return 0;
}

/* api_cycle: log, checkpoint, verify, gc --keep-since through the API. */
static void api_cycle(void){
  char *name = tdb_name("apicycle");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE a(n INTEGER PRIMARY KEY, b BLOB)"),
           SQLITE_OK);
  for(int i = 0; i < 11; i++){
    CHECK_EQ(tdb_execf(db, "INSERT INTO a(b) VALUES(randomblob(5000)); "
                       "UPDATE a SET b = randomblob(100) WHERE n = %d", i),
             SQLITE_OK);
  }
  int64_t vbefore = tdb_version(db);     /* 1 + 22 */
  sqlite3_close(db);
  char *err = NULL;
  log_acc acc;
  memset(&acc, 0, sizeof acc);
  CHECK_EQ(s3page_log(name, 5, S3PAGE_LOG_SIZES, log_collect, &acc, &err),
           SQLITE_OK);
  CHECK_EQ(acc.n, 5);
  CHECK_EQ(acc.first, (uint64_t)vbefore);
  CHECK_EQ(acc.last, (uint64_t)vbefore - 4);
  uint64_t cv = 0;
  int created = 0;
  CHECK_EQ(s3page_checkpoint(name, &cv, &created, &err), SQLITE_OK);
  CHECK_EQ(created, 1);
  CHECK_EQ(cv, (uint64_t)vbefore + 1);
  CHECK_EQ(s3page_checkpoint(name, &cv, &created, &err), SQLITE_OK);
  CHECK_EQ(created, 0);
  tdb_sleep_ms(1100);
  int64_t since = tdb_now_ms();
  tdb_sleep_ms(20);
  db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "INSERT INTO a(b) VALUES(x'02')"), SQLITE_OK);
  sqlite3_close(db);
  s3page_verify_result vr;
  CHECK_EQ(s3page_verify(name, NULL, 1, NULL, NULL, NULL, &vr, &err),
           SQLITE_OK);
  CHECK_EQ(vr.problems, 0);
  CHECK_EQ(vr.versions, (uint64_t)vbefore + 2);
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  go.has_keep_since = 1;
  go.keep_since_ms = since;
  go.grace_ms = 0;
  s3page_gc_result gr;
  CHECK_EQ(s3page_gc(name, &go, NULL, NULL, &gr, &err), SQLITE_OK);
  if(err){ printf("# gc: %s\n", err); sqlite3_free(err); err = NULL; }
  /* The version current at `since` is the checkpoint, which starts its own
  ** replay: it and the newest are kept, everything before goes. */
  CHECK_EQ(gr.oldest_kept, cv);
  CHECK_EQ(gr.records_deleted, cv - 1);
  CHECK(gr.pages_deleted > 0);
  CHECK(gr.bytes_freed > 0);
  CHECK_EQ(s3page_verify(name, NULL, 1, NULL, NULL, NULL, &vr, &err),
           SQLITE_OK);
  CHECK_EQ(vr.problems, 0);
  CHECK_EQ(vr.oldest, cv);
  s3page_at at = { 0, 1, since };
  char *out = scratch_path("asof");
  s3page_export_result er;
  CHECK_EQ(s3page_export(name, &at, out, NULL, NULL, &er, &err), SQLITE_OK);
  CHECK_EQ(er.version, cv);
  at.asof_ms = since - 600000;
  CHECK_EQ(s3page_export(name, &at, out, NULL, NULL, &er, &err),
           SQLITE_CANTOPEN);
  CHECK(err != NULL && strstr(err, "removed by gc") != NULL);
  sqlite3_free(err);
  err = NULL;
  /* Time search and newest-version search still work with no HEAD. */
  db = tdb_open(name, NULL);
  CHECK_EQ(tdb_version(db), (int64_t)cv + 1);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
  unlink(out);
  free(out);
  free(name);
}

/* api_errors: bad inputs give clear errors through the API. */
static void api_errors(void){
  char *name = tdb_name("apierr");
  char *file = scratch_path("notdb");
  FILE *f = fopen(file, "wb");
  for(int i = 0; i < 1000; i++) fputs("not a database ", f);
  fclose(f);
  char *err = NULL;
  CHECK_EQ(s3page_import(file, name, 0, NULL, NULL, NULL, &err), SQLITE_NOTADB);
  CHECK(err && strstr(err, "not a SQLite database"));
  sqlite3_free(err);
  err = NULL;
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  CHECK_EQ(s3page_gc(name, &go, NULL, NULL, NULL, &err), SQLITE_MISUSE);
  sqlite3_free(err);
  err = NULL;
  int64_t ms = 0;
  CHECK_EQ(s3page_time_parse("2026-11-22T10:00:00Z", &ms), SQLITE_OK);
  CHECK_EQ(ms, 1795341600000LL);
  CHECK_EQ(s3page_time_parse("yesterday", &ms), SQLITE_MISUSE);
  unlink(file);
  free(file);
  free(name);
}

int main(void){
  if(tdb_init()) return 1;
  RUN(large_import_point_query);
  RUN(replay_bounded);
  RUN(api_cycle);
  RUN(api_errors);
  return CHECK_DONE();
}
