/*
** contention.c: write throughput of W writers on one database, each a
** process with its own lock directory (so they share no local lock and
** race as if on separate machines), for issue 11's three mixes:
**
**   a  update a random row of a 100,000-row table
**   b  insert into the writer's own table
**   c  increment one shared counter row
**
**   contention NAME MIX W [TXNS] [PARAMS]
**
** Each writer runs TXNS (200) one-row transactions through
** s3page_transaction (BEGIN IMMEDIATE, the statement, COMMIT; again on
** BUSY). NAME is prepared first (the table, or emptied counters) unless it
** already holds the table. PARAMS are extra URI parameters (e.g.
** "rebase=0"). Prints one line:
**
**   mix=a writers=4 txns=800 seconds=12.3 commits_per_s=65.0
**   conflicts=31 conflicted_pct=3.9 rebases=120
**
** conflicts are the SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT the application saw
** (runs beyond the first), conflicted_pct the share of transactions that
** saw at least one, rebases the commits s3page rebased instead.
** bench/contention.sh runs the table of bench/results.md.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"

#define ROWS 100000

/* What one writer reports to the parent through its pipe. */
typedef struct ct_report {
  uint64_t commits;          /* transactions committed */
  uint64_t conflicts;        /* runs that ended in BUSY */
  uint64_t conflicted;       /* transactions that saw at least one */
  uint64_t rebases;          /* commits rebased */
  int failed;                /* an error other than BUSY */
} ct_report;

/* What a transaction needs. */
typedef struct ct_job {
  char mix;                  /* a, b or c */
  int writer;                /* 1.. */
  unsigned seed;             /* rand_r state */
} ct_job;

/* ct_now returns a monotonic time in seconds. */
static double ct_now(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ct_uri builds the URI of name with the writer's lock directory. */
static char *ct_uri(const char *name, const char *params, int writer){
  char *u = sqlite3_mprintf("file:%s?vfs=s3page&lock_dir=/tmp/s3page-ct-%d-%d"
                            "%s%s", name, (int)getppid(), writer,
                            params && *params ? "&" : "",
                            params ? params : "");
  return u;
}

/* ct_body runs one transaction of the job's mix. */
static int ct_body(sqlite3 *db, void *arg){
  ct_job *j = arg;
  char sql[160];
  switch(j->mix){
    case 'a':
      snprintf(sql, sizeof sql, "UPDATE t SET v = v + 1 WHERE id = %d",
               1 + rand_r(&j->seed) % ROWS);
      break;
    case 'b':
      snprintf(sql, sizeof sql, "INSERT INTO w%d(v) VALUES(%u)", j->writer,
               rand_r(&j->seed));
      break;
    default:
      snprintf(sql, sizeof sql, "UPDATE counter SET n = n + 1");
      break;
  }
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* ct_prepare creates what the mix needs if NAME lacks it. Returns 0. */
static int ct_prepare(const char *name, char mix, int writers){
  char *uri = ct_uri(name, NULL, 0);
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
  sqlite3_free(uri);
  if(rc){ fprintf(stderr, "contention: open %s: %s\n", name, sqlite3_errmsg(db)); return 1; }
  char sql[512];
  if(mix == 'a'){
    snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS t(id INTEGER "
             "PRIMARY KEY, v INTEGER, p TEXT); INSERT INTO t SELECT value, 0, "
             "printf('%%20d', value) FROM generate_series(1, %d) WHERE NOT "
             "EXISTS (SELECT 1 FROM t)", ROWS);
    /* generate_series is not in every build: fall back to a CTE. */
    if(sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK){
      snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS t(id INTEGER "
               "PRIMARY KEY, v INTEGER, p TEXT); WITH RECURSIVE c(i) AS "
               "(SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < %d) INSERT "
               "INTO t SELECT i, 0, printf('%%20d', i) FROM c WHERE NOT "
               "EXISTS (SELECT 1 FROM t)", ROWS);
      rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
  }else if(mix == 'b'){
    for(int w = 1; w <= writers && rc == SQLITE_OK; w++){
      snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS w%d(id INTEGER "
               "PRIMARY KEY, v INTEGER)", w);
      rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
  }else{
    rc = sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS counter(n INTEGER);"
                      "INSERT INTO counter SELECT 0 WHERE NOT EXISTS "
                      "(SELECT 1 FROM counter)", NULL, NULL, NULL);
  }
  if(rc) fprintf(stderr, "contention: preparing %s: %s\n", name, sqlite3_errmsg(db));
  sqlite3_close(db);
  return rc != SQLITE_OK;
}

/* ct_writer runs one writer process and writes its report to fd. */
static void ct_writer(const char *name, const char *params, char mix,
                      int writer, int txns, int fd){
  ct_report r;
  memset(&r, 0, sizeof r);
  char *uri = ct_uri(name, params, writer);
  sqlite3 *db = NULL;
  if(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                     NULL) != SQLITE_OK){
    r.failed = 1;
  }
  sqlite3_free(uri);
  ct_job j = { mix, writer, (unsigned)getpid() * 2654435761u };
  s3page_retry retry = { 1000, 5, 200 };
  for(int i = 0; i < txns && !r.failed; i++){
    int runs = 0;
    int rc = s3page_transaction(db, ct_body, &j, &retry, &runs);
    if(runs > 1){
      r.conflicts += (uint64_t)(runs - 1);
      r.conflicted++;
    }
    if(rc){
      fprintf(stderr, "contention: writer %d: %s\n", writer, sqlite3_errmsg(db));
      r.failed = 1;
    }else{
      r.commits++;
    }
  }
  s3page_stats s;
  if(db && s3page_stats_get(db, "main", &s) == SQLITE_OK) r.rebases = s.n_rebase;
  sqlite3_close(db);
  if(write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
  _exit(r.failed);
}

int main(int argc, char **argv){
  if(argc < 4){
    fprintf(stderr, "usage: contention NAME MIX(a|b|c) WRITERS [TXNS] "
            "[PARAMS]\n");
    return 2;
  }
  const char *name = argv[1];
  char mix = argv[2][0];
  int writers = atoi(argv[3]);
  int txns = argc > 4 ? atoi(argv[4]) : 200;
  const char *params = argc > 5 ? argv[5] : "";
  if((mix != 'a' && mix != 'b' && mix != 'c') || writers < 1 || txns < 1){
    fprintf(stderr, "contention: bad arguments\n");
    return 2;
  }
  s3page_register(0);
  if(ct_prepare(name, mix, writers)) return 1;
  int fds[64];
  pid_t pids[64];
  if(writers > 64) writers = 64;
  double t0 = ct_now();
  for(int w = 0; w < writers; w++){
    int p[2];
    if(pipe(p)) return 1;
    fflush(NULL);
    pids[w] = fork();
    if(pids[w] == 0){
      close(p[0]);
      ct_writer(name, params, mix, w + 1, txns, p[1]);
    }
    close(p[1]);
    fds[w] = p[0];
  }
  ct_report sum;
  memset(&sum, 0, sizeof sum);
  for(int w = 0; w < writers; w++){
    ct_report r;
    if(read(fds[w], &r, sizeof r) != (ssize_t)sizeof r) r.failed = 1;
    close(fds[w]);
    int st;
    waitpid(pids[w], &st, 0);
    sum.commits += r.commits;
    sum.conflicts += r.conflicts;
    sum.conflicted += r.conflicted;
    sum.rebases += r.rebases;
    sum.failed |= r.failed;
  }
  double secs = ct_now() - t0;
  printf("mix=%c writers=%d txns=%llu seconds=%.1f commits_per_s=%.1f "
         "conflicts=%llu conflicted_pct=%.1f rebases=%llu%s\n", mix, writers,
         (unsigned long long)sum.commits, secs,
         secs > 0 ? (double)sum.commits / secs : 0.0,
         (unsigned long long)sum.conflicts,
         sum.commits ? 100.0 * (double)sum.conflicted / (double)sum.commits
                     : 0.0,
         (unsigned long long)sum.rebases, sum.failed ? " FAILED" : "");
  return sum.failed;
}
