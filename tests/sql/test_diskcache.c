/*
** test_diskcache.c: the persistent page cache (URI option cache_dir=DIR).
**
**   - warm_reopen: a second connection, with the same cache directory,
**     reads the whole database without downloading a single page.
**   - damaged_entry: a cache entry with a flipped byte is not believed:
**     the page is downloaded again, the data is right, the entry replaced.
**   - trimmed: with a 1 MB budget, filling the cache with 4 MB of pages
**     leaves it near the budget.
**   - planted_links: every subdirectory of a shared cache directory is a
**     symbolic link to another directory; reads and fills never create,
**     rename or remove anything there, and the data is right.
**   - handles_race: eight handles of one process (two connections, or a
**     connection and its hydration thread) writing to one directory at
**     the same time lose no entry: their temporary names never collide.
*/
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <pthread.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../vfs/diskcache.h"
#include "../../index/err.h"
#include "../../index/hash.h"

static char cache_root[] = "/tmp/s3p-dcache-XXXXXX";
static uint64_t walk_bytes, walk_files;     /* totals of count_cache */
static char walk_first[4096];               /* one entry's path */

/* walk_one counts one file of the cache. Returns 0. */
static int walk_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw){
  (void)ftw;
  if(flag == FTW_F && strstr(path, "/.t") == NULL){
    walk_bytes += (uint64_t)sb->st_size;
    walk_files++;
    if(!walk_first[0]) snprintf(walk_first, sizeof walk_first, "%s", path);
  }
  return 0;
}

/* count_cache totals the entries under dir. */
static void count_cache(const char *dir){
  walk_bytes = walk_files = 0;
  walk_first[0] = 0;
  nftw(dir, walk_one, 16, FTW_PHYS);
}

/* rm_one removes one file or directory (nftw callback). Returns 0. */
static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw){
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

static uint64_t last_bytes_in;              /* of the last read_all */

/* read_all reads every row of t through a new connection with params and
** returns its GETs, or -1; last_bytes_in gets the bytes it downloaded. */
static int64_t read_all(const char *name, const char *params, int64_t *sum){
  sqlite3 *db = tdb_open(name, params);
  if(!db) return -1;
  *sum = tdb_int(db, "SELECT sum(length(b)) + sum(a) FROM t");
  CHECK(tdb_integrity_ok(db));
  s3page_stats s;
  int rc = tdb_stats(db, &s);
  sqlite3_close(db);
  last_bytes_in = s.bytes_in;
  return rc ? -1 : (int64_t)s.n_get;
}

/* make_db creates a database of about mb megabytes. */
static char *make_db(const char *tag, int mb){
  char *name = tdb_name(tag);
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db) return name;
  CHECK_EQ(tdb_execf(db, "CREATE TABLE t(a, b); WITH RECURSIVE c(i) AS "
                         "(SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < %d) "
                         "INSERT INTO t SELECT i, randomblob(900) FROM c",
                     mb * 1000), SQLITE_OK);
  sqlite3_close(db);
  return name;
}

/* warm_reopen: see the top comment. */
static void warm_reopen(void){
  char *name = make_db("dcwarm", 2);
  char params[256];
  snprintf(params, sizeof params, "cache_dir=%s/warm", cache_root);
  int64_t sum1 = 0, sum2 = 0, sum0 = 0;
  int64_t plain = read_all(name, NULL, &sum0);
  int64_t cold = read_all(name, params, &sum1);
  uint64_t cold_bytes = last_bytes_in;
  int64_t warm = read_all(name, params, &sum2);
  uint64_t warm_bytes = last_bytes_in;
  printf("# GETs: no cache %lld, cold cache %lld (%llu bytes), warm cache "
         "%lld (%llu bytes)\n", (long long)plain, (long long)cold,
         (unsigned long long)cold_bytes, (long long)warm,
         (unsigned long long)warm_bytes);
  CHECK(cold > 100);
  CHECK(cold_bytes > 500000);
  CHECK_EQ(sum1, sum0);
  CHECK_EQ(sum2, sum0);
  /* Warm: only HEAD, commit records and checkpoint nodes; no page. */
  CHECK(warm >= 0 && warm < 20);
  CHECK(warm_bytes < 20000);
  free(name);
}

/* damaged_entry: see the top comment. */
static void damaged_entry(void){
  char *name = make_db("dcbad", 1);
  char dir[300], params[320];
  snprintf(dir, sizeof dir, "%s/bad", cache_root);
  snprintf(params, sizeof params, "cache_dir=%s", dir);
  int64_t sum0 = 0, sum1 = 0, sum2 = 0;
  CHECK(read_all(name, params, &sum0) > 0);
  count_cache(dir);
  CHECK(walk_files > 10);
  char victim[4096];
  snprintf(victim, sizeof victim, "%s", walk_first);
  FILE *f = fopen(victim, "r+b");
  CHECK(f != NULL);
  if(f){
    int c = fgetc(f);
    fseek(f, 0, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
  }
  int64_t gets = read_all(name, params, &sum1);
  CHECK_EQ(sum1, sum0);
  CHECK(gets >= 1);                   /* the damaged page came again */
  uint64_t again = last_bytes_in;
  gets = read_all(name, params, &sum2);  /* and was cached again */
  CHECK_EQ(sum2, sum0);
  CHECK(last_bytes_in + 500 < again);   /* one page less downloaded */
  free(name);
}

/* Pages each writer of handles_race puts (fewer with S3PAGE_TEST_QUICK:
** the race is then less likely to show). */
static uint32_t race_pages = 1000;

/* One writer of the handles_race case. */
typedef struct race_arg {
  s3p_diskcache *c;          /* its own handle */
  uint32_t first;            /* pages first .. first+race_pages-1 */
} race_arg;

#define RACE_HANDLES 8

/* race_page fills page[256] with the content of page number i. */
static void race_page(unsigned char *page, uint32_t i){
  memset(page, 0, 256);
  memcpy(page, &i, sizeof i);
  page[255] = 1;
}

/* race_main puts its pages through its handle. Returns NULL. */
static void *race_main(void *arg){
  race_arg *a = arg;
  unsigned char page[256];
  for(uint32_t i = a->first; i < a->first + race_pages; i++){
    race_page(page, i);
    s3p_hash h;
    s3p_hash_page(&h, page, sizeof page);
    s3p_diskcache_put(a->c, &h, page, sizeof page);
  }
  return NULL;
}

/* handles_race: see the top comment. */
static void handles_race(void){
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/race", cache_root);
  if(tdb_quick()) race_pages = 250;
  s3p_diskcache *c[RACE_HANDLES];
  memset(c, 0, sizeof c);
  int opened = 1;
  for(int k = 0; k < RACE_HANDLES; k++){
    char *msg = NULL;
    CHECK_EQ(s3p_diskcache_open(&c[k], dir, 1ull << 30, &msg), S3P_OK);
    free(msg);
    opened &= c[k] != NULL;
  }
  race_arg a[RACE_HANDLES];
  pthread_t th[RACE_HANDLES];
  for(int k = 0; k < RACE_HANDLES && opened; k++){
    a[k].c = c[k];
    a[k].first = (uint32_t)k * race_pages;
    CHECK_EQ(pthread_create(&th[k], NULL, race_main, &a[k]), 0);
  }
  for(int k = 0; k < RACE_HANDLES && opened; k++) pthread_join(th[k], NULL);
  uint32_t missing = 0;
  unsigned char page[256], got[256];
  for(uint32_t i = 0; opened && i < RACE_HANDLES * race_pages; i++){
    race_page(page, i);
    s3p_hash h;
    s3p_hash_page(&h, page, sizeof page);
    if(!s3p_diskcache_get(c[i % RACE_HANDLES], &h, got, sizeof got) ||
       memcmp(got, page, sizeof page)) missing++;
  }
  printf("# %d handles writing at once: %u of %u entries missing\n",
         RACE_HANDLES, missing, RACE_HANDLES * race_pages);
  CHECK(opened);
  CHECK_EQ(missing, 0);
  for(int k = 0; k < RACE_HANDLES; k++) s3p_diskcache_close(c[k]);
}

/* trimmed: see the top comment. */
static void trimmed(void){
  char *name = make_db("dctrim", 4);
  char dir[300], params[340];
  snprintf(dir, sizeof dir, "%s/trim", cache_root);
  snprintf(params, sizeof params, "cache_dir=%s&cache_max_mb=1", dir);
  int64_t sum0 = 0, sum1 = 0;
  CHECK(read_all(name, NULL, &sum0) > 0);
  CHECK(read_all(name, params, &sum1) > 0);
  CHECK_EQ(sum1, sum0);
  count_cache(dir);
  printf("# cache after reading 4 MB with a 1 MB budget: %llu bytes in %llu "
         "entries\n", (unsigned long long)walk_bytes,
         (unsigned long long)walk_files);
  CHECK(walk_files > 0);
  CHECK(walk_bytes <= (1u << 20) + (1u << 20) / 8 + 65536);
  free(name);
}

/* planted_links: see the top comment. */
static void planted_links(void){
  char *name = make_db("dclink", 1);
  char dir[300], victim[300], params[340], link[320];
  snprintf(dir, sizeof dir, "%s/links", cache_root);
  snprintf(victim, sizeof victim, "%s/victim", cache_root);
  CHECK_EQ(mkdir(dir, 0700), 0);
  CHECK_EQ(mkdir(victim, 0700), 0);
  for(int i = 0; i < 256; i++){
    snprintf(link, sizeof link, "%s/%02x", dir, i);
    CHECK_EQ(symlink(victim, link), 0);
  }
  snprintf(params, sizeof params, "cache_dir=%s&cache_max_mb=1", dir);
  int64_t sum0 = 0, sum1 = 0, sum2 = 0;
  CHECK(read_all(name, NULL, &sum0) > 0);
  CHECK(read_all(name, params, &sum1) > 0);
  CHECK(read_all(name, params, &sum2) > 0);
  CHECK_EQ(sum1, sum0);
  CHECK_EQ(sum2, sum0);
  count_cache(victim);
  printf("# files created through planted links: %llu\n",
         (unsigned long long)walk_files);
  CHECK_EQ(walk_files, 0);
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0 || !mkdtemp(cache_root)){
    printf("not ok - init\n");
    return 1;
  }
  RUN(warm_reopen);
  RUN(damaged_entry);
  RUN(trimmed);
  RUN(planted_links);
  RUN(handles_race);
  nftw(cache_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return CHECK_DONE();
}
