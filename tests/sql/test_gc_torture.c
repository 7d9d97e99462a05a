/*
** test_gc_torture.c: writers, idle connections, long read and write
** transactions and gc runs, interleaved at random with the library clock
** jumping forward (s3p_test_clock_shift) so that gc's grace period passes
** again and again (docs/history.md, "Why gc is safe").
**
** Each acknowledged commit inserts a row (id, prev) where id grows with
** every acknowledgement and prev is the largest id the transaction saw.
** Checked all along:
**   - a read transaction started afresh sees every acknowledged commit;
**   - a read transaction sees one snapshot until it ends, or gets an
**     error saying that gc removed its version while it ran;
**   - a commit either succeeds or fails with SQLITE_BUSY_SNAPSHOT;
** and at the end: the newest version holds exactly the acknowledged rows,
** each row's prev is the id acknowledged just before it (every commit saw
** all earlier ones: no lost update, order kept), PRAGMA integrity_check
** and s3page_verify --all pass.
**
** Steps: 400 (150 with S3PAGE_TEST_QUICK=1 or on S3). With
** S3PAGE_GC_TORTURE_SECS=N it runs for N seconds instead (make gc-torture).
** The seed is printed; S3PAGE_TEST_SEED=N repeats a run.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/db.h"

/* Connections taking part. */
#define NCONN 5
/* Distinct values the toggled rows of table k take (so pages recur). */
#define NVAL 3

/* One connection and what it is doing. */
typedef struct conn {
  sqlite3 *db;               /* the connection, NULL when closed */
  int reading;               /* in a read transaction */
  int64_t snap_rows;         /* rows of t its read transaction sees */
  int writing;               /* in a write transaction, not committed */
  int64_t pending_id;        /* id of the row the write inserted */
  int64_t pending_prev;      /* its prev */
} conn;

static uint64_t rng;         /* xorshift64* state */
static char *dbname;         /* the database */
static int64_t *acked;       /* acknowledged ids, in order */
static size_t nacked, capacked;
static int64_t next_id = 1;  /* id of the next insert */
static int64_t n_busy, n_read_err, n_gc, n_shift;  /* what happened */

/* rnd returns a pseudo-random number below n (n >= 1). */
static uint64_t rnd(uint64_t n){
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (rng * 0x2545F4914F6CDD1DULL) % n;
}

/* ack records that the commit of id succeeded. */
static void ack(int64_t id){
  if(nacked == capacked){
    capacked = capacked ? capacked * 2 : 256;
    acked = realloc(acked, capacked * sizeof *acked);
    if(!acked){ printf("# out of memory\n"); exit(1); }
  }
  acked[nacked++] = id;
}

/* last_acked returns the newest acknowledged id, 0 if none. */
static int64_t last_acked(void){
  return nacked ? acked[nacked - 1] : 0;
}

/* write_rows makes the changes of one transaction of c: a row of t, and
** a row of k set to one of NVAL values (which re-creates old pages).
** *prev gets the largest id seen. Returns the SQLite code. */
static int write_rows(conn *c, int64_t id, int64_t *prev){
  *prev = tdb_int(c->db, "SELECT coalesce(max(id), 0) FROM t");
  if(*prev == INT64_MIN) return SQLITE_ERROR;
  int rc = tdb_execf(c->db, "INSERT INTO t VALUES(%lld, %lld)",
                     (long long)id, (long long)*prev);
  if(rc == SQLITE_OK){
    rc = tdb_execf(c->db, "UPDATE k SET v = printf('%%0500d', %d) WHERE id = %d",
                   (int)rnd(NVAL), (int)rnd(4));
  }
  return rc;
}

/* commit_end handles the outcome rc of committing c's transaction that
** inserted id after prev: acknowledged, or a retryable failure. */
static void commit_end(conn *c, int rc, int64_t id, int64_t prev){
  if(rc == SQLITE_OK){
    CHECK_EQ(prev, last_acked());
    ack(id);
    return;
  }
  if(!sqlite3_get_autocommit(c->db)) tdb_exec_quiet(c->db, "ROLLBACK");
  if(rc == SQLITE_BUSY_SNAPSHOT || rc == SQLITE_BUSY){
    n_busy++;
    return;
  }
  printf("# commit of id %lld failed: %d %s\n", (long long)id, rc,
         sqlite3_errmsg(c->db));
  CHECK(0);
}

/* step_autocommit: one write transaction in one go. */
static void step_autocommit(conn *c){
  int64_t id = next_id++, prev = 0;
  int rc = tdb_exec_quiet(c->db, "BEGIN");
  if(rc == SQLITE_OK) rc = write_rows(c, id, &prev);
  if(rc == SQLITE_OK) rc = tdb_exec_quiet(c->db, "COMMIT");
  commit_end(c, rc, id, prev);
}

/* step_read_begin starts a read transaction, which must see every
** acknowledged commit. */
static void step_read_begin(conn *c){
  CHECK_EQ(tdb_exec(c->db, "BEGIN"), SQLITE_OK);
  int64_t n = tdb_int(c->db, "SELECT count(*) FROM t");
  CHECK_EQ(n, (int64_t)nacked);
  if(n != (int64_t)nacked) tdb_log_dump();
  c->reading = 1;
  c->snap_rows = n;
}

/* step_read_more reads again inside the read transaction: the same
** snapshot, or an error (its version may be gone). */
static void step_read_more(conn *c){
  sqlite3_stmt *st = NULL;
  tdb_log_clear();
  int rc = sqlite3_prepare_v2(c->db, "SELECT count(*), sum(length(v)) FROM t "
                              "LEFT JOIN k ON k.id = t.id % 4", -1, &st, NULL);
  if(rc == SQLITE_OK) rc = sqlite3_step(st);
  if(rc == SQLITE_ROW){
    CHECK_EQ(sqlite3_column_int64(st, 0), c->snap_rows);
    sqlite3_finalize(st);
    return;
  }
  sqlite3_finalize(st);
  if(n_read_err++ < 3) printf("# read error: %s\n", sqlite3_errmsg(c->db));
  /* Only a version gc removed while the transaction ran may fail. */
  CHECK(tdb_log_has("gc removed that version"));
  tdb_exec_quiet(c->db, "ROLLBACK");
  c->reading = 0;
}

/* step_write_begin opens a write transaction left pending. */
static void step_write_begin(conn *c){
  int64_t id = next_id++, prev = 0;
  int rc = tdb_exec_quiet(c->db, "BEGIN");
  if(rc == SQLITE_OK) rc = write_rows(c, id, &prev);
  if(rc != SQLITE_OK){
    if(!sqlite3_get_autocommit(c->db)) tdb_exec_quiet(c->db, "ROLLBACK");
    printf("# pending write failed: %d %s\n", rc, sqlite3_errmsg(c->db));
    CHECK(0);
    return;
  }
  c->writing = 1;
  c->pending_id = id;
  c->pending_prev = prev;
}

/* step_write_end commits a pending write transaction. */
static void step_write_end(conn *c){
  int rc = tdb_exec_quiet(c->db, "COMMIT");
  c->writing = 0;
  commit_end(c, rc, c->pending_id, c->pending_prev);
}

/* step_gc collects with a random keep count and grace period. */
static void step_gc(void){
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  go.keep_versions = 1 + rnd(4);
  go.grace_ms = rnd(2) ? -1 : 20 * 60 * 1000;
  s3page_gc_result gr;
  char *err = NULL;
  int rc = s3page_gc(dbname, &go, NULL, NULL, &gr, &err);
  if(rc != SQLITE_OK) printf("# gc: %d %s\n", rc, err ? err : "?");
  CHECK_EQ(rc, SQLITE_OK);
  sqlite3_free(err);
  n_gc++;
}

/* step_shift moves the clock forward: seconds, minutes or hours. */
static void step_shift(void){
  static const int64_t unit[3] = { 1000, 60 * 1000, 3600 * 1000 };
  int k = (int)rnd(3);
  s3p_test_clock_shift((int64_t)(1 + rnd(k == 2 ? 3 : 20)) * unit[k]);
  n_shift++;
}

/* step_checkpoint makes the newest version a checkpoint. */
static void step_checkpoint(void){
  uint64_t v = 0;
  int created = 0;
  char *err = NULL;
  int rc = s3page_checkpoint(dbname, &v, &created, &err);
  if(rc != SQLITE_OK && rc != SQLITE_BUSY_SNAPSHOT){
    printf("# checkpoint: %d %s\n", rc, err ? err : "?");
    CHECK(0);
  }
  sqlite3_free(err);
}

/* conn_end ends whatever c is doing (a pending write is rolled back). */
static void conn_end(conn *c){
  if(c->reading) tdb_exec_quiet(c->db, "COMMIT");
  if(c->writing) tdb_exec_quiet(c->db, "ROLLBACK");
  c->reading = c->writing = 0;
}

/* step_conn does something with connection c, depending on its state. */
static void step_conn(conn *c){
  if(!c->db){
    /* Each connection acts as if on a machine of its own: local locks
    ** would otherwise (rightly) keep a writer out while another holds a
    ** read transaction, and the point is what gc does to remote peers. */
    char *elsewhere = tdb_elsewhere();
    c->db = tdb_open(dbname, elsewhere);
    free(elsewhere);
    CHECK(c->db != NULL);
    return;
  }
  uint64_t r = rnd(10);
  if(c->reading){
    if(r < 5) step_read_more(c);
    else conn_end(c);
  }else if(c->writing){
    if(r < 6) step_write_end(c);
    else if(r < 7){ conn_end(c); }
  }else if(r < 5){
    step_autocommit(c);
  }else if(r < 7){
    step_read_begin(c);
  }else if(r < 8){
    step_write_begin(c);
  }else if(r < 9){
    sqlite3_close(c->db);      /* writes HEAD if due */
    c->db = NULL;
  }
}

/* check_final checks the newest version against the acknowledged ids. */
static void check_final(void){
  sqlite3 *db = tdb_open(dbname, NULL);
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t"), (int64_t)nacked);
  sqlite3_stmt *st = NULL;
  CHECK_EQ(sqlite3_prepare_v2(db, "SELECT id, prev FROM t ORDER BY id", -1,
                              &st, NULL), SQLITE_OK);
  size_t i = 0;
  int bad = 0;
  while(st && sqlite3_step(st) == SQLITE_ROW){
    int64_t id = sqlite3_column_int64(st, 0), prev = sqlite3_column_int64(st, 1);
    if(i >= nacked || id != acked[i] || prev != (i ? acked[i - 1] : 0)){
      if(bad++ < 5){
        printf("# row %zu: id %lld prev %lld, acknowledged %lld\n", i,
               (long long)id, (long long)prev,
               (long long)(i < nacked ? acked[i] : -1));
      }
    }
    i++;
  }
  sqlite3_finalize(st);
  CHECK_EQ(bad, 0);
  CHECK_EQ(i, nacked);
  CHECK(tdb_integrity_ok(db));
  sqlite3_close(db);
  s3page_verify_result vr;
  char *err = NULL;
  int rc = s3page_verify(dbname, NULL, 1, NULL, NULL, NULL, &vr, &err);
  if(rc != SQLITE_OK) printf("# verify: %s\n", err ? err : "?");
  sqlite3_free(err);
  CHECK_EQ(rc, SQLITE_OK);
  CHECK_EQ(vr.problems, 0);
}

/* torture runs the interleaving. */
static void torture(void){
  const char *secs_env = getenv("S3PAGE_GC_TORTURE_SECS");
  const char *seed_env = getenv("S3PAGE_TEST_SEED");
  long secs = secs_env ? atol(secs_env) : 0;
  long steps = tdb_quick() || tdb_on_s3() ? 150 : 400;
  uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10)
                           : (uint64_t)time(NULL) ^ (uint64_t)tdb_now_ms();
  printf("# seed %llu (S3PAGE_TEST_SEED to repeat)\n", (unsigned long long)seed);
  rng = seed ? seed : 1;
  dbname = tdb_name("gctorture");
  sqlite3 *db = tdb_open(dbname, NULL);
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, prev INT);"
                        "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);"
                        "INSERT INTO k VALUES(0, ''), (1, ''), (2, ''), (3, '')"),
           SQLITE_OK);
  sqlite3_close(db);
  conn c[NCONN];
  memset(c, 0, sizeof c);
  int64_t t0 = tdb_now_ms();
  long n = 0;
  for(; secs ? tdb_now_ms() - t0 < secs * 1000 : n < steps; n++){
    uint64_t r = rnd(100);
    if(r < 8) step_shift();
    else if(r < 14) step_gc();
    else if(r < 16) step_checkpoint();
    else step_conn(&c[rnd(NCONN)]);
    if(check_case_failed){
      printf("# failed at step %ld, seed %llu\n", n, (unsigned long long)seed);
      break;
    }
  }
  for(int i = 0; i < NCONN; i++){
    if(!c[i].db) continue;
    conn_end(&c[i]);
    sqlite3_close(c[i].db);
  }
  printf("# %ld steps: %zu commits acknowledged, %lld refused (busy), %lld "
         "read errors, %lld gc runs, %lld clock jumps\n", n, nacked,
         (long long)n_busy, (long long)n_read_err, (long long)n_gc,
         (long long)n_shift);
  check_final();
  if(check_case_failed) printf("# seed %llu\n", (unsigned long long)seed);
  free(acked);
  free(dbname);
}

int main(void){
  if(tdb_init()) return 1;
  RUN(torture);
  return CHECK_DONE();
}
