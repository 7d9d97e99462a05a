/*
** test_gc_bulk.c: the bulk writers other than import (copy, revert,
** checkpoint) against gc (docs/history.md, "Bulk writers"). As in
** test_gc_lease.c the library clock is shifted forward
** (s3p_test_clock_shift) in the middle of an operation, so that what it
** uploaded looks older than gc's grace period, and gc runs right then:
**
**   - copy_spans_gc: a second copy into DST (SRC got about 1000 new pages
**     since the first) whose object batches "take" 8 minutes each, with gc
**     on DST (grace 15 minutes, keeping one version) after the second: the
**     copied objects no record of DST names yet are spared (the copy's
**     marker on DST is live), and DST ends complete (verify --all, every
**     row there).
**   - copy_behind_gc: while a copy uploads, another writer commits to DST
**     (ending in a checkpoint) and gc on DST (24 minutes later) removes
**     the records from
**     the version the copy found there: the copy must refuse (DST holds
**     another database now) without creating a record, never re-create a
**     removed one behind the newer ones.
**   - copy_resumed_gc: DST holds, besides an earlier copy, the objects an
**     interrupted copy uploaded (old, named by no record of DST); the copy
**     is run again with gc on DST after its first batch: it must not count
**     on them being there (gc may delete them: the marker spares only what
**     was modified since the copy began), and DST ends complete. Their
**     age is set with utimensat, so this runs on a directory store only;
**     it also needs the directory store to give an object PUT again with
**     the same bytes a new modification time, as S3 does.
**   - revert_spans_gc: a revert whose uploads (page 1, tree nodes) are
**     made 16 minutes old before its record, with gc (keeping V and later)
**     in between: the record never names a removed object.
**   - checkpoint_spans_gc: the same for s3page_checkpoint's tree nodes,
**     and its record lands on top of the newest version.
**   - revert_target_dropped: a revert to a version V whose pages no later
**     version uses, with gc dropping V (keeping 1 version) between the
**     revert's reading of V and its record: the new version's objects
**     all survive (the revert's marker spares them).
**   - revert_inside_gc: a whole revert to such a V runs while gc is
**     between marking and deleting (V's record still there, marker gone
**     by the object sweep): gc marks the new version and spares V's
**     pages.
** The operations without a progress callback reach the test through
** s3p_test_set_hist_hook (history/history.h): once their uploads are done
** ("...: uploaded") and again before their record ("...: record"), with
** a renewal of their marker in between.
*/
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "../check.h"
#include "../lib/testdb.h"
#include "../../history/history.h"

#define MINUTES(m) ((int64_t)(m) * 60 * 1000)

/* verify_all returns the problems s3page_verify --all finds in name (-1:
** it failed to run). */
static int64_t verify_all(const char *name){
  s3page_verify_result vr;
  char *err = NULL;
  int rc = s3page_verify(name, NULL, 1, NULL, NULL, NULL, &vr, &err);
  if(err){ printf("# verify: %s\n", err); sqlite3_free(err); }
  if(rc != SQLITE_OK && rc != SQLITE_CORRUPT) return -1;
  return (int64_t)vr.problems;
}

/* run_gc runs s3page_gc on name keeping keep versions with grace 15
** minutes. Returns the SQLite code; *res gets the result. */
static int run_gc(const char *name, uint64_t keep, s3page_gc_result *res){
  s3page_gc_opts go;
  memset(&go, 0, sizeof go);
  go.keep_versions = keep;
  go.grace_ms = MINUTES(15);
  char *err = NULL;
  int rc = s3page_gc(name, &go, NULL, NULL, res, &err);
  if(err){ printf("# gc: %s\n", err); sqlite3_free(err); }
  return rc;
}

/* clock_reset undoes every shift of the library clock so far. */
static void clock_reset(void){
  s3p_test_clock_shift(-s3p_test_clock_shift(0));
}

/* add_rows inserts rows rows of about one 1 KiB page each into t of name
** (created with 1 KiB pages if missing), in one transaction. Returns the
** newest version after it, or -1. */
static int64_t add_rows(const char *name, int rows){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return -1;
  int rc = tdb_execf(db, "PRAGMA page_size=1024;"
                     "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v);"
                     "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
                     "FROM c WHERE i < %d) INSERT INTO t(v) SELECT "
                     "randomblob(800) FROM c", rows);
  int64_t v = rc == SQLITE_OK ? tdb_version(db) : -1;
  sqlite3_close(db);
  return v;
}

/* count_rows returns the rows of t in name (-1: unreadable), checking
** its integrity too (-2 when that fails). */
static int64_t count_rows(const char *name){
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return -1;
  int64_t n = tdb_int(db, "SELECT count(*) FROM t");
  if(n >= 0 && !tdb_integrity_ok(db)) n = -2;
  sqlite3_close(db);
  return n;
}

/* What the progress callback of a copy does. */
typedef struct copy_clock {
  const char *dst;           /* the destination */
  int calls;                 /* progress calls so far */
  int shift_upto;            /* calls 1..shift_upto move the clock */
  int64_t shift_ms;          /* by this much */
  int gc_at;                 /* gc on DST at this call */
  int commit_at;             /* another writer commits to DST at this call */
  uint64_t keep;             /* versions gc keeps */
  int gc_rc;                 /* gc's result code (-1: not run) */
  s3page_gc_result gc;       /* and its result */
} copy_clock;

/* copy_tick is the progress callback of a copy. */
static void copy_tick(void *arg, uint64_t done, uint64_t total){
  copy_clock *c = arg;
  (void)done;
  (void)total;
  c->calls++;
  if(c->calls <= c->shift_upto) s3p_test_clock_shift(c->shift_ms);
  if(c->calls == c->commit_at){
    /* Ending in a checkpoint, so that gc can drop all before it. */
    for(int i = 0; i < 3; i++) CHECK(add_rows(c->dst, 1) > 0);
    char *err = NULL;
    CHECK_EQ(s3page_checkpoint(c->dst, NULL, NULL, &err), SQLITE_OK);
    if(err){ printf("# checkpoint: %s\n", err); sqlite3_free(err); }
  }
  if(c->calls == c->gc_at) c->gc_rc = run_gc(c->dst, c->keep, &c->gc);
}

/* copy_prepare makes SRC with 50 rows, copies it to DST, then adds 1200
** rows to SRC (about 1200 new page objects: five batches of the copy).
** Returns SRC's newest version, or -1. */
static int64_t copy_prepare(const char *src, const char *dst){
  if(add_rows(src, 50) < 0) return -1;
  s3page_copy_result r;
  char *err = NULL;
  int rc = s3page_copy(src, dst, 0, NULL, NULL, &r, &err);
  if(err){ printf("# copy: %s\n", err); sqlite3_free(err); }
  if(rc) return -1;
  return add_rows(src, 1200);
}

/* What put_missing_fn collects: keys of one store. */
typedef struct key_list {
  char (*k)[S3P_KEY_MAX];    /* keys */
  size_t n, cap;             /* used / room */
} key_list;

/* key_list_fn adds a listed key to a key_list. Returns 0 (go on), 1 when
** out of memory. */
static int key_list_fn(void *arg, const char *key, uint64_t size,
                       int64_t mtime){
  key_list *l = arg;
  (void)size;
  (void)mtime;
  if(l->n == l->cap){
    size_t cap = l->cap ? l->cap * 2 : 256;
    char (*k)[S3P_KEY_MAX] = realloc(l->k, cap * sizeof *k);
    if(!k) return 1;
    l->k = k;
    l->cap = cap;
  }
  snprintf(l->k[l->n++], S3P_KEY_MAX, "%s", key);
  return 0;
}

/* put_objects copies every object under pages/ and index/ of src into dst
** (what an interrupted copy leaves: objects without their records).
** Returns the objects copied, or -1. */
static int64_t put_objects(const char *src, const char *dst){
  s3p_store *a = NULL, *b = NULL;
  s3p_store_opts so;
  memset(&so, 0, sizeof so);
  char *msg = NULL;
  key_list l;
  memset(&l, 0, sizeof l);
  int rc = s3p_store_open(&a, src, &so, &msg);
  if(rc == S3P_OK) rc = s3p_store_open(&b, dst, &so, &msg);
  if(rc == S3P_OK) rc = s3p_store_list(a, "pages/", key_list_fn, &l, &msg);
  if(rc == S3P_OK) rc = s3p_store_list(a, "index/", key_list_fn, &l, &msg);
  int64_t n = 0;
  for(size_t i = 0; rc == S3P_OK && i < l.n; i++){
    unsigned char *data = NULL;
    size_t len = 0;
    rc = s3p_store_get(a, l.k[i], &data, &len, &msg);
    if(rc == S3P_OK) rc = s3p_store_put(b, S3P_OP_PUT, l.k[i], data, len, &msg);
    free(data);
    n++;
  }
  if(rc) printf("# put_objects: %s\n", msg ? msg : "?");
  free(msg);
  free(l.k);
  s3p_store_close(a);
  s3p_store_close(b);
  return rc ? -1 : n;
}

/* age_dir sets the modification time of every file in directory
** name/sub to secs seconds ago. Returns the files changed, or -1. */
static int64_t age_dir(const char *name, const char *sub, int secs){
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", name, sub);
  DIR *d = opendir(path);
  if(!d) return -1;
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = time(NULL) - secs;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  int64_t n = 0;
  struct dirent *e;
  while((e = readdir(d)) != NULL){
    if(e->d_name[0] == '.') continue;
    if(utimensat(dirfd(d), e->d_name, ts, 0) == 0) n++;
  }
  closedir(d);
  return n;
}

/* copy_resumed_gc: see the top comment. */
static void copy_resumed_gc(void){
  char *src = tdb_name("bulkresumesrc");
  char *dst = tdb_name("bulkresumedst");
  int64_t newest = copy_prepare(src, dst);
  CHECK(newest > 0);
  CHECK(put_objects(src, dst) > 1000);
  /* That was an hour ago (the store's own times, which the marker's
  ** protection starts from, so not by the clock hook: on a directory
  ** store only). gc on DST after the copy's first batch finds those
  ** objects old and named by no record. */
  if(tdb_on_s3()){
    printf("# on S3 object times cannot be set back: not run\n");
    free(src);
    free(dst);
    return;
  }
  CHECK(age_dir(dst, "pages", 3600) > 1000);
  CHECK(age_dir(dst, "index", 3600) > 0);
  /* Meanwhile SRC moved on: the copy has objects to upload (and so a
  ** batch after which gc runs) before its records. */
  newest = add_rows(src, 100);
  CHECK(newest > 0);
  copy_clock c;
  memset(&c, 0, sizeof c);
  c.dst = dst;
  c.gc_at = 1;
  c.keep = 1;
  c.gc_rc = -1;
  s3page_copy_result r;
  char *err = NULL;
  int rc = s3page_copy(src, dst, 0, copy_tick, &c, &r, &err);
  if(err){ printf("# copy: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  printf("# gc on DST: %llu pages deleted; the copy uploaded %llu objects, "
         "%llu were there\n", (unsigned long long)c.gc.pages_deleted,
         (unsigned long long)r.objects_copied,
         (unsigned long long)r.objects_held);
  CHECK_EQ(r.version, (uint64_t)newest);
  CHECK_EQ(verify_all(dst), 0);
  CHECK_EQ(count_rows(dst), 1350);
  free(src);
  free(dst);
}

/* copy_spans_gc: see the top comment. */
static void copy_spans_gc(void){
  char *src = tdb_name("bulkcopysrc");
  char *dst = tdb_name("bulkcopydst");
  int64_t newest = copy_prepare(src, dst);
  CHECK(newest > 0);
  copy_clock c;
  memset(&c, 0, sizeof c);
  c.dst = dst;
  c.shift_upto = 2;
  c.shift_ms = MINUTES(8);
  c.gc_at = 2;
  c.keep = 1;
  c.gc_rc = -1;
  s3page_copy_result r;
  char *err = NULL;
  int rc = s3page_copy(src, dst, 0, copy_tick, &c, &r, &err);
  if(err){ printf("# copy: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  printf("# gc on DST in the middle: %llu pages deleted, %llu spared for a "
         "bulk writer, %llu live markers\n",
         (unsigned long long)c.gc.pages_deleted,
         (unsigned long long)c.gc.objects_leased,
         (unsigned long long)c.gc.leases_live);
  CHECK_EQ(c.gc.leases_live, 1);
  CHECK(c.gc.objects_leased >= 256);
  CHECK_EQ(r.version, (uint64_t)newest);
  CHECK_EQ(verify_all(dst), 0);
  CHECK_EQ(count_rows(dst), 1250);
  free(src);
  free(dst);
}

/* copy_behind_gc: see the top comment. */
static void copy_behind_gc(void){
  char *src = tdb_name("bulkbehindsrc");
  char *dst = tdb_name("bulkbehinddst");
  int64_t newest = copy_prepare(src, dst);
  CHECK(newest > 0);
  /* Each batch "takes" 8 minutes. After the first DST gets 3 versions of
  ** its own; after the fourth, 24 minutes later (more than the grace and
  ** gc's margin), gc keeps only DST's newest (the copy's marker, renewed
  ** 8 minutes before, is live). */
  copy_clock c;
  memset(&c, 0, sizeof c);
  c.dst = dst;
  c.commit_at = 1;
  c.shift_upto = 4;
  c.shift_ms = MINUTES(8);
  c.gc_at = 4;
  c.keep = 1;
  c.gc_rc = -1;
  s3page_copy_result r;
  char *err = NULL;
  int rc = s3page_copy(src, dst, 0, copy_tick, &c, &r, &err);
  CHECK_EQ(rc, SQLITE_CANTOPEN);
  CHECK(err && strstr(err, "another database"));
  if(rc != SQLITE_CANTOPEN){
    printf("# copy: %d, version %llu: %s\n", rc, (unsigned long long)r.version,
           err ? err : "");
  }
  sqlite3_free(err);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  CHECK(c.gc.records_deleted > 0);
  /* DST is still its own newest version, nothing re-created below it. */
  CHECK_EQ(r.records_copied, 0);
  CHECK_EQ(verify_all(dst), 0);
  CHECK_EQ(count_rows(dst), 53);
  free(src);
  free(dst);
}

/* What the history hook does for revert_spans_gc and
** checkpoint_spans_gc. */
typedef struct hist_clock {
  const char *name;          /* the database */
  const char *uploaded;      /* the point after the uploads */
  const char *record;        /* the point before the record */
  int fired;                 /* the clock moved and gc ran */
  int moved;                 /* the clock moved at uploaded */
  uint64_t keep;             /* versions gc keeps */
  int gc_rc;                 /* gc's result code (-1: not run) */
  s3page_gc_result gc;       /* and its result */
} hist_clock;

/* hist_tick is the history hook: the first time the uploads are done the
** clock moves 8 minutes, and before the record 8 more, then gc runs with
** grace 15 minutes. */
static void hist_tick(void *arg, const char *point){
  hist_clock *c = arg;
  if(c->fired) return;
  if(!strcmp(point, c->uploaded)){
    s3p_test_clock_shift(MINUTES(8));
    c->moved = 1;
  }else if(!strcmp(point, c->record) && c->moved){
    c->fired = 1;
    s3p_test_clock_shift(MINUTES(8));
    c->gc_rc = run_gc(c->name, c->keep, &c->gc);
  }
}

/* revert_spans_gc: see the top comment. */
static void revert_spans_gc(void){
  char *name = tdb_name("bulkrevert");
  int64_t v = add_rows(name, 20);
  int64_t newest = 0;
  for(int i = 0; i < 4 && newest >= 0; i++) newest = add_rows(name, 30);
  CHECK(v > 0 && newest > v);
  hist_clock c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.uploaded = "revert: uploaded";
  c.record = "revert: record";
  c.keep = (uint64_t)(newest - v + 1);   /* V stays: only the new objects */
  c.gc_rc = -1;
  s3p_test_set_hist_hook(hist_tick, &c);
  s3page_at at;
  memset(&at, 0, sizeof at);
  at.version = (uint64_t)v;
  s3page_revert_result r;
  char *err = NULL;
  int rc = s3page_revert(name, &at, &r, &err);
  s3p_test_set_hist_hook(NULL, NULL);
  if(err){ printf("# revert: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK(c.fired);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  CHECK_EQ(c.gc.leases_live, 1);
  CHECK_EQ(r.version, (uint64_t)newest + 1);
  CHECK_EQ(verify_all(name), 0);
  CHECK_EQ(count_rows(name), 20);
  free(name);
}

/* checkpoint_spans_gc: see the top comment. */
static void checkpoint_spans_gc(void){
  char *name = tdb_name("bulkckpt");
  int64_t newest = 0;
  for(int i = 0; i < 5 && newest >= 0; i++) newest = add_rows(name, 40);
  CHECK(newest > 0);
  hist_clock c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.uploaded = "checkpoint: uploaded";
  c.record = "checkpoint: record";
  c.keep = 1;
  c.gc_rc = -1;
  s3p_test_set_hist_hook(hist_tick, &c);
  uint64_t cv = 0;
  int created = 0;
  char *err = NULL;
  int rc = s3page_checkpoint(name, &cv, &created, &err);
  s3p_test_set_hist_hook(NULL, NULL);
  if(err){ printf("# checkpoint: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK(c.fired);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  CHECK_EQ(c.gc.leases_live, 1);
  CHECK_EQ(created, 1);
  CHECK_EQ(cv, (uint64_t)newest + 1);
  CHECK_EQ(verify_all(name), 0);
  CHECK_EQ(count_rows(name), 200);
  free(name);
}

/* age_objects sets the modification time of every object under pages/
** and index/ of name, if it is a directory store, secs into the past (on
** S3 objects keep their real times). */
static void age_objects(const char *name, int secs){
  if(!strncmp(name, "s3://", 5)) return;
  static const char *const sub[] = { "pages", "index" };
  for(int i = 0; i < 2; i++){
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", name, sub[i]);
    DIR *d = opendir(dir);
    if(!d) continue;
    struct dirent *e;
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= secs;
    ts[1] = ts[0];
    while((e = readdir(d)) != NULL){
      if(e->d_name[0] == '.') continue;
      utimensat(dirfd(d), e->d_name, ts, AT_SYMLINK_NOFOLLOW);
    }
    closedir(d);
  }
}

/* replaced_history makes name's version V (returned, -1 on error) hold
** rows no later version keeps: 20 rows, then a version that deletes them
** and later ones that add others, then a checkpoint; the store's objects
** look 30 minutes old by the library clock afterwards, and an hour old by
** their real times in a directory store. *newest gets the
** newest version (the checkpoint). */
static int64_t replaced_history(const char *name, int64_t *newest){
  int64_t v = add_rows(name, 20);
  if(v < 0) return -1;
  sqlite3 *db = tdb_open(name, NULL);
  if(!db) return -1;
  int rc = tdb_exec(db, "DELETE FROM t");
  sqlite3_close(db);
  if(rc) return -1;
  s3p_test_clock_shift(MINUTES(30));
  *newest = 0;
  for(int i = 0; i < 3 && *newest >= 0; i++) *newest = add_rows(name, 25);
  /* A checkpoint as the newest: gc can then drop every older version. */
  uint64_t cv = 0;
  char *err = NULL;
  if(s3page_checkpoint(name, &cv, NULL, &err) != SQLITE_OK) cv = 0;
  if(err){ printf("# checkpoint: %s\n", err); sqlite3_free(err); }
  *newest = (int64_t)cv;
  age_objects(name, 3600);
  return *newest > v ? v : -1;
}

/* revert_target_dropped: see the top comment. */
static void revert_target_dropped(void){
  char *name = tdb_name("revdrop");
  int64_t newest = 0;
  int64_t v = replaced_history(name, &newest);
  CHECK(v > 0);
  hist_clock c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.uploaded = "revert: uploaded";
  c.record = "revert: record";
  c.keep = 1;                           /* V goes */
  c.gc_rc = -1;
  s3p_test_set_hist_hook(hist_tick, &c);
  s3page_at at;
  memset(&at, 0, sizeof at);
  at.version = (uint64_t)v;
  s3page_revert_result r;
  char *err = NULL;
  int rc = s3page_revert(name, &at, &r, &err);
  s3p_test_set_hist_hook(NULL, NULL);
  if(err){ printf("# revert: %s\n", err); sqlite3_free(err); }
  CHECK_EQ(rc, SQLITE_OK);
  CHECK(c.fired);
  CHECK_EQ(c.gc_rc, SQLITE_OK);
  CHECK(c.gc.records_deleted > 0);      /* V's record went */
  printf("# gc during the revert: %llu records, %llu pages deleted, %llu "
         "objects spared for markers\n",
         (unsigned long long)c.gc.records_deleted,
         (unsigned long long)c.gc.pages_deleted,
         (unsigned long long)c.gc.objects_leased);
  CHECK_EQ(r.version, (uint64_t)newest + 1);
  CHECK_EQ(verify_all(name), 0);
  CHECK_EQ(count_rows(name), 20);
  free(name);
}

/* What the history hook does for revert_inside_gc. */
typedef struct gc_revert {
  const char *name;          /* the database */
  uint64_t to;               /* the version to revert to */
  int fired;                 /* the revert ran */
  int rc;                    /* its result code */
  uint64_t made;             /* the version it made */
} gc_revert;

/* gc_revert_hook runs the revert once, when gc is about to delete
** records. */
static void gc_revert_hook(void *arg, const char *point){
  gc_revert *g = arg;
  if(g->fired || strcmp(point, "gc: records")) return;
  g->fired = 1;
  s3page_at at;
  memset(&at, 0, sizeof at);
  at.version = g->to;
  s3page_revert_result r;
  char *err = NULL;
  g->rc = s3page_revert(g->name, &at, &r, &err);
  if(err){ printf("# revert: %s\n", err); sqlite3_free(err); }
  g->made = r.version;
}

/* revert_inside_gc: see the top comment. */
static void revert_inside_gc(void){
  char *name = tdb_name("revingc");
  int64_t newest = 0;
  int64_t v = replaced_history(name, &newest);
  CHECK(v > 0);
  gc_revert g;
  memset(&g, 0, sizeof g);
  g.name = name;
  g.to = (uint64_t)v;
  g.rc = -1;
  s3p_test_clock_shift(MINUTES(16));
  s3p_test_set_hist_hook(gc_revert_hook, &g);
  s3page_gc_result gr;
  int rc = run_gc(name, 1, &gr);
  s3p_test_set_hist_hook(NULL, NULL);
  CHECK_EQ(rc, SQLITE_OK);
  CHECK(g.fired);
  CHECK_EQ(g.rc, SQLITE_OK);
  CHECK_EQ(g.made, (uint64_t)newest + 1);
  CHECK(gr.records_deleted > 0);
  printf("# gc around the revert: %llu records, %llu pages deleted\n",
         (unsigned long long)gr.records_deleted,
         (unsigned long long)gr.pages_deleted);
  CHECK_EQ(verify_all(name), 0);
  CHECK_EQ(count_rows(name), 20);
  free(name);
}

int main(void){
  if(tdb_init()) return 1;
  clock_reset();
  RUN(copy_spans_gc);
  clock_reset();
  RUN(copy_behind_gc);
  clock_reset();
  RUN(copy_resumed_gc);
  clock_reset();
  RUN(revert_spans_gc);
  clock_reset();
  RUN(checkpoint_spans_gc);
  clock_reset();
  RUN(revert_target_dropped);
  clock_reset();
  RUN(revert_inside_gc);
  clock_reset();
  return CHECK_DONE();
}
