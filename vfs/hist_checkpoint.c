/*
** hist_checkpoint.c: s3page_checkpoint, a checkpoint of the newest version
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
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "hist.h"

/* Attempts when other writers keep committing first. */
#define CKPT_ATTEMPTS 8

/* ckpt_node_load loads nodes through the db's cache (ctx: the s3p_upload). */
static int ckpt_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  s3p_upload *p = ctx;
  s3p_tree_io io = s3p_db_tree_io(p->db);
  return io.load(io.ctx, h, out);
}

/* ckpt_build writes the tree of the view's whole state into *out,
** uploading its new nodes. Returns SQLITE_OK or an error. */
static int ckpt_build(s3p_db *db, s3p_treeref *out){
  s3p_change *ov = NULL;
  size_t nov = 0;
  if(s3p_view_overlay(&db->view, &ov, &nov)){
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  s3p_upload put;
  s3p_upload_init(&put, db, S3P_HIST_BATCH, S3P_HIST_BATCH_BYTES);
  s3p_tree_io io = { &put, ckpt_node_load, s3p_upload_node_store };
  int trc = s3p_tree_update(out, &db->view.tree, db->view.trunc, ov, nov, &io);
  free(ov);
  int rc = SQLITE_OK;
  if(trc != S3P_OK){
    if(put.rc) rc = put.rc;
    else if(db->errcode && trc != S3P_ENOMEM && trc != S3P_EINVAL) rc = db->errcode;
    else rc = s3p_db_error(db, trc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT,
                           "%s: building the checkpoint of version %llu: %s",
                           db->store->desc,
                           (unsigned long long)db->view.version,
                           s3p_errstr(trc));
  }
  if(rc == SQLITE_OK) rc = s3p_upload_flush(&put);
  s3p_upload_free(&put);
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
  for(int attempt = 0; rc == SQLITE_OK; attempt++){
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
    s3p_treeref t;
    rc = ckpt_build(db, &t);
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
    rc = s3p_db_create_record(db, &rec);
    if(rc == SQLITE_OK){
      if(version) *version = rec.version;
      if(created) *created = 1;
      s3p_db_set_head(db, rec.version);
      break;
    }
    if(rc != SQLITE_BUSY_SNAPSHOT) break;
    /* Someone committed first: checkpoint their newest version instead. */
    uint64_t latest;
    rc = s3p_version_latest(db, v->version, &latest);
    if(rc == SQLITE_OK) rc = s3p_db_load(db, latest);
  }
  return s3p_hist_finish(db, rc, errmsg);
}
