/*
** test_diff.c: differential test. The same random workload runs on an
** s3page database and on a plain in-memory SQLite database: inserts of
** rows small and large (overflow pages), updates, deletes, rolled-back
** transactions, savepoints, VACUUM, auto-vacuum truncation, and reopening
** the connection. After every statement both must hold the same rows; the
** digest of each committed version is recorded, and at the end a sample of
** past versions, opened with ?version=N, must show exactly their digests.
** The seed picks a checkpoint interval (1 to 32) and a page size.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include "../check.h"
#include "../lib/testdb.h"

#define STEPS 400
#define MAX_VERSIONS 2000

/* digest returns a hash of every row of t in key order, or 0 on error. */
static uint64_t digest(sqlite3 *db){
  sqlite3_stmt *st = NULL;
  if(sqlite3_prepare_v2(db, "SELECT k, v, length(v) FROM t ORDER BY k", -1,
                        &st, NULL) != SQLITE_OK){
    printf("# digest: %s\n", sqlite3_errmsg(db));
    return 0;
  }
  XXH3_state_t *s = XXH3_createState();
  XXH3_64bits_reset(s);
  int rc;
  while((rc = sqlite3_step(st)) == SQLITE_ROW){
    int64_t k = sqlite3_column_int64(st, 0);
    const void *v = sqlite3_column_blob(st, 1);
    int n = sqlite3_column_bytes(st, 1);
    XXH3_64bits_update(s, &k, sizeof k);
    XXH3_64bits_update(s, &n, sizeof n);
    if(n) XXH3_64bits_update(s, v, (size_t)n);
  }
  uint64_t h = rc == SQLITE_DONE ? XXH3_64bits_digest(s) | 1 : 0;
  if(rc != SQLITE_DONE) printf("# digest step: %s\n", sqlite3_errmsg(db));
  XXH3_freeState(s);
  sqlite3_finalize(st);
  return h;
}

/* both runs sql on the s3page database a and the reference r. Returns 1
** if both succeeded (the reference never fails on a valid statement). */
static int both(sqlite3 *a, sqlite3 *r, const char *sql){
  int ra = tdb_exec(a, sql), rr = tdb_exec(r, sql);
  CHECK_EQ(ra, SQLITE_OK);
  CHECK_EQ(rr, SQLITE_OK);
  return ra == SQLITE_OK && rr == SQLITE_OK;
}

/* random_workload: see the top comment. */
static void random_workload(void){
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  const char *env = getenv("S3PAGE_TEST_SEED");
  if(env) seed = (unsigned)strtoul(env, NULL, 10);
  printf("# seed %u (S3PAGE_TEST_SEED to repeat)\n", seed);
  char *name = tdb_name("diff");
  /* The seed also picks the checkpoint interval and the page size. */
  static const int ckpts[] = { 1, 3, 5, 32 }, sizes[] = { 512, 1024, 4096 };
  char params[64], setup[256];
  snprintf(params, sizeof params, "checkpoint=%d&txbuf_mb=1",
           ckpts[seed % 4]);
  snprintf(setup, sizeof setup, "PRAGMA auto_vacuum=FULL; PRAGMA page_size=%d;"
           "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);"
           "CREATE INDEX t_v ON t(substr(v, 1, 8))", sizes[(seed / 4) % 3]);
  printf("# %s, page size %d\n", params, sizes[(seed / 4) % 3]);
  sqlite3 *a = tdb_open(name, params), *r = NULL;
  CHECK(a != NULL);
  CHECK_EQ(sqlite3_open(":memory:", &r), SQLITE_OK);
  if(!a || !r){ free(name); sqlite3_close(a); sqlite3_close(r); return; }
  both(a, r, setup);
  static uint64_t ver_digest[MAX_VERSIONS];
  memset(ver_digest, 0, sizeof ver_digest);
  int steps = tdb_quick() ? 120 : STEPS, mismatches = 0;
  for(int i = 0; i < steps && mismatches == 0; i++){
    char sql[512];
    int k = (int)(rand_r(&seed) % 2000), op = (int)(rand_r(&seed) % 100);
    int n = 1 + (int)(rand_r(&seed) % 40);
    int size = (rand_r(&seed) % 10 == 0) ? 3000 + (int)(rand_r(&seed) % 9000)
                                          : (int)(rand_r(&seed) % 200);
    if(op < 35){
      snprintf(sql, sizeof sql, "WITH RECURSIVE c(i) AS (SELECT %d UNION ALL "
               "SELECT i+1 FROM c WHERE i < %d) INSERT OR REPLACE INTO t "
               "SELECT i, zeroblob(%d) || x'%02x' || i FROM c", k, k + n, size,
               i & 0xff);
      both(a, r, sql);
    }else if(op < 50){
      snprintf(sql, sizeof sql, "UPDATE t SET v = v || x'%02x' WHERE k %% %d = "
               "%d", i & 0xff, 2 + n, k % (2 + n));
      both(a, r, sql);
    }else if(op < 65){
      snprintf(sql, sizeof sql, "DELETE FROM t WHERE k BETWEEN %d AND %d", k,
               k + n * 20);
      both(a, r, sql);
    }else if(op < 75){
      snprintf(sql, sizeof sql, "BEGIN; DELETE FROM t WHERE k > %d; INSERT INTO "
               "t VALUES(%d, randomblob(5000)); ROLLBACK", k, 100000 + i);
      both(a, r, sql);
    }else if(op < 85){
      snprintf(sql, sizeof sql, "BEGIN; INSERT OR REPLACE INTO t VALUES(%d, x'01');"
               " SAVEPOINT s; DELETE FROM t WHERE k < %d; ROLLBACK TO s; "
               "UPDATE t SET v = x'02' WHERE k = %d; RELEASE s; COMMIT", k, k,
               k + 1);
      both(a, r, sql);
    }else if(op < 90){
      both(a, r, "VACUUM");
    }else if(op < 95){
      sqlite3_close(a);
      a = tdb_open(name, params);
      CHECK(a != NULL);
      if(!a) break;
    }else{
      CHECK(tdb_integrity_ok(a));
    }
    uint64_t da = digest(a), dr = digest(r);
    if(da != dr || da == 0){
      printf("# step %d (op %d): s3page and reference differ\n", i, op);
      mismatches++;
    }
    int64_t v = tdb_version(a);
    if(v > 0 && v < MAX_VERSIONS) ver_digest[v] = da;
  }
  CHECK_EQ(mismatches, 0);
  CHECK(tdb_integrity_ok(a));
  int64_t last = tdb_version(a);
  printf("# %d steps, %lld versions\n", steps, (long long)last);
  sqlite3_close(a);
  sqlite3_close(r);
  /* Past versions show exactly what they showed then. */
  int checked = 0;
  for(int64_t v = 1; v <= last && v < MAX_VERSIONS; v += 1 + (int64_t)(rand_r(&seed) % 7)){
    if(!ver_digest[v]) continue;
    char p[64];
    snprintf(p, sizeof p, "version=%lld", (long long)v);
    sqlite3 *h = tdb_open(name, p);
    CHECK(h != NULL);
    if(!h) continue;
    uint64_t d = digest(h);
    if(d != ver_digest[v]){
      printf("# version %lld: digest differs from when it was current\n",
             (long long)v);
      CHECK(0);
    }
    sqlite3_close(h);
    checked++;
  }
  printf("# %d past versions checked\n", checked);
  CHECK(checked > 5);
  free(name);
}

/* main runs the case. Returns 0 if it passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(random_workload);
  return CHECK_DONE();
}
