/*
** workload.c: one workload of the benchmark (bench/run.sh, bench/README.md)
** in one process, printed as one line.
**
**   s3page-bench build FILE [--big]
**       writes the benchmark database as a plain SQLite file: table
**       t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT) with 380,000 rows of
**       100 characters of text (7,600,000 with --big: about 1 GB) and an
**       index on k. k = id * 2654435761 mod 4294967291 (distinct, in no
**       order), so a point query can pick rows at random by id.
**   s3page-bench run NAME WORKLOAD ROWS [--plain]
**       opens NAME (an s3page database name or URI; with --plain, a plain
**       SQLite file through SQLite's default VFS), runs WORKLOAD on it and
**       prints "WORKLOAD ms=.. get=.. put=.. head=.. list=.. rt=.. in=..
**       out=..". ROWS is the table's size when built (for picking rows).
**
** Workloads (a fresh process each, so every one starts cold):
**   W1    one transaction inserting 20,000 rows
**   W2    100 one-row inserts, each its own transaction
**   W3    open + one indexed point query (SELECT v FROM t WHERE k = ?);
**         timed from before the open
**   W4    open + full scan: SELECT count(*), sum(length(v)) FROM t
**   W5    1,000 indexed point queries at random rows, each its own
**         transaction, on a connection that has run one query before
**   W5tx  the same 1,000 queries inside one transaction
** Timings cover the workload only (W3 and W4 include the open); the
** counters are PRAGMA s3page_stats of the connection over the same span.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"

#define BENCH_ROWS 380000
#define BENCH_BIG_ROWS 7600000
#define BENCH_KEY_SQL "((%s) * 2654435761 %% 4294967291)"

/* bench_now_ms returns a monotonic clock in milliseconds. */
static double bench_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* bench_key returns the k of row id. */
static int64_t bench_key(int64_t id){
  return (int64_t)(((uint64_t)id * 2654435761u) % 4294967291u);
}

/* bench_exec runs sql on db; on error prints it and exits. */
static void bench_exec(sqlite3 *db, const char *sql){
  char *err = NULL;
  if(sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK){
    fprintf(stderr, "s3page-bench: %s: %s\n", sql, err ? err : "?");
    exit(1);
  }
}

/* bench_build writes the database to file. Returns 0. */
static int bench_build(const char *file, int big){
  sqlite3 *db;
  remove(file);
  if(sqlite3_open(file, &db) != SQLITE_OK){
    fprintf(stderr, "s3page-bench: cannot create %s\n", file);
    return 1;
  }
  long rows = big ? BENCH_BIG_ROWS : BENCH_ROWS;
  char sql[512];
  bench_exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=OFF;"
                 "PRAGMA synchronous=OFF;"
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
  snprintf(sql, sizeof sql, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION "
           "ALL SELECT i + 1 FROM c WHERE i < %ld) INSERT INTO t SELECT i, "
           BENCH_KEY_SQL ", hex(randomblob(50)) FROM c; COMMIT", rows, "i");
  bench_exec(db, sql);
  bench_exec(db, "CREATE INDEX t_k ON t(k)");
  sqlite3_close(db);
  return 0;
}

/* bench_point runs the point query for row id on db (prepared st); exits
** if the row is not found. */
static void bench_point(sqlite3_stmt *st, int64_t id){
  sqlite3_bind_int64(st, 1, bench_key(id));
  if(sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != 100){
    fprintf(stderr, "s3page-bench: row %lld not found\n", (long long)id);
    exit(1);
  }
  sqlite3_reset(st);
}

/* bench_open opens name (plain: default VFS) or exits. */
static sqlite3 *bench_open(const char *name, int plain){
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI;
  if(sqlite3_open_v2(name, &db, flags, plain ? NULL : "s3page") != SQLITE_OK){
    fprintf(stderr, "s3page-bench: cannot open %s: %s\n", name,
            db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
  }
  return db;
}

/* bench_prepare prepares sql or exits. */
static sqlite3_stmt *bench_prepare(sqlite3 *db, const char *sql){
  sqlite3_stmt *st;
  if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK){
    fprintf(stderr, "s3page-bench: %s: %s\n", sql, sqlite3_errmsg(db));
    exit(1);
  }
  return st;
}

/* bench_run runs workload w on name and prints its line. Returns 0. */
static int bench_run(const char *name, const char *w, long rows, int plain){
  s3page_stats s0, s1;
  memset(&s0, 0, sizeof s0);
  memset(&s1, 0, sizeof s1);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  double t0 = 0, t1;
  uint64_t rnd = 0x9E3779B97F4A7C15ull;
  const char *point = "SELECT v FROM t WHERE k = ?";
  if(!strcmp(w, "W3") || !strcmp(w, "W4")){
    t0 = bench_now_ms();
    db = bench_open(name, plain);
    if(!strcmp(w, "W3")){
      st = bench_prepare(db, point);
      bench_point(st, rows / 2 + 1);
    }else{
      st = bench_prepare(db, "SELECT count(*), sum(length(v)) FROM t");
      if(sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) < rows){
        fprintf(stderr, "s3page-bench: scan: wrong count\n");
        exit(1);
      }
    }
  }else{
    db = bench_open(name, plain);
    st = bench_prepare(db, point);
    bench_point(st, 1);                          /* schema loaded, warm */
    if(!plain) s3page_stats_get(db, NULL, &s0);
    t0 = bench_now_ms();
    if(!strcmp(w, "W5") || !strcmp(w, "W5tx")){
      int tx = !strcmp(w, "W5tx");
      if(tx) bench_exec(db, "BEGIN");
      for(int i = 0; i < 1000; i++){
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        bench_point(st, 1 + (int64_t)((rnd >> 33) % (uint64_t)rows));
      }
      if(tx) bench_exec(db, "COMMIT");
    }else if(!strcmp(w, "W1")){
      char sql[512];
      snprintf(sql, sizeof sql, "BEGIN; WITH RECURSIVE c(i) AS (SELECT "
               "(SELECT max(id) FROM t) + 1 UNION ALL SELECT i + 1 FROM c "
               "LIMIT 20000) INSERT INTO t SELECT i, " BENCH_KEY_SQL ", "
               "hex(randomblob(50)) FROM c; COMMIT", "i");
      bench_exec(db, sql);
    }else if(!strcmp(w, "W2")){
      sqlite3_stmt *ins = bench_prepare(db, "INSERT INTO t(k, v) VALUES("
                                        "-random(), hex(randomblob(50)))");
      for(int i = 0; i < 100; i++){
        if(sqlite3_step(ins) != SQLITE_DONE){
          fprintf(stderr, "s3page-bench: insert: %s\n", sqlite3_errmsg(db));
          exit(1);
        }
        sqlite3_reset(ins);
      }
      sqlite3_finalize(ins);
    }else{
      fprintf(stderr, "s3page-bench: unknown workload %s\n", w);
      exit(2);
    }
  }
  sqlite3_finalize(st);
  t1 = bench_now_ms();
  if(!plain) s3page_stats_get(db, NULL, &s1);
  printf("%s ms=%.1f get=%llu put=%llu head=%llu list=%llu rt=%llu in=%llu "
         "out=%llu\n", w, t1 - t0,
         (unsigned long long)(s1.n_get - s0.n_get),
         (unsigned long long)(s1.n_put - s0.n_put),
         (unsigned long long)(s1.n_head - s0.n_head),
         (unsigned long long)(s1.n_list - s0.n_list),
         (unsigned long long)(s1.round_trips - s0.round_trips),
         (unsigned long long)(s1.bytes_in - s0.bytes_in),
         (unsigned long long)(s1.bytes_out - s0.bytes_out));
  sqlite3_close(db);
  return 0;
}

/* main parses the command line (see the top of the file). Returns the exit
** code. */
int main(int argc, char **argv){
  if(s3page_register(0) != SQLITE_OK){
    fprintf(stderr, "s3page-bench: cannot register the s3page VFS\n");
    return 1;
  }
  if(argc >= 3 && !strcmp(argv[1], "build")){
    return bench_build(argv[2], argc > 3 && !strcmp(argv[3], "--big"));
  }
  if(argc >= 5 && !strcmp(argv[1], "run")){
    return bench_run(argv[2], argv[3], atol(argv[4]),
                     argc > 5 && !strcmp(argv[5], "--plain"));
  }
  fprintf(stderr, "usage: s3page-bench build FILE [--big]\n"
                  "       s3page-bench run NAME WORKLOAD ROWS [--plain]\n");
  return 2;
}
