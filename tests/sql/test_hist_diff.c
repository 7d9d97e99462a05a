/*
** test_hist_diff.c: s3page_diff (s3page diff NAME A B).
**
**   diff_one_row        on a database of about 4,000 pages (2,500 with
**                       S3PAGE_TEST_QUICK=1, 12,200 with S3PAGE_DIFF_BIG=1),
**                       a one-row UPDATE: exactly
**                       that row's old and new values, reading at most 20
**                       objects (the request counters);
**   diff_scattered      1,000 scattered updates over a few commits, plus
**                       inserts and deletes, across checkpoints (the two
**                       checkpoint trees are compared): each reported
**                       exactly once, in rowid order, only rows that
**                       changed;
**   diff_schema         ALTER TABLE ADD COLUMN, CREATE INDEX, DROP TABLE
**                       are reported as schema changes, and an index's
**                       changed pages are counted under its name;
**   diff_same           a version against itself: nothing, no page read;
**   diff_overflow       an update that rewrites only a large value's
**                       overflow pages (same size: SQLite overwrites in
**                       place and the leaf page stays the same) is found.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

/* What the sink collected. */
typedef struct dt_seen {
  int n_obj;                 /* schema changes */
  char objs[512];            /* "op type name;" each */
  int n_row[3];              /* inserted, deleted, updated */
  int64_t *rowids;           /* every row reported, in order */
  char *ops;                 /* and its op */
  int nrows;                 /* how many */
  char last_old[256];        /* the last row's values, as text */
  char last_new[256];
  char btrees[1024];         /* "name=pages;" each */
} dt_seen;

/* dt_vals writes n values of v as "a|b|c" into out. */
static void dt_vals(char *out, size_t cap, const s3page_value *v, int n){
  size_t at = 0;
  out[0] = 0;
  for(int i = 0; i < n && at + 1 < cap; i++){
    int w = 0;
    if(v[i].type == SQLITE_INTEGER) w = snprintf(out + at, cap - at, "%s%lld",
                                                 i ? "|" : "", (long long)v[i].i);
    else if(v[i].type == SQLITE_TEXT) w = snprintf(out + at, cap - at, "%s%.*s",
                                                   i ? "|" : "", v[i].n,
                                                   (const char *)v[i].p);
    else if(v[i].type == SQLITE_NULL) w = snprintf(out + at, cap - at, "%sNULL",
                                                   i ? "|" : "");
    else w = snprintf(out + at, cap - at, "%s<%d:%d>", i ? "|" : "",
                      v[i].type, v[i].n);
    if(w < 0) break;
    at += (size_t)w;
    if(at >= cap) at = cap - 1;
  }
}

/* dt_object counts a schema change. Returns 0. */
static int dt_object(void *arg, const s3page_diff_object *o){
  dt_seen *s = arg;
  s->n_obj++;
  size_t l = strlen(s->objs);
  snprintf(s->objs + l, sizeof s->objs - l, "%c %s %s;", o->op, o->type,
           o->name);
  return 0;
}

/* dt_btree records a b-tree's count. Returns 0. */
static int dt_btree(void *arg, const s3page_diff_btree *b){
  dt_seen *s = arg;
  size_t l = strlen(s->btrees);
  snprintf(s->btrees + l, sizeof s->btrees - l, "%s=%u;",
           b->name ? b->name : "(other)", (unsigned)b->pages);
  return 0;
}

/* dt_row records a row. Returns 0. */
static int dt_row(void *arg, const s3page_diff_row *r){
  dt_seen *s = arg;
  s->n_row[r->op == 'I' ? 0 : r->op == 'D' ? 1 : 2]++;
  s->rowids = realloc(s->rowids, (size_t)(s->nrows + 1) * sizeof *s->rowids);
  s->ops = realloc(s->ops, (size_t)(s->nrows + 1));
  s->rowids[s->nrows] = r->rowid;
  s->ops[s->nrows] = r->op;
  s->nrows++;
  dt_vals(s->last_old, sizeof s->last_old, r->old_v, r->old_v ? r->nold : 0);
  dt_vals(s->last_new, sizeof s->last_new, r->new_v, r->new_v ? r->nnew : 0);
  return 0;
}

/* dt_diff runs s3page_diff of versions a and b of name into *s and *res.
** Returns the SQLite code. */
static int dt_diff(const char *name, int64_t a, int64_t b, unsigned flags,
                   dt_seen *s, s3page_diff_result *res){
  memset(s, 0, sizeof *s);
  s3page_at at_a, at_b;
  memset(&at_a, 0, sizeof at_a);
  memset(&at_b, 0, sizeof at_b);
  at_a.version = (uint64_t)a;
  at_b.version = (uint64_t)b;
  s3page_diff_sink sink = { s, dt_object, dt_btree, dt_row };
  char *err = NULL;
  int rc = s3page_diff(name, &at_a, &at_b, flags, &sink, res, &err);
  if(err) printf("# diff: %s\n", err);
  sqlite3_free(err);
  printf("# diff %lld..%lld: %llu pages changed, %llu GET/HEAD (%llu pages, "
         "%llu nodes), rows +%llu -%llu ~%llu, scanned %llu; %s\n",
         (long long)a, (long long)b, (unsigned long long)res->pages_changed,
         (unsigned long long)res->n_get, (unsigned long long)res->pages_fetched,
         (unsigned long long)res->nodes_fetched,
         (unsigned long long)res->rows_inserted,
         (unsigned long long)res->rows_deleted,
         (unsigned long long)res->rows_updated,
         (unsigned long long)res->tables_scanned, s->btrees);
  return rc;
}

/* dt_free releases what s collected. */
static void dt_free(dt_seen *s){
  free(s->rowids);
  free(s->ops);
}

/* diff_one_row: see the file comment. */
static void diff_one_row(void){
  char *name = tdb_name("diffone");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  /* About 2,500 pages quick, 4,000 normally, 12,200 (the benchmark's
  ** 50 MB database) with S3PAGE_DIFF_BIG=1. */
  const char *big = getenv("S3PAGE_DIFF_BIG");
  int rows = big && *big == '1' ? 48000 : tdb_quick() ? 10000 : 16000;
  CHECK_EQ(tdb_execf(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, "
                         "v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                         "SELECT i + 1 FROM n WHERE i < %d) INSERT INTO t "
                         "SELECT i, i * 7, printf('%%.900c', 'a') FROM n;"
                         "CREATE INDEX tk ON t(k)", rows), SQLITE_OK);
  int64_t pages = tdb_int(db, "PRAGMA page_count");
  printf("# %lld pages\n", (long long)pages);
  CHECK(pages > rows / 4);
  int64_t a = tdb_version(db);
  CHECK_EQ(tdb_execf(db, "UPDATE t SET v = 'new value' WHERE id = %d",
                     rows / 2), SQLITE_OK);
  int64_t b = tdb_version(db);
  sqlite3_close(db);
  dt_seen s;
  s3page_diff_result r;
  CHECK_EQ(dt_diff(name, a, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.nrows, 1);
  CHECK_EQ(s.n_row[2], 1);
  CHECK_EQ(s.n_obj, 0);
  if(s.nrows == 1) CHECK_EQ(s.rowids[0], rows / 2);
  char want[1024];
  snprintf(want, sizeof want, "NULL|%d|%.900d", rows / 2 * 7, 0);
  memset(want + strlen(want) - 900, 'a', 900);
  CHECK(!strncmp(s.last_old, want, sizeof s.last_old - 1));
  snprintf(want, sizeof want, "NULL|%d|new value", rows / 2 * 7);
  CHECK(!strcmp(s.last_new, want));
  CHECK(r.pages_changed >= 2 && r.pages_changed <= 4);
  CHECK_EQ(r.tables_scanned, 0);
  CHECK(r.n_get <= 20);
  dt_free(&s);
  free(name);
}

/* diff_scattered: see the file comment. */
static void diff_scattered(void){
  char *name = tdb_name("diffmany");
  /* Checkpoints every other version: A's and B's trees differ, so the
  ** diff walks both, skipping the subtrees they share. */
  sqlite3 *db = tdb_open(name, "checkpoint=2");
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  int rows = 20000;
  CHECK_EQ(tdb_execf(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                         "i + 1 FROM n WHERE i < %d) INSERT INTO t SELECT i, "
                         "printf('%%.200c', 'x') FROM n", rows), SQLITE_OK);
  int64_t a = tdb_version(db);
  /* 1,000 scattered updates in 4 commits (ids 7, 26, ... distinct). */
  for(int c = 0; c < 4; c++){
    CHECK_EQ(tdb_execf(db, "UPDATE t SET v = 'u' || id WHERE id %% 19 = 7 AND "
                           "id <= 19000 AND id %% 4 = %d", c), SQLITE_OK);
  }
  CHECK_EQ(tdb_exec(db, "DELETE FROM t WHERE id IN (3, 5000, 15000);"
                        "INSERT INTO t VALUES(30000, 'new'), (30001, 'new2')"),
           SQLITE_OK);
  int64_t b = tdb_version(db);
  CHECK_EQ(tdb_int(db, "SELECT count(*) FROM t WHERE v LIKE 'u%'"), 1000);
  sqlite3_close(db);
  dt_seen s;
  s3page_diff_result r;
  CHECK_EQ(dt_diff(name, a, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.n_row[2], 1000);
  CHECK_EQ(s.n_row[1], 3);
  CHECK_EQ(s.n_row[0], 2);
  int ok = 1;
  for(int i = 0; i < s.nrows; i++){
    int64_t id = s.rowids[i];
    if(i && s.rowids[i - 1] >= id) ok = 0;        /* each once, in order */
    if(s.ops[i] == 'U' && !(id % 19 == 7 && id <= 19000)) ok = 0;
  }
  CHECK(ok);
  CHECK_EQ(r.tables_scanned, 0);
  dt_free(&s);
  free(name);
}

/* diff_schema: see the file comment. */
static void diff_schema(void){
  char *name = tdb_name("diffschema");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                        "CREATE TABLE gone(x);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                        "i + 1 FROM n WHERE i < 3000) INSERT INTO t SELECT i, "
                        "hex(randomblob(20)) FROM n"), SQLITE_OK);
  int64_t a = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "ALTER TABLE t ADD COLUMN w INT DEFAULT 5"), SQLITE_OK);
  int64_t b = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "CREATE INDEX tv ON t(v); DROP TABLE gone"), SQLITE_OK);
  int64_t c = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "UPDATE t SET v = 'zzz' WHERE id = 10"), SQLITE_OK);
  int64_t d = tdb_version(db);
  sqlite3_close(db);
  dt_seen s;
  s3page_diff_result r;
  CHECK_EQ(dt_diff(name, a, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.n_obj, 1);
  CHECK(strstr(s.objs, "A table t;") != NULL);
  CHECK_EQ(s.nrows, 0);
  dt_free(&s);
  CHECK_EQ(dt_diff(name, b, c, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.n_obj, 2);
  CHECK(strstr(s.objs, "C index tv;") != NULL);
  CHECK(strstr(s.objs, "D table gone;") != NULL);
  CHECK(strstr(s.btrees, "tv=") != NULL);
  CHECK_EQ(s.nrows, 0);
  dt_free(&s);
  /* One row: its table leaf and its index entries, both named. */
  CHECK_EQ(dt_diff(name, c, d, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.nrows, 1);
  CHECK(strstr(s.btrees, "tv=") != NULL);
  CHECK(strstr(s.btrees, "t=1;") != NULL);
  CHECK(strstr(s.btrees, "(other)") == NULL);
  CHECK(!strcmp(s.last_new, "NULL|zzz|5") || !strcmp(s.last_new, "NULL|zzz"));
  dt_free(&s);
  free(name);
}

/* diff_same: see the file comment. */
static void diff_same(void){
  char *name = tdb_name("diffsame");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)"),
           SQLITE_OK);
  int64_t v = tdb_version(db);
  sqlite3_close(db);
  dt_seen s;
  s3page_diff_result r;
  CHECK_EQ(dt_diff(name, v, v, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(r.pages_changed, 0);
  CHECK_EQ(s.nrows + s.n_obj, 0);
  CHECK_EQ(s.btrees[0], 0);
  dt_free(&s);
  free(name);
}

/* diff_overflow: see the file comment. */
static void diff_overflow(void){
  char *name = tdb_name("diffovfl");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                        "i + 1 FROM n WHERE i < 50) INSERT INTO t SELECT i, "
                        "zeroblob(20000) FROM n"), SQLITE_OK);
  int64_t a = tdb_version(db);
  /* Same size: the cell is overwritten in place, the change is in the
  ** last overflow page only. */
  CHECK_EQ(tdb_exec(db, "UPDATE t SET b = zeroblob(19999) || x'01' "
                        "WHERE id = 20"), SQLITE_OK);
  int64_t b = tdb_version(db);
  sqlite3_close(db);
  dt_seen s;
  s3page_diff_result r;
  CHECK_EQ(dt_diff(name, a, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.nrows, 1);
  if(s.nrows == 1){
    CHECK_EQ(s.rowids[0], 20);
    CHECK_EQ(s.ops[0], 'U');
  }
  dt_free(&s);
  free(name);
}

/* diff_without_rowid: a WITHOUT ROWID table with a two-column key (one
** DESC, one NOCASE) and an index: one update, one delete, one insert are
** exactly those rows, found by key, without a full scan. */
static void diff_without_rowid(void){
  char *name = tdb_name("diffwr");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  CHECK_EQ(tdb_exec(db, "CREATE TABLE w(k TEXT COLLATE NOCASE, n INT, v TEXT,"
                        " PRIMARY KEY(n DESC, k)) WITHOUT ROWID;"
                        "CREATE INDEX wv ON w(v);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT "
                        "i + 1 FROM c WHERE i < 3000) INSERT INTO w SELECT "
                        "'Key' || i, i % 40, printf('%.100c', 'v') FROM c"),
           SQLITE_OK);
  int64_t a = tdb_version(db);
  CHECK_EQ(tdb_exec(db, "UPDATE w SET v = 'changed' WHERE n = 7 AND k = "
                        "'key1007'; DELETE FROM w WHERE n = 9 AND k = 'KEY9';"
                        "INSERT INTO w VALUES('new', 5, 'x')"), SQLITE_OK);
  int64_t b = tdb_version(db);
  sqlite3_close(db);
  dt_seen s;
  s3page_diff_result r;
  CHECK_EQ(dt_diff(name, a, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
  CHECK_EQ(s.n_row[0], 1);
  CHECK_EQ(s.n_row[1], 1);
  CHECK_EQ(s.n_row[2], 1);
  CHECK_EQ(r.tables_scanned, 0);
  CHECK_EQ(r.tables_skipped, 0);
  CHECK(strstr(s.btrees, "w=") != NULL);
  CHECK(strstr(s.btrees, "wv=") != NULL);
  CHECK(strstr(s.btrees, "(other)") == NULL);
  CHECK(r.n_get <= 40);
  dt_free(&s);
  free(name);
}

/* diff_page_size: after a VACUUM that changed SQLite's page size, the
** store keeps its own page size, so SQLite pages are parts of store pages
** (smaller) or span several (larger). Deleting 400 of 500 rows after it
** must be 400 deletes whether A is before or after the VACUUM, and the
** VACUUM alone changes no row. */
static void diff_page_size(void){
  static const int sizes[2][2] = { { 4096, 1024 }, { 1024, 4096 } };
  for(int round = 0; round < 2; round++){
    char *name = tdb_name("diffpsz");
    sqlite3 *db = tdb_open(name, NULL);
    CHECK(db != NULL);
    if(!db){ free(name); return; }
    CHECK_EQ(tdb_execf(db, "PRAGMA page_size=%d; CREATE TABLE t(id INTEGER "
                           "PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS "
                           "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                           "i < 500) INSERT INTO t SELECT i, hex(randomblob("
                           "30)) FROM n", sizes[round][0]), SQLITE_OK);
    int64_t a = tdb_version(db);
    CHECK_EQ(tdb_execf(db, "PRAGMA page_size=%d; VACUUM", sizes[round][1]),
             SQLITE_OK);
    CHECK_EQ(tdb_int(db, "PRAGMA page_size"), sizes[round][1]);
    int64_t vac = tdb_version(db);
    CHECK_EQ(tdb_exec(db, "DELETE FROM t WHERE id > 100"), SQLITE_OK);
    int64_t b = tdb_version(db);
    sqlite3_close(db);
    dt_seen s;
    s3page_diff_result r;
    CHECK_EQ(dt_diff(name, a, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
    CHECK_EQ(s.n_row[1], 400);
    CHECK_EQ(s.n_row[0] + s.n_row[2], 0);
    dt_free(&s);
    CHECK_EQ(dt_diff(name, vac, b, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
    CHECK_EQ(s.n_row[1], 400);
    CHECK_EQ(s.n_row[0] + s.n_row[2], 0);
    dt_free(&s);
    CHECK_EQ(dt_diff(name, a, vac, S3PAGE_DIFF_ROWS, &s, &r), SQLITE_OK);
    CHECK_EQ(s.nrows, 0);
    dt_free(&s);
    free(name);
  }
}

/* dt_plain makes the plain SQLite file path by running sql. Returns 0. */
static int dt_plain(const char *path, const char *sql){
  sqlite3 *db = NULL;
  unlink(path);
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, "unix");
  if(rc == SQLITE_OK) rc = tdb_exec(db, sql);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

/* diff_damaged: versions whose pages were damaged on purpose (bytes of
** b-tree pages overwritten: cell counts, offsets, child pointers, record
** headers) are diffed against a good one, rows included: every run ends
** with SQLITE_OK or SQLITE_CORRUPT, never a crash or a hang (the page
** bytes are untrusted, like everything from the store). */
static void diff_damaged(void){
  const char *d = getenv("TMPDIR");
  char good[512], bad[512];
  snprintf(good, sizeof good, "%s/s3page-dd-%d-good.db", d && *d ? d : "/tmp",
           (int)getpid());
  snprintf(bad, sizeof bad, "%s/s3page-dd-%d-bad.db", d && *d ? d : "/tmp",
           (int)getpid());
  CHECK_EQ(dt_plain(good, "PRAGMA page_size=1024; CREATE TABLE t(id INTEGER "
                    "PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX tv ON t(v);"
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                    "FROM n WHERE i < 400) INSERT INTO t SELECT i, 'v' || i, "
                    "CASE WHEN i % 50 = 0 THEN zeroblob(3000) END FROM n"), 0);
  FILE *f = fopen(good, "rb");
  CHECK(f != NULL);
  if(!f) return;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *img = malloc((size_t)size), *mut = malloc((size_t)size);
  CHECK_EQ(fread(img, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  int rounds = tdb_quick() ? 8 : 24, corrupt = 0;
  unsigned seed = 12345;
  for(int round = 0; round < rounds; round++){
    char *name = tdb_name("diffdmg");
    char *err = NULL;
    s3page_import_result ir;
    CHECK_EQ(s3page_import(good, name, 0, NULL, NULL, &ir, &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    memcpy(mut, img, (size_t)size);
    for(int k = 0; k < 6; k++){
      /* A page other than 1 (the import checks the header), one of the
      ** first 16 bytes of its header or cell area. */
      long pg = 1 + (long)(rand_r(&seed) % (unsigned)(size / 1024 - 1));
      long off = pg * 1024 + (long)(rand_r(&seed) % 16);
      if(k % 2) off = pg * 1024 + (long)(rand_r(&seed) % 1024);
      mut[off] = (unsigned char)rand_r(&seed);
    }
    f = fopen(bad, "wb");
    CHECK(f != NULL);
    if(f){
      CHECK_EQ(fwrite(mut, 1, (size_t)size, f), (size_t)size);
      fclose(f);
    }
    CHECK_EQ(s3page_import(bad, name, S3PAGE_IMPORT_FORCE, NULL, NULL, &ir,
                           &err), SQLITE_OK);
    sqlite3_free(err);
    err = NULL;
    for(int dir = 0; dir < 2; dir++){
      dt_seen s;
      s3page_diff_result r;
      memset(&s, 0, sizeof s);
      s3page_at a, b;
      memset(&a, 0, sizeof a);
      memset(&b, 0, sizeof b);
      a.version = dir ? 2 : 1;
      b.version = dir ? 1 : 2;
      s3page_diff_sink sink = { &s, dt_object, dt_btree, dt_row };
      int rc = s3page_diff(name, &a, &b, S3PAGE_DIFF_ROWS, &sink, &r, &err);
      CHECK(rc == SQLITE_OK || rc == SQLITE_CORRUPT);
      if(rc == SQLITE_CORRUPT) corrupt++;
      if(rc != SQLITE_OK && rc != SQLITE_CORRUPT) printf("# rc %d: %s\n", rc, err);
      sqlite3_free(err);
      err = NULL;
      dt_free(&s);
    }
    free(name);
  }
  printf("# %d of %d diffs of damaged versions said SQLITE_CORRUPT\n", corrupt,
         2 * rounds);
  free(img);
  free(mut);
  unlink(good);
  unlink(bad);
}

int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(diff_one_row);
  RUN(diff_scattered);
  RUN(diff_schema);
  RUN(diff_same);
  RUN(diff_overflow);
  RUN(diff_without_rowid);
  RUN(diff_page_size);
  RUN(diff_damaged);
  return CHECK_DONE();
}
