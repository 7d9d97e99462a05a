/*
** export.c: s3page_export, one version into a plain SQLite file.
**
** The page map of the version is computed once (16 bytes a page): the
** checkpoint tree, walked one level per batch of GETs, then below the
** lowest truncation mark replaced by the replayed records' overlay. Pages
** are then fetched S3P_HIST_BATCH at a time in one parallel batch (each
** distinct content once), verified against their names, and written in
** order to a temporary file beside FILE, which is synced and renamed to
** FILE at the end. The temporary name is fresh and random and is created
** exclusively (O_EXCL | O_NOFOLLOW), so nothing planted under a predictable
** name (a symlink to another file) can be written through.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <sqlite3.h>
#include "internal.h"
#include "../index/page.h"

/* The map being filled by the tree walk. */
typedef struct export_map {
  s3p_hash *hash;            /* hash of page i+1 */
  uint32_t limit;            /* pages above this are not taken from the tree */
} export_map;

/* export_map_page records one page of the tree walk. Returns 0. */
static int export_map_page(void *arg, uint32_t pgno, const s3p_hash *h){
  export_map *m = arg;
  if(pgno <= m->limit) m->hash[pgno - 1] = *h;
  return 0;
}

/* export_build_map sets *out (malloc'd) to the hash of every page of the
** view. Returns SQLITE_OK or an error. */
static int export_build_map(s3p_db *db, s3p_hash **out){
  s3p_view *v = &db->view;
  size_t n = v->page_count ? v->page_count : 1;
  export_map m;
  m.hash = calloc(n, sizeof *m.hash);
  if(!m.hash) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  m.limit = v->trunc < v->page_count ? v->trunc : v->page_count;
  s3p_hwalk w;
  memset(&w, 0, sizeof w);
  w.db = db;
  w.page = export_map_page;
  w.arg = &m;
  int rc = s3p_hist_walk(&w, &v->tree);
  s3p_change *ov = NULL;
  size_t nov = 0;
  if(rc == SQLITE_OK && s3p_view_overlay(v, &ov, &nov)){
    rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  for(size_t i = 0; rc == SQLITE_OK && i < nov; i++){
    if(ov[i].pgno <= v->page_count) m.hash[ov[i].pgno - 1] = ov[i].hash;
  }
  free(ov);
  if(rc){ free(m.hash); return rc; }
  *out = m.hash;
  return SQLITE_OK;
}

/* export_fetch fills buf with pages first..first+n-1 named by hash[], in
** one batch of GETs of the distinct non-zero contents. Returns SQLITE_OK or
** an error naming the object. */
static int export_fetch(s3p_db *db, const s3p_hash *hash, uint32_t first,
                        uint32_t n, unsigned char *buf){
  uint32_t psz = db->view.page_size;
  s3p_op ops[S3P_HIST_BATCH];
  char keys[S3P_HIST_BATCH][S3P_KEY_MAX];
  int src_of[S3P_HIST_BATCH];       /* op of each page, -1: zero page */
  size_t nop = 0;
  memset(ops, 0, sizeof ops);
  for(uint32_t i = 0; i < n; i++){
    const s3p_hash *h = &hash[first - 1 + i];
    src_of[i] = -1;
    if(s3p_hash_is_zero(h)) continue;
    for(uint32_t j = 0; j < i; j++){
      if(src_of[j] >= 0 && s3p_hash_eq(&hash[first - 1 + j], h)){
        src_of[i] = src_of[j];
        break;
      }
    }
    if(src_of[i] >= 0) continue;
    s3p_hash_key(keys[nop], "pages", h);
    ops[nop].kind = S3P_OP_GET;
    ops[nop].key = keys[nop];
    src_of[i] = (int)nop++;
  }
  int rc = SQLITE_OK;
  if(nop){
    int src = s3p_store_exec(db->store, ops, nop);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET",
                                    keys[0], NULL);
  }
  for(uint32_t i = 0; i < n && rc == SQLITE_OK; i++){
    unsigned char *out = buf + (size_t)i * psz;
    int k = src_of[i];
    if(k < 0){ memset(out, 0, psz); continue; }
    rc = s3p_db_page_from_op(db, first + i, &hash[first - 1 + i], &ops[k],
                             out);
  }
  for(size_t k = 0; k < nop; k++) s3p_op_reset(&ops[k]);
  return rc;
}

/* export_write writes n bytes to fd. Returns 0 or -1 with errno. */
static int export_write(int fd, const unsigned char *p, size_t n){
  while(n){
    ssize_t w = write(fd, p, n);
    if(w < 0 && errno == EINTR) continue;
    if(w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Attempts at a fresh temporary name before giving up. */
#define EXPORT_TMP_TRIES 16

/* export_tmp_open creates a new temporary file beside file, named
** FILE.tmp-<16 random hex digits>, exclusively and never through a
** symlink. Returns the descriptor and sets *tmp (sqlite3_malloc'd), or
** returns -1 with errno set (and *tmp NULL or the last name tried). */
static int export_tmp_open(const char *file, char **tmp){
  *tmp = NULL;
  for(int i = 0; i < EXPORT_TMP_TRIES; i++){
    uint64_t r = 0;
    if(getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r){
      /* No entropy: the address and time still vary; O_EXCL is what keeps
      ** the open safe, the name only makes collisions rare. */
      r = s3p_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)tmp ^
          (uint64_t)i;
    }
    sqlite3_free(*tmp);
    *tmp = sqlite3_mprintf("%s.tmp-%016llx", file, (unsigned long long)r);
    if(!*tmp){ errno = ENOMEM; return -1; }
    int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0644);
    if(fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

/* export_sync_dir fsyncs the directory holding file, so that the rename
** survives a crash. Returns 0 or -1 with errno. */
static int export_sync_dir(const char *file){
  const char *slash = strrchr(file, '/');
  char *dir = slash ? sqlite3_mprintf("%.*s", (int)(slash - file + 1), file)
                    : sqlite3_mprintf(".");
  if(!dir){ errno = ENOMEM; return -1; }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  sqlite3_free(dir);
  if(fd < 0) return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

int s3page_export(const char *name, const s3page_at *at, const char *file,
                  s3page_progress_fn progress, void *arg,
                  s3page_export_result *res, char **errmsg){
  s3p_db *db = NULL;
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  int rc = s3p_hist_open(&db, name, 0, 0, at, errmsg);
  if(rc) return rc;
  s3p_view *v = &db->view;
  if(v->version == 0){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "%s: no database here (no commit "
                      "records)", db->store->desc);
    return s3p_hist_finish(db, rc, errmsg);
  }
  s3p_hash *map = NULL;
  rc = export_build_map(db, &map);
  if(rc) return s3p_hist_finish(db, rc, errmsg);
  char *tmp = NULL;
  uint32_t psz = v->page_size;
  unsigned char *buf = malloc((size_t)psz * S3P_HIST_BATCH);
  int fd = -1;
  if(!buf){
    rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    goto out;
  }
  fd = export_tmp_open(file, &tmp);
  if(fd < 0){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "cannot create a temporary file "
                      "beside %s (%s): %s", file, tmp ? tmp : "-",
                      strerror(errno));
    sqlite3_free(tmp);
    tmp = NULL;
    goto out;
  }
  for(uint64_t first = 1; first <= v->page_count; first += S3P_HIST_BATCH){
    uint32_t n = v->page_count - (uint32_t)first + 1;
    if(n > S3P_HIST_BATCH) n = S3P_HIST_BATCH;
    rc = export_fetch(db, map, (uint32_t)first, n, buf);
    if(rc) break;
    if(export_write(fd, buf, (size_t)n * psz)){
      rc = s3p_db_error(db, SQLITE_IOERR_WRITE, "writing %s: %s", tmp,
                        strerror(errno));
      break;
    }
    if(progress) progress(arg, first - 1 + n, v->page_count);
  }
  if(rc == SQLITE_OK && fsync(fd)){
    rc = s3p_db_error(db, SQLITE_IOERR_FSYNC, "syncing %s: %s", tmp,
                      strerror(errno));
  }
  if(close(fd) && rc == SQLITE_OK){
    rc = s3p_db_error(db, SQLITE_IOERR_WRITE, "closing %s: %s", tmp,
                      strerror(errno));
  }
  fd = -1;
  if(rc == SQLITE_OK && rename(tmp, file)){
    rc = s3p_db_error(db, SQLITE_CANTOPEN, "renaming %s to %s: %s", tmp, file,
                      strerror(errno));
  }
  if(rc) unlink(tmp);
  if(rc == SQLITE_OK && export_sync_dir(file)){
    rc = s3p_db_error(db, SQLITE_IOERR_FSYNC, "syncing the directory of %s: "
                      "%s", file, strerror(errno));
  }
  if(rc == SQLITE_OK && res){
    res->version = v->version;
    res->page_size = psz;
    res->page_count = v->page_count;
    res->bytes_written = (uint64_t)psz * v->page_count;
    res->n_get = db->store->stats.n_get;
    res->n_head = db->store->stats.n_head;
    res->round_trips = db->store->stats.round_trips;
    res->bytes_in = db->store->stats.bytes_in;
  }
out:
  if(fd >= 0){ close(fd); unlink(tmp); }
  sqlite3_free(tmp);
  free(buf);
  free(map);
  return s3p_hist_finish(db, rc, errmsg);
}
