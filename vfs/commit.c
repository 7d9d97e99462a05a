/*
** commit.c: the commit protocol, end to end.
**
** At the sync point of a write transaction, the pages SQLite wrote sit in
** the transaction buffer and the view holds version N that the transaction
** read. Committing makes version N+1:
**
**   1. Diff: hash each buffered page; keep those whose hash differs from
**      the page at N (a page above the truncation mark differs unless it is
**      zero). Nothing changed: done, no new version.
**   2. Round trip 1, one batch: PUT every new page object (skipping those
**      the store is known to hold), the new checkpoint-tree nodes when this
**      commit writes a checkpoint (every K-th version, a commit of 1024
**      pages or more, or when 4096 pages changed since the last one), and
**      the pending HEAD hint. The tree nodes a checkpoint rewrites were
**      fetched while the transaction ran (vfs.c), not here. Objects are named by
**      their content, so these PUTs are idempotent and invisible to readers
**      until a record refers to them. The last batch also reads TAIL: a
**      version N that gc removed must not get a successor (commit_check;
**      the argument is in docs/history.md, "Why gc is safe").
**   3. Round trip 2: create wal/<N+1> with create-if-absent. Exactly one
**      writer wins it. Losing (the record exists) means another writer
**      committed N+1 first: return SQLITE_BUSY_SNAPSHOT so SQLite rolls back
**      and the application retries on the new version. No lost update.
**
** A failure before step 3 leaves only unreferenced objects (gc removes
** them). An ambiguous failure of step 3 (an error after which the record may
** or may not exist) is resolved by retrying: if the record is then there,
** its bytes tell whether it is ours (the writer nonce makes them unique).
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <sqlite3.h>
#include "db.h"
#include "upload.h"
#include "tail.h"
#include "../index/page.h"
#include "../index/head.h"

/* Batches are cut at this many operations or bytes so that huge
** transactions do not hold every encoded page in memory at once. */
#define COMMIT_BATCH_OPS 1024
#define COMMIT_BATCH_BYTES (32u << 20)
/* Attempts at creating the record when the store fails ambiguously. */
#define COMMIT_RECORD_ATTEMPTS 4

/* commit_node_load loads nodes for the checkpoint update via the db. */
static int commit_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  s3p_upload *b = ctx;
  s3p_tree_io io = s3p_db_tree_io(b->db);
  return io.load(io.ctx, h, out);
}

/* commit_checkpoint builds the page map of the new version as a tree
** (the view's tree, truncated, with the overlay and this commit's changes)
** and queues its new nodes. Returns SQLITE_OK or an error. */
static int commit_checkpoint(s3p_upload *b, const s3p_change *ch, size_t n,
                             uint32_t mark, s3p_treeref *out){
  s3p_db *db = b->db;
  s3p_change *ov = NULL, *all = NULL;
  size_t nov = 0, k = 0;
  if(s3p_view_overlay(&db->view, &ov, &nov)){
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  all = malloc((nov + n + 1) * sizeof *all);
  if(!all){
    free(ov);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  /* Merge: this commit's changes win over the overlay; overlay entries
  ** above this commit's truncation mark are gone. */
  size_t i = 0, j = 0;
  while(i < nov || j < n){
    if(j < n && (i >= nov || ch[j].pgno <= ov[i].pgno)){
      if(i < nov && ov[i].pgno == ch[j].pgno) i++;
      all[k++] = ch[j++];
    }else{
      if(ov[i].pgno <= mark) all[k++] = ov[i];
      i++;
    }
  }
  free(ov);
  /* A truncation now or since the checkpoint is passed on, even one at
  ** (or, after growth, below) the page count: the checkpoint's tree may
  ** still hold pages above it, which must not come back. view.trunc is
  ** UINT32_MAX when nothing was truncated since the checkpoint, and a mark
  ** at the page count truncates nothing now. */
  uint32_t trunc = db->view.trunc;
  if(mark < db->view.page_count && mark < trunc) trunc = mark;
  /* Normally the paths were warmed while the transaction ran (vfs.c);
  ** this only fetches what is still missing, a level per batch. */
  uint32_t *keys = malloc((k + 1) * sizeof *keys);
  if(!keys){
    free(all);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  for(size_t x = 0; x < k; x++) keys[x] = all[x].pgno;
  size_t nkeys = k;
  if(trunc != UINT32_MAX) keys[nkeys++] = trunc + 1;
  int wrc = s3p_db_warm_paths(db, keys, nkeys);
  free(keys);
  if(wrc){ free(all); return wrc; }
  s3p_tree_io io = { b, commit_node_load, s3p_upload_node_store };
  int rc = s3p_tree_update(out, &db->view.tree, trunc, all, k, &io);
  free(all);
  if(rc == S3P_OK) return SQLITE_OK;
  if(b->rc) return b->rc;
  if(db->errcode && rc != S3P_ENOMEM && rc != S3P_EINVAL) return db->errcode;
  return s3p_db_error(db, rc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT,
                      "%s: building the checkpoint of version %llu: %s",
                      db->store->desc,
                      (unsigned long long)db->view.version + 1, s3p_errstr(rc));
}

/* Pages a commit did not upload because the store is known to hold them. */
typedef struct commit_skip {
  size_t *idx;               /* their indexes in the change list */
  size_t n;                  /* entries */
  uint64_t oldest_ms;        /* the oldest knowledge relied on */
} commit_skip;

/* commit_diff computes the changes of the buffered transaction against
** the view: *ch (malloc'd, sorted) and *n. Pages are read from the buffer
** into scratch; changed pages with content are queued for upload unless the
** store is known to hold them (then listed in *sk). Returns SQLITE_OK or an
** error. */
static int commit_diff(s3p_upload *b, s3p_change **ch, size_t *n,
                       commit_skip *sk, unsigned char *scratch){
  s3p_db *db = b->db;
  uint32_t psz = s3p_txbuf_page_size(db->tx);
  uint32_t mark = s3p_txbuf_trunc_mark(db->tx);
  uint32_t *pg = NULL;
  size_t npg = 0, k = 0;
  uint64_t now = s3p_now_ms();
  *ch = NULL;
  *n = 0;
  if(s3p_txbuf_list(db->tx, &pg, &npg)) goto nomem;
  s3p_change *out = malloc((npg + 1) * sizeof *out);
  sk->idx = malloc((npg + 1) * sizeof *sk->idx);
  if(!out || !sk->idx){ free(out); free(pg); goto nomem; }
  s3p_tree_io io = s3p_db_tree_io(db);
  int rc = SQLITE_OK;
  for(size_t i = 0; i < npg && rc == SQLITE_OK; i++){
    int got = s3p_txbuf_get(db->tx, pg[i], scratch);
    if(got != 1){
      rc = s3p_db_error(db, SQLITE_IOERR_READ, "reading the transaction's "
                        "spill file failed");
      break;
    }
    s3p_hash h, base;
    s3p_hash_page(&h, scratch, psz);
    memset(&base, 0, sizeof base);
    if(pg[i] <= mark && s3p_view_lookup(&base, &db->view, pg[i], &io)){
      rc = db->errcode ? db->errcode : SQLITE_IOERR_READ;
      break;
    }
    if(s3p_hash_eq(&h, &base)) continue;
    out[k].pgno = pg[i];
    out[k].hash = h;
    k++;
    if(s3p_hash_is_zero(&h)) continue;
    /* Known present: the page belongs to a version known to be the newest
    ** less than S3P_TRUST_MS ago (the stamp), which gc keeps for a grace
    ** period after that. Knowledge that has aged by the time the record
    ** is created is made good by uploading then (commit_refresh_skipped). */
    uint64_t seen = s3p_db_known(db, &h);
    if(seen && now - seen < S3P_TRUST_MS){
      if(sk->n == 0 || seen < sk->oldest_ms) sk->oldest_ms = seen;
      sk->idx[sk->n++] = k - 1;
      continue;
    }
    /* Same content twice in one commit: upload once. */
    int dup = 0;
    for(size_t d = k - 1; d-- > 0 && !dup && k - d < 64;){
      dup = s3p_hash_eq(&out[d].hash, &h);
    }
    if(dup) continue;
    unsigned char *enc = NULL;
    size_t elen = 0;
    if(s3p_page_encode(&enc, &elen, scratch, psz)){ rc = SQLITE_NOMEM; break; }
    char key[S3P_KEY_MAX];
    s3p_hash_key(key, "pages", &h);
    rc = s3p_upload_put(b, key, enc, elen);
  }
  free(pg);
  if(rc){ free(out); return rc; }
  *ch = out;
  *n = k;
  return SQLITE_OK;
nomem:
  return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
}

/* commit_nonce fills a writer nonce with random bytes. */
static void commit_nonce(unsigned char nonce[16]){
  size_t got = 0;
  while(got < 16){
    ssize_t r = getrandom(nonce + got, 16 - got, 0);
    if(r <= 0) break;
    got += (size_t)r;
  }
  if(got < 16){
    /* No entropy source: time and address still make it unique enough to
    ** tell our record from another writer's. */
    uint64_t t = s3p_now_ms();
    uintptr_t p = (uintptr_t)nonce;
    memcpy(nonce, &t, 8);
    memcpy(nonce + 8, &p, sizeof p < 8 ? sizeof p : 8);
  }
}

/* commit_record_create creates wal/<version> holding buf with
** create-if-absent, resolving ambiguous failures by reading back. Returns
** SQLITE_OK if the record is ours, SQLITE_BUSY_SNAPSHOT if another
** writer's, or an error. */
static int commit_record_create(s3p_db *db, uint64_t version,
                                const unsigned char *buf, size_t len){
  char key[32];
  s3p_record_key(key, version);
  int ambiguous = 0, rc = SQLITE_OK;
  for(int attempt = 0; attempt < COMMIT_RECORD_ATTEMPTS; attempt++){
    if(attempt && db->create_by_ms && s3p_now_ms() >= db->create_by_ms){
      /* Retrying now could land on a version gc removed meanwhile: stop
      ** with the last error (an earlier attempt may still have landed,
      ** which the next refresh shows). */
      break;
    }
    char *msg = NULL;
    int src = s3p_store_put(db->store, S3P_OP_PUT_NEW, key, buf, len, &msg);
    if(src == S3P_OK){ free(msg); return SQLITE_OK; }
    if(src == S3P_EEXISTS){
      free(msg);
      if(!ambiguous) goto conflict;
      /* An earlier attempt may have landed: is the record ours? */
      unsigned char *got = NULL;
      size_t glen = 0;
      src = s3p_store_get(db->store, key, &got, &glen, &msg);
      int mine = src == S3P_OK && glen == len && !memcmp(got, buf, len);
      free(got);
      if(src != S3P_OK){
        rc = s3p_db_store_error(db, src, SQLITE_IOERR_FSYNC, "GET", key, msg);
        free(msg);
        return rc;
      }
      free(msg);
      if(mine) return SQLITE_OK;
      goto conflict;
    }
    rc = s3p_db_store_error(db, src, SQLITE_IOERR_FSYNC, "PUT (create)", key,
                            msg);
    free(msg);
    if(src != S3P_EIO) return rc;
    ambiguous = 1;
  }
  return rc;   /* every attempt failed: the I/O error of the last */
conflict:
  db->n_conflict++;
  db->lost_to = version;
  return s3p_db_error(db, SQLITE_BUSY_SNAPSHOT, "%s: version %llu was "
                      "committed by another writer first; retry the "
                      "transaction", db->store->desc,
                      (unsigned long long)version);
}

int s3p_db_create_record(s3p_db *db, s3p_record *rec){
  unsigned char *buf = NULL;
  size_t len = 0;
  commit_nonce(rec->nonce);
  if(s3p_record_encode(&buf, &len, rec)){
    return s3p_db_error(db, SQLITE_INTERNAL, "%s: encoding commit record %llu "
                        "failed", db->store->desc,
                        (unsigned long long)rec->version);
  }
  int rc = commit_record_create(db, rec->version, buf, len);
  free(buf);
  return rc;
}

/* commit_remember marks the pages of a successful commit as known to the
** store as of stamp (when their version was the newest), caching their
** content for later reads. Entries of ch listed in skip (may be NULL) are
** left out: they were not uploaded, so they are known only as of the
** stamps they already have. */
static void commit_remember(s3p_db *db, const s3p_change *ch, size_t n,
                            const commit_skip *skip,
                            unsigned char *scratch, uint64_t stamp){
  uint32_t psz = s3p_txbuf_page_size(db->tx);
  size_t k = 0;              /* skip->idx is in increasing order */
  for(size_t i = 0; i < n; i++){
    if(skip && k < skip->n && skip->idx[k] == i){ k++; continue; }
    if(s3p_hash_is_zero(&ch[i].hash)) continue;
    if(s3p_txbuf_get(db->tx, ch[i].pgno, scratch) == 1){
      s3p_pagecache_put(S3P_PC_PAGE, &ch[i].hash, scratch, psz);
      s3p_db_know(db, &ch[i].hash, stamp);
      if(db->disk) s3p_diskcache_put(db->disk, &ch[i].hash, scratch, psz);
    }
  }
}

/* commit_header_bytes returns the database size in bytes that page 1 of
** the buffered transaction states (SQLite's page size times its page
** count, offset 28; the page size may differ from the buffer's after a
** VACUUM changed it, s3page keeps its own), or 0 when page 1 is not
** buffered, is not a SQLite header, or its size is not valid (SQLite's
** rule: valid when non-zero and the change counter at offset 24 equals
** version-valid-for at 92). SQLite rewrites page 1 in every transaction it
** commits, so the buffered copy is the new header. */
static uint64_t commit_header_bytes(s3p_txbuf *tx, unsigned char *scratch){
  uint32_t psz = s3p_txbuf_page_size(tx);
  if(psz < 100 || s3p_txbuf_get(tx, 1, scratch) != 1) return 0;
  if(memcmp(scratch, "SQLite format 3", 16)) return 0;
  if(memcmp(scratch + 24, scratch + 92, 4)) return 0;
  uint32_t hps = (uint32_t)scratch[16] << 8 | scratch[17];
  if(hps == 1) hps = 65536;
  if(!s3p_page_size_ok(hps)) return 0;
  uint64_t n = (uint32_t)scratch[28] << 24 | (uint32_t)scratch[29] << 16 |
               (uint32_t)scratch[30] << 8 | scratch[31];
  return n * hps;
}

/* commit_shrink cuts the buffered file to size bytes: whole pages beyond
** it go, and the rest of a partial last page is zeroed (as xTruncate would
** do, vfs.c), so no stale byte beyond the end is stored. Returns SQLITE_OK
** or an error. */
static int commit_shrink(s3p_db *db, uint64_t size, unsigned char *scratch){
  s3p_txbuf *tx = db->tx;
  uint32_t psz = s3p_txbuf_page_size(tx);
  uint32_t pages = (uint32_t)((size + psz - 1) / psz);
  uint32_t tail = (uint32_t)(size % psz);
  s3p_txbuf_truncate(tx, pages);
  if(tail == 0) return SQLITE_OK;
  int got = s3p_txbuf_get(tx, pages, scratch);
  if(got < 0){
    return s3p_db_error(db, SQLITE_IOERR_READ, "reading the transaction's "
                        "spill file failed");
  }
  if(got == 0){
    if(pages > s3p_txbuf_trunc_mark(tx) || pages > db->view.page_count){
      return SQLITE_OK;                 /* an all-zero page already */
    }
    int rc = s3p_db_read_page(db, pages, scratch);
    if(rc) return rc;
  }
  memset(scratch + tail, 0, psz - tail);
  if(s3p_txbuf_put(tx, pages, scratch)){
    return s3p_db_error(db, SQLITE_IOERR_WRITE, "buffering the last page of "
                        "a shrinking transaction failed");
  }
  return SQLITE_OK;
}

/* commit_head_due returns 1 if the pending HEAD hint may still be written,
** else drops it: a version committed S3P_TRUST_MS ago or more may since
** have been superseded and removed by gc, and one below a TAIL seen is
** being removed. */
static int commit_head_due(s3p_db *db){
  if(!db->head_pending) return 0;
  if(s3p_now_ms() - db->head_ms >= S3P_TRUST_MS ||
     db->head_pending < db->tail_seen){
    db->head_pending = 0;
    return 0;
  }
  return 1;
}

/* commit_behind_gc reports that the transaction ran on version v, which gc
** removed (oldest: the oldest version it keeps): SQLITE_BUSY_SNAPSHOT, so
** that SQLite rolls back and the application retries on the newest. */
static int commit_behind_gc(s3p_db *db, uint64_t v, uint64_t oldest){
  db->n_conflict++;
  return s3p_db_error(db, SQLITE_BUSY_SNAPSHOT, "%s: version %llu, which "
                      "this transaction read, was removed by gc (versions "
                      "from %llu on are kept); retry the transaction",
                      db->store->desc, (unsigned long long)v,
                      (unsigned long long)oldest);
}

/* commit_check decides, from the answers round trip 1 brought (q[0]: TAIL,
** q[1], asked when old: wal/<v+1>), whether version v+1 may be created:
** v must still be the newest and not removed by gc. *fresh gets the time
** from which that is known. A view not known to be the newest within
** S3P_TRUST_MS (old) reads TAIL once more after the probe: gc writes TAIL
** before it deletes a record, so a TAIL read after seeing no wal/<v+1>
** tells whether gc had removed it. Returns SQLITE_OK,
** SQLITE_BUSY_SNAPSHOT, or an error. */
static int commit_check(s3p_db *db, const s3p_op *q, int old, uint64_t v,
                        uint64_t t1, uint64_t *fresh){
  uint64_t tail = 0;
  int rc = s3p_tail_from_op(db, &q[0], &tail);
  if(rc) return rc;
  *fresh = db->fresh_ms;
  if(old){
    if(q[1].rc == S3P_OK){
      db->n_conflict++;
      db->lost_to = v + 1;
      return s3p_db_error(db, SQLITE_BUSY_SNAPSHOT, "%s: version %llu was "
                          "committed by another writer first; retry the "
                          "transaction", db->store->desc,
                          (unsigned long long)v + 1);
    }
    if(q[1].rc != S3P_ENOTFOUND){
      return s3p_db_store_error(db, q[1].rc, SQLITE_IOERR_READ, "HEAD",
                                q[1].key, q[1].errmsg);
    }
    uint64_t floor;
    rc = s3p_version_floor(db, &floor);
    if(rc) return rc;
    *fresh = t1;
  }
  if(db->tail_seen > v + 1){
    uint64_t latest;
    int behind = 0;
    rc = s3p_version_behind(db, v, db->tail_seen, &latest, &behind);
    if(rc) return rc;
    if(behind) return commit_behind_gc(db, v, db->tail_seen);
  }
  return SQLITE_OK;
}

/* commit_upload_skipped uploads the pages commit_diff skipped as known to
** the store, for when that knowledge has grown too old to rely on by the
** time the record is to be created (a long upload). Returns SQLITE_OK or
** an error. */
static int commit_upload_skipped(s3p_upload *b, const s3p_change *ch,
                                 const commit_skip *sk,
                                 unsigned char *scratch){
  s3p_db *db = b->db;
  uint32_t psz = s3p_txbuf_page_size(db->tx);
  int rc = SQLITE_OK;
  for(size_t i = 0; i < sk->n && rc == SQLITE_OK; i++){
    const s3p_change *c = &ch[sk->idx[i]];
    if(s3p_txbuf_get(db->tx, c->pgno, scratch) != 1){
      return s3p_db_error(db, SQLITE_IOERR_READ, "reading the transaction's "
                          "spill file failed");
    }
    unsigned char *enc = NULL;
    size_t elen = 0;
    if(s3p_page_encode(&enc, &elen, scratch, psz)){
      return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    }
    char key[S3P_KEY_MAX];
    s3p_hash_key(key, "pages", &c->hash);
    rc = s3p_upload_put(b, key, enc, elen);
  }
  if(rc == SQLITE_OK) rc = s3p_upload_flush(b);
  return rc;
}

/* commit_ghosts records, before a commit that shrinks the file to size
** bytes, what pages beyond the new end hold in the version the transaction
** started from (*out, malloc'd, page new_end+1 first; zero hashes above
** the version's size), for a rollback after the commit (db.h,
** s3p_db_ghost_page). Pages the transaction wrote need no record: SQLite
** restores them from its journal. *count gets npages. Returns SQLITE_OK or
** an error. */
static int commit_ghosts(s3p_db *db, uint64_t size, uint32_t npages,
                         s3p_hash **out, uint32_t *count){
  uint32_t psz = s3p_txbuf_page_size(db->tx);
  uint32_t keep = (uint32_t)((size + psz - 1) / psz);
  *out = NULL;
  *count = 0;
  if(keep >= npages) return SQLITE_OK;
  s3p_hash *g = calloc(npages - keep, sizeof *g);
  if(!g) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  s3p_tree_io io = s3p_db_tree_io(db);
  for(uint32_t pg = keep + 1; pg <= npages && pg <= db->view.page_count;
      pg++){
    if(pg > s3p_txbuf_trunc_mark(db->tx)) break;
    if(s3p_view_lookup(&g[pg - keep - 1], &db->view, pg, &io)){
      free(g);
      return db->errcode ? db->errcode : SQLITE_IOERR_READ;
    }
  }
  *out = g;
  *count = npages;
  return SQLITE_OK;
}

/* commit_reset gives SQLite's rollback, which comes next and rewrites the
** old pages, a clean buffer: those rewrites then compare equal to the
** view and commit nothing. */
static void commit_reset(s3p_db *db){
  s3p_txbuf_begin(db->tx, s3p_txbuf_page_size(db->tx), db->view.page_count);
  db->checked_ms = 0;
  db->fresh_ms = 0;
}

/* commit_once makes one attempt at committing the buffer as the next
** version (s3p_db_commit). On losing the race with keep set, the buffer
** stays as it is (for a rebase) and db->lost_to names the version lost;
** otherwise a failure leaves a clean buffer for SQLite's rollback. Returns
** an SQLite code. */
static int commit_once(s3p_db *db, int keep){
  s3p_txbuf *tx = db->tx;
  db->lost_to = 0;
  if(!s3p_txbuf_active(tx)) return SQLITE_OK;
  uint64_t t0 = s3p_now_ms();
  s3p_view *v = &db->view;
  uint32_t psz = s3p_txbuf_page_size(tx);
  uint32_t npages = s3p_txbuf_pages(tx);
  uint32_t mark = s3p_txbuf_trunc_mark(tx);
  assert(v->version == 0 || psz == v->page_size);
  unsigned char *scratch = malloc(psz);
  s3p_upload b;
  s3p_change *ch = NULL;
  size_t n = 0;
  commit_skip sk;
  memset(&sk, 0, sizeof sk);
  s3p_hash *ghost = NULL;              /* pages a shrink drops (db.h) */
  uint32_t ghost_count = 0;
  unsigned char *ghost_part = NULL;    /* the page the new end cuts (db.h) */
  uint32_t ghost_part_pgno = 0;
  int applied = 0;                     /* the view shows the new version */
  char nkey[32];
  s3p_op q[2];
  memset(q, 0, sizeof q);
  int rc = s3p_upload_init(&b, db, COMMIT_BATCH_OPS, COMMIT_BATCH_BYTES);
  if(!scratch || rc){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); goto out; }
  /* A transaction that shrinks the database (VACUUM, auto_vacuum,
  ** incremental_vacuum) has SQLite truncate the file only after the commit,
  ** past this sync point. Its new size is already in page 1: commit that
  ** size, so that the pages beyond it are gone from this version, and the
  ** truncation that follows is a no-op (vfs.c). */
  uint64_t hdr = commit_header_bytes(tx, scratch);
  if(hdr && hdr < (uint64_t)npages * psz){
    rc = commit_ghosts(db, hdr, npages, &ghost, &ghost_count);
    if(rc) goto out;
    /* The new end inside a page: its tail is zeroed below, yet SQLite's
    ** pages there that the transaction did not touch are in no journal. */
    if(hdr % psz){
      uint32_t last = (uint32_t)(hdr / psz) + 1;
      ghost_part = malloc(psz);
      if(!ghost_part){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); goto out; }
      ghost_part_pgno = last;
      int got = s3p_txbuf_get(tx, last, ghost_part);
      if(got < 0){
        rc = s3p_db_error(db, SQLITE_IOERR_READ, "reading the transaction's "
                          "spill file failed");
        goto out;
      }
      if(got == 0){
        if(last > s3p_txbuf_trunc_mark(tx) || last > v->page_count){
          memset(ghost_part, 0, psz);
        }else if((rc = s3p_db_read_page(db, last, ghost_part)) != SQLITE_OK){
          goto out;
        }
      }
    }
    rc = commit_shrink(db, hdr, scratch);
    if(rc) goto out;
    npages = s3p_txbuf_pages(tx);
    mark = s3p_txbuf_trunc_mark(tx);
  }
  if(db->opt.readonly){
    rc = s3p_db_error(db, SQLITE_READONLY, "%s is open read-only", db->name);
    goto out;
  }
  rc = commit_diff(&b, &ch, &n, &sk, scratch);
  if(rc) goto out;
  if(n == 0 && npages == v->page_count && mark >= v->page_count){
    s3p_txbuf_clear(tx);      /* nothing changed: no new version */
    goto out;
  }
  s3p_record rec;
  memset(&rec, 0, sizeof rec);
  rec.version = v->version + 1;
  rec.parent = v->version;
  uint64_t now = s3p_now_ms();
  rec.time_ms = now > v->time_ms ? now : v->time_ms;
  rec.page_size = psz;
  rec.page_count = npages;
  rec.trunc_mark = mark < v->page_count ? mark : v->page_count;
  rec.nchange = (uint32_t)n;
  rec.changes = ch;
  rec.ckpt_version = v->ckpt_version;
  rec.ckpt_level = v->tree.level;
  rec.ckpt_root = v->tree.root;
  if(s3p_db_checkpoint_due(db) || n >= S3P_CKPT_COMMIT_PAGES){
    s3p_treeref t;
    rc = commit_checkpoint(&b, ch, n, rec.trunc_mark, &t);
    if(rc) goto out;
    rec.ckpt_version = rec.version;
    rec.ckpt_level = t.level;
    rec.ckpt_root = t.root;
  }
  if(commit_head_due(db)){
    /* Named from the caches only: building the hint costs no request. It
    ** also names this commit's new content of the pages it names, and the
    ** new tree's nodes on their paths when it writes a checkpoint. */
    unsigned char *hb = malloc(S3P_HEAD_MAXLEN);
    if(!hb){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); goto out; }
    s3p_treeref nt = { rec.ckpt_root, rec.ckpt_level };
    size_t hlen = s3p_db_head_bytes(db, db->head_pending, 0, ch, n,
                                    rec.ckpt_version == rec.version ? &nt
                                                                    : NULL, hb);
    rc = s3p_upload_put_hint(&b, "HEAD", hb, hlen);
    if(rc) goto out;
  }
  /* The last batch of round trip 1 also reads TAIL and, for a view not
  ** known to be the newest within S3P_TRUST_MS, probes wal/<N+1>. */
  s3p_record_key(nkey, rec.version);
  q[0].kind = S3P_OP_GET;
  q[0].key = "TAIL";
  q[1].kind = S3P_OP_HEAD;
  q[1].key = nkey;
  uint64_t t1 = s3p_now_ms(), fresh = 0;
  int old = t1 - db->fresh_ms >= S3P_TRUST_MS;
  rc = s3p_upload_flush_with(&b, q, old ? 2 : 1);      /* round trip 1 */
  if(rc) goto out;
  db->head_pending = 0;
  rc = commit_check(db, q, old, v->version, t1, &fresh);
  if(rc) goto out;
  if(sk.n && s3p_now_ms() - sk.oldest_ms >= S3P_TRUST_MS){
    rc = commit_upload_skipped(&b, ch, &sk, scratch);
    if(rc) goto out;
  }
  /* Created no later than S3P_TRUST_MS after v was known to be the
  ** newest, the record cannot land on a version gc removed meanwhile. */
  uint64_t t2 = s3p_now_ms();
  if(t2 - fresh >= S3P_TRUST_MS){
    rc = s3p_db_error(db, SQLITE_BUSY_SNAPSHOT, "%s: the commit of version "
                      "%llu took too long to be sure gc did not remove the "
                      "version it read; retry the transaction",
                      db->store->desc, (unsigned long long)rec.version);
    goto out;
  }
  db->create_by_ms = fresh + S3P_TRUST_MS;
  rc = s3p_db_create_record(db, &rec);          /* round trip 2 */
  db->create_by_ms = 0;
  if(rc) goto out;
  /* No version after rec can have existed before rec did. */
  db->fresh_ms = t2;
  const char *why = NULL;
  commit_remember(db, ch, n, NULL, scratch, t2);
  if(s3p_view_apply(v, &rec, &why)){
    /* Cannot happen for a record we built on this view; reload to be safe. */
    sqlite3_log(SQLITE_INTERNAL, "s3page: applying own commit: %s", why);
    s3p_view_free(v);
    db->checked_ms = 0;
    db->fresh_ms = 0;
  }else{
    applied = 1;
  }
  s3p_db_set_head(db, rec.version);
  db->head_ms = t2;
  db->n_commit++;
  s3p_txbuf_clear(tx);
  s3p_db_ghost_clear(db);
  if(applied && ((ghost && ghost_count > v->page_count) || ghost_part)){
    /* Until SQLite truncates the file or the transaction ends (vfs.c). */
    if(ghost && ghost_count > v->page_count){
      db->ghost = ghost;
      db->ghost_count = ghost_count;
      ghost = NULL;
    }else{
      db->ghost_count = v->page_count;
    }
    db->ghost_part = ghost_part;
    db->ghost_part_pgno = ghost_part_pgno;
    ghost_part = NULL;
  }
out:
  if(rc && keep && db->lost_to && s3p_txbuf_active(tx)){
    /* Kept for a rebase. The pages went up at t0 or later: young, so gc
    ** spares them for its grace period even though no record names them
    ** (the next attempt need not upload them again). Not those skipped as
    ** known to the store: no record names them either, and a new stamp
    ** would stretch old knowledge past what gc allows for. */
    if(ch) commit_remember(db, ch, n, &sk, scratch, t0);
  }else if(rc && s3p_txbuf_active(tx)){
    commit_reset(db);
  }
  s3p_op_reset(&q[0]);
  s3p_op_reset(&q[1]);
  free(ghost);
  free(ghost_part);
  free(sk.idx);
  free(ch);
  free(scratch);
  s3p_upload_free(&b);
  return rc;
}

int s3p_db_commit(s3p_db *db){
  if(db->no_commit){
    /* SQLite's rollback after a failed rebased attempt: the view is no
    ** longer the version its journal restores, so nothing is committed. */
    s3p_txbuf_clear(db->tx);
    return SQLITE_OK;
  }
  int moved = 0;             /* the view moved (a rebase) */
  int rc = SQLITE_OK;
  for(int attempt = 0; ; attempt++){
    int can = !db->no_rebase && attempt < S3P_REBASE_ATTEMPTS;
    rc = commit_once(db, can);
    if(rc != SQLITE_BUSY_SNAPSHOT || !can || !db->lost_to) break;
    if(attempt){
      /* Lost again: a pause with jitter, growing, so that writers that
      ** keep colliding fall out of step (at most a few ms each). */
      unsigned char r = 0;
      if(getrandom(&r, 1, 0) != 1) r = (unsigned char)s3p_now_ms();
      usleep((useconds_t)(r % (2u * (unsigned)attempt) + 1) * 1000u);
    }
    rc = s3p_db_rebase(db);
    if(rc) break;
    moved = 1;
    db->n_rebase++;
  }
  /* After a rebase SQLite's cache holds pages of the version before,
  ** committed or not: the guard (vfs.c) keeps writes and reads of what the
  ** winners changed out until SQLite releases its lock. A write then would
  ** start from those pages, and one that failed would be dropped (below). */
  if(moved) db->guard = rc == SQLITE_OK ? 1 : 2;
  if(rc && s3p_txbuf_active(db->tx)){
    commit_reset(db);
    if(moved) db->no_commit = 1;
  }
  return rc;
}

void s3p_db_set_head(s3p_db *db, uint64_t version){
  db->head_pending = version;
  db->head_ms = s3p_now_ms();
}

void s3p_db_flush_head(s3p_db *db){
  if(db->opt.readonly || !commit_head_due(db)) return;
  /* At close or after a history operation: what is not cached may be
  ** fetched, so that the next open gets every hint. */
  unsigned char hb[S3P_HEAD_MAXLEN];
  size_t hlen = s3p_db_head_bytes(db, db->head_pending, 1, NULL, 0, NULL,
                                  hb);
  char *msg = NULL;
  int rc = s3p_store_put(db->store, S3P_OP_PUT, "HEAD", hb, hlen, &msg);
  if(rc){
    sqlite3_log(SQLITE_WARNING, "s3page: %s: PUT HEAD failed (%s); the hint "
                "lags", db->store->desc, msg ? msg : s3p_errstr(rc));
  }
  free(msg);
  db->head_pending = 0;
}
