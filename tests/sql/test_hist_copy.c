/*
** test_hist_copy.c: s3page_copy (s3page copy SRC DST).
**
**   copy_resume        a database with 200 versions (60 with
**                      S3PAGE_TEST_QUICK=1) is copied; the copy is killed
**                      (SIGKILL from its progress callback) part-way, then
**                      run again: the second run uploads exactly the
**                      objects the first did not (counted against a full
**                      copy into a fresh store), verify --all passes on
**                      DST, and exports of 10 sampled versions are
**                      byte-identical on both;
**   copy_since         --since V: from the checkpoint V starts from, fewer
**                      objects, verify --all passes, exports identical;
**   copy_version       --version V: V is DST's newest, with only the
**                      records from its checkpoint and the objects they
**                      use; a later full copy continues the history;
**   copy_other_db      a copy into a store holding another database is
**                      refused before anything is uploaded;
**   copy_no_source     a missing source is an error.
** In copy_resume SRC is a local directory and DST lives where the test
** databases do (a directory, or S3 with S3PAGE_TEST_STORE); the other
** cases keep both there.
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

/* ct_path returns a malloc'd local file path for tag (in TMPDIR). */
static char *ct_path(const char *tag){
  const char *d = getenv("TMPDIR");
  char *p = malloc(512);
  snprintf(p, 512, "%s/s3page-copy-%d-%s", d && *d ? d : "/tmp",
           (int)getpid(), tag);
  return p;
}

/* ct_same_file returns 1 if files a and b have the same bytes. */
static int ct_same_file(const char *a, const char *b){
  FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
  int same = x && y;
  while(same){
    int c = fgetc(x), d = fgetc(y);
    if(c != d) same = 0;
    if(c == EOF || d == EOF) break;
  }
  if(x) fclose(x);
  if(y) fclose(y);
  return same;
}

/* ct_copy_since copies from to to (since: as s3page_copy). Returns the
** SQLite code. */
static int ct_copy_since(const char *from, const char *to, uint64_t since,
                         s3page_progress_fn fn, void *arg,
                         s3page_copy_result *r){
  char *err = NULL;
  int rc = s3page_copy(from, to, since, fn, arg, r, &err);
  if(err) printf("# copy: %s\n", err);
  sqlite3_free(err);
  return rc;
}

/* ct_copy copies all of from to to. Returns the SQLite code. */
static int ct_copy(const char *from, const char *to, s3page_progress_fn fn,
                   void *arg, s3page_copy_result *r){
  return ct_copy_since(from, to, 0, fn, arg, r);
}

/* ct_kill_half is the progress callback of the copy that is killed: it
** dies by SIGKILL once a third of the work is done. */
static void ct_kill_half(void *arg, uint64_t done, uint64_t total){
  (void)arg;
  if(total && done * 3 >= total) raise(SIGKILL);
}

/* copy_resume: see the file comment. */
static void copy_resume(void){
  int versions = tdb_quick() ? 60 : 200;
  /* SRC is always a local directory (develop on the embedded default);
  ** DST is where the test databases live (a directory, or S3). */
  char *src = ct_path("src"), *dst = tdb_name("copydst");
  char *full = tdb_name("copyfull");
  sqlite3 *db = tdb_open(src, "checkpoint=16");
  CHECK(db != NULL);
  if(!db) goto out;
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"),
           SQLITE_OK);
  for(int i = 1; i < versions; i++){
    CHECK_EQ(tdb_execf(db, "INSERT INTO t VALUES(%d, randomblob(%d))", i,
                       i % 5 ? 3000 : 100), SQLITE_OK);
  }
  int64_t newest = tdb_version(db);
  CHECK_EQ(newest, versions);
  sqlite3_close(db);
  s3page_copy_result whole, first, second;
  CHECK_EQ(ct_copy(src, full, NULL, NULL, &whole), SQLITE_OK);
  printf("# full copy: %llu objects, %llu records\n",
         (unsigned long long)whole.objects_copied,
         (unsigned long long)whole.records_copied);
  CHECK_EQ(whole.records_copied, (uint64_t)versions);
  fflush(stdout);
  pid_t kid = fork();
  if(kid == 0){
    ct_copy(src, dst, ct_kill_half, NULL, &first);
    _exit(0);
  }
  int st = 0;
  CHECK_EQ(waitpid(kid, &st, 0), kid);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  CHECK_EQ(ct_copy(src, dst, NULL, NULL, &second), SQLITE_OK);
  printf("# after the kill: %llu objects held, %llu copied, %llu records\n",
         (unsigned long long)second.objects_held,
         (unsigned long long)second.objects_copied,
         (unsigned long long)second.records_copied);
  /* The second run did the rest, not everything again, and not nothing. */
  CHECK(second.objects_held > 0);
  CHECK_EQ(second.objects_held + second.objects_copied, whole.objects_copied);
  CHECK(second.records_copied <= (uint64_t)versions);
  CHECK(second.objects_copied + second.records_copied > 0);
  CHECK(second.objects_copied + second.records_copied <
        whole.objects_copied + whole.records_copied);
  s3page_verify_result vr;
  char *err = NULL;
  CHECK_EQ(s3page_verify(dst, NULL, 1, NULL, NULL, NULL, &vr, &err), SQLITE_OK);
  if(err) printf("# verify: %s\n", err);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(vr.problems, 0);
  CHECK_EQ(vr.versions, (uint64_t)versions);
  char *fa = ct_path("a.db"), *fb = ct_path("b.db");
  for(int k = 0; k < 10; k++){
    s3page_at at;
    memset(&at, 0, sizeof at);
    at.version = 1 + (uint64_t)(k * (versions - 1) / 9);
    s3page_export_result er;
    CHECK_EQ(s3page_export(src, &at, fa, NULL, NULL, &er, &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    CHECK_EQ(s3page_export(dst, &at, fb, NULL, NULL, &er, &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    CHECK(ct_same_file(fa, fb));
  }
  unlink(fa);
  unlink(fb);
  free(fa);
  free(fb);
  /* A third run has nothing left to do. */
  s3page_copy_result third;
  CHECK_EQ(ct_copy(src, dst, NULL, NULL, &third), SQLITE_OK);
  CHECK_EQ(third.objects_copied, 0);
  CHECK(third.records_copied <= 1);
out:
  tdb_rm_rf(src);
  free(src);
  free(dst);
  free(full);
}

/* copy_since: --since V copies the versions from the checkpoint V starts
** from, with TAIL naming it: verify --all passes on DST, V and later
** export byte-identical, versions before are gone, and fewer objects are
** copied than in a full copy. */
static void copy_since(void){
  char *src = tdb_name("sincesrc"), *dst = tdb_name("sincedst");
  char *full = tdb_name("sincefull");
  sqlite3 *db = tdb_open(src, "checkpoint=16");
  CHECK(db != NULL);
  if(!db){ free(src); free(dst); free(full); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"),
           SQLITE_OK);
  for(int i = 1; i < 60; i++){
    /* Each version replaces a row: old pages are dropped from later maps. */
    CHECK_EQ(tdb_execf(db, "INSERT OR REPLACE INTO t VALUES(%d, randomblob"
                           "(3000))", i % 7), SQLITE_OK);
  }
  sqlite3_close(db);
  s3page_copy_result whole, part;
  CHECK_EQ(ct_copy(src, full, NULL, NULL, &whole), SQLITE_OK);
  CHECK_EQ(ct_copy_since(src, dst, 50, NULL, NULL, &part), SQLITE_OK);
  printf("# --since 50: from %llu, %llu objects (a full copy: %llu), %llu "
         "records\n", (unsigned long long)part.oldest,
         (unsigned long long)part.objects_copied,
         (unsigned long long)whole.objects_copied,
         (unsigned long long)part.records_copied);
  CHECK(part.oldest <= 50 && part.oldest > 30);
  CHECK_EQ(part.records_copied, 60 - part.oldest + 1);
  CHECK(part.objects_copied < whole.objects_copied);
  s3page_verify_result vr;
  char *err = NULL;
  CHECK_EQ(s3page_verify(dst, NULL, 1, NULL, NULL, NULL, &vr, &err), SQLITE_OK);
  if(err) printf("# verify: %s\n", err);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(vr.problems, 0);
  CHECK_EQ(vr.oldest, part.oldest);
  char *fa = ct_path("sa.db"), *fb = ct_path("sb.db");
  for(uint64_t v = 50; v <= 60; v += 5){
    s3page_at at;
    memset(&at, 0, sizeof at);
    at.version = v;
    s3page_export_result er;
    CHECK_EQ(s3page_export(src, &at, fa, NULL, NULL, &er, &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    CHECK_EQ(s3page_export(dst, &at, fb, NULL, NULL, &er, &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    CHECK(ct_same_file(fa, fb));
  }
  s3page_at at;
  memset(&at, 0, sizeof at);
  at.version = 10;
  s3page_export_result er;
  CHECK(s3page_export(dst, &at, fb, NULL, NULL, &er, &err) != SQLITE_OK);
  sqlite3_free(err);
  unlink(fa);
  unlink(fb);
  free(fa);
  free(fb);
  free(src);
  free(dst);
  free(full);
}

/* ct_export_same exports version v of a and of b and returns 1 if the
** files are byte-identical. */
static int ct_export_same(const char *a, const char *b, uint64_t v){
  char *fa = ct_path("xa.db"), *fb = ct_path("xb.db");
  s3page_at at;
  memset(&at, 0, sizeof at);
  at.version = v;
  s3page_export_result er;
  char *err = NULL;
  int same = s3page_export(a, &at, fa, NULL, NULL, &er, &err) == SQLITE_OK;
  if(err) printf("# export %s: %s\n", a, err);
  sqlite3_free(err);
  err = NULL;
  same = same && s3page_export(b, &at, fb, NULL, NULL, &er, &err) == SQLITE_OK;
  if(err) printf("# export %s: %s\n", b, err);
  sqlite3_free(err);
  same = same && ct_same_file(fa, fb);
  unlink(fa);
  unlink(fb);
  free(fa);
  free(fb);
  return same;
}

/* copy_version: s3page_copy_range(V, V) makes V the newest version of DST,
** copying only the records from the checkpoint V starts from and the
** objects those versions use (fewer than copying up to the newest); V
** exports byte-identical, verify --all passes, a version after V is not
** there; a later full copy continues from V. Bounds are refused. */
static void copy_version(void){
  char *src = tdb_name("versrc"), *dst = tdb_name("verdst");
  char *full = tdb_name("verfull");
  sqlite3 *db = tdb_open(src, "checkpoint=16");
  CHECK(db != NULL);
  if(!db){ free(src); free(dst); free(full); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"),
           SQLITE_OK);
  for(int i = 1; i < 60; i++){
    CHECK_EQ(tdb_execf(db, "INSERT OR REPLACE INTO t VALUES(%d, randomblob"
                           "(3000))", i % 7), SQLITE_OK);
  }
  sqlite3_close(db);
  s3page_copy_result whole, one, rest;
  char *err = NULL;
  CHECK_EQ(ct_copy_since(src, full, 40, NULL, NULL, &whole), SQLITE_OK);
  CHECK_EQ(s3page_copy_range(src, dst, 40, 40, NULL, NULL, &one, &err),
           SQLITE_OK);
  if(err) printf("# copy --version: %s\n", err);
  sqlite3_free(err);
  err = NULL;
  printf("# --version 40: versions %llu..%llu, %llu objects, %llu records "
         "(--since 40: %llu objects)\n", (unsigned long long)one.oldest,
         (unsigned long long)one.version,
         (unsigned long long)one.objects_copied,
         (unsigned long long)one.records_copied,
         (unsigned long long)whole.objects_copied);
  CHECK_EQ(one.version, 40);
  CHECK(one.oldest <= 40 && one.oldest >= 40 - 16);
  CHECK_EQ(one.records_copied, 40 - one.oldest + 1);
  CHECK(one.objects_copied < whole.objects_copied);
  CHECK(ct_export_same(src, dst, 40));
  s3page_verify_result vr;
  CHECK_EQ(s3page_verify(dst, NULL, 1, NULL, NULL, NULL, &vr, &err), SQLITE_OK);
  if(err) printf("# verify: %s\n", err);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(vr.problems, 0);
  sqlite3 *d = tdb_open(dst, NULL);
  CHECK(d != NULL);
  if(d){
    CHECK_EQ(tdb_version(d), 40);
    sqlite3_close(d);
  }
  /* A full copy then brings the rest. */
  CHECK_EQ(ct_copy(src, dst, NULL, NULL, &rest), SQLITE_OK);
  CHECK_EQ(rest.version, 60);
  CHECK_EQ(rest.records_copied, 20);
  CHECK(ct_export_same(src, dst, 60));
  /* Out of range, and since above until. */
  CHECK_EQ(s3page_copy_range(src, full, 0, 61, NULL, NULL, &one, &err),
           SQLITE_CANTOPEN);
  CHECK(err && strstr(err, "61"));
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(s3page_copy_range(src, full, 45, 44, NULL, NULL, &one, &err),
           SQLITE_CANTOPEN);
  sqlite3_free(err);
  free(src);
  free(dst);
  free(full);
}

/* copy_other_db: see the file comment. */
static void copy_other_db(void){
  char *a = tdb_name("copya"), *b = tdb_name("copyb");
  sqlite3 *db = tdb_open(a, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)"),
             SQLITE_OK);
    sqlite3_close(db);
  }
  db = tdb_open(b, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_exec(db, "CREATE TABLE u(y); INSERT INTO u VALUES(2);"
                          "INSERT INTO u VALUES(3)"), SQLITE_OK);
    sqlite3_close(db);
  }
  s3page_copy_result r;
  CHECK_EQ(ct_copy(b, a, NULL, NULL, &r), SQLITE_CANTOPEN);
  CHECK_EQ(r.objects_copied + r.records_copied, 0);
  db = tdb_open(a, NULL);
  if(db){
    CHECK_EQ(tdb_version(db), 2);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  free(a);
  free(b);
}

/* copy_no_source: see the file comment. */
static void copy_no_source(void){
  char *a = tdb_name("copynone"), *b = tdb_name("copyto");
  s3page_copy_result r;
  CHECK_EQ(ct_copy(a, b, NULL, NULL, &r), SQLITE_CANTOPEN);
  free(a);
  free(b);
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(copy_resume);
  RUN(copy_since);
  RUN(copy_version);
  RUN(copy_other_db);
  RUN(copy_no_source);
  return CHECK_DONE();
}
