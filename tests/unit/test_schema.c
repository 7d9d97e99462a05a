/*
** test_schema.c: reading root page numbers from the schema table's pages
** (index/schema.h), on databases SQLite itself wrote.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "../check.h"
#include "../../index/btree.h"
#include "../../index/err.h"
#include "../../index/schema.h"

/* make_db runs sql on a fresh in-memory database of page size psz and
** returns its serialized bytes (sqlite3_malloc'd), *size their length and
** *want the sorted non-zero root pages SQLite lists (*nwant of them). */
static unsigned char *make_db(const char *sql, int psz, sqlite3_int64 *size,
                              unsigned *want, size_t *nwant){
  sqlite3 *db;
  char pre[64];
  *nwant = 0;
  if(sqlite3_open(":memory:", &db) != SQLITE_OK) return NULL;
  snprintf(pre, sizeof pre, "PRAGMA page_size=%d; VACUUM", psz);
  CHECK_EQ(sqlite3_exec(db, pre, 0, 0, 0), SQLITE_OK);
  CHECK_EQ(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK);
  sqlite3_stmt *st;
  CHECK_EQ(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE "
                                  "rootpage > 0 ORDER BY 1", -1, &st, 0),
           SQLITE_OK);
  while(sqlite3_step(st) == SQLITE_ROW && *nwant < 1000){
    want[(*nwant)++] = (unsigned)sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  unsigned char *b = sqlite3_serialize(db, "main", size, 0);
  sqlite3_close(db);
  return b;
}

/* cmp_u32 orders page numbers for qsort. */
static int cmp_u32(const void *a, const void *b){
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* walk reads the whole schema table of image b as a committer does (page
** 1, then children level by level) into roots (sorted). Returns the number
** of roots, or -1 on a parse error. */
static long walk(const unsigned char *b, sqlite3_int64 size, uint32_t psz,
                 uint32_t *roots, size_t max){
  uint32_t usable = s3p_schema_usable(b, psz);
  if(usable == 0) return -1;
  static uint32_t todo[1024];
  todo[0] = 1;
  size_t ntodo = 1, nroots = 0;
  for(size_t i = 0; i < ntodo; i++){
    if((sqlite3_int64)todo[i] * psz > size) return -1;
    uint32_t got[1000];
    size_t n;
    int leaf;
    if(s3p_schema_page(b + (size_t)(todo[i] - 1) * psz, todo[i], psz, usable,
                       got, 1000, &n, &leaf)) return -1;
    for(size_t k = 0; k < n; k++){
      if(leaf && nroots < max) roots[nroots++] = got[k];
      if(!leaf && ntodo < 1024) todo[ntodo++] = got[k];
    }
  }
  qsort(roots, nroots, sizeof *roots, cmp_u32);
  return (long)nroots;
}

/* check_same runs sql and checks the walk finds exactly SQLite's roots. */
static void check_same(const char *sql, int psz){
  static unsigned want[1000];
  static uint32_t got[1000];
  size_t nwant;
  sqlite3_int64 size;
  unsigned char *b = make_db(sql, psz, &size, want, &nwant);
  CHECK(b != NULL);
  if(!b) return;
  long n = walk(b, size, (uint32_t)psz, got, 1000);
  CHECK_EQ(n, (long)nwant);
  for(size_t i = 0; n == (long)nwant && i < nwant; i++){
    CHECK_EQ(got[i], want[i]);
  }
  sqlite3_free(b);
}

/* test_small: one leaf (page 1): tables, an index, a view and a trigger
** (which have no root page), an automatic index of a UNIQUE column. */
static void test_small(void){
  check_same("CREATE TABLE a(x UNIQUE, y); CREATE INDEX ai ON a(y);"
             "CREATE VIEW v AS SELECT * FROM a;"
             "CREATE TRIGGER tr AFTER INSERT ON a BEGIN SELECT 1; END;"
             "CREATE TABLE b(z); INSERT INTO b VALUES(1)", 4096);
}

/* test_interior: so many tables that the schema table has an interior
** page 1 and several leaves, at two page sizes. */
static void test_interior(void){
  char *sql = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&sql, &len);
  for(int i = 0; i < 300; i++){
    fprintf(f, "CREATE TABLE table_with_a_rather_long_name_%d(a INTEGER "
               "PRIMARY KEY, b TEXT, c BLOB); CREATE INDEX i%d ON "
               "table_with_a_rather_long_name_%d(b);", i, i, i);
  }
  fclose(f);
  check_same(sql, 1024);
  check_same(sql, 4096);
  free(sql);
}

/* test_overflow: a schema row longer than a page (its SQL spills onto
** overflow pages): the root page is still read from the local part. */
static void test_overflow(void){
  char *sql = malloc(12000);
  if(!sql) return;
  strcpy(sql, "CREATE TABLE big(a DEFAULT '");
  size_t n = strlen(sql);
  memset(sql + n, 'q', 9000);
  strcpy(sql + n + 9000, "'); CREATE TABLE after(x)");
  check_same(sql, 1024);
  check_same(sql, 4096);
  free(sql);
}

/* test_damage: every byte of page 1 and of a leaf, set to each of a few
** values, gives S3P_OK or S3P_ECORRUPT and only non-zero page numbers
** (under the sanitizers: never a read out of bounds). */
static void test_damage(void){
  unsigned want[1000];
  size_t nwant;
  sqlite3_int64 size;
  unsigned char *b = make_db("CREATE TABLE a(x); CREATE INDEX ai ON a(x);"
                             "CREATE TABLE b(y)", 1024, &size, want, &nwant);
  CHECK(b != NULL);
  if(!b) return;
  static const unsigned char vals[] = { 0, 1, 5, 13, 0x7f, 0x80, 0xff };
  long odd = 0;
  for(size_t i = 0; i < 1024; i++){
    unsigned char keep = b[i];
    for(size_t v = 0; v < sizeof vals; v++){
      b[i] = vals[v];
      uint32_t out[16];
      size_t n;
      int leaf;
      int rc = s3p_schema_page(b, 1, 1024, 1024, out, 16, &n, &leaf);
      if(rc != S3P_OK && rc != S3P_ECORRUPT) odd++;
      for(size_t k = 0; rc == S3P_OK && k < n; k++) if(out[k] == 0) odd++;
    }
    b[i] = keep;
  }
  CHECK_EQ(odd, 0);
  /* Not a table b-tree page, a usable size out of range, not a header. */
  uint32_t out[4];
  size_t n;
  int leaf;
  CHECK_EQ(s3p_schema_page(b, 1, 1024, 100, out, 4, &n, &leaf), S3P_ECORRUPT);
  b[100] = 10;                                 /* an index leaf */
  CHECK_EQ(s3p_schema_page(b, 1, 1024, 1024, out, 4, &n, &leaf), S3P_ECORRUPT);
  CHECK_EQ(s3p_schema_usable(b, 4096), 0);     /* says 1024 */
  b[0] = 'X';
  CHECK_EQ(s3p_schema_usable(b, 1024), 0);
  sqlite3_free(b);
}

/* test_children: the children s3p_btree_refs lists for every interior
** page of a table and an index SQLite wrote are exactly the pages one level
** down (counted with the dbstat-free check: every page is either a root or
** some interior page's child, once), and a leaf has none. */
static void test_children(void){
  unsigned want[1000];
  size_t nwant;
  sqlite3_int64 size;
  unsigned char *b = make_db("CREATE TABLE t(id INTEGER PRIMARY KEY, k, v);"
                             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                             "SELECT i + 1 FROM c WHERE i < 20000) INSERT INTO "
                             "t SELECT i, i * 7919 % 20011, hex(randomblob(20)) "
                             "FROM c; CREATE INDEX tk ON t(k)", 1024, &size,
                             want, &nwant);
  CHECK(b != NULL);
  if(!b) return;
  uint32_t npages = (uint32_t)(size / 1024);
  unsigned char *parent = calloc(npages + 1, 1);
  s3p_btgeom g;
  CHECK_EQ(s3p_btree_geom(&g, b, 1024, npages), 0);
  s3p_btref kids[S3P_BTREE_MAXREFS(1024)];
  int n;
  long dup = 0, bad = 0, interior = 0;
  for(uint32_t pg = 1; pg <= npages; pg++){
    n = s3p_btree_refs(&g, pg, b + (size_t)(pg - 1) * 1024, 0, kids,
                       S3P_BTREE_MAXREFS(1024));
    if(n < 0) continue;              /* not a b-tree page: overflow, free */
    if(n) interior++;
    for(int i = 0; i < n; i++){
      if(kids[i].overflow || kids[i].pgno == 0 || kids[i].pgno > npages){
        bad++;
        continue;
      }
      if(parent[kids[i].pgno]++) dup++;
    }
  }
  CHECK(interior > 10);
  CHECK_EQ(bad, 0);
  CHECK_EQ(dup, 0);
  /* Every b-tree page but the roots and page 1 has exactly one parent. */
  long orphans = 0;
  for(uint32_t pg = 2; parent && pg <= npages; pg++){
    int root = 0;
    for(size_t i = 0; i < nwant; i++) root |= want[i] == pg;
    const unsigned char *p = b + (size_t)(pg - 1) * 1024;
    int btree = p[0] == 2 || p[0] == 5 || p[0] == 10 || p[0] == 13;
    if(btree && !root && !parent[pg]) orphans++;
  }
  CHECK_EQ(orphans, 0);
  /* A leaf has no children; a non-b-tree page is corrupt. */
  for(size_t i = 0; i < nwant; i++){
    const unsigned char *p = b + (size_t)(want[i] - 1) * 1024;
    if(p[0] == 13 || p[0] == 10){
      CHECK_EQ(s3p_btree_refs(&g, want[i], p, 0, kids,
                              S3P_BTREE_MAXREFS(1024)), 0);
    }
  }
  unsigned char junk[1024];
  memset(junk, 7, sizeof junk);
  CHECK_EQ(s3p_btree_refs(&g, 3, junk, 0, kids, S3P_BTREE_MAXREFS(1024)), -1);
  junk[0] = 5;                                 /* cells point outside */
  CHECK_EQ(s3p_btree_refs(&g, 3, junk, 0, kids, S3P_BTREE_MAXREFS(1024)), -1);
  free(parent);
  sqlite3_free(b);
}

int main(void){
  RUN(test_small);
  RUN(test_interior);
  RUN(test_overflow);
  RUN(test_damage);
  RUN(test_children);
  return CHECK_DONE();
}
