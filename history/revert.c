/*
** revert.c: s3page_revert, the content of an older version V made the
** next version, history kept.
**
** The page map of V (its checkpoint tree, truncated at the lowest mark of
** the records replayed on top of it, with their overlay applied) is
** written as a tree with page 1 replaced by V's page 1 stamped against the
** newest version N (s3p_hist_stamp_page1), so that every open connection
** drops its caches. Only the nodes on the paths to the pages V changed
** since its checkpoint, and to page 1, are new; everything else is shared
** with V's checkpoint: the cost is one page object, at most one
** checkpoint's changed nodes and one record, never a re-upload.
**
** Version N+1 is then an ordinary create-if-absent commit: a full-image
** record (flag S3P_RECORD_FULL, like import) whose checkpoint is that tree.
** A writer that committed N+1 first makes the revert start again on top of
** its version (page 1 stamped against it); a writer whose transaction
** started before the revert committed loses its race and gets
** SQLITE_BUSY_SNAPSHOT, like any other. Versions after V stay readable.
**
** It is a bulk writer (docs/history.md, "Bulk writers"): its uploads come
** before the record naming them, so it holds a marker that gc honours
** from before the first upload, renewed between uploads, and each attempt
** starts from the newest version looked up then (s3p_hist_refresh), not
** from the one seen at open, and creates its record with
** s3p_hist_create_record (which refuses a look-up that has grown old).
*/
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <sqlite3.h>
#include "internal.h"
#include "../index/page.h"

/* Attempts when other writers keep committing first, with a pause of up
** to this many milliseconds times the attempt number between them (a
** revert rebuilds a few nodes per attempt; busy writers commit faster). */
#define REVERT_ATTEMPTS 32
#define REVERT_BACKOFF_MS 4

/* What a revert works with. */
typedef struct revert_state {
  s3p_db *old;               /* the database at V (read-only) */
  s3p_db *db;                /* the database at its newest version */
  s3p_upload put;            /* uploads of the page 1 object and nodes */
  s3p_lease lease;           /* the marker held while uploading */
  int lease_rc;              /* why renewing it failed in a tree update */
  s3p_change *map;           /* V's overlay with page 1 first (malloc'd) */
  size_t nmap;               /* entries in map */
  unsigned char *page1;      /* V's page 1 (V's page size) */
  s3page_revert_result res;  /* what was done */
} revert_state;

/* revert_node_load loads nodes through the cache of the database at V
** (ctx: the revert_state). */
static int revert_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  revert_state *st = ctx;
  s3p_tree_io io = s3p_db_tree_io(st->old);
  return io.load(io.ctx, h, out);
}

/* revert_node_store queues a new tree node for upload (ctx: the state). */
static int revert_node_store(void *ctx, const s3p_hash *h,
                             const unsigned char *buf, size_t len){
  revert_state *st = ctx;
  int lrc = s3p_lease_keep(&st->lease);
  if(lrc){ st->lease_rc = lrc; return S3P_EIO; }   /* message in st->db */
  st->res.nodes_put++;
  return s3p_upload_node_store(&st->put, h, buf, len);
}

/* revert_prepare reads what does not depend on the newest version: V's
** overlay (with room for page 1 at its head) and V's page 1. Returns
** SQLITE_OK or an error. */
static int revert_prepare(revert_state *st){
  s3p_view *v = &st->old->view;
  if(v->page_count == 0 || v->page_size < 512){
    return s3p_db_error(st->db, SQLITE_CORRUPT, "%s: version %llu has no "
                        "pages to revert to", st->db->store->desc,
                        (unsigned long long)v->version);
  }
  s3p_change *ov = NULL;
  size_t nov = 0;
  if(s3p_view_overlay(v, &ov, &nov)){
    return s3p_db_error(st->db, SQLITE_NOMEM, "out of memory");
  }
  st->map = malloc((nov + 1) * sizeof *st->map);
  st->page1 = malloc(v->page_size);
  if(!st->map || !st->page1){
    free(ov);
    return s3p_db_error(st->db, SQLITE_NOMEM, "out of memory");
  }
  /* The overlay is sorted by page number: page 1, if there, is first. */
  size_t skip = nov && ov[0].pgno == 1;
  memset(&st->map[0], 0, sizeof st->map[0]);
  st->map[0].pgno = 1;
  if(nov > skip) memcpy(st->map + 1, ov + skip, (nov - skip) * sizeof *ov);
  st->nmap = nov - skip + 1;
  free(ov);
  int rc = s3p_db_read_page(st->old, 1, st->page1);
  if(rc) s3p_db_error(st->db, rc, "%s", s3p_db_errmsg(st->old));
  return rc;
}

/* revert_sqlite_pages returns the size of version v in SQLite's pages,
** which the stamped header must state: v's own in-header size when SQLite
** marked it valid (change counter at 24 equal to version-valid-for at 92),
** else the store's size over SQLite's page size (offset 16; they differ
** after a VACUUM that changed it, and the store's last page may be only
** partly SQLite's). */
static uint32_t revert_sqlite_pages(const s3p_view *v, const unsigned char *p1){
  uint32_t n = s3p_get4(p1 + 28);
  if(n && !memcmp(p1 + 24, p1 + 92, 4)) return n;
  uint32_t q = (uint32_t)p1[16] << 8 | p1[17];
  if(q == 1) q = 65536;
  if(q < 512 || (q & (q - 1))) q = v->page_size;
  return (uint32_t)((uint64_t)v->page_count * v->page_size / q);
}

/* revert_tree builds in *out the tree of V with page 1 stamped against the
** view of st->db (the version the revert goes on top of), uploading the
** page 1 object and the new nodes. Returns SQLITE_OK or an error. */
static int revert_tree(revert_state *st, s3p_treeref *out){
  s3p_db *db = st->db;
  s3p_view *v = &st->old->view;
  uint32_t psz = v->page_size;
  unsigned char *p1 = malloc(psz);
  if(!p1) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  memcpy(p1, st->page1, psz);
  int rc = s3p_hist_stamp_page1(db, p1, revert_sqlite_pages(v, st->page1));
  if(rc == SQLITE_OK){
    s3p_hash_page(&st->map[0].hash, p1, psz);
    unsigned char *enc = NULL;
    size_t elen = 0;
    if(s3p_page_encode(&enc, &elen, p1, psz)){
      rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    }else{
      char key[S3P_KEY_MAX];
      s3p_hash_key(key, "pages", &st->map[0].hash);
      st->res.pages_put++;
      rc = s3p_upload_put(&st->put, key, enc, elen);
    }
  }
  free(p1);
  if(rc == SQLITE_OK) rc = s3p_upload_flush(&st->put);  /* page, then nodes */
  if(rc == SQLITE_OK) rc = s3p_lease_keep(&st->lease);
  if(rc) return rc;
  s3p_tree_io io = { st, revert_node_load, revert_node_store };
  int trc = s3p_tree_update(out, &v->tree, v->trunc, st->map, st->nmap, &io);
  if(trc != S3P_OK){
    if(st->put.rc) return st->put.rc;
    if(st->lease_rc) return st->lease_rc;
    if(st->old->errcode && trc != S3P_ENOMEM && trc != S3P_EINVAL){
      return s3p_db_error(db, st->old->errcode, "%s", s3p_db_errmsg(st->old));
    }
    return s3p_db_error(db, trc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT,
                        "%s: building the page map of version %llu: %s",
                        db->store->desc, (unsigned long long)v->version,
                        s3p_errstr(trc));
  }
  return s3p_upload_flush(&st->put);
}

/* revert_commit creates the next version on top of the newest with the
** content of V, starting again on top of any version another writer made
** first. Returns SQLITE_OK or an error. */
static int revert_commit(revert_state *st){
  s3p_db *db = st->db;
  s3p_view *old = &st->old->view;
  uint64_t from = 0;         /* a version known to exist now, or 0 */
  for(int attempt = 0; attempt < REVERT_ATTEMPTS; attempt++){
    /* The newest version, looked up now (s3p_hist_refresh says why). */
    int rc = s3p_hist_refresh(db, from);
    if(rc) return rc;
    s3p_view *v = &db->view;
    st->res.parent = v->version;
    s3p_treeref tree;
    rc = revert_tree(st, &tree);
    s3p_test_hist_hook("revert: uploaded");
    if(rc == SQLITE_OK) rc = s3p_lease_keep(&st->lease);
    s3p_test_hist_hook("revert: record");
    if(rc) return rc;
    s3p_record rec;
    s3p_hist_full_record(&rec, v->version, v->time_ms, old->page_size,
                         old->page_count, &tree);
    uint64_t conflicts = db->n_conflict;
    rc = s3p_hist_create_record(db, &rec, &st->lease);
    if(rc == SQLITE_OK){
      st->res.version = rec.version;
      st->res.bytes_put += S3P_RECORD_HDR + 8;
      db->head_pending = rec.version;
      return SQLITE_OK;
    }
    if(rc != SQLITE_BUSY_SNAPSHOT) return rc;
    /* Someone committed first (look from their version), or the look-up
    ** grew old (look from HEAD or TAIL again); after a conflict, a pause
    ** with jitter so that the next attempt is not one more tie. */
    int lost = db->n_conflict != conflicts;
    from = lost ? rec.version : 0;
    if(lost){
      unsigned char r = 0;
      if(getrandom(&r, 1, 0) != 1) r = (unsigned char)s3p_now_ms();
      usleep((useconds_t)(r % REVERT_BACKOFF_MS + 1) * 1000u *
             (useconds_t)(attempt + 1));
    }
  }
  return s3p_db_error(db, SQLITE_BUSY, "%s: other writers kept committing; "
                      "the revert was not committed", db->store->desc);
}

/* revert_add_stats adds the requests of db's store to *res. */
static void revert_add_stats(s3page_revert_result *res, const s3p_db *db){
  if(!db) return;
  const s3p_store_stats *s = &db->store->stats;
  res->n_get += s->n_get + s->n_head;
  res->n_put += s->n_put;
}

int s3page_revert(const char *name, const s3page_at *to,
                  s3page_revert_result *res, char **errmsg){
  revert_state st;
  memset(&st, 0, sizeof st);
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  if(!to || (!to->version && !to->has_asof)){
    return s3p_hist_set_error(errmsg, SQLITE_MISUSE, "revert: no version "
                              "to revert to (give a version or a time)");
  }
  /* The marker before V is read: the new version names V's objects,
  ** which gc may be deleting with V (s3p_lease_begin_reuse). */
  int rc = s3p_hist_open(&st.db, name, 1, 0, NULL, errmsg);
  if(rc) return rc;
  s3p_upload_init(&st.put, st.db, S3P_HIST_BATCH, S3P_HIST_BATCH_BYTES);
  rc = s3p_lease_begin_reuse(&st.lease, st.db);
  if(rc == SQLITE_OK){
    char *msg = NULL;
    rc = s3p_hist_open(&st.old, name, 0, 0, to, &msg);
    if(rc) s3p_db_error(st.db, rc, "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
  }
  /* V may be newer than the newest seen before it was read. */
  if(rc == SQLITE_OK && st.old->view.version > st.db->view.version){
    rc = s3p_hist_refresh(st.db, st.old->view.version);
  }
  if(rc == SQLITE_OK){
    st.res.to = st.old->view.version;
    st.res.parent = st.db->view.version;
  }
  if(rc == SQLITE_OK && st.res.to == st.res.parent){
    /* Already the newest: nothing to do, no version is made. */
  }else if(rc == SQLITE_OK){
    rc = revert_prepare(&st);
    if(rc == SQLITE_OK) rc = revert_commit(&st);
  }
  s3p_lease_end(&st.lease);
  st.res.bytes_put += st.put.bytes;
  s3p_upload_free(&st.put);
  if(rc == SQLITE_OK) s3p_db_flush_head(st.db);  /* counted below */
  free(st.map);
  free(st.page1);
  revert_add_stats(&st.res, st.old);
  revert_add_stats(&st.res, st.db);
  if(res) *res = st.res;
  s3p_db_close(st.old);
  return s3p_hist_finish(st.db, rc, errmsg);
}
