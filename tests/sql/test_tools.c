/*
** test_tools.c: what the history tools and pragmas promise about their
** results: PRAGMA s3page_stats=reset reports the counters it zeroes;
** import --force over a database invalidates the page cache of every open
** connection (even when the two files share bytes 24..39 of the header),
** so an open connection sees the new content and its next write keeps it,
** also when a writer commits during the import (page 1 is stamped again);
** verify fails when the newest version cannot be opened; export writes no
** predictable temporary name that a planted symlink could redirect.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* tools_path returns a malloc'd local file path for tag (in TMPDIR). */
static char *tools_path(const char *tag){
  const char *d = getenv("TMPDIR");
  char *p = malloc(512);
  snprintf(p, 512, "%s/s3page-tools-%d-%s", d && *d ? d : "/tmp",
           (int)getpid(), tag);
  return p;
}

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

/* tools_slurp reads up to cap-1 bytes of path into buf (NUL-terminated).
** Returns the byte count or -1. */
static long tools_slurp(const char *path, char *buf, size_t cap){
  int fd = open(path, O_RDONLY | O_NOFOLLOW);
  if(fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if(n < 0) return -1;
  buf[n] = 0;
  return (long)n;
}

/* tools_dir_count returns the number of entries of dir (without . and ..). */
static int tools_dir_count(const char *dir){
  DIR *d = opendir(dir);
  if(!d) return -1;
  int n = 0;
  struct dirent *e;
  while((e = readdir(d)) != NULL){
    if(strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  }
  closedir(d);
  return n;
}

/* export_tmp_symlink: a symlink planted as FILE.tmp (pointing at another
** file) is neither written through nor moved into place: the victim keeps
** its bytes, FILE is a regular file holding the export, and no temporary
** file is left behind. */
static void export_tmp_symlink(void){
  char *dir = tools_path("symdir");
  CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
  char *victim = sqlite3_mprintf("%s/victim", dir);
  char *file = sqlite3_mprintf("%s/out.db", dir);
  char *planted = sqlite3_mprintf("%s/out.db.tmp", dir);
  FILE *f = fopen(victim, "w");
  CHECK(f != NULL);
  if(f){ fputs("precious", f); fclose(f); }
  CHECK_EQ(symlink(victim, planted), 0);
  char *name = tdb_name("exportsym");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1)"),
             SQLITE_OK);
    sqlite3_close(db);
  }
  char *err = NULL;
  s3page_export_result er;
  CHECK_EQ(s3page_export(name, NULL, file, NULL, NULL, &er, &err), SQLITE_OK);
  if(err) printf("# export: %s\n", err);
  sqlite3_free(err);
  char buf[64];
  CHECK_EQ(tools_slurp(victim, buf, sizeof buf), 8);
  CHECK(!strcmp(buf, "precious"));
  struct stat st;
  CHECK(lstat(file, &st) == 0 && S_ISREG(st.st_mode));
  CHECK(tools_slurp(file, buf, 17) == 16 && !memcmp(buf, "SQLite format 3", 16));
  CHECK(lstat(planted, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK_EQ(tools_dir_count(dir), 3);    /* victim, out.db, the symlink */
  unlink(file);
  unlink(planted);
  unlink(victim);
  rmdir(dir);
  sqlite3_free(victim);
  sqlite3_free(file);
  sqlite3_free(planted);
  free(dir);
  free(name);
}

/* tools_plain writes a plain SQLite file at path by running sql on it.
** Returns 0 or -1. */
static int tools_plain(const char *path, const char *sql){
  sqlite3 *db = NULL;
  unlink(path);
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, "unix");
  if(rc == SQLITE_OK) rc = tdb_exec(db, sql);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

/* reimport_invalidates_cache: two files whose headers agree in bytes
** 24..39 (and in the schema cookie) but not in content; a connection open
** on the database keeps reading across an import --force of the second
** over the first. It must see the new content (and, in the second round,
** the new schema), and its next write must keep the import, not revert
** it from its stale cache. */
static void reimport_invalidates_cache(void){
  static const char *const second[2] = {
    "PRAGMA page_size=4096; CREATE TABLE t(x, y); "
    "INSERT INTO t VALUES('bbbb', NULL)",
    "PRAGMA page_size=4096; CREATE TABLE t(x, y, z); "
    "INSERT INTO t VALUES('bbbb', 'cccc', NULL)",
  };
  for(int round = 0; round < 2; round++){
    char *fa = tools_path("reimp-a.db"), *fb = tools_path("reimp-b.db");
    char *name = tdb_name("reimport");
    CHECK_EQ(tools_plain(fa, "PRAGMA page_size=4096; CREATE TABLE t(x, y); "
                         "INSERT INTO t VALUES('aaaa', NULL)"), 0);
    CHECK_EQ(tools_plain(fb, second[round]), 0);
    char ha[100], hb[100];
    CHECK_EQ(tools_slurp(fa, ha, sizeof ha), 99);
    CHECK_EQ(tools_slurp(fb, hb, sizeof hb), 99);
    CHECK(!memcmp(ha + 24, hb + 24, 20));    /* 24..39 and the cookie */
    char *err = NULL;
    s3page_import_result ir;
    CHECK_EQ(s3page_import(fa, name, 0, NULL, NULL, &ir, &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    sqlite3 *db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(db){
      CHECK(tdb_text_is(db, "SELECT x FROM t", "aaaa"));
      CHECK_EQ(s3page_import(fb, name, S3PAGE_IMPORT_FORCE, NULL, NULL, &ir,
                             &err), SQLITE_OK);
      if(err) printf("# import --force: %s\n", err);
      sqlite3_free(err);
      err = NULL;
      CHECK_EQ(ir.version, 2);
      CHECK(tdb_text_is(db, "SELECT group_concat(x) FROM t", "bbbb"));
      if(round == 1){
        CHECK(tdb_text_is(db, "SELECT x || y FROM t", "bbbbcccc"));
        CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES('dddd', 'e', 'f')"),
                 SQLITE_OK);
      }else{
        CHECK_EQ(tdb_exec(db, "INSERT INTO t VALUES('dddd', NULL)"),
                 SQLITE_OK);
      }
      CHECK(tdb_integrity_ok(db));
      sqlite3_close(db);
    }
    db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(db){
      CHECK(tdb_text_is(db, "SELECT group_concat(x) FROM t", "bbbb,dddd"));
      CHECK_EQ(tdb_version(db), 3);
      CHECK(tdb_integrity_ok(db));
      sqlite3_close(db);
    }
    unlink(fa);
    unlink(fb);
    free(fa);
    free(fb);
    free(name);
  }
}

/* What the racing progress callback of reimport_retry_restamps uses. */
typedef struct tools_race {
  sqlite3 *writer;           /* commits a version during the import */
  sqlite3 *reader;           /* then reads it (caching it) */
  int done;                  /* 1 once it did */
} tools_race;

/* tools_race_progress is the import's progress callback: the first time,
** another connection commits a version and a reader caches it, so the
** import's record loses the race and is redone on top of that version. */
static void tools_race_progress(void *arg, uint64_t done, uint64_t total){
  tools_race *r = arg;
  (void)done; (void)total;
  if(r->done) return;
  r->done = 1;
  CHECK_EQ(tdb_exec(r->writer, "INSERT INTO t VALUES('race', NULL)"),
           SQLITE_OK);
  CHECK(tdb_text_is(r->reader, "SELECT group_concat(x) FROM t",
                    "aaaa,race"));
}

/* reimport_retry_restamps: when another writer commits while import
** --force runs, the import is redone on top of that version, and page 1
** is stamped against it (not against the version the import started
** from), so a connection that cached the racing version drops it too. */
static void reimport_retry_restamps(void){
  char *fa = tools_path("race-a.db"), *fb = tools_path("race-b.db");
  char *name = tdb_name("reimprace");
  CHECK_EQ(tools_plain(fa, "PRAGMA page_size=4096; CREATE TABLE t(x, y); "
                       "INSERT INTO t VALUES('aaaa', NULL)"), 0);
  CHECK_EQ(tools_plain(fb, "PRAGMA page_size=4096; CREATE TABLE t(x, y); "
                       "INSERT INTO t VALUES('bbbb', NULL)"), 0);
  char *err = NULL;
  s3page_import_result ir;
  CHECK_EQ(s3page_import(fa, name, 0, NULL, NULL, &ir, &err), SQLITE_OK);
  sqlite3_free(err);
  err = NULL;
  tools_race r;
  memset(&r, 0, sizeof r);
  r.writer = tdb_open(name, NULL);
  r.reader = tdb_open(name, NULL);
  CHECK(r.writer != NULL && r.reader != NULL);
  if(r.writer && r.reader){
    CHECK(tdb_text_is(r.reader, "SELECT x FROM t", "aaaa"));
    CHECK_EQ(s3page_import(fb, name, S3PAGE_IMPORT_FORCE, tools_race_progress,
                           &r, &ir, &err), SQLITE_OK);
    if(err) printf("# import --force: %s\n", err);
    sqlite3_free(err);
    CHECK_EQ(r.done, 1);
    CHECK_EQ(ir.version, 3);
    CHECK(tdb_text_is(r.reader, "SELECT group_concat(x) FROM t", "bbbb"));
    CHECK(tdb_text_is(r.writer, "SELECT group_concat(x) FROM t", "bbbb"));
  }
  sqlite3_close(r.writer);
  sqlite3_close(r.reader);
  unlink(fa);
  unlink(fb);
  free(fa);
  free(fb);
  free(name);
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(stats_reset_reports);
  RUN(verify_unopenable_fails);
  RUN(export_tmp_symlink);
  RUN(reimport_invalidates_cache);
  RUN(reimport_retry_restamps);
  return CHECK_DONE();
}
