/*
** test_btree.c: the b-tree page decoder (index/btree.c) against SQLite
** itself. A database with tables, an index with long keys (overflowing
** interior index cells), rows with overflow chains and page sizes 512 and
** 4096, some with reserved bytes, is written to a file; for every page
** dbstat names, the children and first overflow pages the decoder lists
** must be exactly the ones dbstat's paths give (a child of the page at
** path P is at P followed by "xxx/", the first overflow page of cell i at
** P followed by "i+000000"), children in key order. Damaged copies of
** pages must decode to nothing wrong: every reference in range.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "../check.h"
#include "../../index/btree.h"

static char path[] = "/tmp/s3p-btree-XXXXXX";

/* exec runs sql on db. Returns the result code. */
static int exec(sqlite3 *db, const char *sql){
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, 0, 0, &err);
  if(rc) printf("# %s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  return rc;
}

/* build writes the test database with page size psz and reserve bytes
** reserved per page into path. Returns 0 or -1. */
static int build(int psz, int reserved){
  unlink(path);
  sqlite3 *db;
  if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                     "unix")) return -1;
  char sql[256];
  snprintf(sql, sizeof sql, "PRAGMA page_size=%d", psz);
  int rc = exec(db, sql);
  if(reserved){
    /* The reserve can only be set through the file control. */
    int r = reserved;
    exec(db, "CREATE TABLE z(a); DROP TABLE z");
    rc |= sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &r);
    rc |= exec(db, "VACUUM");
  }
  rc |= exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
                 "CREATE INDEX t_k ON t(k);"
                 "BEGIN;"
                 "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 "
                 "FROM c WHERE i < 2999) INSERT INTO t SELECT (i * 7919) % "
                 "3000 + 1, printf('%0*d', 20 + (i % 7) * 120, i), "
                 "randomblob(CASE WHEN i % 5 = 0 THEN 3000 + i ELSE 50 END) "
                 "FROM c;"
                 "COMMIT");
  sqlite3_close(db);
  return rc ? -1 : 0;
}

/* refs_match checks every page dbstat lists against the decoder. Returns
** the number of b-tree pages checked. */
static int refs_match(int psz, int reserved){
  FILE *f = fopen(path, "rb");
  if(!f) return 0;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *file = malloc((size_t)size);
  if(!file || fread(file, 1, (size_t)size, f) != (size_t)size){
    fclose(f);
    free(file);
    return 0;
  }
  fclose(f);
  uint32_t npages = (uint32_t)(size / psz);
  s3p_btgeom g;
  CHECK_EQ(s3p_btree_geom(&g, file, (uint32_t)psz, npages), 0);
  CHECK_EQ(g.usable, (uint32_t)(psz - reserved));
  sqlite3 *db;
  sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "unix");
  sqlite3_stmt *pages, *kids;
  /* dbstat walks the whole file for every query: copy it once, with the
  ** path of each page's parent (a child is at P "xxx/", the first
  ** overflow page of cell i at P "i+000000"). */
  exec(db, "CREATE TEMP TABLE s AS SELECT name, path, pageno, pagetype, "
           "CASE WHEN pagetype != 'overflow' THEN substr(path, 1, "
           "length(path) - 4) WHEN path LIKE '%+000000' THEN substr(path, 1, "
           "length(path) - 10) END AS par FROM dbstat;"
           "CREATE INDEX temp.s_par ON s(name, par)");
  sqlite3_prepare_v2(db, "SELECT pageno, path, name FROM s "
                     "WHERE pagetype != 'overflow'", -1, &pages, 0);
  /* The page's references as dbstat names them, in the decoder's order:
  ** by cell, a child before the overflow of the same cell. */
  sqlite3_prepare_v2(db, "SELECT pageno, pagetype = 'overflow' FROM s "
                     "WHERE name = ?2 AND par = ?1 AND path != '/' "
                     "ORDER BY substr(path, length(?1) + 1, 3), "
                     "pagetype = 'overflow'", -1, &kids, 0);
  size_t max = S3P_BTREE_MAXREFS(psz);
  s3p_btref *r = malloc(max * sizeof *r);
  int checked = 0, bad = 0;
  while(r && sqlite3_step(pages) == SQLITE_ROW){
    uint32_t pgno = (uint32_t)sqlite3_column_int(pages, 0);
    const char *p = (const char *)sqlite3_column_text(pages, 1);
    const unsigned char *page = file + (size_t)(pgno - 1) * psz;
    int n = s3p_btree_refs(&g, pgno, page, 1, r, max);
    int kind = s3p_btree_kind(&g, pgno, page);
    if(kind == 0 || n < 0){ bad++; continue; }
    sqlite3_bind_text(kids, 1, p, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(kids, 2, (const char *)sqlite3_column_text(pages, 2), -1,
                      SQLITE_TRANSIENT);
    int i = 0;
    while(sqlite3_step(kids) == SQLITE_ROW){
      uint32_t want = (uint32_t)sqlite3_column_int(kids, 0);
      int ovfl = sqlite3_column_int(kids, 1);
      if(i >= n || r[i].pgno != want || r[i].overflow != ovfl){
        if(!bad) printf("# page %u (%s): reference %d is %u%s, dbstat says "
                        "%u%s\n", (unsigned)pgno, p, i,
                        i < n ? (unsigned)r[i].pgno : 0,
                        i < n && r[i].overflow ? "+" : "", (unsigned)want,
                        ovfl ? "+" : "");
        bad++;
      }
      i++;
    }
    if(i != n) bad++;
    sqlite3_reset(kids);
    /* Without overflow pages: the children alone. */
    int m = s3p_btree_refs(&g, pgno, page, 0, r, max);
    int c = 0;
    for(int j = 0; j < m; j++) c += !r[j].overflow;
    if(m < 0 || c != m) bad++;
    checked++;
  }
  CHECK_EQ(bad, 0);
  /* Damage: flip bytes of every page; whatever decodes must stay in
  ** range. */
  unsigned char *copy = malloc((size_t)psz);
  for(uint32_t pg = 1; copy && r && pg <= npages; pg++){
    memcpy(copy, file + (size_t)(pg - 1) * psz, (size_t)psz);
    for(int j = 0; j < 8; j++) copy[(pg * 131 + (uint32_t)j * 977) % (uint32_t)psz] ^= 0x5a;
    int n = s3p_btree_refs(&g, pg, copy, 1, r, max);
    for(int j = 0; j < n; j++){
      if(r[j].pgno < 2 || r[j].pgno > npages || r[j].pgno == pg) bad++;
    }
  }
  CHECK_EQ(bad, 0);
  free(copy);
  free(r);
  sqlite3_finalize(pages);
  sqlite3_finalize(kids);
  sqlite3_close(db);
  free(file);
  return checked;
}

/* against_dbstat: page sizes 512 and 4096, with and without reserved
** bytes. */
static void against_dbstat(void){
  static const int cases[][2] = {{4096, 0}, {512, 0}, {1024, 32}};
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++){
    CHECK_EQ(build(cases[i][0], cases[i][1]), 0);
    int n = refs_match(cases[i][0], cases[i][1]);
    printf("# page size %d, reserved %d: %d b-tree pages checked\n",
           cases[i][0], cases[i][1], n);
    CHECK(n > 20);
  }
}

/* not_btree: a file header that does not match, pages that are not
** b-tree pages, and pointer-map pages of an auto-vacuum database. */
static void not_btree(void){
  unsigned char page[1024];
  memset(page, 0, sizeof page);
  s3p_btgeom g;
  CHECK(s3p_btree_geom(&g, page, 1024, 10) != 0);      /* no header */
  memcpy(page, "SQLite format 3", 16);
  page[16] = 4;                                        /* says 1024 */
  CHECK(s3p_btree_geom(&g, page, 4096, 10) != 0);      /* not 4096 */
  CHECK_EQ(s3p_btree_geom(&g, page, 1024, 10), 0);
  CHECK_EQ(g.autovac, 0);
  page[55] = 3;                                        /* auto-vacuum */
  CHECK_EQ(s3p_btree_geom(&g, page, 1024, 1000), 0);
  CHECK_EQ(g.autovac, 1);
  unsigned char leaf[1024];
  memset(leaf, 0, sizeof leaf);
  leaf[0] = 13;
  CHECK_EQ(s3p_btree_kind(&g, 3, leaf), 13);
  CHECK_EQ(s3p_btree_kind(&g, 2, leaf), 0);            /* pointer map */
  CHECK_EQ(s3p_btree_kind(&g, 2 + 1024 / 5 + 1, leaf), 0);
  leaf[0] = 7;
  CHECK_EQ(s3p_btree_kind(&g, 3, leaf), 0);
  CHECK_EQ(s3p_btree_refs(&g, 3, leaf, 1, NULL, 0), -1);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  int fd = mkstemp(path);
  if(fd < 0){ printf("not ok - init\n"); return 1; }
  close(fd);
  RUN(against_dbstat);
  RUN(not_btree);
  unlink(path);
  return CHECK_DONE();
}
