/*
** test_ckpt_trunc.c: a checkpoint written after a truncation must drop the
** pages above it, even when the truncation was an earlier, ordinary commit.
**
** The file methods are driven directly (as SQLite's pager would), with a
** checkpoint every 2 versions: v1 writes pages 1..100, v2 (a checkpoint)
** rewrites page 1, v3 truncates to 50 pages, and then the file grows to 60
** by writing page 60 only, either at once (v4, a checkpoint) or after a
** checkpoint of the same size (v4, then v5). Pages 51..59 were never
** written after the truncation, so they must read as zeros: from the
** writing connection and from a fresh one. Before the fix the checkpoint
** kept the old tree's entries above 50 and they came back.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../lib/testdb.h"

#define CT_PS 4096

/* ct_file returns the main database file of db. */
static sqlite3_file *ct_file(sqlite3 *db){
  sqlite3_file *f = NULL;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f);
  return f;
}

/* ct_begin takes the locks of a write transaction. Returns an SQLite code. */
static int ct_begin(sqlite3_file *f){
  int rc = f->pMethods->xLock(f, SQLITE_LOCK_SHARED);
  if(!rc) rc = f->pMethods->xLock(f, SQLITE_LOCK_RESERVED);
  if(!rc) rc = f->pMethods->xLock(f, SQLITE_LOCK_EXCLUSIVE);
  return rc;
}

/* ct_commit commits at the sync point and unlocks. Returns an SQLite code. */
static int ct_commit(sqlite3_file *f){
  int rc = f->pMethods->xFileControl(f, SQLITE_FCNTL_SYNC, 0);
  f->pMethods->xUnlock(f, SQLITE_LOCK_NONE);
  return rc;
}

/* ct_write writes page pg filled with tag. Returns an SQLite code. */
static int ct_write(sqlite3_file *f, int pg, char tag){
  unsigned char b[CT_PS];
  memset(b, tag, CT_PS);
  return f->pMethods->xWrite(f, b, CT_PS, (sqlite3_int64)(pg - 1) * CT_PS);
}

/* ct_check_zero checks that pages 51..59 of f read as zeros. */
static void ct_check_zero(sqlite3_file *f){
  unsigned char b[CT_PS];
  CHECK_EQ(f->pMethods->xLock(f, SQLITE_LOCK_SHARED), SQLITE_OK);
  sqlite3_int64 sz = 0;
  f->pMethods->xFileSize(f, &sz);
  CHECK_EQ(sz, 60 * CT_PS);
  for(int pg = 51; pg <= 59; pg++){
    CHECK_EQ(f->pMethods->xRead(f, b, CT_PS, (sqlite3_int64)(pg - 1) * CT_PS),
             SQLITE_OK);
    int zero = 1;
    for(int i = 0; i < CT_PS && zero; i++) zero = b[i] == 0;
    if(!zero) printf("# page %d holds '%c' bytes, want zeros\n", pg, b[0]);
    CHECK(zero);
  }
  f->pMethods->xUnlock(f, SQLITE_LOCK_NONE);
}

/* ct_case runs the history above; same_size adds the same-size checkpoint
** before the growth. */
static void ct_case(const char *tag, int same_size){
  char *name = tdb_name(tag);
  sqlite3 *db = tdb_open(name, "checkpoint=2");
  CHECK(db != NULL);
  if(!db){ free(name); return; }
  sqlite3_file *f = ct_file(db);
  CHECK_EQ(ct_begin(f), SQLITE_OK);
  for(int i = 1; i <= 100; i++) CHECK_EQ(ct_write(f, i, 'A'), SQLITE_OK);
  CHECK_EQ(ct_commit(f), SQLITE_OK);                       /* v1 */
  CHECK_EQ(ct_begin(f), SQLITE_OK);
  CHECK_EQ(ct_write(f, 1, 'B'), SQLITE_OK);
  CHECK_EQ(ct_commit(f), SQLITE_OK);                       /* v2: checkpoint */
  CHECK_EQ(ct_begin(f), SQLITE_OK);
  CHECK_EQ(f->pMethods->xTruncate(f, 50 * CT_PS), SQLITE_OK);
  CHECK_EQ(ct_commit(f), SQLITE_OK);                       /* v3: truncation */
  if(same_size){
    CHECK_EQ(ct_begin(f), SQLITE_OK);
    CHECK_EQ(ct_write(f, 1, 'D'), SQLITE_OK);
    CHECK_EQ(ct_commit(f), SQLITE_OK);                     /* v4: checkpoint */
  }
  CHECK_EQ(ct_begin(f), SQLITE_OK);
  CHECK_EQ(ct_write(f, 60, 'C'), SQLITE_OK);
  CHECK_EQ(ct_commit(f), SQLITE_OK);                       /* grows to 60 */
  ct_check_zero(f);                                        /* the writer */
  sqlite3_close(db);
  db = tdb_open(name, "checkpoint=2");                     /* a fresh one */
  CHECK(db != NULL);
  if(db) ct_check_zero(ct_file(db));
  sqlite3_close(db);
  free(name);
}

/* checkpoint_after_truncation: the growth is the checkpoint. */
static void checkpoint_after_truncation(void){
  ct_case("cktrunc", 0);
}

/* same_size_checkpoint_after_truncation: a checkpoint of the same size
** comes between the truncation and the growth. */
static void same_size_checkpoint_after_truncation(void){
  ct_case("cktrunc2", 1);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  RUN(checkpoint_after_truncation);
  RUN(same_size_checkpoint_after_truncation);
  return CHECK_DONE();
}
