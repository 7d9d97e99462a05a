/*
** test_rebase.c: page-level rebase of commits that lost their race
** (vfs/rebase.c). Writers "on other machines" share no local lock
** (tdb_elsewhere), so they overlap as on separate hosts.
**
**   disjoint_tables    A updates table a inside a transaction while B
**                      commits to table b: A's COMMIT succeeds, rebased
**                      (one rebase counted) in 5 round trips (the lost
**                      attempt 2, the winner's record 1, the commit again
**                      2: the winner's page 1 is not fetched), and the
**                      newest version has both changes;
**   same_row           both update one row: the later gets
**                      SQLITE_BUSY_SNAPSHOT, nothing is rebased;
**   read_dependency    A reads a row of table b, then writes table a; B
**                      changes that row: A's commit is a conflict (the read
**                      set), not a rebase;
**   schema_change      B creates a table: A conflicts (page 1 changed);
**   read_before_checkpoint  A reads a row of table b and keeps it in
**                      SQLite's cache; s3page_checkpoint makes a version
**                      that leaves page 1 as it was (so SQLite keeps that
**                      cache when A's view moves to it); A then writes
**                      table a from that cached row while B changes it:
**                      A's commit is a conflict, not a rebase;
**   rebase_off         rebase=0 keeps the old behaviour (conflict);
**   guard              a statement of A that began before its rebased
**                      commit is still stepping: A cannot write until it
**                      ends; after that, A sees B's change;
**   failed_rebased_attempt  a statement of A that began before A's COMMIT
**                      is still stepping; A's commit is rebased, then the
**                      attempt on top of the winners fails (A's store is
**                      slow and another writer commits all the time, so A
**                      keeps losing until it gives up):
**                      until that statement ends, A's writes are refused
**                      (SQLITE_BUSY), never acknowledged and dropped, and
**                      after it ends they commit;
**   counter_exact      4 writers increment one counter row through
**                      s3page_transaction: the count is exact, conflicts
**                      were retried, none was rebased (every winner
**                      changed the page each transaction read);
**   faults_and_kill    3 writer processes (other machines) on a store
**                      that fails 10% of operations and loses 5% of
**                      replies, each transaction inserting its own id
**                      into the writer's table and incrementing a random
**                      row of a shared one (so most races rebase), killed
**                      with SIGKILL at a random moment, several rounds:
**                      integrity_check passes, every acknowledged id is
**                      there exactly once, and the shared increments equal
**                      the ids committed (no transaction half or twice);
**   lost_race_stamps   A's commit skips uploading a page whose content
**                      its cache knows from 9 minutes ago (the library
**                      clock is shifted), loses, and the rebase finds a
**                      conflict; 7 minutes later gc (grace 15 minutes)
**                      deletes that page object, no kept version using
**                      it; A then commits the same content again: the
**                      losing attempt must not have made the old
**                      knowledge look new, so the page is uploaded and
**                      the new version reads;
**   serial_replay      W writers (threads, one "machine" each) run random
**                      transactions over three tables (updates, reads that
**                      feed writes, inserts, deletes); every commit's SQL
**                      is logged with its version, then replayed in version
**                      order on a plain SQLite database: after every
**                      version the content equals that version's
**                      (S3PAGE_REBASE_STEPS transactions per writer, 40 by
**                      default, 15 with S3PAGE_TEST_QUICK=1 or on S3;
**                      `make rebase-torture` runs 500).
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/db.h"

/* setup makes name with tables a and b of rows rows each (300-byte values,
** so each table spans several pages). Returns 0 on success. */
static int setup(const char *name, int rows){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return 1;
  int rc = tdb_execf(db, "PRAGMA page_size=4096;"
                     "CREATE TABLE a(id INTEGER PRIMARY KEY, v INTEGER, p TEXT);"
                     "CREATE TABLE b(id INTEGER PRIMARY KEY, v INTEGER, p TEXT);"
                     "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
                     "FROM c WHERE i < %d) INSERT INTO a SELECT i, 0, "
                     "printf('%%300d', i) FROM c;"
                     "INSERT INTO b SELECT * FROM a;", rows);
  sqlite3_close(db);
  return rc != SQLITE_OK;
}

/* open_elsewhere opens name as from another machine. */
static sqlite3 *open_elsewhere(const char *name, const char *extra){
  char *e = tdb_elsewhere(), *params = NULL;
  if(asprintf(&params, "%s%s%s", e, extra ? "&" : "", extra ? extra : "") < 0){
    abort();
  }
  sqlite3 *db = tdb_open(name, params);
  free(e);
  free(params);
  return db;
}

/* run_elsewhere runs sql on name in a child process (its own caches, as on
** another machine). Returns 0 if it succeeded. */
static int run_elsewhere(const char *name, const char *sql){
  fflush(stdout);
  pid_t pid = fork();
  if(pid == 0){
    sqlite3 *b = open_elsewhere(name, NULL);
    _exit(b && tdb_exec(b, sql) == SQLITE_OK ? 0 : 1);
  }
  int st = 0;
  if(pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* rebases returns the rebases counted on db. */
static uint64_t rebases(sqlite3 *db){
  s3page_stats s;
  return tdb_stats(db, &s) ? UINT64_MAX : s.n_rebase;
}

/* race runs A's transaction sql_a (BEGIN ... without COMMIT) on name, then
** B's autocommit sql_b from another machine, then A's COMMIT, with A's
** extra URI parameters. Returns A's COMMIT code; *rb gets A's rebases. */
static uint64_t race_round_trips;    /* of A's last COMMIT in race() */
static int race(const char *name, const char *extra, const char *sql_a,
                const char *sql_b, uint64_t *rb){
  sqlite3 *a = open_elsewhere(name, extra);
  int rc = -1;
  *rb = UINT64_MAX;
  if(a && tdb_exec(a, sql_a) == SQLITE_OK && run_elsewhere(name, sql_b) == 0){
    s3page_stats before, after;
    int ok = s3page_stats_get(a, "main", &before) == SQLITE_OK;
    rc = tdb_exec_quiet(a, "COMMIT");
    ok = ok && s3page_stats_get(a, "main", &after) == SQLITE_OK;
    race_round_trips = ok ? after.round_trips - before.round_trips : 0;
    if(rc != SQLITE_OK) tdb_exec_quiet(a, "ROLLBACK");
    *rb = rebases(a);
  }
  sqlite3_close(a);
  return rc;
}

/* disjoint_tables: see the top comment. */
static void disjoint_tables(void){
  char *name = tdb_name("rbdisjoint");
  CHECK_EQ(setup(name, 200), 0);
  int64_t base = -1;
  sqlite3 *s0 = tdb_open(name, NULL);
  if(s0){ base = tdb_version(s0); sqlite3_close(s0); }
  uint64_t rb;
  int rc = race(name, NULL, "BEGIN; UPDATE a SET v = 7 WHERE id = 150",
                "UPDATE b SET v = 9 WHERE id = 20", &rb);
  CHECK_EQ(rc, SQLITE_OK);
  CHECK_EQ(rb, 1);
  /* The lost attempt (2), the winner's record (1: its page 1 is known
  ** from its hash, rebase_guess_page1), the commit again (2). */
  printf("# rebased COMMIT: %llu round trips\n",
         (unsigned long long)race_round_trips);
  CHECK_EQ(race_round_trips, 5);
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT v FROM a WHERE id = 150"), 7);
    CHECK_EQ(tdb_int(db, "SELECT v FROM b WHERE id = 20"), 9);
    CHECK_EQ(tdb_int(db, "SELECT sum(v) FROM a") +
             tdb_int(db, "SELECT sum(v) FROM b"), 16);
    CHECK(tdb_integrity_ok(db));
    CHECK_EQ(tdb_version(db), base + 2);   /* B, then A on top */
    sqlite3_close(db);
  }
  free(name);
}

/* same_row: see the top comment. */
static void same_row(void){
  char *name = tdb_name("rbsame");
  CHECK_EQ(setup(name, 200), 0);
  uint64_t rb;
  int rc = race(name, NULL, "BEGIN; UPDATE a SET v = v + 1 WHERE id = 150",
                "UPDATE a SET v = v + 1 WHERE id = 150", &rb);
  CHECK_EQ(rc, SQLITE_BUSY_SNAPSHOT);
  CHECK_EQ(rb, 0);
  sqlite3 *db = tdb_open(name, NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT v FROM a WHERE id = 150"), 1);
    sqlite3_close(db);
  }
  free(name);
}

/* read_dependency: see the top comment. */
static void read_dependency(void){
  char *name = tdb_name("rbread");
  CHECK_EQ(setup(name, 200), 0);
  uint64_t rb;
  int rc = race(name, NULL, "BEGIN; UPDATE a SET v = (SELECT v FROM b WHERE "
                "id = 20) + 1 WHERE id = 150",
                "UPDATE b SET v = 5 WHERE id = 20", &rb);
  CHECK_EQ(rc, SQLITE_BUSY_SNAPSHOT);
  CHECK_EQ(rb, 0);
  sqlite3 *db = tdb_open(name, NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT v FROM a WHERE id = 150"), 0);
    sqlite3_close(db);
  }
  free(name);
}

/* schema_change: see the top comment. */
static void schema_change(void){
  char *name = tdb_name("rbschema");
  CHECK_EQ(setup(name, 200), 0);
  uint64_t rb;
  int rc = race(name, NULL, "BEGIN; UPDATE a SET v = 1 WHERE id = 150",
                "CREATE TABLE z(x)", &rb);
  CHECK_EQ(rc, SQLITE_BUSY_SNAPSHOT);
  CHECK_EQ(rb, 0);
  free(name);
}

/* read_before_checkpoint: see the top comment. */
static void read_before_checkpoint(void){
  char *name = tdb_name("rbckpt");
  CHECK_EQ(setup(name, 200), 0);
  sqlite3 *a = open_elsewhere(name, NULL), *b = open_elsewhere(name, NULL);
  CHECK(a && b);
  if(a && b){
    CHECK_EQ(tdb_int(a, "SELECT v FROM b WHERE id = 20"), 0);   /* cached */
    uint64_t cv = 0;
    int created = 0;
    char *err = NULL;
    CHECK_EQ(s3page_checkpoint(name, &cv, &created, &err), SQLITE_OK);
    CHECK_EQ(created, 1);
    sqlite3_free(err);
    CHECK_EQ(tdb_exec(a, "BEGIN; UPDATE a SET v = (SELECT v FROM b WHERE "
                      "id = 20) + 1 WHERE id = 150"), SQLITE_OK);
    CHECK_EQ(tdb_exec(b, "UPDATE b SET v = 5 WHERE id = 20"), SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(a, "COMMIT"), SQLITE_BUSY_SNAPSHOT);
    tdb_exec_quiet(a, "ROLLBACK");
    CHECK_EQ(rebases(a), 0);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  sqlite3 *db = tdb_open(name, NULL);
  if(db){
    /* Serial: 0 (A conflicted) or 6 (A after B); never B's 5 with A's 1. */
    int64_t av = tdb_int(db, "SELECT v FROM a WHERE id = 150");
    CHECK(av == 0 || av == 6);
    sqlite3_close(db);
  }
  free(name);
}

/* rebase_off: see the top comment. */
static void rebase_off(void){
  char *name = tdb_name("rboff");
  CHECK_EQ(setup(name, 200), 0);
  uint64_t rb;
  int rc = race(name, "rebase=0", "BEGIN; UPDATE a SET v = 7 WHERE id = 150",
                "UPDATE b SET v = 9 WHERE id = 20", &rb);
  CHECK_EQ(rc, SQLITE_BUSY_SNAPSHOT);
  CHECK_EQ(rb, 0);
  free(name);
}

/* guard: see the top comment. */
static void guard(void){
  char *name = tdb_name("rbguard");
  CHECK_EQ(setup(name, 200), 0);
  sqlite3 *a = open_elsewhere(name, NULL), *b = open_elsewhere(name, NULL);
  CHECK(a && b);
  if(a && b){
    sqlite3_stmt *st = NULL;
    CHECK_EQ(sqlite3_prepare_v2(a, "SELECT id FROM a ORDER BY id", -1, &st,
                                NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_step(st), SQLITE_ROW);      /* holds SHARED */
    CHECK_EQ(tdb_exec(a, "BEGIN; UPDATE a SET v = 7 WHERE id = 150"),
             SQLITE_OK);
    CHECK_EQ(tdb_exec(b, "UPDATE b SET v = 9 WHERE id = 20"), SQLITE_OK);
    CHECK_EQ(tdb_exec(a, "COMMIT"), SQLITE_OK);
    CHECK_EQ(rebases(a), 1);
    /* Still inside the statement's read: no write. */
    CHECK_EQ(tdb_exec_quiet(a, "UPDATE a SET v = 8 WHERE id = 151"),
             SQLITE_BUSY);
    sqlite3_finalize(st);
    CHECK_EQ(tdb_exec(a, "UPDATE a SET v = 8 WHERE id = 151"), SQLITE_OK);
    CHECK_EQ(tdb_int(a, "SELECT v FROM b WHERE id = 20"), 9);
    CHECK_EQ(tdb_int(a, "SELECT sum(v) FROM a"), 15);
    CHECK(tdb_integrity_ok(a));
  }
  sqlite3_close(a);
  sqlite3_close(b);
  free(name);
}

/* What the hammering writer of failed_rebased_attempt shares. */
typedef struct hammer_state {
  const char *name;          /* the database */
  _Atomic int stop;          /* set when it should stop */
  _Atomic int commits;       /* commits it made */
} hammer_state;

/* hammer_run commits changes to table b until told to stop. */
static void *hammer_run(void *arg){
  hammer_state *h = arg;
  sqlite3 *db = open_elsewhere(h->name, NULL);
  for(int i = 0; db && !h->stop; i++){
    char sql[96];
    snprintf(sql, sizeof sql, "UPDATE b SET v = v + 1 WHERE id = %d",
             1 + i % 200);
    if(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) h->commits++;
    tdb_sleep_ms(15);        /* fewer versions than a rebase may skip */
  }
  sqlite3_close(db);
  return NULL;
}

/* failed_rebased_attempt: see the top comment. */
static void failed_rebased_attempt(void){
  char *name = tdb_name("rbfailed");
  CHECK_EQ(setup(name, 200), 0);
  setenv("S3PAGE_ALLOW_FAULTS", "1", 1);
  int found = 0;
  for(int round = 0; round < 5 && !found; round++){
    /* A's store answers slowly, so the hammering writer keeps winning
    ** the version A's rebased attempt goes for, until A gives up. */
    sqlite3 *a = open_elsewhere(name, "fault=delay_ms=60");
    sqlite3_stmt *st = NULL;
    int64_t v150 = INT64_MIN;        /* before the round (a round whose
                                     ** COMMIT won leaves it higher) */
    sqlite3 *c0 = open_elsewhere(name, NULL);
    if(c0) v150 = tdb_int(c0, "SELECT v FROM a WHERE id = 150");
    sqlite3_close(c0);
    int ok = a && sqlite3_prepare_v2(a, "SELECT id FROM a ORDER BY id", -1,
                                     &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW &&
             tdb_exec(a, "BEGIN; UPDATE a SET v = v + 1 WHERE id = 150") ==
               SQLITE_OK;
    hammer_state h;
    memset(&h, 0, sizeof h);
    h.name = name;
    pthread_t th;
    pthread_create(&th, NULL, hammer_run, &h);
    while(ok && h.commits == 0) tdb_sleep_ms(5);
    int rc = ok ? tdb_exec_quiet(a, "COMMIT") : SQLITE_ERROR;
    h.stop = 1;
    pthread_join(th, NULL);
    if(ok && rc != SQLITE_OK && rebases(a) > 0){
      /* Rebased, then failed: SQLite rolled back and still reads. */
      found = 1;
      tdb_exec_quiet(a, "ROLLBACK");
      int wrc = tdb_exec_quiet(a, "UPDATE a SET v = 1000 WHERE id = 151");
      CHECK(wrc == SQLITE_OK || wrc == SQLITE_BUSY);
      sqlite3_finalize(st);
      st = NULL;
      if(wrc != SQLITE_OK){
        CHECK_EQ(tdb_exec(a, "UPDATE a SET v = 1000 WHERE id = 151"),
                 SQLITE_OK);
      }
      /* Acknowledged: it must be there. */
      sqlite3 *c = open_elsewhere(name, NULL);
      if(c){
        CHECK_EQ(tdb_int(c, "SELECT v FROM a WHERE id = 151"), 1000);
        CHECK_EQ(tdb_int(c, "SELECT v FROM a WHERE id = 150"), v150);
        CHECK(tdb_integrity_ok(c));
      }
      sqlite3_close(c);
    }else if(a){
      printf("# round %d: COMMIT gave %d after %llu rebases: %s\n", round,
             rc, (unsigned long long)rebases(a), sqlite3_errmsg(a));
      tdb_exec_quiet(a, "ROLLBACK");
    }
    sqlite3_finalize(st);
    sqlite3_close(a);
  }
  unsetenv("S3PAGE_ALLOW_FAULTS");
  CHECK(found);
  free(name);
}

/* What a counter writer shares. */
typedef struct ctr_state {
  const char *name;          /* the database */
  int per_writer;            /* increments each */
  _Atomic int failed;        /* an increment did not commit */
  _Atomic uint64_t attempts; /* runs of the transaction body */
  _Atomic uint64_t rebased;  /* rebases counted */
} ctr_state;

/* ctr_body is the transaction: read the counter, write it plus one. */
static int ctr_body(sqlite3 *db, void *arg){
  (void)arg;
  int64_t n = tdb_int(db, "SELECT n FROM counter");
  if(n < 0) return SQLITE_BUSY;        /* the read itself was refused */
  char sql[64];
  snprintf(sql, sizeof sql, "UPDATE counter SET n = %lld", (long long)n + 1);
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* ctr_run is a counter writer thread. */
static void *ctr_run(void *arg){
  ctr_state *c = arg;
  sqlite3 *db = open_elsewhere(c->name, NULL);
  if(!db){ c->failed = 1; return NULL; }
  s3page_retry r = { 200, 2, 50 };
  for(int i = 0; i < c->per_writer; i++){
    int tries = 0;
    int rc = s3page_transaction(db, ctr_body, NULL, &r, &tries);
    c->attempts += (uint64_t)tries;
    if(rc != SQLITE_OK){
      printf("# increment: %s (%d)\n", sqlite3_errmsg(db), rc);
      c->failed = 1;
      break;
    }
  }
  c->rebased += rebases(db);
  sqlite3_close(db);
  return NULL;
}

/* counter_exact: see the top comment. */
static void counter_exact(void){
  char *name = tdb_name("rbcounter");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE counter(n INTEGER);"
                        "INSERT INTO counter VALUES(0)"), SQLITE_OK);
  ctr_state c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.per_writer = tdb_quick() ? 10 : 25;
  pthread_t th[4];
  for(int i = 0; i < 4; i++) pthread_create(&th[i], NULL, ctr_run, &c);
  for(int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  CHECK_EQ(c.failed, 0);
  CHECK_EQ(tdb_int(db, "SELECT n FROM counter"), 4 * c.per_writer);
  printf("# %d increments in %llu runs, %llu rebased\n", 4 * c.per_writer,
         (unsigned long long)c.attempts, (unsigned long long)c.rebased);
  CHECK(c.attempts > (uint64_t)(4 * c.per_writer));   /* conflicts retried */
  CHECK_EQ(c.rebased, 0);
  sqlite3_close(db);
  free(name);
}

/* fk_child is a writer process of faults_and_kill: transactions with ids
** tag*100000+1, ... on name with params; writes each acknowledged id to
** fd. Never returns. */
static void fk_child(const char *name, const char *params, int tag, int fd){
  sqlite3 *db = tdb_open_ex(name, params, SQLITE_OPEN_READWRITE, 1, NULL);
  if(!db) _exit(2);
  unsigned seed = (unsigned)getpid();
  for(int k = 1; k < 100000; k++){
    int id = tag * 100000 + k;
    char sql[256];
    snprintf(sql, sizeof sql, "BEGIN; INSERT INTO m%d(id) VALUES(%d); "
             "UPDATE t SET v = v + 1 WHERE id = %d; COMMIT", tag, id,
             1 + rand_r(&seed) % 300);
    if(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK){
      s3page_stats ss;
      int msg[2] = { id, 0 };
      if(s3page_stats_get(db, "main", &ss) == SQLITE_OK) msg[1] = (int)ss.n_rebase;
      if(write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) _exit(4);
    }else{
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
  }
  _exit(0);
}

/* faults_and_kill: see the top comment. */
static void faults_and_kill(void){
  char *name = tdb_name("rbfaults");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "PRAGMA page_size=4096;"
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, p);"
                        "CREATE TABLE m1(id INTEGER PRIMARY KEY);"
                        "CREATE TABLE m2(id INTEGER PRIMARY KEY);"
                        "CREATE TABLE m3(id INTEGER PRIMARY KEY);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
                        "FROM c WHERE i < 300) INSERT INTO t SELECT i, 0, "
                        "printf('%200d', i) FROM c"), SQLITE_OK);
  sqlite3_close(db);
  setenv("S3PAGE_ALLOW_FAULTS", "1", 1);
  int rounds = tdb_quick() ? 2 : 4;
  int *acked = NULL;
  size_t nacked = 0, capacked = 0;
  unsigned seed = (unsigned)time(NULL);
  uint64_t rebased = 0;
  for(int r = 0; r < rounds; r++){
    pid_t pid[3];
    int fd[3];
    for(int c = 0; c < 3; c++){
      char *e = tdb_elsewhere(), params[512];
      snprintf(params, sizeof params, "%s&fault=rate=0.1,lost=0.05,seed=%d",
               e, r * 3 + c + 1);
      free(e);
      int pp[2];
      if(pipe(pp) != 0) abort();
      fflush(stdout);
      pid[c] = fork();
      if(pid[c] == 0){
        close(pp[0]);
        fk_child(name, params, c + 1, pp[1]);
      }
      close(pp[1]);
      fd[c] = pp[0];
    }
    tdb_sleep_ms(300 + (int)(rand_r(&seed) % 1200));
    for(int c = 0; c < 3; c++) kill(pid[c], SIGKILL);
    for(int c = 0; c < 3; c++){
      int st = 0;
      waitpid(pid[c], &st, 0);
      /* Killed, or its open failed under the injected faults (2). */
      if(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)){
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
      }
      int msg[2], most = 0;
      while(read(fd[c], msg, sizeof msg) == (ssize_t)sizeof msg){
        int id = msg[0];
        if(msg[1] > most) most = msg[1];
        if(nacked == capacked){
          capacked = capacked ? capacked * 2 : 256;
          acked = realloc(acked, capacked * sizeof *acked);
          if(!acked) abort();
        }
        acked[nacked++] = id;
      }
      rebased += (uint64_t)most;
      close(fd[c]);
    }
  }
  unsetenv("S3PAGE_ALLOW_FAULTS");
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK(tdb_integrity_ok(db));
    int64_t ids = tdb_int(db, "SELECT (SELECT count(*) FROM m1) + (SELECT "
                              "count(*) FROM m2) + (SELECT count(*) FROM m3)");
    int64_t incs = tdb_int(db, "SELECT sum(v) FROM t");
    printf("# %zu acknowledged (%llu of them rebased), %lld committed, %lld "
           "increments\n", nacked, (unsigned long long)rebased,
           (long long)ids, (long long)incs);
    CHECK(rebased > 0);
    CHECK_EQ(ids, incs);
    CHECK(ids >= (int64_t)nacked);
    size_t missing = 0;
    for(size_t i = 0; i < nacked; i++){
      char q[128];
      snprintf(q, sizeof q, "SELECT count(*) FROM m%d WHERE id = %d",
               acked[i] / 100000, acked[i]);
      if(tdb_int(db, q) != 1) missing++;
    }
    CHECK_EQ(missing, 0);
    sqlite3_close(db);
  }
  free(acked);
  free(name);
}

/* One committed transaction of serial_replay. */
typedef struct sr_commit {
  uint64_t version;          /* the version it made (or read, if noop) */
  int noop;                  /* it changed nothing: no version was made */
  int rebased;               /* its commit was rebased */
  int writer;                /* which writer ran it */
  char *sql;                 /* its statements */
} sr_commit;

/* What the writers of serial_replay share. */
typedef struct sr_writer sr_writer;
typedef struct sr_state {
  const char *name;          /* the database */
  sr_writer *ws;             /* the writers (for reports) */
  int steps;                 /* transactions per writer */
  pthread_mutex_t mu;        /* guards the fields below */
  sr_commit *log;            /* committed transactions */
  size_t nlog, caplog;       /* entries / room */
  uint64_t conflicts;        /* BUSY_SNAPSHOT returned to writers */
  uint64_t rebased;          /* rebases counted */
  int failed;                /* an unexpected error */
} sr_state;

/* A writer of serial_replay. */
struct sr_writer {
  sr_state *st;              /* shared state */
  unsigned seed;             /* its random sequence */
};

/* sr_txn writes into buf (size n) a random transaction's statements. */
static void sr_txn(unsigned *seed, char *buf, size_t n){
  static const char *const tab[] = { "a", "b", "c" };
  size_t len = 0;
  int k = 1 + rand_r(seed) % 3;
  for(int i = 0; i < k; i++){
    const char *t = tab[rand_r(seed) % 3], *u = tab[rand_r(seed) % 3];
    int id = 1 + rand_r(seed) % 120, id2 = 1 + rand_r(seed) % 120;
    switch(rand_r(seed) % 8){
      case 0:
        len += (size_t)snprintf(buf + len, n - len, "INSERT INTO %s(v, p) "
                                "VALUES(%d, printf('%%200d', %d));", t, id,
                                id2);
        break;
      case 1:
        len += (size_t)snprintf(buf + len, n - len, "DELETE FROM %s WHERE "
                                "id = %d;", t, id);
        break;
      case 2: case 3:
        len += (size_t)snprintf(buf + len, n - len, "UPDATE %s SET v = "
                                "(SELECT coalesce(sum(v), 0) FROM %s WHERE id "
                                "= %d) + 1 WHERE id = %d;", t, u, id2, id);
        break;
      default:
        len += (size_t)snprintf(buf + len, n - len, "UPDATE %s SET v = v + %d "
                                "WHERE id = %d;", t, 1 + rand_r(seed) % 9, id);
        break;
    }
  }
}

/* sr_run is a writer thread: steps transactions, each retried on
** SQLITE_BUSY_SNAPSHOT until it commits; each commit is logged with the
** version it made. */
static void *sr_run(void *arg){
  sr_writer *w = arg;
  sr_state *st = w->st;
  sqlite3 *db = open_elsewhere(st->name, NULL);
  if(!db){ st->failed = 1; return NULL; }
  char sql[1024], txn[1200];
  for(int i = 0; i < st->steps && !st->failed; i++){
    sr_txn(&w->seed, sql, sizeof sql);
    snprintf(txn, sizeof txn, "BEGIN; %s COMMIT;", sql);
    s3page_stats before;
    if(s3page_stats_get(db, "main", &before) != SQLITE_OK) st->failed = 1;
    for(int attempt = 0; ; attempt++){
      int rc = tdb_exec_quiet(db, txn);
      if(rc == SQLITE_OK) break;
      tdb_exec_quiet(db, "ROLLBACK");
      if((rc & 0xff) != SQLITE_BUSY || attempt > 200){
        printf("# writer: %s: %s (%d)\n", txn, sqlite3_errmsg(db), rc);
        st->failed = 1;
        break;
      }
      pthread_mutex_lock(&st->mu);
      st->conflicts++;
      pthread_mutex_unlock(&st->mu);
      usleep((useconds_t)(rand_r(&w->seed) % 2000));
    }
    if(st->failed) break;
    /* The version this commit made: the view as the commit left it (a
    ** file control takes no lock, so the view has not moved on). */
    s3page_stats ss;
    uint64_t v = s3page_stats_get(db, "main", &ss) == SQLITE_OK ? ss.version : 0;
    pthread_mutex_lock(&st->mu);
    if(st->nlog == st->caplog){
      st->caplog = st->caplog ? st->caplog * 2 : 64;
      st->log = realloc(st->log, st->caplog * sizeof *st->log);
      if(!st->log) abort();
    }
    st->log[st->nlog].version = v;
    st->log[st->nlog].noop = ss.n_commit == before.n_commit;
    st->log[st->nlog].rebased = ss.n_rebase != before.n_rebase;
    st->log[st->nlog].writer = (int)(w - w->st->ws);
    st->log[st->nlog].sql = strdup(sql);
    st->nlog++;
    pthread_mutex_unlock(&st->mu);
  }
  pthread_mutex_lock(&st->mu);
  st->rebased += rebases(db);
  pthread_mutex_unlock(&st->mu);
  sqlite3_close(db);
  return NULL;
}

/* sr_cmp orders log entries by version. */
static int sr_cmp(const void *x, const void *y){
  const sr_commit *a = x, *b = y;
  if(a->version != b->version) return a->version < b->version ? -1 : 1;
  return a->noop - b->noop;            /* the version's maker first */
}

/* The content of the three tables, as one text. */
#define SR_CONTENT "SELECT group_concat(x, ';') FROM (" \
  "SELECT 'a' || id || ',' || v || ',' || p AS x FROM a UNION ALL " \
  "SELECT 'b' || id || ',' || v || ',' || p FROM b UNION ALL " \
  "SELECT 'c' || id || ',' || v || ',' || p FROM c)"

/* serial_replay: see the top comment. */
static void serial_replay(void){
  char *name = tdb_name("rbreplay");
  const char *init = "CREATE TABLE a(id INTEGER PRIMARY KEY, v INTEGER, p TEXT);"
    "CREATE TABLE b(id INTEGER PRIMARY KEY, v INTEGER, p TEXT);"
    "CREATE TABLE c(id INTEGER PRIMARY KEY, v INTEGER, p TEXT);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < "
    "120) INSERT INTO a SELECT i, 0, printf('%200d', i) FROM n;"
    "INSERT INTO b SELECT * FROM a; INSERT INTO c SELECT * FROM a;";
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "PRAGMA page_size=4096"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, init), SQLITE_OK);
  uint64_t base = (uint64_t)tdb_version(db);
  sqlite3_close(db);
  sr_state st;
  memset(&st, 0, sizeof st);
  st.name = name;
  const char *e = getenv("S3PAGE_REBASE_STEPS");
  st.steps = e && *e ? atoi(e) : tdb_quick() || tdb_on_s3() ? 15 : 40;
  pthread_mutex_init(&st.mu, NULL);
  enum { W = 4 };
  pthread_t th[W];
  sr_writer w[W];
  st.ws = w;
  unsigned seed = (unsigned)time(NULL);
  const char *se = getenv("S3PAGE_TEST_SEED");
  if(se && *se) seed = (unsigned)strtoul(se, NULL, 10);
  printf("# seed %u (S3PAGE_TEST_SEED repeats it)\n", seed);
  for(int i = 0; i < W; i++){
    w[i].st = &st;
    w[i].seed = seed * 31u + (unsigned)i;
    pthread_create(&th[i], NULL, sr_run, &w[i]);
  }
  for(int i = 0; i < W; i++) pthread_join(th[i], NULL);
  CHECK_EQ(st.failed, 0);
  CHECK_EQ(st.nlog, (size_t)W * (size_t)st.steps);
  printf("# %zu commits, %llu conflicts returned, %llu rebased\n", st.nlog,
         (unsigned long long)st.conflicts, (unsigned long long)st.rebased);
  qsort(st.log, st.nlog, sizeof *st.log, sr_cmp);
  /* Each version made once, consecutively after the set-up. */
  uint64_t made = base, noops = 0;
  for(size_t i = 0; i < st.nlog; i++){
    if(st.log[i].noop){ noops++; continue; }
    if(st.log[i].version != made + 1){
      CHECK_EQ(st.log[i].version, made + 1);
      break;
    }
    made++;
  }
  printf("# %llu transactions changed nothing\n", (unsigned long long)noops);
  sqlite3 *plain = NULL;
  CHECK_EQ(sqlite3_open_v2(":memory:", &plain, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, "unix"), SQLITE_OK);
  CHECK_EQ(tdb_exec(plain, init), SQLITE_OK);
  int mismatches = 0;
  for(size_t i = 0; i < st.nlog && mismatches < 3; i++){
    CHECK_EQ(tdb_exec(plain, st.log[i].sql), SQLITE_OK);
    char params[64];
    snprintf(params, sizeof params, "version=%llu",
             (unsigned long long)st.log[i].version);
    sqlite3 *at = tdb_open(name, params);
    char *want = tdb_text(plain, SR_CONTENT), *got = at ? tdb_text(at, SR_CONTENT)
                                                    : NULL;
    if(!want || !got || strcmp(want, got)){
      mismatches++;
      printf("# version %llu differs from the serial replay (%s)\n",
             (unsigned long long)st.log[i].version, st.log[i].sql);
      if(want && got){
        /* Where: the first row that differs, both ways. */
        size_t k = 0;
        while(want[k] && want[k] == got[k]) k++;
        while(k && want[k - 1] != ';') k--;
        printf("#   replay: %.60s\n#   stored: %.60s\n", want + k, got + k);
        for(size_t j = i >= 4 ? i - 4 : 0; j <= i; j++){
          printf("#   v%llu writer %d%s%s: %s\n",
                 (unsigned long long)st.log[j].version, st.log[j].writer,
                 st.log[j].rebased ? " rebased" : "",
                 st.log[j].noop ? " noop" : "", st.log[j].sql);
        }
      }
    }
    free(want);
    free(got);
    sqlite3_close(at);
  }
  CHECK_EQ(mismatches, 0);
  db = tdb_open(name, NULL);
  if(db){
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  sqlite3_close(plain);
  for(size_t i = 0; i < st.nlog; i++) free(st.log[i].sql);
  free(st.log);
  pthread_mutex_destroy(&st.mu);
  free(name);
}

/* lost_race_stamps: see the top comment. */
static void lost_race_stamps(void){
  const int64_t min = 60 * 1000;
  char *name = tdb_name("rbstamps");
  sqlite3 *s0 = tdb_open(name, NULL);
  CHECK(s0 != NULL);
  if(!s0){ free(name); return; }
  /* One row on one page; same-length values rewrite it in place, so the
  ** page's content comes back exactly when the value does. */
  CHECK_EQ(tdb_exec(s0, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                        "INSERT INTO t VALUES(1, 'aaaa')"), SQLITE_OK);
  sqlite3_close(s0);
  sqlite3 *a = open_elsewhere(name, NULL), *b = open_elsewhere(name, NULL);
  CHECK(a && b);
  int64_t shifted = 0;
  if(a && b){
    CHECK(tdb_text_is(a, "SELECT v FROM t", "aaaa"));   /* A knows P */
    CHECK_EQ(tdb_exec(b, "UPDATE t SET v = 'bbbb'"), SQLITE_OK);
    uint64_t cv = 0;
    int created = 0;
    char *err = NULL;
    CHECK_EQ(s3page_checkpoint(name, &cv, &created, &err), SQLITE_OK);
    sqlite3_free(err);
    shifted += 9 * min;
    s3p_test_clock_shift(9 * min);
    CHECK_EQ(tdb_exec(a, "BEGIN; UPDATE t SET v = 'aaaa'"), SQLITE_OK);
    CHECK_EQ(tdb_exec(b, "UPDATE t SET v = 'cccc'"), SQLITE_OK);
    s3page_stats before, after;
    CHECK_EQ(tdb_stats(a, &before), 0);
    CHECK_EQ(tdb_exec_quiet(a, "COMMIT"), SQLITE_BUSY_SNAPSHOT);
    tdb_exec_quiet(a, "ROLLBACK");
    /* The premise: the row's page came back to content A knew, so only
    ** page 1 was uploaded (and the record's create-if-absent tried). */
    CHECK_EQ(tdb_stats(a, &after), 0);
    CHECK_EQ((after.n_put - after.n_put_new) -
             (before.n_put - before.n_put_new), 1);
    shifted += 7 * min;
    s3p_test_clock_shift(7 * min);
    s3page_gc_opts go;
    memset(&go, 0, sizeof go);
    go.keep_versions = 1;
    go.grace_ms = 15 * min;
    s3page_gc_result gr;
    err = NULL;
    CHECK_EQ(s3page_gc(name, &go, NULL, NULL, &gr, &err), SQLITE_OK);
    if(err) printf("# gc: %s\n", err);
    sqlite3_free(err);
    CHECK(gr.pages_deleted > 0);
    CHECK_EQ(tdb_exec(a, "UPDATE t SET v = 'aaaa'"), SQLITE_OK);
    sqlite3 *c = open_elsewhere(name, NULL);
    CHECK(c && tdb_text_is(c, "SELECT v FROM t", "aaaa"));
    sqlite3_close(c);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  s3p_test_clock_shift(-shifted);
  free(name);
}

int main(void){
  if(tdb_init()) return 1;
  RUN(disjoint_tables);
  RUN(same_row);
  RUN(read_dependency);
  RUN(schema_change);
  RUN(read_before_checkpoint);
  RUN(rebase_off);
  RUN(guard);
  RUN(failed_rebased_attempt);
  RUN(counter_exact);
  RUN(faults_and_kill);
  RUN(serial_replay);
  RUN(lost_race_stamps);
  return CHECK_DONE();
}
