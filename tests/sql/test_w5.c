/*
** test_w5.c: what autocommit point queries cost once their pages are
** cached (issue 8, W5; bench/README.md W5c, W5s, W5txh).
**
**   - cached: QUERIES indexed point queries, each its own transaction, run
**     once and then again on the same rows: the second time each costs
**     exactly one request, a GET that returns nothing (0 bytes: the probe
**     of the next commit record, the only object a read asks for that
**     does not exist; every page and node exists and has bytes), and one
**     round trip. When another machine (no shared lock directory) then
**     commits, the next query sees the new version.
**   - stale: the same on a connection opened with staleness=: the second
**     pass costs no request at all, and the version committed elsewhere
**     stays unseen until the window ends.
**   - hydrated: after prefetch=all completes, QUERIES queries in one
**     transaction cost the probe alone (1 GET, 0 bytes) and read no page
**     from the store (the timing half of W5txh is the benchmark's).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../lib/testdb.h"

#define ROWS 20000              /* rows of 100 characters: ~800 pages */
#define QUERIES 200             /* point queries per pass */

static char *db_name;           /* the test database, made once */

/* make_db creates db_name: t(id, k, v) with an index on k, in one
** transaction. Returns 0 or -1. */
static int make_db(void){
  db_name = tdb_name("w5");
  sqlite3 *db = tdb_open(db_name, NULL);
  if(!db) return -1;
  int rc = tdb_execf(db, "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, "
                     "k INTEGER, v TEXT); WITH RECURSIVE c(i) AS (SELECT 1 "
                     "UNION ALL SELECT i+1 FROM c WHERE i < %d) INSERT INTO t "
                     "SELECT i, (i * 7919) %% 1000003, hex(randomblob(50)) "
                     "FROM c; CREATE INDEX t_k ON t(k); COMMIT", ROWS);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

/* point runs the indexed point query for row id with st. Returns 1 if
** it found the row. */
static int point(sqlite3_stmt *st, int id){
  sqlite3_bind_int64(st, 1, ((int64_t)id * 7919) % 1000003);
  int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == id;
  sqlite3_reset(st);
  return ok;
}

/* row_of returns the row of query i (the same rows every pass). */
static int row_of(int i){
  return 1 + (int)(((uint64_t)i * 2654435761u) % ROWS);
}

/* pass runs the QUERIES queries with st, each its own transaction unless
** the caller opened one. When per_query is not NULL, checks that each
** query cost exactly one GET of 0 bytes and one round trip, and adds the
** queries that did not to *per_query. Returns the rows found. */
static int pass(sqlite3 *db, sqlite3_stmt *st, int *per_query){
  int found = 0;
  for(int i = 0; i < QUERIES; i++){
    s3page_stats a, b;
    if(per_query) s3page_stats_get(db, NULL, &a);
    found += point(st, row_of(i));
    if(per_query){
      s3page_stats_get(db, NULL, &b);
      if(b.n_get - a.n_get != 1 || b.round_trips - a.round_trips != 1 ||
         b.bytes_in != a.bytes_in || b.n_head != a.n_head ||
         b.n_put != a.n_put || b.n_list != a.n_list){
        if(*per_query < 3){
          printf("# query %d: get=%llu rt=%llu in=%llu head=%llu\n", i,
                 (unsigned long long)(b.n_get - a.n_get),
                 (unsigned long long)(b.round_trips - a.round_trips),
                 (unsigned long long)(b.bytes_in - a.bytes_in),
                 (unsigned long long)(b.n_head - a.n_head));
        }
        (*per_query)++;
      }
    }
  }
  return found;
}

/* commit_elsewhere changes one row through a connection that shares no
** lock directory with this process's others (as another machine). Returns
** 0 or -1. */
static int commit_elsewhere(void){
  char *params = tdb_elsewhere();
  sqlite3 *w = tdb_open(db_name, params);
  free(params);
  if(!w) return -1;
  int rc = tdb_exec(w, "UPDATE t SET v = 'x' WHERE id = 1");
  sqlite3_close(w);
  return rc == SQLITE_OK ? 0 : -1;
}

/* cached: see the top comment. */
static void cached(void){
  /* As another machine too: a commit made through this process's lock
  ** directory would be seen without a probe. */
  char *params = tdb_elsewhere();
  sqlite3 *db = tdb_open(db_name, params);
  free(params);
  CHECK(db != NULL);
  if(!db) return;
  sqlite3_stmt *st = NULL;
  CHECK_EQ(sqlite3_prepare_v2(db, "SELECT id FROM t WHERE k = ?", -1, &st,
                              NULL), SQLITE_OK);
  CHECK_EQ(pass(db, st, NULL), QUERIES);           /* pages now cached */
  CHECK_EQ(tdb_stats_reset(db), 0);
  int bad = 0;
  CHECK_EQ(pass(db, st, &bad), QUERIES);
  CHECK_EQ(bad, 0);
  s3page_stats s;
  CHECK_EQ(tdb_stats(db, &s), 0);
  printf("# %d cached autocommit queries: %llu GETs, %llu round trips, "
         "%llu bytes\n", QUERIES, (unsigned long long)s.n_get,
         (unsigned long long)s.round_trips, (unsigned long long)s.bytes_in);
  CHECK_EQ(s.n_get, QUERIES);
  CHECK_EQ(s.round_trips, QUERIES);
  CHECK_EQ(s.bytes_in, 0);
  CHECK_EQ(s.n_head + s.n_put + s.n_list + s.n_delete, 0);
  /* The one request is the probe: it is what finds a version made
  ** elsewhere. */
  int64_t v0 = tdb_version(db);
  CHECK_EQ(commit_elsewhere(), 0);
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK(point(st, row_of(0)));
  CHECK_EQ(tdb_stats(db, &s), 0);
  CHECK(s.n_get >= 2);                    /* the probe, the new record */
  CHECK(s.bytes_in > 0);
  CHECK_EQ(tdb_version(db), v0 + 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* stale: see the top comment. */
static void stale(void){
  char *el = tdb_elsewhere();
  char params[4200];
  snprintf(params, sizeof params, "%s&staleness=600000", el);
  free(el);
  sqlite3 *db = tdb_open(db_name, params);
  CHECK(db != NULL);
  if(!db) return;
  sqlite3_stmt *st = NULL;
  CHECK_EQ(sqlite3_prepare_v2(db, "SELECT id FROM t WHERE k = ?", -1, &st,
                              NULL), SQLITE_OK);
  CHECK_EQ(pass(db, st, NULL), QUERIES);
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK_EQ(pass(db, st, NULL), QUERIES);
  s3page_stats s;
  CHECK_EQ(tdb_stats(db, &s), 0);
  printf("# %d cached autocommit queries, staleness=600000: %llu requests, "
         "%llu round trips\n", QUERIES,
         (unsigned long long)(s.n_get + s.n_head + s.n_put + s.n_list),
         (unsigned long long)s.round_trips);
  CHECK_EQ(s.n_get + s.n_head + s.n_put + s.n_list + s.n_delete, 0);
  CHECK_EQ(s.round_trips, 0);
  int64_t v0 = tdb_version(db);
  CHECK_EQ(commit_elsewhere(), 0);
  CHECK(point(st, row_of(1)));
  CHECK_EQ(tdb_version(db), v0);          /* within the window: not seen */
  CHECK_EQ(tdb_stats(db, &s), 0);
  CHECK_EQ(s.n_get + s.round_trips, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* wait_done polls PRAGMA s3page_hydrate until hydration ends (at most 30
** s). Returns 1 if it ended "done". */
static int wait_done(sqlite3 *db){
  for(int i = 0; i < 3000; i++){
    char *t = tdb_text(db, "PRAGMA s3page_hydrate");
    if(!t) return 0;
    int running = !strncmp(t, "state=listing", 13) ||
                  !strncmp(t, "state=running", 13);
    int done = !strncmp(t, "state=done", 10);
    if(!running && !done) printf("# hydration: %s\n", t);
    free(t);
    if(!running) return done;
    tdb_sleep_ms(10);
  }
  return 0;
}

/* hydrated: see the top comment. */
static void hydrated(void){
  char *el = tdb_elsewhere();
  char params[4200];
  snprintf(params, sizeof params, "%s&prefetch=all", el);
  free(el);
  sqlite3 *db = tdb_open(db_name, params);
  CHECK(db != NULL);
  if(!db) return;
  CHECK(wait_done(db));
  sqlite3_stmt *st = NULL;
  CHECK_EQ(sqlite3_prepare_v2(db, "SELECT id FROM t WHERE k = ?", -1, &st,
                              NULL), SQLITE_OK);
  CHECK_EQ(tdb_stats_reset(db), 0);
  CHECK_EQ(tdb_exec(db, "BEGIN"), SQLITE_OK);
  CHECK_EQ(pass(db, st, NULL), QUERIES);
  CHECK_EQ(tdb_exec(db, "COMMIT"), SQLITE_OK);
  s3page_stats s;
  CHECK_EQ(tdb_stats(db, &s), 0);
  printf("# %d queries in one transaction after hydration: %llu GETs, "
         "%llu bytes\n", QUERIES, (unsigned long long)s.n_get,
         (unsigned long long)s.bytes_in);
  CHECK_EQ(s.n_get, 1);
  CHECK_EQ(s.round_trips, 1);
  CHECK_EQ(s.bytes_in, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

int main(void){
  if(tdb_init() != 0 || make_db() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(cached);
  RUN(stale);
  RUN(hydrated);
  free(db_name);
  return CHECK_DONE();
}
