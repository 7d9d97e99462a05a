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
**       out=.." (and for some workloads txn=.. objs=..). ROWS is the
**       table's size when built (for picking rows).
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
**   W5c   W5 when cached: the 1,000 queries run once untimed, then again
**         (the same rows) timed: every page they need is in the caches
**   W5s   W5c on a connection opened with staleness=600000
**   W5txh W5tx after hydration: open with prefetch=all, wait until
**         PRAGMA s3page_hydrate says done, then time the 1,000 queries in
**         one transaction
**   RAW   GET every page object of the store (listed first, untimed)
**         through the store layer in batches of 4,096 at the store's
**         concurrency: the raw parallel GET rate (plain: read the file)
**   HYD   open, PRAGMA s3page_hydrate=start, wait until it ends; the time
**         is the pragma's (hydration from start to end), the requests and
**         bytes are hydration's plus the connection's (plain: as RAW)
**   EXPORT s3page_export of the newest version to a file under TMPDIR
**         (plain: the file copied with the SQLite backup API)
** Timings cover the workload only (W3 and W4 include the open); the
** counters are PRAGMA s3page_stats of the connection over the same span
** (RAW: the store handle's; EXPORT: s3page_export_result's). txn is the
** number of transactions (W5 family), objs the page objects (RAW, HYD).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "../vfs/store/store.h"

#define BENCH_ROWS 380000
#define BENCH_BIG_ROWS 7600000
#define BENCH_KEY_SQL "((%s) * 2654435761 %% 4294967291)"
#define BENCH_RAW_BATCH 4096     /* GETs per store batch in RAW */

/* Counters of one workload beyond the connection's (0: not reported). */
typedef struct bench_extra {
  uint64_t txn;              /* transactions (requests per txn) */
  uint64_t objs;             /* page objects downloaded (RAW, HYD) */
  int direct;                /* counters set directly (RAW, EXPORT, HYD) */
  s3page_stats st;           /* those counters, when direct */
} bench_extra;

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

/* bench_pass runs the 1,000 point queries of the W5 family with st (the
** same rows every time: a fixed seed), in one transaction if tx. */
static void bench_pass(sqlite3 *db, sqlite3_stmt *st, long rows, int tx){
  uint64_t rnd = 0x9E3779B97F4A7C15ull;
  if(tx) bench_exec(db, "BEGIN");
  for(int i = 0; i < 1000; i++){
    rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
    bench_point(st, 1 + (int64_t)((rnd >> 33) % (uint64_t)rows));
  }
  if(tx) bench_exec(db, "COMMIT");
}

/* bench_with_param returns name as a URI with param added (malloc'd). */
static char *bench_with_param(const char *name, const char *param){
  size_t n = strlen(name) + strlen(param) + 8;
  char *u = malloc(n);
  if(!u){ fprintf(stderr, "s3page-bench: out of memory\n"); exit(1); }
  if(!strncmp(name, "file:", 5)){
    snprintf(u, n, "%s%c%s", name, strchr(name, '?') ? '&' : '?', param);
  }else{
    snprintf(u, n, "file:%s?%s", name, param);
  }
  return u;
}

/* bench_store_name returns the database name of name without "file:" and
** its URI parameters (malloc'd); an endpoint= parameter becomes
** AWS_ENDPOINT_URL, where the history API and the store layer find it. */
static char *bench_store_name(const char *name){
  if(strncmp(name, "file:", 5)) return strdup(name);
  const char *q = strchr(name, '?');
  size_t n = q ? (size_t)(q - name - 5) : strlen(name + 5);
  char *s = strndup(name + 5, n);
  const char *e = q ? strstr(q, "endpoint=") : NULL;
  if(e){
    e += strlen("endpoint=");
    char *ep = strndup(e, strcspn(e, "&"));
    if(ep) setenv("AWS_ENDPOINT_URL", ep, 1);
    free(ep);
  }
  return s;
}

/* bench_hyd_field returns the number after "key=" in a PRAGMA
** s3page_hydrate line (0 if absent). */
static uint64_t bench_hyd_field(const char *line, const char *key){
  char pat[32];
  snprintf(pat, sizeof pat, " %s=", key);
  const char *p = strstr(line, pat);
  return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* bench_hydrate_wait polls PRAGMA s3page_hydrate on db every 2 ms until
** hydration has ended; exits unless it ended "done". Sets *ms (the
** hydration's own time), *fetched (objects downloaded) and *bytes. */
static void bench_hydrate_wait(sqlite3 *db, uint64_t *ms, uint64_t *fetched,
                               uint64_t *bytes){
  for(;;){
    sqlite3_stmt *st = bench_prepare(db, "PRAGMA s3page_hydrate");
    char line[512] = "";
    if(sqlite3_step(st) == SQLITE_ROW){
      snprintf(line, sizeof line, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if(strncmp(line, "state=listing", 13) && strncmp(line, "state=running", 13)){
      if(strncmp(line, "state=done", 10)){
        fprintf(stderr, "s3page-bench: hydration ended: %s\n", line);
        exit(1);
      }
      *ms = bench_hyd_field(line, "ms");
      *fetched = bench_hyd_field(line, "fetched");
      *bytes = bench_hyd_field(line, "bytes");
      return;
    }
    usleep(2000);
  }
}

/* The page keys RAW fetches, growing. */
typedef struct bench_keys {
  char **k;                  /* keys (malloc'd each) */
  size_t n;                  /* used */
  size_t cap;                /* allocated */
} bench_keys;

/* bench_key_add is the list callback of RAW: keeps every key. Returns 0,
** or 1 (stop) when out of memory. */
static int bench_key_add(void *arg, const char *key, uint64_t size,
                         int64_t mtime){
  bench_keys *ks = arg;
  (void)size; (void)mtime;
  if(ks->n == ks->cap){
    size_t cap = ks->cap ? 2 * ks->cap : 4096;
    char **k = realloc(ks->k, cap * sizeof *k);
    if(!k) return 1;
    ks->k = k;
    ks->cap = cap;
  }
  if(!(ks->k[ks->n] = strdup(key))) return 1;
  ks->n++;
  return 0;
}

/* bench_raw is RAW on name (see the top of the file): fills *ms and x. */
static void bench_raw(const char *name, int plain, double *ms, bench_extra *x){
  x->direct = 1;
  if(plain){
    FILE *f = fopen(name, "rb");
    if(!f){ fprintf(stderr, "s3page-bench: cannot read %s\n", name); exit(1); }
    unsigned char page[4096];
    double t0 = bench_now_ms();
    size_t got;
    while((got = fread(page, 1, sizeof page, f)) > 0){
      x->st.bytes_in += got;
      x->objs++;
    }
    *ms = bench_now_ms() - t0;
    fclose(f);
    return;
  }
  char *path = bench_store_name(name);
  s3p_store *st = NULL;
  char *err = NULL;
  s3p_store_opts o;
  memset(&o, 0, sizeof o);
  o.readonly = 1;
  if(s3p_store_open(&st, path, &o, &err) != S3P_OK){
    fprintf(stderr, "s3page-bench: cannot open %s: %s\n", path, err ? err : "?");
    exit(1);
  }
  bench_keys ks;
  memset(&ks, 0, sizeof ks);
  if(s3p_store_list(st, "pages/", bench_key_add, &ks, &err) != S3P_OK){
    fprintf(stderr, "s3page-bench: list %s: %s\n", path, err ? err : "?");
    exit(1);
  }
  s3p_store_stats s0 = st->stats;
  s3p_op *ops = calloc(BENCH_RAW_BATCH, sizeof *ops);
  if(!ops){ fprintf(stderr, "s3page-bench: out of memory\n"); exit(1); }
  double t0 = bench_now_ms();
  for(size_t at = 0; at < ks.n; at += BENCH_RAW_BATCH){
    size_t m = ks.n - at < BENCH_RAW_BATCH ? ks.n - at : BENCH_RAW_BATCH;
    for(size_t i = 0; i < m; i++){
      memset(&ops[i], 0, sizeof ops[i]);
      ops[i].kind = S3P_OP_GET;
      ops[i].key = ks.k[at + i];
    }
    if(s3p_store_exec(st, ops, m) != S3P_OK){
      fprintf(stderr, "s3page-bench: RAW: batch failed\n");
      exit(1);
    }
    for(size_t i = 0; i < m; i++){
      if(ops[i].rc != S3P_OK){
        fprintf(stderr, "s3page-bench: RAW: GET %s: %s\n", ks.k[at + i],
                ops[i].errmsg ? ops[i].errmsg : "failed");
        exit(1);
      }
      s3p_op_reset(&ops[i]);
    }
  }
  *ms = bench_now_ms() - t0;
  x->objs = ks.n;
  x->st.n_get = st->stats.n_get - s0.n_get;
  x->st.bytes_in = st->stats.bytes_in - s0.bytes_in;
  x->st.round_trips = st->stats.round_trips - s0.round_trips;
  for(size_t i = 0; i < ks.n; i++) free(ks.k[i]);
  free(ks.k);
  free(ops);
  free(err);
  s3p_store_close(st);
  free(path);
}

/* bench_export is EXPORT on name (see the top of the file): fills *ms and
** x. */
static void bench_export(const char *name, int plain, double *ms,
                         bench_extra *x){
  const char *tmp = getenv("TMPDIR");
  char out[4096];
  snprintf(out, sizeof out, "%s/s3page-bench-export-%ld.sqlite",
           tmp && *tmp ? tmp : "/tmp", (long)getpid());
  x->direct = 1;
  double t0 = bench_now_ms();
  if(plain){
    sqlite3 *src = bench_open(name, 1), *dst = NULL;
    if(sqlite3_open(out, &dst) != SQLITE_OK){
      fprintf(stderr, "s3page-bench: cannot create %s\n", out);
      exit(1);
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if(!b || sqlite3_backup_step(b, -1) != SQLITE_DONE){
      fprintf(stderr, "s3page-bench: backup: %s\n", sqlite3_errmsg(dst));
      exit(1);
    }
    sqlite3_backup_finish(b);
    sqlite3_close(dst);
    sqlite3_close(src);
  }else{
    char *path = bench_store_name(name);
    s3page_export_result r;
    char *err = NULL;
    if(s3page_export(path, NULL, out, NULL, NULL, &r, &err) != SQLITE_OK){
      fprintf(stderr, "s3page-bench: export: %s\n", err ? err : "?");
      exit(1);
    }
    x->st.n_get = r.n_get;
    x->st.n_head = r.n_head;
    x->st.round_trips = r.round_trips;
    x->st.bytes_in = r.bytes_in;
    free(path);
  }
  *ms = bench_now_ms() - t0;
  remove(out);
}

/* bench_run runs workload w on name and prints its line. Returns 0. */
static int bench_run(const char *name, const char *w, long rows, int plain){
  s3page_stats s0, s1;
  bench_extra x;
  memset(&s0, 0, sizeof s0);
  memset(&s1, 0, sizeof s1);
  memset(&x, 0, sizeof x);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  double t0 = 0, t1, ms = -1;
  const char *point = "SELECT v FROM t WHERE k = ?";
  if(!strcmp(w, "RAW") || (plain && !strcmp(w, "HYD"))){
    bench_raw(name, plain, &ms, &x);
  }else if(!strcmp(w, "EXPORT")){
    bench_export(name, plain, &ms, &x);
  }else if(!strcmp(w, "HYD")){
    db = bench_open(name, 0);
    s3page_stats_get(db, NULL, &s0);
    uint64_t hms = 0, fetched = 0, bytes = 0;
    t0 = bench_now_ms();
    bench_exec(db, "PRAGMA s3page_hydrate=start");
    bench_hydrate_wait(db, &hms, &fetched, &bytes);
    ms = (double)hms;
    s3page_stats_get(db, NULL, &s1);
    x.direct = 1;
    x.objs = fetched;
    x.st.n_get = s1.n_get - s0.n_get + fetched;
    x.st.n_head = s1.n_head - s0.n_head;
    x.st.bytes_in = s1.bytes_in - s0.bytes_in + bytes;
    x.st.round_trips = UINT64_MAX;             /* hydration's: not counted */
  }else if(!strcmp(w, "W3") || !strcmp(w, "W4")){
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
    char *uri = NULL;
    if(!plain && !strcmp(w, "W5s")) uri = bench_with_param(name, "staleness=600000");
    if(!plain && !strcmp(w, "W5txh")) uri = bench_with_param(name, "prefetch=all");
    db = bench_open(uri ? uri : name, plain);
    free(uri);
    st = bench_prepare(db, point);
    bench_point(st, 1);                          /* schema loaded, warm */
    if(!plain && !strcmp(w, "W5txh")){
      uint64_t hms, fetched, bytes;
      bench_hydrate_wait(db, &hms, &fetched, &bytes);
    }
    if(!strcmp(w, "W5c") || !strcmp(w, "W5s")) bench_pass(db, st, rows, 0);
    if(!plain) s3page_stats_get(db, NULL, &s0);
    t0 = bench_now_ms();
    if(!strncmp(w, "W5", 2)){
      int tx = !strcmp(w, "W5tx") || !strcmp(w, "W5txh");
      if(strcmp(w, "W5") && strcmp(w, "W5tx") && strcmp(w, "W5c") &&
         strcmp(w, "W5s") && strcmp(w, "W5txh")){
        fprintf(stderr, "s3page-bench: unknown workload %s\n", w);
        exit(2);
      }
      bench_pass(db, st, rows, tx);
      x.txn = tx ? 1 : 1000;
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
  if(ms < 0) ms = t1 - t0;
  if(x.direct){
    s0 = (s3page_stats){0};
    s1 = x.st;
  }else if(!plain){
    s3page_stats_get(db, NULL, &s1);
  }
  char rt[32] = "-";
  if(s1.round_trips != UINT64_MAX){
    snprintf(rt, sizeof rt, "%llu",
             (unsigned long long)(s1.round_trips - s0.round_trips));
  }
  printf("%s ms=%.1f get=%llu put=%llu head=%llu list=%llu rt=%s in=%llu "
         "out=%llu txn=%llu objs=%llu\n", w, ms,
         (unsigned long long)(s1.n_get - s0.n_get),
         (unsigned long long)(s1.n_put - s0.n_put),
         (unsigned long long)(s1.n_head - s0.n_head),
         (unsigned long long)(s1.n_list - s0.n_list), rt,
         (unsigned long long)(s1.bytes_in - s0.bytes_in),
         (unsigned long long)(s1.bytes_out - s0.bytes_out),
         (unsigned long long)x.txn, (unsigned long long)x.objs);
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
