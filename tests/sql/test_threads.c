/*
** test_threads.c: SQLite may call the VFS from several threads. Four
** threads, each with its own connection to one database, make 100
** increments each (BEGIN IMMEDIATE; UPDATE; COMMIT, retrying on BUSY):
** the counter must end at 400 with exactly 400 new versions and a sound
** database. Run under ASan/UBSan and valgrind by the suite, this also
** checks that no state is shared between threads without a lock.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

#define N_THREAD 4
#define N_INCR 100

/* The work of one thread. */
typedef struct thread_job {
  const char *name;          /* database */
  int id;                    /* thread number */
  int failed;                /* set on an unexpected error */
  long retries;              /* commits lost to another thread */
} thread_job;

/* thread_main makes N_INCR increments through its own connection. */
static void *thread_main(void *arg){
  thread_job *job = arg;
  sqlite3 *db = tdb_open(job->name, NULL);
  unsigned seed = (unsigned)job->id * 7919u;
  if(!db){ job->failed = 1; return NULL; }
  sqlite3_busy_timeout(db, 10000);   /* local locks: queue, do not spin */
  for(int i = 0; i < N_INCR && !job->failed; i++){
    for(int attempt = 0;; attempt++){
      int rc = tdb_exec_quiet(db, "BEGIN IMMEDIATE");
      if(rc == SQLITE_OK) rc = tdb_exec_quiet(db, "UPDATE counter SET n = n + 1");
      if(rc == SQLITE_OK) rc = tdb_exec_quiet(db, "COMMIT");
      if(rc == SQLITE_OK) break;
      if(!sqlite3_get_autocommit(db)) tdb_exec_quiet(db, "ROLLBACK");
      if((rc & 0xff) != SQLITE_BUSY || attempt > 10000){
        printf("# thread %d: error %d: %s\n", job->id, rc, sqlite3_errmsg(db));
        job->failed = 1;
        break;
      }
      job->retries++;
      usleep((useconds_t)(rand_r(&seed) % 500));
    }
  }
  sqlite3_close(db);
  return NULL;
}

/* threads_counter runs the threads and checks the result. */
static void threads_counter(void){
  char *name = tdb_name("threads");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE counter(n); INSERT INTO counter VALUES(0)"),
           SQLITE_OK);
  int64_t base = tdb_version(db);
  sqlite3_close(db);
  pthread_t th[N_THREAD];
  thread_job jobs[N_THREAD];
  for(int i = 0; i < N_THREAD; i++){
    jobs[i] = (thread_job){ name, i, 0, 0 };
    CHECK_EQ(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
  }
  long retries = 0;
  for(int i = 0; i < N_THREAD; i++){
    pthread_join(th[i], NULL);
    CHECK(!jobs[i].failed);
    retries += jobs[i].retries;
  }
  printf("# %d threads x %d increments, %ld retries\n", N_THREAD, N_INCR,
         retries);
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT n FROM counter"), N_THREAD * N_INCR);
    CHECK_EQ(tdb_version(db), base + N_THREAD * N_INCR);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  free(name);
}

/* main runs the case. Returns 0 if it passed. */
int main(void){
  if(tdb_init() != 0 || !sqlite3_threadsafe()){
    printf("not ok - init\n");
    return 1;
  }
  RUN(threads_counter);
  return CHECK_DONE();
}
