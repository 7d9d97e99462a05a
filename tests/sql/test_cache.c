/*
** test_cache.c: one page cache per process (vfs/pagecache.h).
**
**   - ten_connections: ten connections to one database share one cache:
**     after the first connection's cold scan, each other connection's
**     cold scan downloads no page (its only GETs are freshness probes),
**     and the process cache holds one copy of each page.
**   - one_limit: ten connections with cache_mb=1 each scanning a database
**     of about 2.5 MB: the whole cache stays within 1 MB (not 10 x 1 MB);
**     a connection asking for more raises the one limit.
**   - knowledge_per_store: the same pages written to two stores by two
**     connections of one process are uploaded to both: that store A holds
**     a page says nothing about store B, even though the bytes are shared.
**   - threads: four threads with their own connections read and check
**     rows while a 1 MB cache evicts all the time (run it under ASan).
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/pagecache.h"

/* The rows of the test database: id 1..ROWS, v 1000 characters. */
#define ROWS 2000

/* make_db creates a database of ROWS rows of 1000 characters (about 2.5
** MB) in one transaction. Returns its name (malloc'd) or NULL. */
static char *make_db(const char *tag){
  char *name = tdb_name(tag);
  sqlite3 *db = tdb_open(name, NULL);
  if(!db){ free(name); return NULL; }
  int rc = tdb_execf(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                     "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
                     "FROM c WHERE i < %d) INSERT INTO t SELECT i, "
                     "printf('%%04d', i) || hex(randomblob(498)) FROM c", ROWS);
  sqlite3_close(db);
  if(rc){ free(name); return NULL; }
  return name;
}

/* cache_field returns field key (e.g. "page_bytes") of PRAGMA
** s3page_cache, or -1. */
static int64_t cache_field(sqlite3 *db, const char *key){
  char *t = tdb_text(db, "PRAGMA s3page_cache");
  if(!t) return -1;
  char pat[64];
  snprintf(pat, sizeof pat, " %s=", key);
  const char *v0 = NULL;                    /* where the value starts */
  if(!strncmp(t, pat + 1, strlen(pat + 1))) v0 = t + strlen(pat + 1);
  else if(strstr(t, pat)) v0 = strstr(t, pat) + strlen(pat);
  int64_t v = v0 ? strtoll(v0, NULL, 10) : -1;
  free(t);
  return v;
}

static uint64_t scan_bytes;                /* bytes_in of the last scan */

/* scan_gets resets db's counters, scans t and returns the GETs it made
** (scan_bytes: their bytes), or -1 when the scan failed or its sum is
** wrong. */
static int64_t scan_gets(sqlite3 *db){
  if(tdb_stats_reset(db)) return -1;
  int64_t sum = tdb_int(db, "SELECT sum(id + length(v)) FROM t");
  if(sum != (int64_t)ROWS * (ROWS + 1) / 2 + (int64_t)ROWS * 1000){
    printf("# wrong sum %lld\n", (long long)sum);
    return -1;
  }
  s3page_stats s;
  if(tdb_stats(db, &s)) return -1;
  scan_bytes = s.bytes_in;
  return (int64_t)s.n_get;
}

/* ten_connections: see the top comment. */
static void ten_connections(void){
  char *name = make_db("c10");
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *db[10];
  for(int i = 0; i < 10; i++){
    db[i] = tdb_open(name, NULL);
    CHECK(db[i] != NULL);
    if(!db[i]){ while(i--) sqlite3_close(db[i]); free(name); return; }
  }
  CHECK_EQ(cache_field(db[0], "users"), 10);
  /* Each loads the schema first (page 1), so that a scan's GETs are its
  ** own: a connection's first statement also probes for the schema. */
  for(int i = 0; i < 10; i++) CHECK_EQ(tdb_int(db[i], "PRAGMA schema_version"), 1);
  int64_t first = scan_gets(db[0]);
  CHECK(first > 500);                       /* every page, cold */
  int64_t pages = cache_field(db[0], "pages");
  int64_t bytes = cache_field(db[0], "page_bytes");
  /* The other connections' cold scans download nothing: their only GETs
  ** are freshness probes of wal/<version+1>, which find no object (one
  ** for the statement, one more for a connection's first transaction). */
  int64_t probes = 0;
  for(int i = 1; i < 10; i++){
    int64_t g = scan_gets(db[i]);
    CHECK(g >= 1 && g <= 2);
    CHECK_EQ(scan_bytes, 0);                /* no page, no tree node */
    if(g > probes) probes = g;
  }
  /* One copy of each page, whatever the number of readers. */
  CHECK_EQ(cache_field(db[9], "pages"), pages);
  CHECK_EQ(cache_field(db[9], "page_bytes"), bytes);
  printf("# first scan %lld GETs; 9 more scans at most %lld GETs each, 0 bytes; "
         "cache %lld pages, %lld bytes\n", (long long)first, (long long)probes,
         (long long)pages, (long long)bytes);
  for(int i = 0; i < 10; i++) sqlite3_close(db[i]);
  free(name);
}

/* one_limit: see the top comment. */
static void one_limit(void){
  char *name = make_db("c1mb");
  CHECK(name != NULL);
  if(!name) return;
  sqlite3 *db[10];
  int64_t most = 0;
  for(int i = 0; i < 10; i++){
    db[i] = tdb_open(name, "cache_mb=1");
    CHECK(db[i] != NULL);
    if(!db[i]){ while(i--) sqlite3_close(db[i]); free(name); return; }
    CHECK(scan_gets(db[i]) > 0);
    int64_t used = cache_field(db[i], "page_bytes") +
                   cache_field(db[i], "node_bytes");
    if(used > most) most = used;
  }
  CHECK_EQ(cache_field(db[0], "limit"), 1 << 20);
  printf("# ten connections at cache_mb=1: at most %lld bytes cached\n",
         (long long)most);
  CHECK(most > (1 << 20) / 2);
  CHECK(most <= 1 << 20);
  /* A connection asking for more raises the one limit for everyone. */
  sqlite3 *big = tdb_open(name, "cache_mb=8");
  CHECK(big != NULL);
  CHECK_EQ(cache_field(db[0], "limit"), 8 << 20);
  CHECK(scan_gets(big) > 0);
  CHECK(scan_gets(db[3]) <= 2);             /* now all of it fits: */
  CHECK_EQ(scan_bytes, 0);                  /* freshness probes only */
  sqlite3_close(big);
  for(int i = 0; i < 10; i++) sqlite3_close(db[i]);
  free(name);
}

/* knowledge_per_store: see the top comment. */
static void knowledge_per_store(void){
  char *na = tdb_name("kna"), *nb = tdb_name("knb");
  const char *sql = "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                    "INSERT INTO t VALUES(1, 'same'), (2, 'bytes')";
  sqlite3 *a = tdb_open(na, NULL);
  CHECK(a != NULL);
  CHECK_EQ(tdb_exec(a, sql), SQLITE_OK);
  CHECK_EQ(tdb_int(a, "SELECT count(*) FROM t"), 2);
  /* b, open at the same time, makes exactly the same pages in store B:
  ** they must be uploaded there, though the process knows store A has
  ** them and the cache holds their bytes. */
  sqlite3 *b = tdb_open(nb, NULL);
  CHECK(b != NULL);
  CHECK_EQ(tdb_stats_reset(b), 0);
  CHECK_EQ(tdb_exec(b, sql), SQLITE_OK);
  s3page_stats s;
  CHECK_EQ(tdb_stats(b, &s), 0);
  printf("# second store: %llu PUTs\n", (unsigned long long)s.n_put);
  sqlite3_close(b);
  /* Store B read from nothing but itself. */
  s3p_pagecache_clear();
  sqlite3 *c = tdb_open(nb, NULL);
  CHECK(c != NULL);
  CHECK_EQ(tdb_int(c, "SELECT count(*) FROM t WHERE v IN ('same', 'bytes')"),
           2);
  CHECK(tdb_integrity_ok(c));
  sqlite3_close(c);
  sqlite3_close(a);
  free(na);
  free(nb);
}

/* One reader thread of the threads case. */
typedef struct reader {
  const char *name;          /* database */
  int iters;                 /* queries to run */
  int bad;                   /* wrong answers or errors */
  unsigned seed;             /* for rand_r */
} reader;

/* reader_main runs point queries and scans on its own connection. Returns
** NULL. */
static void *reader_main(void *arg){
  reader *r = arg;
  sqlite3 *db = tdb_open(r->name, "cache_mb=1");
  if(!db){ r->bad++; return NULL; }
  for(int i = 0; i < r->iters; i++){
    int id = 1 + (int)(rand_r(&r->seed) % ROWS);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT substr(v, 1, 4) = printf('%%04d', id) "
             "FROM t WHERE id = %d", id);
    if(tdb_int(db, sql) != 1) r->bad++;
    if(i % 50 == 0 && tdb_int(db, "SELECT count(*) FROM t") != ROWS) r->bad++;
  }
  sqlite3_close(db);
  return NULL;
}

/* threads: see the top comment. */
static void threads(void){
  char *name = make_db("cthr");
  CHECK(name != NULL);
  if(!name) return;
  /* One connection keeps the cache alive across the threads' opens. */
  sqlite3 *keep = tdb_open(name, "cache_mb=1");
  CHECK(keep != NULL);
  reader r[4];
  pthread_t th[4];
  for(int i = 0; i < 4; i++){
    r[i].name = name;
    r[i].iters = tdb_quick() ? 100 : 400;
    r[i].bad = 0;
    r[i].seed = 7u + (unsigned)i;
    CHECK_EQ(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
  }
  int bad = 0;
  for(int i = 0; i < 4; i++){
    pthread_join(th[i], NULL);
    bad += r[i].bad;
  }
  CHECK_EQ(bad, 0);
  CHECK(cache_field(keep, "page_bytes") + cache_field(keep, "node_bytes") <=
        1 << 20);
  printf("# 4 threads, %d queries each: cache hits %lld, misses %lld\n",
         r[0].iters, (long long)cache_field(keep, "hits"),
         (long long)cache_field(keep, "misses"));
  sqlite3_close(keep);
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(ten_connections);
  RUN(one_limit);
  RUN(knowledge_per_store);
  RUN(threads);
  return CHECK_DONE();
}
