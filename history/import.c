/*
** import.c: s3page_import, a plain SQLite file into a database.
**
** The file is read sequentially, S3P_HIST_BATCH pages at a time: each page
** is hashed, all-zero pages are skipped, and new contents are encoded and
** uploaded in parallel batches. The page map is built as a checkpoint tree
** (in chunks of IMPORT_CHUNK pages, so memory stays bounded for any file
** size) whose nodes are uploaded too. Then one commit record is created with
** create-if-absent: a full image (flag S3P_RECORD_FULL) that carries its own
** checkpoint and no change list, so it is 104 bytes however big the file,
** and opening it reads one tree path per page touched.
**
** The upload phase may outlast gc's grace period, so the import holds an
** in-progress marker (s3p_lease_*, lease.c) from before its first
** upload until after its record: gc spares what it uploaded. A renewal of
** the marker that comes too late fails the import before its record.
**
** Imported over an existing database (--force), page 1 is stamped first
** (s3p_hist_stamp_page1: new change counter and schema cookie) so that
** connections open on the database drop their caches of the old content;
** the stamped page 1 and its tree path are redone on each attempt, since
** they depend on the version the import goes on top of.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "internal.h"
#include "../index/page.h"

/* Pages per tree update: the change list of one chunk is held in memory
** (20 bytes a page); each chunk rewrites only the tree's upper nodes. */
#define IMPORT_CHUNK (1u << 20)
/* Distinct contents remembered to skip duplicate uploads. */
#define IMPORT_SEEN_MAX (1u << 21)
/* Attempts with --force when other writers keep committing meanwhile. */
#define IMPORT_ATTEMPTS 8

/* The state of one import. */
typedef struct import_state {
  s3p_db *db;                /* target database */
  int fd;                    /* the file */
  const char *file;          /* its name, for messages */
  uint32_t page_size;        /* from the header */
  uint32_t page_count;       /* file size / page size */
  s3p_upload put;              /* page and node uploads */
  s3p_hset seen;             /* contents uploaded by this import */
  s3p_lease lease;           /* its in-progress marker */
  s3p_change *chunk;         /* changes of the current chunk */
  size_t nchunk;             /* entries in chunk */
  s3p_treeref tree;          /* the tree so far (page 1 as in the file) */
  unsigned char *page1;      /* page 1 as imported (WAL bytes cleared) */
  s3page_import_result res;  /* what was done */
  char *errmsg;              /* file-level error (sqlite3_malloc'd) */
} import_state;

/* import_read reads exactly n bytes at off. Returns 0, or -1 with errno
** (EIO for a short read). */
static int import_read(int fd, void *buf, size_t n, uint64_t off){
  size_t got = 0;
  while(got < n){
    ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
    if(r < 0 && errno == EINTR) continue;
    if(r < 0) return -1;
    if(r == 0){ errno = EIO; return -1; }
    got += (size_t)r;
  }
  return 0;
}

/* import_check_header validates the SQLite header of the open file and
** sets the page size and count. Returns SQLITE_OK, or SQLITE_NOTADB /
** SQLITE_CANTOPEN with st->errmsg set. */
static int import_check_header(import_state *st){
  struct stat sb;
  unsigned char h[100];
  if(fstat(st->fd, &sb)){
    return s3p_hist_set_error(&st->errmsg, SQLITE_CANTOPEN, "%s: %s",
                              st->file, strerror(errno));
  }
  if(!S_ISREG(sb.st_mode)){
    return s3p_hist_set_error(&st->errmsg, SQLITE_CANTOPEN, "%s: not a "
                              "regular file", st->file);
  }
  if(sb.st_size < 512 || import_read(st->fd, h, sizeof h, 0) ||
     memcmp(h, "SQLite format 3", 16)){
    return s3p_hist_set_error(&st->errmsg, SQLITE_NOTADB, "%s is not a SQLite "
                              "database (no \"SQLite format 3\" header)",
                              st->file);
  }
  uint32_t psz = (uint32_t)h[16] << 8 | h[17];
  if(psz == 1) psz = 65536;
  if(!s3p_page_size_ok(psz)){
    return s3p_hist_set_error(&st->errmsg, SQLITE_NOTADB, "%s is not a valid "
                              "SQLite database: page size %u", st->file,
                              (unsigned)psz);
  }
  if(h[18] < 1 || h[18] > 2 || h[19] < 1 || h[19] > 2){
    return s3p_hist_set_error(&st->errmsg, SQLITE_NOTADB, "%s is not a valid "
                              "SQLite database: file format bytes %u/%u",
                              st->file, h[18], h[19]);
  }
  if((uint64_t)sb.st_size % psz){
    return s3p_hist_set_error(&st->errmsg, SQLITE_NOTADB, "%s: size %lld is "
                              "not a multiple of its page size %u (truncated "
                              "or damaged?)", st->file, (long long)sb.st_size,
                              (unsigned)psz);
  }
  uint64_t n = (uint64_t)sb.st_size / psz;
  if(n > 0xFFFFFFFEu){
    return s3p_hist_set_error(&st->errmsg, SQLITE_NOTADB, "%s has too many "
                              "pages", st->file);
  }
  /* The in-header size, when valid (change counter == version-valid-for),
  ** must agree: otherwise the file was cut or extended by something else. */
  uint32_t hdr_pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 |
                       (uint32_t)h[30] << 8 | h[31];
  if(hdr_pages && !memcmp(h + 24, h + 92, 4) && hdr_pages != n){
    return s3p_hist_set_error(&st->errmsg, SQLITE_NOTADB, "%s: its header "
                              "says %u pages but the file holds %llu",
                              st->file, (unsigned)hdr_pages,
                              (unsigned long long)n);
  }
  st->page_size = psz;
  st->page_count = (uint32_t)n;
  return SQLITE_OK;
}

/* import_check_sidecars refuses a file with a non-empty -wal or -journal
** beside it: committed transactions or a rollback would be missing. */
static int import_check_sidecars(import_state *st){
  static const char *const ext[] = { "-wal", "-journal" };
  for(size_t i = 0; i < 2; i++){
    char *p = sqlite3_mprintf("%s%s", st->file, ext[i]);
    struct stat sb;
    int there = p && stat(p, &sb) == 0 && sb.st_size > 0;
    sqlite3_free(p);
    if(there){
      return s3p_hist_set_error(&st->errmsg, SQLITE_CANTOPEN, "%s has a "
                                "non-empty %s%s file: open it once with "
                                "sqlite3 (and run PRAGMA wal_checkpoint("
                                "TRUNCATE)) before importing", st->file,
                                st->file, ext[i]);
    }
  }
  return SQLITE_OK;
}

/* import_node_load is the tree loader: through the db's node cache (nodes
** this import made are there) or the store. */
static int import_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  import_state *st = ctx;
  s3p_tree_io io = s3p_db_tree_io(st->db);
  return io.load(io.ctx, h, out);
}

/* import_node_store queues a new tree node for upload. */
static int import_node_store(void *ctx, const s3p_hash *h,
                             const unsigned char *buf, size_t len){
  import_state *st = ctx;
  if(s3p_lease_keep(&st->lease)) return S3P_EIO;   /* error in db */
  st->res.nodes_put++;
  return s3p_upload_node_store(&st->put, h, buf, len);
}

/* import_flush_chunk applies the changes of the current chunk to the tree
** (queueing the new nodes). Returns SQLITE_OK or an error. */
static int import_flush_chunk(import_state *st){
  s3p_db *db = st->db;
  if(st->nchunk == 0) return SQLITE_OK;
  s3p_tree_io io = { st, import_node_load, import_node_store };
  s3p_treeref out;
  int rc = s3p_tree_update(&out, &st->tree, 0xFFFFFFFFu, st->chunk,
                           st->nchunk, &io);
  st->nchunk = 0;
  if(rc == S3P_OK){
    st->tree = out;
    return SQLITE_OK;
  }
  if(st->put.rc) return st->put.rc;
  if(db->errcode && rc != S3P_ENOMEM && rc != S3P_EINVAL) return db->errcode;
  return s3p_db_error(db, rc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_INTERNAL,
                      "%s: building the checkpoint of the import: %s",
                      db->store->desc, s3p_errstr(rc));
}

/* import_pages reads, hashes and uploads every page of the file and builds
** the tree. Returns SQLITE_OK or an error. */
static int import_pages(import_state *st, s3page_progress_fn progress,
                        void *arg){
  s3p_db *db = st->db;
  uint32_t psz = st->page_size;
  unsigned char *buf = malloc((size_t)psz * S3P_HIST_BATCH);
  st->chunk = malloc(sizeof *st->chunk * (IMPORT_CHUNK < st->page_count ?
                                          IMPORT_CHUNK : st->page_count + 1));
  st->page1 = malloc(psz);
  if(!buf || !st->chunk || !st->page1){
    free(buf);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  int rc = SQLITE_OK;
  for(uint64_t first = 1; first <= st->page_count && rc == SQLITE_OK;
      first += S3P_HIST_BATCH){
    uint32_t n = st->page_count - (uint32_t)first + 1;
    if(n > S3P_HIST_BATCH) n = S3P_HIST_BATCH;
    rc = s3p_lease_keep(&st->lease);
    if(rc) break;
    if(import_read(st->fd, buf, (size_t)n * psz, (first - 1) * psz)){
      rc = s3p_db_error(db, SQLITE_IOERR_READ, "%s: read: %s", st->file,
                        strerror(errno));
      break;
    }
    if(first == 1 && (buf[18] == 2 || buf[19] == 2)){
      /* WAL mode: s3page serves rollback-journal databases only. */
      buf[18] = buf[19] = 1;
      st->res.wal_mode_cleared = 1;
    }
    if(first == 1) memcpy(st->page1, buf, psz);
    for(uint32_t i = 0; i < n && rc == SQLITE_OK; i++){
      const unsigned char *page = buf + (size_t)i * psz;
      s3p_hash h;
      s3p_hash_page(&h, page, psz);
      if(s3p_hash_is_zero(&h)){ st->res.pages_zero++; continue; }
      if(st->nchunk == IMPORT_CHUNK){
        rc = s3p_upload_flush(&st->put);   /* pages before the nodes */
        if(rc == SQLITE_OK) rc = import_flush_chunk(st);
        if(rc) break;
      }
      st->chunk[st->nchunk].pgno = (uint32_t)first + i;
      st->chunk[st->nchunk].hash = h;
      st->nchunk++;
      if(st->seen.count >= IMPORT_SEEN_MAX) s3p_hset_free(&st->seen);
      int added = s3p_hset_add(&st->seen, &h, 0);
      if(added < 0){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); break; }
      if(!added) continue;
      unsigned char *enc = NULL;
      size_t elen = 0;
      if(s3p_page_encode(&enc, &elen, page, psz)){
        rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
        break;
      }
      char key[S3P_KEY_MAX];
      s3p_hash_key(key, "pages", &h);
      st->res.pages_put++;
      rc = s3p_upload_put(&st->put, key, enc, elen);
    }
    if(progress) progress(arg, first - 1 + n, st->page_count);
  }
  free(buf);
  if(rc == SQLITE_OK) rc = s3p_upload_flush(&st->put);
  if(rc == SQLITE_OK) rc = import_flush_chunk(st);
  if(rc == SQLITE_OK) rc = s3p_upload_flush(&st->put);
  return rc;
}

/* import_stamp makes the tree of the import on top of the view's version
** (not empty): page 1 stamped (s3p_hist_stamp_page1) in place of the
** file's, its object and new tree nodes uploaded. Returns SQLITE_OK or an
** error. */
static int import_stamp(import_state *st, s3p_treeref *out){
  s3p_db *db = st->db;
  uint32_t psz = st->page_size;
  unsigned char *p1 = malloc(psz);
  if(!p1) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  memcpy(p1, st->page1, psz);
  int rc = s3p_hist_stamp_page1(db, p1, st->page_count);
  s3p_change c;
  c.pgno = 1;
  if(rc == SQLITE_OK){
    s3p_hash_page(&c.hash, p1, psz);
    unsigned char *enc = NULL;
    size_t elen = 0;
    if(s3p_page_encode(&enc, &elen, p1, psz)){
      rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    }else{
      char key[S3P_KEY_MAX];
      s3p_hash_key(key, "pages", &c.hash);
      st->res.pages_put++;
      rc = s3p_upload_put(&st->put, key, enc, elen);
    }
  }
  free(p1);
  if(rc == SQLITE_OK) rc = s3p_upload_flush(&st->put);  /* page, then nodes */
  if(rc) return rc;
  s3p_tree_io io = { st, import_node_load, import_node_store };
  int trc = s3p_tree_update(out, &st->tree, 0xFFFFFFFFu, &c, 1, &io);
  if(trc != S3P_OK){
    if(st->put.rc) return st->put.rc;
    if(db->errcode && trc != S3P_ENOMEM && trc != S3P_EINVAL) return db->errcode;
    return s3p_db_error(db, trc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_INTERNAL,
                        "%s: building the checkpoint of the import: %s",
                        db->store->desc, s3p_errstr(trc));
  }
  return s3p_upload_flush(&st->put);
}

/* import_commit creates the full-image record on top of the newest
** version: version 1 of a new database, or with force the next version
** (with page 1 stamped against it). Returns SQLITE_OK or an error. */
static int import_commit(import_state *st, int force){
  s3p_db *db = st->db;
  int rc = SQLITE_OK;
  uint64_t from = 0;         /* a version known to exist now, or 0 */
  for(int attempt = 0; attempt < IMPORT_ATTEMPTS; attempt++){
    /* The newest version, looked up now, not the view's: that was learned
    ** when the upload began (s3p_hist_refresh says why it matters). */
    rc = s3p_hist_refresh(db, from);
    if(rc) return rc;
    uint64_t latest = db->view.version;
    if(latest > 0 && !force){
      return s3p_db_error(db, SQLITE_CANTOPEN, "%s already holds a database "
                          "(versions up to %llu); give --force to import "
                          "over it as version %llu", db->name,
                          (unsigned long long)latest,
                          (unsigned long long)latest + 1);
    }
    uint64_t parent_ms = 0;
    s3p_treeref tree = st->tree;
    if(latest > 0){
      rc = import_stamp(st, &tree);
      if(rc) return rc;
      s3p_record prec;
      rc = s3p_db_get_record(db, latest, &prec);
      if(rc == SQLITE_NOTFOUND){
        rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: version %llu vanished",
                          db->store->desc, (unsigned long long)latest);
      }
      if(rc) return rc;
      parent_ms = prec.time_ms;
      s3p_record_free(&prec);
    }
    s3p_record rec;
    s3p_hist_full_record(&rec, latest, parent_ms, st->page_size,
                         st->page_count, &tree);
    uint64_t conflicts = db->n_conflict;
    rc = s3p_hist_create_record(db, &rec, &st->lease);
    if(rc == SQLITE_OK){
      st->res.version = rec.version;
      st->res.bytes_put += S3P_RECORD_HDR + 8;
      s3p_db_set_head(db, rec.version);
      return SQLITE_OK;
    }
    if(rc != SQLITE_BUSY_SNAPSHOT) return rc;
    /* Another writer made that version first (the next attempt looks from
    ** there for the newest), or latest is no longer known to be the newest
    ** (it looks from HEAD or TAIL again). */
    from = db->n_conflict != conflicts ? rec.version : 0;
  }
  return s3p_db_error(db, SQLITE_BUSY, "%s: other writers kept committing; "
                      "the import was not committed", db->store->desc);
}

int s3page_import(const char *file, const char *name, unsigned flags,
                  s3page_progress_fn progress, void *arg,
                  s3page_import_result *res, char **errmsg){
  import_state st;
  memset(&st, 0, sizeof st);
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  st.file = file;
  st.fd = open(file, O_RDONLY | O_CLOEXEC);
  if(st.fd < 0){
    return s3p_hist_set_error(errmsg, SQLITE_CANTOPEN, "cannot open %s: %s",
                              file, strerror(errno));
  }
  int rc = import_check_header(&st);
  if(rc == SQLITE_OK) rc = import_check_sidecars(&st);
  if(rc){
    if(errmsg){ *errmsg = st.errmsg; st.errmsg = NULL; }
    sqlite3_free(st.errmsg);
    close(st.fd);
    return rc;
  }
  rc = s3p_hist_open(&st.db, name, 1, 1, NULL, errmsg);
  if(rc){ close(st.fd); return rc; }
  s3p_upload_init(&st.put, st.db, S3P_HIST_BATCH, S3P_HIST_BATCH_BYTES);
  st.res.page_size = st.page_size;
  st.res.page_count = st.page_count;
  if(st.db->view.version > 0 && !(flags & S3PAGE_IMPORT_FORCE)){
    rc = s3p_db_error(st.db, SQLITE_CANTOPEN, "%s already holds a database "
                      "(versions up to %llu); give --force to import over it "
                      "as version %llu", name,
                      (unsigned long long)st.db->view.version,
                      (unsigned long long)st.db->view.version + 1);
  }
  if(rc == SQLITE_OK) rc = s3p_lease_begin(&st.lease, st.db);
  if(rc == SQLITE_OK) rc = import_pages(&st, progress, arg);
  if(rc == SQLITE_OK) rc = import_commit(&st, flags & S3PAGE_IMPORT_FORCE);
  s3p_lease_end(&st.lease);
  st.res.bytes_put += st.put.bytes;
  if(res) *res = st.res;
  s3p_upload_free(&st.put);
  s3p_hset_free(&st.seen);
  free(st.chunk);
  free(st.page1);
  close(st.fd);
  return s3p_hist_finish(st.db, rc, errmsg);
}
