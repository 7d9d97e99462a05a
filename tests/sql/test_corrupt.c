/*
** test_corrupt.c: damaged and missing objects in a directory store are
** errors naming the object, never wrong data.
**
**   - For every page object of a small database (written in one
**     transaction, so every object is a page of the newest version), one
**     byte flipped at its start, middle and end: a new connection reading
**     everything fails with SQLITE_CORRUPT and the log names the object
**     ("pages/xxh128-..."). Restored, everything reads back right.
**   - A missing page object: SQLITE_CORRUPT naming it.
**   - A damaged newest commit record: the open or the read fails
**     (SQLITE_CORRUPT or SQLITE_CANTOPEN) naming "wal/<version>"; damaged
**     older records and checkpoint nodes either fail naming the object or
**     read exactly the right data; a damaged HEAD hint reads right data.
** Objects are files, so this runs only on the directory store; with
** S3PAGE_TEST_STORE set it runs no case.
*/
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* What reading a whole database gave. */
typedef struct read_result {
  int rc;          /* SQLITE_OK or the first error (extended code) */
  int at_open;     /* the error came from opening */
  char *digest;    /* everything read (malloc'd), NULL on error */
} read_result;

/* Queries that together read every page of the test databases. */
static const char *const read_queries[] = {
  "SELECT group_concat(name || type, ',') FROM sqlite_schema",
  "SELECT group_concat(k || ':' || s || ':' || hex(b), ',') FROM "
  "  (SELECT * FROM t ORDER BY k)",
  "SELECT group_concat(k, ',') FROM t INDEXED BY t_s WHERE s > ''",
  "SELECT group_concat(x, ',') FROM z",
  NULL
};

/* read_all opens name in a new connection (with params) and runs every
** read query, collecting the results. Returns the outcome; the caller
** frees r.digest. */
static read_result read_all(const char *name, const char *params){
  read_result r = { SQLITE_OK, 0, NULL };
  int rc = SQLITE_OK;
  sqlite3 *db = tdb_open_ex(name, params, SQLITE_OPEN_READWRITE, 1, &rc);
  if(!db){
    r.rc = rc;
    r.at_open = 1;
    return r;
  }
  size_t len = 0;
  char *acc = calloc(1, 1);
  for(int i = 0; read_queries[i] && acc; i++){
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db, read_queries[i], -1, &st, NULL);
    if(rc == SQLITE_OK) rc = sqlite3_step(st);
    if(rc != SQLITE_ROW){
      r.rc = sqlite3_extended_errcode(db);
      if(r.rc == SQLITE_OK) r.rc = rc;
      sqlite3_finalize(st);
      free(acc);
      acc = NULL;
      break;
    }
    const char *t = (const char *)sqlite3_column_text(st, 0);
    size_t tl = t ? strlen(t) : 0;
    char *n = realloc(acc, len + tl + 2);
    if(n){
      memcpy(n + len, t ? t : "", tl);
      n[len + tl] = '\n';
      n[len + tl + 1] = 0;
      len += tl + 1;
    }else{
      free(acc);
    }
    acc = n;
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  r.digest = acc;
  if(!acc && r.rc == SQLITE_OK) r.rc = SQLITE_NOMEM;
  return r;
}

/* make_db creates a small database in one transaction: random blobs
** (incompressible pages), an index over text and a table of repetitive
** text (pages stored compressed). Returns the reference digest (malloc'd)
** or NULL. */
static char *make_db(const char *name, const char *params){
  sqlite3 *db = tdb_open(name, params);
  int rc = tdb_exec(db, "BEGIN;"
    "CREATE TABLE t(k INTEGER PRIMARY KEY, s TEXT, b BLOB);"
    "CREATE INDEX t_s ON t(s);"
    "CREATE TABLE z(x);"
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE "
    "  i < 60) INSERT INTO t SELECT i, hex(randomblob(20)), randomblob(300) "
    "  FROM c;"
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE "
    "  i < 40) INSERT INTO z SELECT printf('%.200c%d', 'a', i) FROM c;"
    "COMMIT");
  sqlite3_close(db);
  if(rc != SQLITE_OK) return NULL;
  read_result r = read_all(name, params);
  if(r.rc != SQLITE_OK) printf("# reading the fresh database failed: %d\n", r.rc);
  return r.digest;
}

/* list_dir returns the names of the regular files in dir (NULL-ended,
** malloc'd) and their count in *n. */
static char **list_dir(const char *dir, size_t *n){
  DIR *d = opendir(dir);
  char **out = calloc(1, sizeof *out);
  *n = 0;
  if(!d) return out;
  struct dirent *e;
  while((e = readdir(d)) != NULL && out){
    if(e->d_name[0] == '.') continue;
    char **grown = realloc(out, (*n + 2) * sizeof *out);
    if(!grown) break;
    out = grown;
    out[(*n)++] = strdup(e->d_name);
    out[*n] = NULL;
  }
  closedir(d);
  return out;
}

/* free_list frees a list_dir result. */
static void free_list(char **l){
  for(size_t i = 0; l && l[i]; i++) free(l[i]);
  free(l);
}

/* file_size returns the size of path, or -1. */
static long file_size(const char *path){
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* flip_byte XORs the byte at off of path with 0x5a (object files are
** read-only after creation: the mode is restored). Returns 0 or -1. */
static int flip_byte(const char *path, long off){
  struct stat sb;
  if(stat(path, &sb) != 0) return -1;
  chmod(path, sb.st_mode | S_IWUSR);
  int fd = open(path, O_RDWR);
  int ok = -1;
  unsigned char c;
  if(fd >= 0 && pread(fd, &c, 1, off) == 1){
    c ^= 0x5a;
    if(pwrite(fd, &c, 1, off) == 1) ok = 0;
  }
  if(fd >= 0) close(fd);
  chmod(path, sb.st_mode);
  return ok;
}

/* expect_failure checks that r failed with a code of one of the primary
** kinds a and b and that the log names key. Returns 1 if so. */
static int expect_failure(const read_result *r, int a, int b, const char *key){
  int ok = 1;
  if(r->rc == SQLITE_OK){
    printf("# %s damaged, yet everything read without error\n", key);
    ok = 0;
  }else if((r->rc & 0xff) != a && (r->rc & 0xff) != b){
    printf("# %s damaged: error %d (%s), not %s\n", key, r->rc,
           sqlite3_errstr(r->rc), sqlite3_errstr(a));
    ok = 0;
  }
  if(r->rc != SQLITE_OK && !tdb_log_has(key)){
    printf("# %s damaged: the log does not name it:\n", key);
    tdb_log_dump();
    ok = 0;
  }
  return ok;
}

/* page_flips: one flipped byte in any page object is SQLITE_CORRUPT
** naming the object; restored, the data is right again. */
static void page_flips(void){
  char *name = tdb_name("flip");
  char *ref = make_db(name, NULL);
  CHECK(ref != NULL);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/pages", name);
  size_t n = 0;
  char **objs = list_dir(dir, &n);
  CHECK(n >= 10);
  printf("# %zu page objects\n", n);
  int tried = 0;
  for(size_t i = 0; i < n && ref; i++){
    char path[8192], key[512];
    snprintf(path, sizeof path, "%s/%s", dir, objs[i]);
    snprintf(key, sizeof key, "pages/%s", objs[i]);
    long size = file_size(path);
    CHECK(size > 0);
    long offs[3] = { 0, size / 2, size - 1 };
    for(int j = 0; j < 3; j++){
      if(flip_byte(path, offs[j]) != 0){ CHECK(0); continue; }
      tdb_log_clear();
      read_result r = read_all(name, NULL);
      if(!expect_failure(&r, SQLITE_CORRUPT, SQLITE_CORRUPT, key)){
        printf("# (byte %ld of %ld)\n", offs[j], size);
        CHECK(0);
      }
      if(r.rc == SQLITE_OK) CHECK(r.digest && !strcmp(r.digest, ref));
      free(r.digest);
      CHECK_EQ(flip_byte(path, offs[j]), 0);
      tried++;
    }
  }
  /* Restored: all right again. */
  read_result r = read_all(name, NULL);
  CHECK_EQ(r.rc, SQLITE_OK);
  CHECK(r.digest && ref && !strcmp(r.digest, ref));
  free(r.digest);
  CHECK_EQ(tried, (int)n * 3);
  free_list(objs);
  free(ref);
  free(name);
}

/* missing_page: a page object that is gone is SQLITE_CORRUPT naming it. */
static void missing_page(void){
  char *name = tdb_name("missing");
  char *ref = make_db(name, NULL);
  CHECK(ref != NULL);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/pages", name);
  size_t n = 0;
  char **objs = list_dir(dir, &n);
  CHECK(n >= 10);
  /* Every third object, one at a time, moved away and back. */
  for(size_t i = 0; i < n && ref; i += 3){
    char path[8192], aside[8300], key[512];
    snprintf(path, sizeof path, "%s/%s", dir, objs[i]);
    snprintf(aside, sizeof aside, "%s/aside", name);
    snprintf(key, sizeof key, "pages/%s", objs[i]);
    CHECK_EQ(rename(path, aside), 0);
    tdb_log_clear();
    read_result r = read_all(name, NULL);
    CHECK(expect_failure(&r, SQLITE_CORRUPT, SQLITE_CORRUPT, key));
    free(r.digest);
    CHECK_EQ(rename(aside, path), 0);
  }
  read_result r = read_all(name, NULL);
  CHECK(r.digest && ref && !strcmp(r.digest, ref));
  free(r.digest);
  free_list(objs);
  free(ref);
  free(name);
}

/* damage_each flips one byte (middle) of every file in name/sub, one at a
** time: the read fails naming the object (with one of codes a, b), or, if
** must_fail is 0, may instead give exactly ref. Returns how many failed. */
static int damage_each(const char *name, const char *sub, const char *ref,
                       int a, int b, const char *must_fail){
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", name, sub);
  size_t n = 0;
  char **objs = list_dir(dir, &n);
  int failed = 0;
  CHECK(n > 0);
  for(size_t i = 0; i < n; i++){
    char path[8192], key[512];
    snprintf(path, sizeof path, "%s/%s", dir, objs[i]);
    snprintf(key, sizeof key, "%s/%s", sub, objs[i]);
    long size = file_size(path);
    if(flip_byte(path, size / 2) != 0){ CHECK(0); continue; }
    tdb_log_clear();
    read_result r = read_all(name, NULL);
    int must = must_fail && !strcmp(objs[i], must_fail);
    if(r.rc != SQLITE_OK || must){
      CHECK(expect_failure(&r, a, b, key));
      failed++;
    }else if(!r.digest || strcmp(r.digest, ref)){
      printf("# %s damaged: WRONG DATA read\n", key);
      CHECK(0);
    }
    free(r.digest);
    CHECK_EQ(flip_byte(path, size / 2), 0);
  }
  free_list(objs);
  return failed;
}

/* damaged_records: a damaged newest commit record fails naming it;
** damaged older ones fail naming themselves or read right data. */
static void damaged_records(void){
  char *name = tdb_name("records");
  char *ref = make_db(name, NULL);
  CHECK(ref != NULL);
  /* More versions, each changing nothing the reference reads... */
  sqlite3 *db = tdb_open(name, NULL);
  CHECK_EQ(tdb_exec(db, "CREATE TABLE extra(a); INSERT INTO extra VALUES(1);"
                        "DROP TABLE extra"), SQLITE_OK);
  int64_t v = tdb_version(db);
  sqlite3_close(db);
  char newest[32];
  snprintf(newest, sizeof newest, "%020lld", (long long)v);
  if(ref){
    free(ref);
    read_result r = read_all(name, NULL);
    ref = r.digest;
  }
  CHECK(ref != NULL);
  if(ref){
    int failed = damage_each(name, "wal", ref, SQLITE_CORRUPT, SQLITE_CANTOPEN,
                             newest);
    printf("# %d of %lld damaged records made reading fail\n", failed,
           (long long)v);
    CHECK(failed >= 1);
  }
  /* The damaged HEAD hint is only a hint. */
  char head[4096];
  snprintf(head, sizeof head, "%s/HEAD", name);
  long size = file_size(head);
  if(size > 0 && ref){
    CHECK_EQ(flip_byte(head, size / 2), 0);
    read_result r = read_all(name, NULL);
    CHECK_EQ(r.rc, SQLITE_OK);
    CHECK(r.digest && !strcmp(r.digest, ref));
    free(r.digest);
    CHECK_EQ(flip_byte(head, size / 2), 0);
  }
  read_result r = read_all(name, NULL);
  CHECK(r.digest && ref && !strcmp(r.digest, ref));
  free(r.digest);
  free(ref);
  free(name);
}

/* damaged_nodes: with a checkpoint every 2 versions, a damaged checkpoint
** node fails naming "index/..." or reads right data; never wrong data. */
static void damaged_nodes(void){
  char *name = tdb_name("nodes");
  char *ref = make_db(name, "checkpoint=2");
  CHECK(ref != NULL);
  sqlite3 *db = tdb_open(name, "checkpoint=2");
  CHECK_EQ(tdb_exec(db, "UPDATE t SET k = k WHERE k = 1"), SQLITE_OK);
  CHECK_EQ(tdb_exec(db, "BEGIN; CREATE TABLE q(a); DROP TABLE q; COMMIT"),
           SQLITE_OK);
  sqlite3_close(db);
  if(ref){
    int failed = damage_each(name, "index", ref, SQLITE_CORRUPT,
                             SQLITE_CANTOPEN, NULL);
    printf("# %d damaged checkpoint nodes made reading fail\n", failed);
    CHECK(failed >= 1);
  }
  free(ref);
  free(name);
}

/* main runs the cases (none on S3). Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  if(tdb_on_s3()){
    printf("# objects are files only in a directory store: no case on S3\n");
    return 0;
  }
  RUN(page_flips);
  RUN(missing_page);
  RUN(damaged_records);
  RUN(damaged_nodes);
  return CHECK_DONE();
}
