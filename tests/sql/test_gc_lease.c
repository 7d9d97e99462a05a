/*
** test_gc_lease.c: gc and bulk writers outside SQL (docs/history.md, "Bulk
** writers"). The library clock is shifted forward (s3p_test_clock_shift),
** so that what is in the store looks older than gc's grace period.
**
**   - import_spans_gc: an import whose upload phase lasts (by the clock)
**     longer than the grace period, with gc running in the middle of it
**     (from the import's progress callback), ends with a database that
**     verify --all passes and that holds the whole file: gc spared the
**     import's early uploads, unreferenced and old as they were, because
**     the import's marker was live.
**   - import_behind_gc: while an import uploads, others commit and gc
**     removes the records after the version the import started from: the
**     import must land on top of the newest version, never re-create a
**     removed one (its content would be lost behind the newer versions).
**     Into a database that was empty when the import began and was made
**     meanwhile, it must fail as into any existing database (no --force),
**     not re-create version 1 behind the newer ones.
**   - stalled_import_refused: an import that goes longer than S3P_TRUST_MS
**     without renewing its marker fails before creating its record (gc may
**     have judged the marker dead), says why, and leaves no marker.
**   - dead_marker_removed: a marker left by a writer that stopped spares
**     the objects younger than its start while it is renewed, and is
**     deleted by gc, with the objects it spared, once it is dead.
**   - random_imports_and_gc: imports of random sizes whose batches take
**     random times, with gc (random grace and keep count), other commits
**     and an occasional stall at random moments during them: each import
**     either commits the whole file as the newest version or, when it
**     stalled, fails with SQLITE_ABORT; verify --all passes after each and
**     no marker is left. 5 rounds (2 with S3PAGE_TEST_QUICK=1 or on S3,
**     S3PAGE_GC_LEASE_ROUNDS=N for more); the seed is printed,
**     S3PAGE_TEST_SEED=N repeats a run. (The store's modification times
**     are real while the clock jumps, so this checks that nothing an
**     import needs is lost, more than how much gc frees.)
**   - damaged_marker_spares_all: a recent marker that does not decode
**     makes gc spare every unreferenced object (even with grace 0), and
**     gc says so in the log.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/db.h"
#include "../../index/lease.h"

#define MINUTES(m) ((int64_t)(m) * 60 * 1000)
/* Rows (about one 1 KiB page each) of the file imported in the fixed
** scenarios: five batches of 256 pages, so five progress calls. */
#define IMPORT_ROWS 1100

/* verify_all returns the problems s3page_verify --all finds (-1: it
** failed to run). */
static int64_t verify_all(const char *name){
  s3page_verify_result vr;
  char *err = NULL;
  int rc = s3page_verify(name, NULL, 1, NULL, NULL, NULL, &vr, &err);
  if(err){ printf("# verify: %s\n", err); sqlite3_free(err); }
  if(rc != SQLITE_OK && rc != SQLITE_CORRUPT) return -1;
  return (int64_t)vr.problems;
}

/* run_gc_keep runs s3page_gc on name keeping the newest keep versions
** with grace ms (-1: the default). Returns the SQLite code; *res gets the
** result. */
static int run_gc_keep(const char *name, int64_t grace, uint64_t keep,
                       s3page_gc_result *res){
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  go.keep_versions = keep;
  go.grace_ms = grace;
  char *err = NULL;
  int rc = s3page_gc(name, &go, NULL, NULL, res, &err);
  if(err){ printf("# gc: %s\n", err); sqlite3_free(err); }
  return rc;
}

/* run_gc runs s3page_gc on name keeping the newest version with grace ms
** (-1: the default). Returns the SQLite code; *res gets the result. */
static int run_gc(const char *name, int64_t grace, s3page_gc_result *res){
  return run_gc_keep(name, grace, 1, res);
}

/* make_plain writes a plain SQLite file at path with rows rows of about
** one 1 KiB page each (distinct contents). Returns 0 or -1. */
static int make_plain(const char *path, int rows){
  sqlite3 *db = NULL;
  unlink(path);
  if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                     "unix") != SQLITE_OK){
    sqlite3_close(db);
    return -1;
  }
  char sql[512];
  snprintf(sql, sizeof sql, "PRAGMA page_size=1024; PRAGMA journal_mode=OFF;"
           "CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB);"
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
           "WHERE i < %d) INSERT INTO big SELECT i, randomblob(800) FROM c;",
           rows);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

/* scratch_path returns a malloc'd local file path for tag. */
static char *scratch_path(const char *tag){
  const char *d = getenv("TMPDIR");
  char *p = malloc(512);
  snprintf(p, 512, "%s/s3page-lease-%d-%s.db", d && *d ? d : "/tmp",
           (int)getpid(), tag);
  return p;
}

/* make_garbage makes a database at name whose old versions leave page
** objects no newer version uses (so gc keeping one version may delete
** them), ending in a checkpoint. Returns its newest version or -1. */
static int64_t make_garbage(const char *name){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return -1;
  int rc = tdb_exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY "
                        "KEY, v); INSERT OR REPLACE INTO t VALUES(1, "
                        "randomblob(300))");
  for(int i = 0; i < 4 && rc == SQLITE_OK; i++){
    rc = tdb_exec(db, "UPDATE t SET v = randomblob(300) WHERE id = 1");
  }
  sqlite3_close(db);
  if(rc) return -1;
  uint64_t cv = 0;
  int created = 0;
  char *err = NULL;
  if(s3page_checkpoint(name, &cv, &created, &err) != SQLITE_OK){
    printf("# checkpoint: %s\n", err ? err : "?");
    sqlite3_free(err);
    return -1;
  }
  return (int64_t)cv;
}

/* put_marker stores body[0..len) as the marker lease/<hex> in name.
** Returns 0 or -1. */
static int put_marker(const char *name, const char *hex,
                      const unsigned char *body, size_t len){
  s3p_store *st = NULL;
  s3p_store_opts so;
  memset(&so, 0, sizeof so);
  char *msg = NULL, key[64];
  snprintf(key, sizeof key, "lease/%s", hex);
  int rc = s3p_store_open(&st, name, &so, &msg);
  if(rc == S3P_OK) rc = s3p_store_put(st, S3P_OP_PUT, key, body, len, &msg);
  if(rc) printf("# put %s: %s\n", key, msg ? msg : "?");
  free(msg);
  s3p_store_close(st);
  return rc ? -1 : 0;
}

/* count_markers_fn counts the keys of a listing. Returns 0 (go on). */
static int count_markers_fn(void *arg, const char *key, uint64_t size,
                            int64_t mtime){
  (void)key;
  (void)size;
  (void)mtime;
  (*(int *)arg)++;
  return 0;
}

/* count_markers returns the objects under lease/ in name, -1 on error. */
static int count_markers(const char *name){
  s3p_store *st = NULL;
  s3p_store_opts so;
  memset(&so, 0, sizeof so);
  char *msg = NULL;
  int n = 0;
  int rc = s3p_store_open(&st, name, &so, &msg);
  if(rc == S3P_OK) rc = s3p_store_list(st, "lease/", count_markers_fn, &n,
                                       &msg);
  free(msg);
  s3p_store_close(st);
  return rc ? -1 : n;
}

/* clock_reset undoes every shift of the library clock so far. */
static void clock_reset(void){
  s3p_test_clock_shift(-s3p_test_clock_shift(0));
}

/* What the progress callback of an import does. */
typedef struct import_clock {
  const char *name;          /* the database */
  int calls;                 /* progress calls so far */
  int64_t shift_ms;          /* the clock moves this much per call */
  int shift_at;              /* ... or only at this call, if not 0 */
  int gc_at;                 /* run gc at this call (0: never) */
  int commit_at;             /* commit elsewhere at this call (0: never) */
  int stall_at;              /* 11 more minutes pass at this call */
  int stalled;               /* that happened */
  int64_t grace_ms;          /* gc's grace (0: 15 minutes) */
  uint64_t keep;             /* versions gc keeps (0: 1) */
  int64_t committed;         /* the newest version after that commit */
  int gc_rc;                 /* gc's result code (-1: not run) */
  s3page_gc_result gc;       /* and its result */
} import_clock;

/* import_tick is the progress callback: the clock moves on as if each
** batch took shift_ms, and gc runs at call gc_at. */
static void import_tick(void *arg, uint64_t done, uint64_t total){
  import_clock *c = arg;
  (void)done;
  (void)total;
  c->calls++;
  if(!c->shift_at || c->calls == c->shift_at) s3p_test_clock_shift(c->shift_ms);
  if(c->calls == c->stall_at){
    s3p_test_clock_shift(MINUTES(11));
    c->stalled = 1;
  }
  if(c->calls == c->commit_at) c->committed = make_garbage(c->name);
  if(c->calls == c->gc_at){
    c->gc_rc = run_gc_keep(c->name, c->grace_ms ? c->grace_ms : MINUTES(15),
                           c->keep ? c->keep : 1, &c->gc);
  }
}

/* import_spans_gc: see the top comment. */
static void import_spans_gc(void){
  char *name = tdb_name("leaseimport");
  char *file = scratch_path("spans");
  int64_t v0 = make_garbage(name);
  CHECK(v0 > 0);
  CHECK_EQ(make_plain(file, IMPORT_ROWS), 0);
  /* Each batch of 256 pages "takes" 8 minutes: the first ones are 32
  ** minutes old when gc (grace 15 minutes, the least it accepts) runs
  ** after the fourth, while the marker was renewed 8 minutes before. */
  import_clock c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.shift_ms = MINUTES(8);
  c.gc_at = 4;
  c.gc_rc = -1;
  s3page_import_result ir;
  char *err = NULL;
  int rc = s3page_import(file, name, S3PAGE_IMPORT_FORCE, import_tick, &c, &ir,
                         &err);
  if(err){ printf("# import: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK(c.calls > c.gc_at);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  printf("# gc in the middle: %llu pages deleted, %llu spared for a bulk "
         "writer, %llu live markers\n", (unsigned long long)c.gc.pages_deleted,
         (unsigned long long)c.gc.objects_leased,
         (unsigned long long)c.gc.leases_live);
  CHECK_EQ(c.gc.leases_live, 1);
  CHECK(c.gc.objects_leased >= 3 * 256);   /* the 4th may be queued */
  CHECK_EQ(ir.version, (uint64_t)v0 + 1);
  CHECK_EQ(verify_all(name), 0);
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM big"), IMPORT_ROWS);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  CHECK_EQ(count_markers(name), 0);
  /* Once the import is done, its old garbage goes as usual. */
  s3p_test_clock_shift(MINUTES(120));
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, -1, &gr), SQLITE_OK);
  CHECK(gr.pages_deleted > 0);
  CHECK_EQ(gr.objects_leased, 0);
  CHECK_EQ(verify_all(name), 0);
  unlink(file);
  free(file);
  free(name);
}

/* import_behind_gc: see the top comment. */
static void import_behind_gc(void){
  char *name = tdb_name("leasebehind");
  char *file = scratch_path("behind");
  int64_t v0 = make_garbage(name);
  CHECK(v0 > 0);
  CHECK_EQ(make_plain(file, IMPORT_ROWS), 0);
  /* 8 minutes a batch; after the first, other versions are committed, and
  ** after the fifth gc (32 minutes later) keeps only the newest. */
  import_clock c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.shift_ms = MINUTES(8);
  c.commit_at = 1;
  c.gc_at = 5;
  c.gc_rc = -1;
  s3page_import_result ir;
  char *err = NULL;
  int rc = s3page_import(file, name, S3PAGE_IMPORT_FORCE, import_tick, &c, &ir,
                         &err);
  if(err){ printf("# import: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK(c.committed > v0 + 1);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  CHECK_EQ(c.gc.oldest_kept, (uint64_t)c.committed);
  CHECK_EQ(ir.version, (uint64_t)c.committed + 1);
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_version(db), c.committed + 1);
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
                         "'big'"), 1);
    CHECK_EQ(tdb_int(db, "SELECT count(*) FROM big"), IMPORT_ROWS);
    CHECK(tdb_integrity_ok(db));
    sqlite3_close(db);
  }
  CHECK_EQ(verify_all(name), 0);
  free(name);
  /* The same into a database that is empty when the import begins. */
  clock_reset();
  name = tdb_name("leaseempty");
  memset(&c, 0, sizeof c);
  c.name = name;
  c.shift_ms = MINUTES(8);
  c.commit_at = 1;
  c.gc_at = 5;
  c.gc_rc = -1;
  err = NULL;
  rc = s3page_import(file, name, 0, import_tick, &c, &ir, &err);
  CHECK_EQ(rc, SQLITE_CANTOPEN);
  CHECK(err && strstr(err, "already holds a database"));
  if(rc != SQLITE_CANTOPEN){
    printf("# import: %d, version %llu: %s\n", rc,
           (unsigned long long)ir.version, err ? err : "");
  }
  sqlite3_free(err);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  CHECK(c.gc.records_deleted > 0);
  db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_version(db), c.committed);
    sqlite3_close(db);
  }
  CHECK_EQ(verify_all(name), 0);
  CHECK_EQ(count_markers(name), 0);
  unlink(file);
  free(file);
  free(name);
}

/* stalled_import_refused: see the top comment. */
static void stalled_import_refused(void){
  char *name = tdb_name("leasestall");
  char *file = scratch_path("stall");
  int64_t v0 = make_garbage(name);
  CHECK(v0 > 0);
  CHECK_EQ(make_plain(file, 800), 0);
  import_clock c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.shift_ms = MINUTES(11);
  c.shift_at = 2;
  c.gc_rc = -1;
  char *err = NULL;
  int rc = s3page_import(file, name, S3PAGE_IMPORT_FORCE, import_tick, &c,
                         NULL, &err);
  CHECK_EQ(rc, SQLITE_ABORT);
  CHECK(err && strstr(err, "without renewing its marker") &&
        strstr(err, "nothing was committed"));
  if(rc != SQLITE_ABORT) printf("# import: %d %s\n", rc, err ? err : "");
  sqlite3_free(err);
  CHECK_EQ(count_markers(name), 0);
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_version(db), v0);
    sqlite3_close(db);
  }
  CHECK_EQ(verify_all(name), 0);
  unlink(file);
  free(file);
  free(name);
}

/* dead_marker_removed: see the top comment. */
static void dead_marker_removed(void){
  char *name = tdb_name("leasedead");
  int64_t v0 = make_garbage(name);
  CHECK(v0 > 0);
  /* Two hours on, everything looks old; a writer that started an hour
  ** ago (after the garbage was made, by this clock) renews its marker. */
  s3p_test_clock_shift(MINUTES(120));
  uint64_t now = s3p_now_ms();
  unsigned char m[S3P_LEASE_LEN];
  s3p_lease_encode(m, now - (uint64_t)MINUTES(180), now);
  const char *hex = "0123456789abcdef0123456789abcdef";
  CHECK_EQ(put_marker(name, hex, m, sizeof m), 0);
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, -1, &gr), SQLITE_OK);
  CHECK_EQ(gr.leases_live, 1);
  CHECK_EQ(gr.leases_deleted, 0);
  CHECK_EQ(gr.pages_deleted, 0);
  CHECK(gr.objects_leased > 0);
  CHECK_EQ(count_markers(name), 1);
  /* The writer stopped: two hours later its marker is dead. */
  s3p_test_clock_shift(MINUTES(120));
  CHECK_EQ(run_gc(name, -1, &gr), SQLITE_OK);
  CHECK_EQ(gr.leases_live, 0);
  CHECK_EQ(gr.leases_deleted, 1);
  CHECK(gr.pages_deleted > 0);
  CHECK_EQ(gr.objects_leased, 0);
  CHECK_EQ(count_markers(name), 0);
  CHECK_EQ(verify_all(name), 0);
  free(name);
}

static uint64_t rng;         /* xorshift64* state of random_imports_and_gc */

/* rnd returns a pseudo-random number below n (n >= 1). */
static uint64_t rnd(uint64_t n){
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (rng * 0x2545F4914F6CDD1DULL) % n;
}

/* random_imports_and_gc: see the top comment. */
static void random_imports_and_gc(void){
  const char *seed_env = getenv("S3PAGE_TEST_SEED");
  uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10)
                           : (uint64_t)tdb_now_ms() ^ (uint64_t)getpid();
  printf("# seed %llu (S3PAGE_TEST_SEED to repeat)\n",
         (unsigned long long)seed);
  rng = seed ? seed : 1;
  char *name = tdb_name("leaserand");
  char *file = scratch_path("rand");
  CHECK(make_garbage(name) > 0);
  const char *rounds_env = getenv("S3PAGE_GC_LEASE_ROUNDS");
  int rounds = rounds_env ? atoi(rounds_env) : tdb_quick() || tdb_on_s3() ? 2
                                                                          : 5;
  static const int64_t graces[] = { MINUTES(15), MINUTES(40), -1 };
  for(int r = 0; r < rounds && !check_case_failed; r++){
    int rows = 200 + (int)rnd(900);
    CHECK_EQ(make_plain(file, rows), 0);
    int calls = (rows + 255) / 256;          /* about: one a page */
    import_clock c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.shift_ms = (int64_t)rnd(MINUTES(9) + 1);
    c.gc_at = 1 + (int)rnd((uint64_t)calls + 1);
    c.commit_at = rnd(2) ? 1 + (int)rnd((uint64_t)calls + 1) : 0;
    c.stall_at = rnd(5) ? 0 : 1 + (int)rnd((uint64_t)calls + 1);
    c.grace_ms = graces[rnd(3)];
    c.keep = 1 + rnd(3);
    c.gc_rc = -1;
    s3page_import_result ir;
    memset(&ir, 0, sizeof ir);
    char *err = NULL;
    int rc = s3page_import(file, name, S3PAGE_IMPORT_FORCE, import_tick, &c,
                           &ir, &err);
    printf("# round %d: %d rows, %lld s a batch, gc at %d (rc %d, %llu pages "
           "deleted, %llu spared), commit at %d, stall at %d: import %d%s%s\n",
           r, rows, (long long)(c.shift_ms / 1000), c.gc_at, c.gc_rc,
           (unsigned long long)c.gc.pages_deleted,
           (unsigned long long)c.gc.objects_leased, c.commit_at,
           c.stalled ? c.stall_at : 0, rc, err ? ": " : "", err ? err : "");
    sqlite3_free(err);
    if(c.gc_rc != -1) CHECK_EQ(c.gc_rc, SQLITE_OK);
    if(c.stalled){
      CHECK_EQ(rc, SQLITE_ABORT);
    }else{
      CHECK_EQ(rc, SQLITE_OK);
      sqlite3 *db = tdb_open(name, NULL);
      CHECK(db != NULL);
      if(db){
        CHECK_EQ(tdb_version(db), (int64_t)ir.version);
        CHECK_EQ(tdb_int(db, "SELECT count(*) FROM big"), rows);
        CHECK(tdb_integrity_ok(db));
        sqlite3_close(db);
      }
    }
    CHECK_EQ(count_markers(name), 0);
    CHECK_EQ(verify_all(name), 0);
  }
  unlink(file);
  free(file);
  free(name);
}

/* damaged_marker_spares_all: see the top comment. */
static void damaged_marker_spares_all(void){
  char *name = tdb_name("leasebad");
  int64_t v0 = make_garbage(name);
  CHECK(v0 > 0);
  const char *hex = "fedcba9876543210fedcba9876543210";
  CHECK_EQ(put_marker(name, hex, (const unsigned char *)"garbage", 7), 0);
  tdb_log_clear();
  s3page_gc_result gr;
  CHECK_EQ(run_gc(name, 0, &gr), SQLITE_OK);
  CHECK_EQ(gr.leases_live, 1);
  CHECK_EQ(gr.pages_deleted, 0);
  CHECK(gr.objects_leased > 0);
  CHECK(gr.records_deleted > 0);
  CHECK(tdb_log_has("damaged"));
  if(!tdb_log_has("damaged")) tdb_log_dump();
  CHECK_EQ(verify_all(name), 0);
  /* Not renewed for the grace period: dead, deleted, and the garbage with
  ** it. */
  s3p_test_clock_shift(MINUTES(120));
  CHECK_EQ(run_gc(name, -1, &gr), SQLITE_OK);
  CHECK_EQ(gr.leases_deleted, 1);
  CHECK(gr.pages_deleted > 0);
  CHECK_EQ(count_markers(name), 0);
  CHECK_EQ(verify_all(name), 0);
  free(name);
}

int main(void){
  if(tdb_init()) return 1;
  clock_reset();
  RUN(import_spans_gc);
  clock_reset();
  RUN(import_behind_gc);
  clock_reset();
  RUN(stalled_import_refused);
  clock_reset();
  RUN(dead_marker_removed);
  clock_reset();
  RUN(random_imports_and_gc);
  clock_reset();
  RUN(damaged_marker_spares_all);
  return CHECK_DONE();
}
