/*
** test_crash.c: a process killed at any moment never damages the
** database or loses a commit it reported.
**
**   - kill9_random: 20 rounds on one database. A forked child loops up to
**     500 commits (INSERT INTO log VALUES(i, ...)), writing i to a pipe
**     after each successful COMMIT; the parent kills it with SIGKILL after
**     a random number (0-499; 0-99 on S3) of reported commits plus a
**     random 0-3 ms. Then a new connection must open, pass
**     integrity_check, hold every i the child reported, hold rows of this
**     round only as a gapless run 1..k (at most one unreported commit at
**     its end), and show exactly one version per row ever committed.
**   - crash_points: the fault injector's crash=N kills the child right
**     after its Nth store operation, for N = 1, 2, ... until the child's
**     whole work (open + 6 commits) fits: every step of open and commit
**     (page PUTs, record PUT_NEW, HEAD update, GETs) is a crash point.
**     Same checks after each.
** S3PAGE_TEST_QUICK=1 runs 8 random rounds instead of 20.
*/
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* child_loop opens name with params and commits rows tag*1000+1 ..
** tag*1000+n one per transaction, writing each committed value to fd.
** Never returns: exits 0 when done, 2 if the open failed, 3 on a failed
** commit. */
static void child_loop(const char *name, const char *params, int tag, int n,
                       int fd){
  sqlite3 *db = tdb_open_ex(name, params, SQLITE_OPEN_READWRITE, 1, NULL);
  if(!db) _exit(2);
  for(int k = 1; k <= n; k++){
    int v = tag * 1000 + k;
    /* Every 10th commit carries a bigger row: several pages at once. */
    if(tdb_execf(db, "INSERT INTO log VALUES(%d, randomblob(%d))", v,
                 k % 10 == 0 ? 9000 : 20) != SQLITE_OK){
      _exit(3);
    }
    if(write(fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(4);
  }
  sqlite3_close(db);
  _exit(0);
}

/* read_reported reads the values the child reported from fd until EOF.
** Returns the largest (0 if none) and counts them in *count. */
static int read_reported(int fd, int *count){
  int v, last = 0;
  ssize_t r;
  *count = 0;
  while((r = read(fd, &v, sizeof v)) == (ssize_t)sizeof v || (r < 0 && errno == EINTR)){
    if(r < 0) continue;
    if(v > last) last = v;
    (*count)++;
  }
  return last;
}

/* check_after_crash opens name and checks integrity, that rows of round
** tag are exactly tag*1000+1 .. tag*1000+k with k >= reported (k at most
** reported+1) and that the version is base + all rows. Returns k (or -1
** after a failed check). */
static int check_after_crash(const char *name, int tag, int reported,
                             int64_t base){
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db) return -1;
  int ok = tdb_integrity_ok(db);
  CHECK(ok);
  char q[256];
  snprintf(q, sizeof q, "SELECT count(*) FROM log WHERE i > %d AND i <= %d",
           tag * 1000, tag * 1000 + 999);
  int64_t k = tdb_int(db, q);
  snprintf(q, sizeof q, "SELECT count(DISTINCT i) FROM log WHERE i > %d AND "
           "i <= %d", tag * 1000, tag * 1000 + (int)k);
  int64_t run = tdb_int(db, q);
  int64_t rows = tdb_int(db, "SELECT count(*) FROM log");
  int64_t ver = tdb_version(db);
  sqlite3_close(db);
  int good = ok && k >= reported && k <= reported + 1 && run == k &&
             ver == base + rows;
  if(!good){
    printf("# round %d: reported %d, found %lld rows (%lld in the run), "
           "version %lld, expected %lld\n", tag, reported, (long long)k,
           (long long)run, (long long)ver, (long long)(base + rows));
    CHECK(0);
    return -1;
  }
  return (int)k;
}

/* make_log creates the log table in a fresh database and returns its
** version before any row (the base), or -1. */
static int64_t make_log(const char *name){
  sqlite3 *db = tdb_open(name, NULL);
  int rc = tdb_exec(db, "CREATE TABLE log(i INTEGER PRIMARY KEY, pad BLOB)");
  int64_t v = rc == SQLITE_OK ? tdb_version(db) : -1;
  sqlite3_close(db);
  return v;
}

/* spawn forks a child running child_loop; the read end of its pipe goes
** to *rfd. Returns the child's pid or -1. */
static pid_t spawn(const char *name, const char *params, int tag, int n,
                   int *rfd){
  int p[2];
  if(pipe(p) != 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if(pid == 0){
    close(p[0]);
    child_loop(name, params, tag, n, p[1]);
  }
  close(p[1]);
  if(pid < 0){ close(p[0]); return -1; }
  *rfd = p[0];
  return pid;
}

/* kill9_random: SIGKILL at random moments during up to 500 commits. */
static void kill9_random(void){
  char *name = tdb_name("kill9");
  int64_t base = make_log(name);
  CHECK(base >= 0);
  int rounds = tdb_quick() ? 8 : 20;
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  printf("# seed %u\n", seed);
  int killed_mid = 0, total = 0;
  for(int r = 1; r <= rounds && base >= 0; r++){
    int fd = -1;
    pid_t pid = spawn(name, NULL, r, 500, &fd);
    CHECK(pid > 0);
    if(pid <= 0) break;
    /* A random moment anywhere in the 500 commits: after a random number
    ** of them were reported, plus a random part of a commit's time. */
    int span = tdb_on_s3() ? 100 : 500;   /* S3 commits are slower */
    int target = (int)(rand_r(&seed) % span), count = 0, last = 0;
    while(count < target){
      int v;
      ssize_t got = read(fd, &v, sizeof v);
      if(got < 0 && errno == EINTR) continue;
      if(got != (ssize_t)sizeof v) break;
      if(v > last) last = v;
      count++;
    }
    struct timespec jitter = { 0, (long)(rand_r(&seed) % 3000) * 1000L };
    nanosleep(&jitter, NULL);
    kill(pid, SIGKILL);
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    if(WIFEXITED(st)) CHECK_EQ(WEXITSTATUS(st), 0);  /* finished all 500 */
    int more = 0;
    int last2 = read_reported(fd, &more);
    if(last2 > last) last = last2;
    count += more;
    close(fd);
    int reported = last ? last - r * 1000 : 0;
    CHECK_EQ(count, reported);
    int k = check_after_crash(name, r, reported, base);
    if(k > reported) killed_mid++;
    if(k > 0) total += k;
  }
  printf("# %d rounds, %d commits, %d with a commit done but unreported\n",
         rounds, total, killed_mid);
  free(name);
}

/* crash_points: crash=N for every store operation of an open and six
** commits. */
static void crash_points(void){
  char *name = tdb_name("points");
  int64_t base = make_log(name);
  CHECK(base >= 0);
  int n, finished = 0, crashed = 0;
  for(n = 1; n <= 400 && base >= 0 && !finished; n++){
    char params[64];
    snprintf(params, sizeof params, "fault=crash=%d,seed=%d", n, n);
    int fd = -1;
    pid_t pid = spawn(name, params, n, 6, &fd);
    CHECK(pid > 0);
    if(pid <= 0) break;
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    int count = 0;
    int last = read_reported(fd, &count);
    close(fd);
    int reported = last ? last - n * 1000 : 0;
    CHECK_EQ(count, reported);
    if(WIFSIGNALED(st)){
      CHECK_EQ(WTERMSIG(st), SIGKILL);
      crashed++;
    }else{
      /* The work fit in n-1 operations: the child must have done it all. */
      CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      CHECK_EQ(reported, 6);
      finished = 1;
    }
    if(check_after_crash(name, n, reported, base) < 0){
      printf("# crash=%d\n", n);
    }
  }
  printf("# %d crash points, then the work completed at crash=%d\n", crashed,
         n - 1);
  CHECK(finished);
  CHECK(crashed >= 20);  /* an open and 6 commits take many operations */
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(kill9_random);
  RUN(crash_points);
  return CHECK_DONE();
}
