/*
** checkpoint.c: s3page_checkpoint, a checkpoint of the newest version
** on demand.
**
** The page map of the newest version N (its checkpoint tree, truncated at
** the lowest mark of the replayed records, with their overlay applied) is
** written as a tree: only the nodes on paths to pages changed since the
** last checkpoint are new, the rest is shared. Then version N+1 is created
** with no page changes and a record that carries this tree as its own
** checkpoint, so opening it (or any version after it, until the next
** checkpoint) replays nothing older. Losing the race for N+1 to a writer
** means redoing it on top of the newer version.
**
** A big checkpoint uploads many nodes before its record names them: it is
** a bulk writer (docs/history.md, "Bulk writers"), holding a marker that
** gc honours, and each attempt starts from the newest version looked up
** then (s3p_hist_refresh), never from the one seen at open, and creates
** its record with s3p_hist_create_record.
**
** The file also holds the test hook every history operation may call
** (s3p_test_hist_hook, history.h).
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"

/* The test hook: set by tests before an operation, read by it. */
static pthread_mutex_t ckpt_hook_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*ckpt_hook_fn)(void *, const char *);  /* under ckpt_hook_mu */
static void *ckpt_hook_arg;                         /* under ckpt_hook_mu */

void s3p_test_set_hist_hook(void (*fn)(void *arg, const char *point),
                            void *arg){
  pthread_mutex_lock(&ckpt_hook_mu);
  ckpt_hook_fn = fn;
  ckpt_hook_arg = arg;
  pthread_mutex_unlock(&ckpt_hook_mu);
}

void s3p_test_hist_hook(const char *point){
  pthread_mutex_lock(&ckpt_hook_mu);
  void (*fn)(void *, const char *) = ckpt_hook_fn;
  void *arg = ckpt_hook_arg;
  pthread_mutex_unlock(&ckpt_hook_mu);
  if(fn) fn(arg, point);
}

/* Attempts when other writers keep committing first. */
#define CKPT_ATTEMPTS 8

/* What a tree update of a checkpoint works with. */
typedef struct ckpt_build_state {
  s3p_upload put;            /* the node uploads */
  s3p_lease *lease;          /* the marker held */
  int lease_rc;              /* why renewing it failed */
} ckpt_build_state;

/* ckpt_node_load loads nodes through the db's cache (ctx: the state). */
static int ckpt_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  ckpt_build_state *b = ctx;
  s3p_tree_io io = s3p_db_tree_io(b->put.db);
  return io.load(io.ctx, h, out);
}

/* ckpt_node_store renews the marker (when due) and queues a new node for
** upload (ctx: the state). Returns S3P_OK or an error. */
static int ckpt_node_store(void *ctx, const s3p_hash *h,
                           const unsigned char *buf, size_t len){
  ckpt_build_state *b = ctx;
  int lrc = s3p_lease_keep(b->lease);
  if(lrc){ b->lease_rc = lrc; return S3P_EIO; }   /* message in the db */
  return s3p_upload_node_store(&b->put, h, buf, len);
}

/* ckpt_build writes the tree of the view's whole state into *out,
** uploading its new nodes under lease. Returns SQLITE_OK or an error. */
static int ckpt_build(s3p_db *db, s3p_lease *lease, s3p_treeref *out){
  s3p_change *ov = NULL;
  size_t nov = 0;
  if(s3p_view_overlay(&db->view, &ov, &nov)){
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  ckpt_build_state b;
  memset(&b, 0, sizeof b);
  b.lease = lease;
  s3p_upload_init(&b.put, db, S3P_HIST_BATCH, S3P_HIST_BATCH_BYTES);
  s3p_tree_io io = { &b, ckpt_node_load, ckpt_node_store };
  int trc = s3p_tree_update(out, &db->view.tree, db->view.trunc, ov, nov, &io);
  free(ov);
  int rc = SQLITE_OK;
  if(trc != S3P_OK){
    if(b.put.rc) rc = b.put.rc;
    else if(b.lease_rc) rc = b.lease_rc;
    else if(db->errcode && trc != S3P_ENOMEM && trc != S3P_EINVAL) rc = db->errcode;
    else rc = s3p_db_error(db, trc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT,
                           "%s: building the checkpoint of version %llu: %s",
                           db->store->desc,
                           (unsigned long long)db->view.version,
                           s3p_errstr(trc));
  }
  if(rc == SQLITE_OK) rc = s3p_upload_flush(&b.put);
  s3p_upload_free(&b.put);
  return rc;
}

int s3page_checkpoint(const char *name, uint64_t *version, int *created,
                      char **errmsg){
  s3p_db *db = NULL;
  if(errmsg) *errmsg = NULL;
  if(created) *created = 0;
  if(version) *version = 0;
  int rc = s3p_hist_open(&db, name, 1, 0, NULL, errmsg);
  if(rc) return rc;
  s3p_lease lease;
  memset(&lease, 0, sizeof lease);
  uint64_t from = 0;         /* a version known to exist now, or 0 */
  for(int attempt = 0; rc == SQLITE_OK; attempt++){
    /* The newest version, looked up now (s3p_hist_refresh says why). */
    if(attempt > 0) rc = s3p_hist_refresh(db, from);
    if(rc) break;
    s3p_view *v = &db->view;
    if(v->version == 0){
      rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: no database here (no "
                        "commit records)", db->store->desc);
      break;
    }
    if(v->ckpt_version == v->version){
      if(version) *version = v->version;  /* already a checkpoint */
      break;
    }
    if(attempt == CKPT_ATTEMPTS){
      rc = s3p_db_error(db, SQLITE_BUSY, "%s: other writers kept committing; "
                        "no checkpoint was made", db->store->desc);
      break;
    }
    if(!lease.held){
      /* Only now: most calls find a checkpoint and upload nothing. */
      rc = s3p_lease_begin(&lease, db);
      if(rc) break;
      /* The view is from before the marker: look again (the look-up at
      ** open may be older than what gc allows for). */
      rc = s3p_hist_refresh(db, v->version);
      if(rc) break;
      if(v->ckpt_version == v->version){
        if(version) *version = v->version;
        break;
      }
    }
    s3p_treeref t;
    rc = ckpt_build(db, &lease, &t);
    s3p_test_hist_hook("checkpoint: uploaded");
    if(rc == SQLITE_OK) rc = s3p_lease_keep(&lease);   /* due after a long build */
    s3p_test_hist_hook("checkpoint: record");
    if(rc) break;
    s3p_record rec;
    memset(&rec, 0, sizeof rec);
    rec.version = v->version + 1;
    rec.parent = v->version;
    uint64_t now = s3p_now_ms();
    rec.time_ms = now > v->time_ms ? now : v->time_ms;
    rec.page_size = v->page_size;
    rec.page_count = v->page_count;
    rec.trunc_mark = v->page_count;
    rec.ckpt_version = rec.version;
    rec.ckpt_level = t.level;
    rec.ckpt_root = t.root;
    uint64_t conflicts = db->n_conflict;
    rc = s3p_hist_create_record(db, &rec, &lease);
    if(rc == SQLITE_OK){
      if(version) *version = rec.version;
      if(created) *created = 1;
      s3p_db_set_head(db, rec.version);
      break;
    }
    if(rc != SQLITE_BUSY_SNAPSHOT) break;
    /* Someone committed first (checkpoint their newest version instead,
    ** looked up from theirs), or the look-up grew old (from HEAD or TAIL
    ** again). */
    from = db->n_conflict != conflicts ? rec.version : 0;
    rc = SQLITE_OK;
  }
  s3p_lease_end(&lease);
  return s3p_hist_finish(db, rc, errmsg);
}
