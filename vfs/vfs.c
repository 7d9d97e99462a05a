/*
** vfs.c: the sqlite3_vfs "s3page" and the io methods of its files.
**
** The main database file is an s3p_db: reads come from the version the
** connection shows, writes go to the transaction buffer, and the commit
** runs at the sync point (SQLITE_FCNTL_SYNC, which SQLite sends even with
** synchronous=OFF), while SQLite can still roll back if it fails.
**
** Every other file (rollback journals, temp databases, sub-journals) is a
** local file of the default VFS. Rollback journals are private, unnamed
** temporary files: uncommitted writes never reach the store, so a crashed
** process leaves nothing to roll back and a journal is only needed by its
** own connection. The VFS therefore reports journals as absent to every
** other connection, and never syncs them.
**
** Locks are real among the connections of one machine (lock.c: a local
** lock file per database), so local writers queue through SQLite's busy
** handler. Writers on different machines are kept apart by the
** create-if-absent commit record: a writer that loses gets
** SQLITE_BUSY_SNAPSHOT at commit. Taking the SHARED lock is where a
** connection moves to the newest version (after the lock is held, so a
** local commit is never seen half done), and SQLite then notices the
** changed file change counter and drops its page cache.
*/
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sqlite3.h>
#include "s3page.h"
#include "db.h"
#include "../index/head.h"
#include "hydrate.h"
#include "lock.h"
#include "../index/page.h"

/* An open file of the s3page VFS. */
typedef struct s3p_file {
  sqlite3_file base;         /* SQLite's part; must be first */
  s3p_db *db;                /* main database: its state, else NULL */
  int lock;                  /* SQLITE_LOCK_* held (main database) */
  s3p_lock lk;               /* its local lock file (main database) */
  int excl_mode;             /* PRAGMA locking_mode=EXCLUSIVE was set */
  const char *journal_mode;  /* last rollback mode set by PRAGMA, or NULL */
  int nolock;                /* opened with nolock=1: SQLite never locks */
  int journal;               /* private rollback journal: skip syncs */
  int guessed;               /* SQLite was given a guessed header (a
                             ** lazy open's, main_read) and has not locked
                             ** since, which would have read the real one */
  sqlite3_file *real;        /* other files: the default VFS's file */
} s3p_file;

static sqlite3_vfs *vfs_base;     /* the default VFS we delegate to */

/* ---------------------------------------------------------------------
** Pass-through files.
*/

/* Each method forwards to the default VFS's file. */
static int pass_close(sqlite3_file *f){
  s3p_file *p = (s3p_file *)f;
  int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
  p->real->pMethods = NULL;
  return rc;
}
static int pass_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xRead(p->real, b, n, o);
}
static int pass_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xWrite(p->real, b, n, o);
}
static int pass_truncate(sqlite3_file *f, sqlite3_int64 size){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xTruncate(p->real, size);
}
static int pass_sync(sqlite3_file *f, int flags){
  s3p_file *p = (s3p_file *)f;
  if(p->journal) return SQLITE_OK;  /* never needed after a crash */
  return p->real->pMethods->xSync(p->real, flags);
}
static int pass_size(sqlite3_file *f, sqlite3_int64 *size){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xFileSize(p->real, size);
}
static int pass_lock(sqlite3_file *f, int l){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xLock(p->real, l);
}
static int pass_unlock(sqlite3_file *f, int l){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xUnlock(p->real, l);
}
static int pass_check_reserved(sqlite3_file *f, int *out){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xCheckReservedLock(p->real, out);
}
static int pass_fcntl(sqlite3_file *f, int op, void *arg){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xFileControl(p->real, op, arg);
}
static int pass_sector(sqlite3_file *f){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xSectorSize(p->real);
}
static int pass_devchar(sqlite3_file *f){
  s3p_file *p = (s3p_file *)f;
  return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static const sqlite3_io_methods pass_methods = {
  1, pass_close, pass_read, pass_write, pass_truncate, pass_sync, pass_size,
  pass_lock, pass_unlock, pass_check_reserved, pass_fcntl, pass_sector,
  pass_devchar, 0, 0, 0, 0, 0, 0
};

/* ---------------------------------------------------------------------
** The main database file.
*/

/* main_page_size returns the page size of the file: the transaction's, or
** the version's, or 0 for an empty database nothing was written to. */
static uint32_t main_page_size(s3p_file *p){
  if(s3p_txbuf_active(p->db->tx)) return s3p_txbuf_page_size(p->db->tx);
  return p->db->view.page_size;
}

/* main_pages returns the file size in pages. */
static uint32_t main_pages(s3p_file *p){
  if(s3p_txbuf_active(p->db->tx)) return s3p_txbuf_pages(p->db->tx);
  if(p->db->ghost_count) return p->db->ghost_count;
  return p->db->view.page_count;
}

/* main_get_page copies page pgno as the file holds it now into out:
** buffered, else the version's (zero above the transaction's truncation
** mark). Returns an SQLite code. */
static int main_get_page(s3p_file *p, uint32_t pgno, unsigned char *out){
  s3p_db *db = p->db;
  uint32_t psz = main_page_size(p);
  if(s3p_txbuf_active(db->tx)){
    int got = s3p_txbuf_get(db->tx, pgno, out);
    if(got == 1) return SQLITE_OK;
    if(got < 0){
      return s3p_db_error(db, SQLITE_IOERR_READ, "reading the transaction's "
                          "spill file failed");
    }
    if(pgno > s3p_txbuf_trunc_mark(db->tx)){
      memset(out, 0, psz);
      return SQLITE_OK;
    }
  }
  if(db->ghost_part && pgno == db->ghost_part_pgno){
    memcpy(out, db->ghost_part, psz);
    return SQLITE_OK;
  }
  if(pgno > db->view.page_count && pgno <= db->ghost_count){
    return s3p_db_ghost_page(db, pgno, out);
  }
  if(pgno > db->view.page_count){
    memset(out, 0, psz);
    return SQLITE_OK;
  }
  return s3p_db_read_page(db, pgno, out);
}

/* main_close closes the database state. */
static int main_close(sqlite3_file *f){
  s3p_file *p = (s3p_file *)f;
  s3p_lock_close(&p->lk);
  s3p_db_close(p->db);
  p->db = NULL;
  return SQLITE_OK;
}

/* main_read serves a read of n bytes at offset o from pages; past the end
** of the file it zero-fills and reports a short read. */
static int main_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 o){
  s3p_file *p = (s3p_file *)f;
  if(p->db->lazy){
    if(p->lock == SQLITE_LOCK_NONE && o == 0 && n <= 100){
      /* SQLite reads the header once at open, before any lock, for the
      ** page size, and reads page 1 again under its first lock, where a
      ** different header wins: until that lock loads the version, the
      ** header reads as the page size HEAD states (in a page that reads
      ** as zeros), so that the first lock reads page 1 alone. Any other
      ** read loads the version first. */
      memset(buf, 0, (size_t)n);
      uint32_t hpsz = p->db->lazy->page_size;
      /* Without a page size (a format-1 HEAD) the file reads as empty,
      ** and SQLite's own default is as much a guess. */
      p->guessed = 1;
      if(n < 18 || hpsz < 512 || hpsz > 65536 || (hpsz & (hpsz - 1))){
        return SQLITE_IOERR_SHORT_READ;
      }
      ((unsigned char *)buf)[16] = (unsigned char)(hpsz >> 8 & 0xff);
      ((unsigned char *)buf)[17] = (unsigned char)(hpsz >> 16);
      return SQLITE_OK;
    }
    int rc = s3p_db_ready(p->db);
    if(rc) return (rc & 0xff) == SQLITE_IOERR ? rc : SQLITE_IOERR_READ;
  }
  uint32_t psz = main_page_size(p);
  sqlite3_int64 size = (sqlite3_int64)main_pages(p) * psz;
  unsigned char *out = buf;
  if(psz == 0 || o >= size){
    memset(buf, 0, (size_t)n);
    return SQLITE_IOERR_SHORT_READ;
  }
  unsigned char *page = NULL;
  int rc = SQLITE_OK;
  sqlite3_int64 end = o + n < size ? o + n : size;
  while(o < end){
    uint32_t pgno = (uint32_t)(o / psz) + 1;
    uint32_t in = (uint32_t)(o % psz);
    uint32_t take = psz - in;
    if(take > end - o) take = (uint32_t)(end - o);
    if(p->db->guard && s3p_db_won(p->db, pgno)){
      rc = s3p_db_error(p->db, SQLITE_BUSY_SNAPSHOT, "%s: page %u changed "
                        "in versions this connection's commit was rebased "
                        "over, while a statement that began before it still "
                        "reads: that statement must end (or be reset) first",
                        p->db->store->desc, pgno);
      break;
    }
    s3p_readset_add(&p->db->reads, pgno);
    if(in == 0 && take == psz){
      rc = main_get_page(p, pgno, out);
    }else{
      if(!page && !(page = malloc(psz))){ rc = SQLITE_IOERR_NOMEM; break; }
      rc = main_get_page(p, pgno, page);
      if(rc == SQLITE_OK) memcpy(out, page + in, take);
    }
    if(rc) break;
    out += take;
    o += take;
  }
  free(page);
  if(rc) return rc == SQLITE_NOMEM ? SQLITE_IOERR_NOMEM : rc;
  if(out < (unsigned char *)buf + n){
    memset(out, 0, (size_t)((unsigned char *)buf + n - out));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

/* main_begin starts buffering a transaction if none is, choosing the page
** size of an empty database from SQLite's first write (amt bytes at o). */
static int main_begin(s3p_file *p, int amt, sqlite3_int64 o){
  s3p_db *db = p->db;
  if(s3p_txbuf_active(db->tx)) return SQLITE_OK;
  uint32_t psz = db->view.page_size;
  if(psz == 0){
    if(amt > 0 && s3p_page_size_ok((uint32_t)amt) && o % amt == 0){
      psz = (uint32_t)amt;
    }else{
      return s3p_db_error(db, SQLITE_IOERR_WRITE, "%s: first write to an empty "
                          "database is not a whole page (%d bytes at %lld)",
                          db->store->desc, amt, (long long)o);
    }
  }
  if(db->ghost_count > db->view.page_count || db->ghost_part){
    /* A write before SQLite truncated the file after a shrinking commit:
    ** it is rolling that commit back. The file still has the dropped
    ** pages; the transaction starts from them, so the next commit keeps
    ** them (db.h, s3p_db_ghost_page). */
    unsigned char *page = malloc(psz);
    if(!page) return SQLITE_IOERR_NOMEM;
    s3p_txbuf_begin(db->tx, psz, db->ghost_count);
    int rc = SQLITE_OK;
    if(db->ghost_part && s3p_txbuf_put(db->tx, db->ghost_part_pgno,
                                       db->ghost_part)){
      rc = SQLITE_IOERR_WRITE;
    }
    for(uint32_t pg = db->view.page_count + 1;
        pg <= db->ghost_count && rc == SQLITE_OK; pg++){
      rc = s3p_db_ghost_page(db, pg, page);
      if(rc == SQLITE_OK && s3p_txbuf_put(db->tx, pg, page)){
        rc = SQLITE_IOERR_WRITE;
      }
    }
    free(page);
    if(rc){
      s3p_txbuf_clear(db->tx);
      return rc;
    }
    s3p_db_ghost_clear(db);
    return SQLITE_OK;
  }
  s3p_txbuf_begin(db->tx, psz, db->view.page_count);
  return SQLITE_OK;
}

/* main_is_wal_header returns 1 if page 1 says WAL mode: its file format
** write or read version (header bytes 18 and 19) is 2. */
static int main_is_wal_header(const unsigned char *page){
  return page[18] == 2 || page[19] == 2;
}

/* main_rollback_header turns a WAL-mode page 1 into a rollback-journal one
** (versions 1, as import does), and adds one to the file change counter
** (and to the version-valid-for number if it matched, so the in-header
** size stays valid). s3page cannot run a WAL, so no such header may reach
** the store: every connection would then fail to open the database. The
** backup API writes one when the source is in WAL mode (the shell's
** .restore), and so does a switch to WAL on an s3page database attached
** in locking_mode=EXCLUSIVE. The new counter makes the writing connection
** drop its cached page 1 at its next read transaction, as SQLite does for
** a change by another connection. */
static void main_rollback_header(unsigned char *page){
  uint32_t counter = ((uint32_t)page[24] << 24) | ((uint32_t)page[25] << 16) |
                     ((uint32_t)page[26] << 8) | page[27];
  int valid = !memcmp(page + 24, page + 92, 4);
  counter++;
  for(int i = 0; i < 4; i++){
    page[24 + i] = (unsigned char)(counter >> (24 - 8 * i));
    if(valid) page[92 + i] = page[24 + i];
  }
  page[18] = page[19] = 1;
}

/* main_write buffers a write, read-modify-writing partial pages and
** giving page 1 a rollback-journal header (main_rollback_header). */
static int main_write(sqlite3_file *f, const void *buf, int n,
                      sqlite3_int64 o){
  s3p_file *p = (s3p_file *)f;
  s3p_db *db = p->db;
  if(db->opt.readonly) return SQLITE_READONLY;
  int rc = s3p_db_ready(db);                  /* (loaded under any lock) */
  if(rc) return (rc & 0xff) == SQLITE_IOERR ? rc : SQLITE_IOERR_WRITE;
  rc = main_begin(p, n, o);
  if(rc) return rc;
  uint32_t psz = s3p_txbuf_page_size(db->tx);
  const unsigned char *in = buf;
  unsigned char *page = NULL;
  sqlite3_int64 end = o + n;
  if(end / psz + 1 > UINT32_MAX - 1) return SQLITE_FULL;
  while(o < end && rc == SQLITE_OK){
    uint32_t pgno = (uint32_t)(o / psz) + 1;
    uint32_t off = (uint32_t)(o % psz);
    uint32_t take = psz - off;
    if(take > end - o) take = (uint32_t)(end - o);
    if(s3p_db_checkpoint_due(db)){
      /* The coming checkpoint rewrites this page's tree path: fetch it
      ** now rather than during the commit. */
      rc = s3p_db_warm_paths(db, &pgno, 1);
      if(rc) break;
    }
    if(off == 0 && take == psz && !(pgno == 1 && main_is_wal_header(in))){
      rc = s3p_txbuf_put(db->tx, pgno, in) ? SQLITE_IOERR_WRITE : SQLITE_OK;
    }else{
      if(!page && !(page = malloc(psz))){ rc = SQLITE_IOERR_NOMEM; break; }
      rc = take == psz ? SQLITE_OK : main_get_page(p, pgno, page);
      if(rc == SQLITE_OK){
        memcpy(page + off, in, take);
        if(pgno == 1 && main_is_wal_header(page)) main_rollback_header(page);
        rc = s3p_txbuf_put(db->tx, pgno, page) ? SQLITE_IOERR_WRITE : SQLITE_OK;
      }
    }
    in += take;
    o += take;
  }
  free(page);
  return rc;
}

/* main_truncate sets the file size (rounded up to whole pages; the tail of
** a partial last page is zeroed). Outside a transaction, truncating to the
** number of pages the file already has does nothing: that is SQLite's
** truncation after a commit that shrank the file, which the commit already
** stored, tail zeroed (commit.c), and it must not open a new transaction
** buffer. */
static int main_truncate(sqlite3_file *f, sqlite3_int64 size){
  s3p_file *p = (s3p_file *)f;
  s3p_db *db = p->db;
  int lrc = s3p_db_ready(db);
  if(lrc) return (lrc & 0xff) == SQLITE_IOERR ? lrc : SQLITE_IOERR_TRUNCATE;
  uint32_t cur_psz = main_page_size(p);
  if(!s3p_txbuf_active(db->tx) && (db->ghost_count || db->ghost_part) &&
     cur_psz && size >= 0 &&
     (size + cur_psz - 1) / cur_psz <= (sqlite3_int64)db->view.page_count){
    /* SQLite's truncation after a shrinking commit: the ghosts go. (A size
    ** below the committed one would be a new change: handled below.) */
    int same = (size + cur_psz - 1) / cur_psz ==
               (sqlite3_int64)db->view.page_count;
    s3p_db_ghost_clear(db);
    if(same) return SQLITE_OK;
  }
  if(!s3p_txbuf_active(db->tx) && cur_psz && size >= 0 &&
     (size + cur_psz - 1) / cur_psz == (sqlite3_int64)main_pages(p)){
    return SQLITE_OK;
  }
  if(db->opt.readonly) return SQLITE_READONLY;
  if(main_page_size(p) == 0){
    return size == 0 ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
  }
  int rc = main_begin(p, 0, 0);
  if(rc) return rc;
  uint32_t psz = s3p_txbuf_page_size(db->tx);
  uint32_t npages = (uint32_t)((size + psz - 1) / psz);
  uint32_t tail = (uint32_t)(size % psz);
  if(tail && npages <= s3p_txbuf_pages(db->tx)){
    unsigned char *page = malloc(psz);
    if(!page) return SQLITE_IOERR_NOMEM;
    rc = main_get_page(p, npages, page);
    if(rc == SQLITE_OK){
      memset(page + tail, 0, psz - tail);
      if(s3p_txbuf_put(db->tx, npages, page)) rc = SQLITE_IOERR_TRUNCATE;
    }
    free(page);
    if(rc) return rc;
  }
  if(npages < db->view.page_count && s3p_db_checkpoint_due(db)){
    uint32_t first_gone = npages + 1;
    rc = s3p_db_warm_paths(db, &first_gone, 1);
    if(rc) return rc;
  }
  s3p_txbuf_truncate(db->tx, npages);
  return SQLITE_OK;
}

/* main_commit commits the buffered transaction (the sync point). In
** locking_mode=EXCLUSIVE SQLite never unlocks, and with nolock=1 it never
** locks, so the view never moves on and a version made by another writer
** makes every commit lose: say so, and what to do. Returns an SQLite
** code. */
static int main_commit(s3p_file *p){
  uint64_t before = p->db->view.version;
  int rc = s3p_db_commit(p->db);
  if(rc == SQLITE_OK && p->db->view.version > before){
    s3p_lock_hint_put(&p->lk, p->db->view.version);
  }
  if(rc == SQLITE_BUSY_SNAPSHOT && p->excl_mode){
    s3p_db_error(p->db, rc, "%s: version %llu was committed by another "
                 "writer while this connection held its lock with PRAGMA "
                 "locking_mode=EXCLUSIVE, which keeps out only the "
                 "connections of this machine: this connection still sees "
                 "version %llu and no commit of it can succeed until it lets "
                 "go of the lock. Run PRAGMA locking_mode=NORMAL, end the "
                 "transaction and run any statement (SQLite then releases "
                 "the lock), then retry; or reopen the database",
                 p->db->store->desc,
                 (unsigned long long)p->db->view.version + 1,
                 (unsigned long long)p->db->view.version);
  }else if(rc == SQLITE_BUSY_SNAPSHOT && p->nolock){
    s3p_db_error(p->db, rc, "%s: version %llu was committed by another "
                 "writer; this connection was opened with nolock=1, so "
                 "SQLite never takes the SHARED lock at which s3page moves "
                 "to the newest version: it still sees version %llu and no "
                 "commit of it can succeed. Reopen the database without "
                 "nolock=1", p->db->store->desc,
                 (unsigned long long)p->db->view.version + 1,
                 (unsigned long long)p->db->view.version);
  }
  return rc;
}

/* Syncs still to fail (s3p_test_fail_syncs); 0 except in tests. */
static _Atomic int vfs_sync_failures;

int s3p_test_fail_syncs(int n){
  return atomic_exchange(&vfs_sync_failures, n);
}

/* main_sync: the commit normally ran at SQLITE_FCNTL_SYNC just before;
** committing again is a no-op, and covers callers that only sync. */
static int main_sync(sqlite3_file *f, int flags){
  (void)flags;
  int rc = main_commit((s3p_file *)f);
  if(rc == SQLITE_OK && atomic_load(&vfs_sync_failures) > 0 &&
     atomic_fetch_sub(&vfs_sync_failures, 1) > 0){
    rc = SQLITE_IOERR_FSYNC;            /* a test's injected failure */
  }
  return rc;
}

/* main_size reports the file size in bytes. */
static int main_size(sqlite3_file *f, sqlite3_int64 *size){
  s3p_file *p = (s3p_file *)f;
  int rc = s3p_db_ready(p->db);
  if(rc){
    *size = 0;
    return (rc & 0xff) == SQLITE_IOERR ? rc : SQLITE_IOERR_FSTAT;
  }
  *size = (sqlite3_int64)main_pages(p) * main_page_size(p);
  return SQLITE_OK;
}

/* main_warm_overlay fetches the tree nodes that the coming checkpoint
** commit will rewrite for the pages changed since the last checkpoint, so
** that the commit itself stays two round trips. */
static int main_warm_overlay(s3p_file *p){
  s3p_change *ov = NULL;
  size_t n = 0;
  if(s3p_view_overlay(&p->db->view, &ov, &n)) return SQLITE_NOMEM;
  uint32_t *pg = malloc((n + 1) * sizeof *pg);
  int rc = SQLITE_NOMEM;
  if(pg){
    for(size_t i = 0; i < n; i++) pg[i] = ov[i].pgno;
    /* A truncation since the checkpoint cuts the tree there (commit.c). */
    uint32_t t = p->db->view.trunc;
    size_t m = n;
    if(t != UINT32_MAX && t < UINT32_MAX - 1) pg[m++] = t + 1;
    rc = s3p_db_warm_paths(p->db, pg, m);
  }
  free(pg);
  free(ov);
  return rc;
}

/* main_lock_error records a lock failure why (may be NULL) and frees it.
** Returns rc. */
static int main_lock_error(s3p_file *p, int rc, char *why){
  if(why) s3p_db_error(p->db, rc, "%s", why);
  sqlite3_free(why);
  return rc;
}

/* main_lock raises the lock (lock.c); taking SHARED from nothing then
** moves the view to the newest version (unless pinned), and taking
** RESERVED warms the tree paths a checkpoint commit will need. If either
** fails, the lock goes back to where it was. Returns SQLITE_OK,
** SQLITE_BUSY, or an error. */
static int main_lock(sqlite3_file *f, int level){
  s3p_file *p = (s3p_file *)f;
  int was = p->lock;
  char *why = NULL;
  if(level <= was) return SQLITE_OK;
  if(p->db->guard && level >= SQLITE_LOCK_RESERVED){
    /* SQLite still holds the lock it had before a rebased commit, so its
    ** cache may hold pages of the version before: a write now could
    ** build on them. It must release the lock first. */
    s3p_db_error(p->db, SQLITE_BUSY, "%s: this connection's last commit "
                 "was rebased on other writers' versions while a statement "
                 "that began before it is still running: finish or reset "
                 "that statement, then write", p->db->store->desc);
    return SQLITE_BUSY;
  }
  int rc = s3p_lock_up(&p->lk, level, &why);
  p->lock = p->lk.level;
  if(rc) return main_lock_error(p, rc, why);
  if(was == SQLITE_LOCK_NONE){
    if(s3p_txbuf_active(p->db->tx)) s3p_txbuf_clear(p->db->tx);
    /* A newer version made on this machine is looked up even within the
    ** staleness window. */
    if(s3p_lock_hint_get(&p->lk) > p->db->view.version) p->db->checked_ms = 0;
    rc = s3p_db_refresh(p->db);
  }
  if(rc == SQLITE_OK && was < SQLITE_LOCK_RESERVED &&
     level >= SQLITE_LOCK_RESERVED && s3p_db_checkpoint_due(p->db)){
    rc = main_warm_overlay(p);
  }
  if(rc){
    assert(was <= SQLITE_LOCK_SHARED);
    s3p_lock_down(&p->lk, was, &why);
    sqlite3_free(why);
    p->lock = p->lk.level;
    return (rc & 0xff) == SQLITE_IOERR ? SQLITE_IOERR_LOCK : rc;
  }
  p->guessed = 0;              /* SQLite reads the real header now */
  return SQLITE_OK;
}

/* main_unlock lowers the lock; a transaction buffer still open then held
** only rolled-back writes and is dropped. Returns an SQLite code. */
static int main_unlock(sqlite3_file *f, int level){
  s3p_file *p = (s3p_file *)f;
  char *why = NULL;
  if(level <= SQLITE_LOCK_SHARED && s3p_txbuf_active(p->db->tx)){
    s3p_txbuf_clear(p->db->tx);
  }
  if(level <= SQLITE_LOCK_SHARED) s3p_db_ghost_clear(p->db);
  if(level == SQLITE_LOCK_NONE){
    /* SQLite drops its cache at its next lock if the change counter moved
    ** (after a rebased commit it did), and starts reading afresh. After a
    ** failed rebased attempt SQLite's rollback restored the old header,
    ** which a view moved only over checkpoint records still shows: then
    ** SQLite keeps its cache, so the read set stays. */
    if(p->db->guard == 1) s3p_readset_clear(&p->db->reads);
    p->db->guard = 0;
    p->db->nwon = 0;
    p->db->no_commit = 0;
  }
  if(level <= SQLITE_LOCK_SHARED) s3p_prefetch_end(p->db);
  int rc = s3p_lock_down(&p->lk, level, &why);
  p->lock = p->lk.level;
  return rc ? main_lock_error(p, rc, why) : SQLITE_OK;
}

/* main_check_reserved: whether any connection of this machine holds
** RESERVED or more (writers elsewhere are not visible). */
static int main_check_reserved(sqlite3_file *f, int *out){
  s3p_file *p = (s3p_file *)f;
  char *why = NULL;
  int rc = s3p_lock_reserved(&p->lk, out, &why);
  return rc ? main_lock_error(p, rc, why) : SQLITE_OK;
}

/* main_stats fills out from the database's counters. */
static void main_stats(s3p_file *p, s3page_stats *out){
  const s3p_store_stats *s = &p->db->store->stats;
  memset(out, 0, sizeof *out);
  out->version = p->db->view.version;
  out->n_get = s->n_get;
  out->n_put = s->n_put;
  out->n_put_new = s->n_put_new;
  out->n_head = s->n_head;
  out->n_delete = s->n_delete;
  out->n_list = s->n_list;
  out->n_retry = s->n_retry;
  out->n_error = s->n_error;
  out->bytes_in = s->bytes_in;
  out->bytes_out = s->bytes_out;
  out->round_trips = s->round_trips;
  out->n_commit = p->db->n_commit;
  out->n_conflict = p->db->n_conflict;
  out->n_rebase = p->db->n_rebase;
}

/* main_journal_mode handles PRAGMA journal_mode=val. A request for WAL
** gets SQLite's answer for a VFS without shared memory: the mode stays as
** it is, the pragma returns it, and the reason is logged and kept for
** PRAGMA s3page_error. SQLite gives that answer itself (SQLITE_NOTFOUND)
** except in locking_mode=EXCLUSIVE, where it would run WAL with its index
** in heap memory and the log in a local -wal file that the store never
** sees: then the answer comes from here, as the last rollback mode this
** connection set (SQLite's default, delete, if none). Other modes are
** SQLite's, and remembered. Returns SQLITE_OK or SQLITE_NOTFOUND. */
static int main_journal_mode(s3p_file *p, char **a){
  static const char *const modes[] = {
    "delete", "truncate", "persist", "memory", "off"
  };
  const char *val = a[2];
  if(strcasecmp(val, "wal")){
    for(size_t i = 0; i < sizeof modes / sizeof *modes; i++){
      if(!strcasecmp(val, modes[i])) p->journal_mode = modes[i];
    }
    return SQLITE_NOTFOUND;
  }
  int keep = p->db->errcode;          /* a notice, not a failure */
  s3p_db_error(p->db, SQLITE_WARNING, "%s: journal_mode=WAL is not "
               "available: its index needs shared memory between all the "
               "connections to the database, which connections on different "
               "machines cannot have; the journal mode stays %s (every "
               "rollback-journal mode commits atomically to the store)",
               p->db->store->desc, p->journal_mode ? p->journal_mode :
               p->excl_mode ? "delete" : "as it is");
  p->db->errcode = keep;
  if(!p->excl_mode) return SQLITE_NOTFOUND;
  a[0] = sqlite3_mprintf("%s", p->journal_mode ? p->journal_mode : "delete");
  return a[0] ? SQLITE_OK : SQLITE_NOMEM;
}

/* main_pragma handles the PRAGMAs s3page adds or answers itself. Returns
** SQLITE_NOTFOUND for the ones SQLite should handle. */
static int main_pragma(s3p_file *p, char **a){
  const char *name = a[1], *val = a[2];
  s3p_db *db = p->db;
  s3p_prefetch_pragma(db, name);
  if(!strcasecmp(name, "journal_mode") && val){
    return main_journal_mode(p, a);
  }
  if(!strcasecmp(name, "locking_mode") && val){
    p->excl_mode = !strcasecmp(val, "exclusive");
    /* SQLite never releases the lock in that mode: no rebase (vfs.c's
    ** guard could never end). */
    db->no_rebase = p->excl_mode || p->nolock || db->opt.no_rebase;
    return SQLITE_NOTFOUND;          /* SQLite itself sets the mode */
  }
  if(!strcasecmp(name, "page_size") && !val && p->guessed){
    /* Until its first lock SQLite answers from the header it read at
    ** open, which for a database opened lazily is a guess (main_read).
    ** The version's own header answers: */
    unsigned char hdr[100];
    if(s3p_db_ready(db) != SQLITE_OK){
      a[0] = sqlite3_mprintf("%s", db->errmsg ? db->errmsg : "open failed");
      return SQLITE_ERROR;
    }
    if(main_read(&p->base, hdr, sizeof hdr, 0) != SQLITE_OK){
      return SQLITE_NOTFOUND;          /* empty: SQLite's own default */
    }
    unsigned psz = (unsigned)hdr[16] << 8 | (unsigned)hdr[17] << 16;
    if(psz < 512 || psz > 65536 || (psz & (psz - 1))) return SQLITE_NOTFOUND;
    a[0] = sqlite3_mprintf("%u", psz);
    return a[0] ? SQLITE_OK : SQLITE_NOMEM;
  }
  if(!strcasecmp(name, "s3page_version")){
    if(p->lock == SQLITE_LOCK_NONE){
      int rc = s3p_db_refresh(db);
      if(rc){
        a[0] = sqlite3_mprintf("%s", db->errmsg ? db->errmsg : "refresh failed");
        return SQLITE_ERROR;
      }
    }
    a[0] = sqlite3_mprintf("%llu", (unsigned long long)db->view.version);
    return SQLITE_OK;
  }
  if(!strcasecmp(name, "s3page_stats")){
    /* Report first: "=reset" returns the counters it is about to zero. */
    s3page_stats s;
    main_stats(p, &s);
    if(val && !strcasecmp(val, "reset")){
      memset(&db->store->stats, 0, sizeof db->store->stats);
      db->n_commit = db->n_conflict = db->n_rebase = 0;
    }
    a[0] = sqlite3_mprintf("version=%llu get=%llu put=%llu put_new=%llu "
      "head=%llu "
      "delete=%llu list=%llu retries=%llu errors=%llu bytes_in=%llu "
      "bytes_out=%llu round_trips=%llu commits=%llu conflicts=%llu "
      "rebases=%llu",
      (unsigned long long)s.version, (unsigned long long)s.n_get,
      (unsigned long long)s.n_put, (unsigned long long)s.n_put_new,
      (unsigned long long)s.n_head,
      (unsigned long long)s.n_delete, (unsigned long long)s.n_list,
      (unsigned long long)s.n_retry, (unsigned long long)s.n_error,
      (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out,
      (unsigned long long)s.round_trips, (unsigned long long)s.n_commit,
      (unsigned long long)s.n_conflict, (unsigned long long)s.n_rebase);
    return SQLITE_OK;
  }
  if(!strcasecmp(name, "s3page_cache")){
    /* The process-wide cache (pagecache.h), not only this connection's. */
    s3p_pagecache_info ci;
    s3p_pagecache_info_get(&ci);
    a[0] = sqlite3_mprintf("limit=%llu users=%llu page_bytes=%llu pages=%llu "
      "node_bytes=%llu nodes=%llu hits=%llu misses=%llu",
      (unsigned long long)ci.limit, (unsigned long long)ci.users,
      (unsigned long long)ci.page_bytes, (unsigned long long)ci.page_entries,
      (unsigned long long)ci.node_bytes, (unsigned long long)ci.node_entries,
      (unsigned long long)ci.hits, (unsigned long long)ci.misses);
    return SQLITE_OK;
  }
  if(!strcasecmp(name, "s3page_hydrate")){
    if(val && strcasecmp(val, "start")){
      a[0] = sqlite3_mprintf("s3page: PRAGMA s3page_hydrate takes no value "
                             "or 'start', not '%s'", val);
      return SQLITE_ERROR;
    }
    if(val && (s3p_db_ready(db) != SQLITE_OK ||
               s3p_db_hydrate(db) != SQLITE_OK)){
      a[0] = sqlite3_mprintf("%s", db->errmsg ? db->errmsg : "hydrate failed");
      return SQLITE_ERROR;
    }
    s3p_hydrate_progress hp;
    memset(&hp, 0, sizeof hp);
    if(db->hydrate) s3p_hydrate_get(db->hydrate, &hp);
    a[0] = sqlite3_mprintf("state=%s version=%llu done=%llu total=%llu "
      "fetched=%llu failed=%llu bytes=%llu ms=%llu",
      db->hydrate ? s3p_hydrate_state_name(hp.state) : "none",
      (unsigned long long)hp.version, (unsigned long long)hp.done,
      (unsigned long long)hp.total, (unsigned long long)hp.fetched,
      (unsigned long long)hp.failed, (unsigned long long)hp.bytes,
      (unsigned long long)hp.ms);
    return SQLITE_OK;
  }
  if(!strcasecmp(name, "s3page_prefetch")){
    s3p_prefetch_stats s;
    s3p_prefetch_stats_get(db, &s, val && !strcasecmp(val, "reset"));
    a[0] = sqlite3_mprintf("delivered=%llu pages=%llu used=%llu nodes=%llu "
      "node_batches=%llu scans=%llu page_gets=%llu",
      (unsigned long long)s.delivered, (unsigned long long)s.pages,
      (unsigned long long)s.used, (unsigned long long)s.nodes,
      (unsigned long long)s.node_batches, (unsigned long long)s.scans,
      (unsigned long long)s.page_gets);
    return SQLITE_OK;
  }
  if(!strcasecmp(name, "s3page_error")){
    a[0] = sqlite3_mprintf("%s", db->errmsg ? db->errmsg : "");
    return SQLITE_OK;
  }
  return SQLITE_NOTFOUND;
}

/* main_fcntl: the commit at SQLITE_FCNTL_SYNC, pragmas, stats. */
static int main_fcntl(sqlite3_file *f, int op, void *arg){
  s3p_file *p = (s3p_file *)f;
  switch(op){
    case SQLITE_FCNTL_SYNC:
      return main_commit(p);
    case SQLITE_FCNTL_PRAGMA:
      return main_pragma(p, (char **)arg);
    case SQLITE_FCNTL_VFSNAME:
      *(char **)arg = sqlite3_mprintf("%s", S3PAGE_VFS_NAME);
      return SQLITE_OK;
    case S3PAGE_FCNTL_STATS:
      main_stats(p, (s3page_stats *)arg);
      return SQLITE_OK;
    case SQLITE_FCNTL_LOCKSTATE:
      *(int *)arg = p->lock;
      return SQLITE_OK;
    case SQLITE_FCNTL_HAS_MOVED:
      *(int *)arg = 0;
      return SQLITE_OK;
    case SQLITE_FCNTL_MMAP_SIZE:
      /* The file is never memory-mapped (no xFetch): the limit in force
      ** is 0 whatever is asked, and PRAGMA mmap_size says so. */
      *(sqlite3_int64 *)arg = 0;
      return SQLITE_OK;
    case SQLITE_FCNTL_PERSIST_WAL:
      /* Set or query; the answer is whether it is in effect: never, as
      ** there is never a WAL file. */
      *(int *)arg = 0;
      return SQLITE_OK;
    case SQLITE_FCNTL_POWERSAFE_OVERWRITE:
      /* Always in effect (main_devchar): a write changes only its bytes. */
      *(int *)arg = 1;
      return SQLITE_OK;
    case SQLITE_FCNTL_SIZE_HINT:
    case SQLITE_FCNTL_CHUNK_SIZE:
      /* Hints for preallocation: the store holds pages, not a file to
      ** grow, so they are accepted and change nothing (the size stays
      ** the page count times the page size). */
      return SQLITE_OK;
  }
  return SQLITE_NOTFOUND;
}

/* main_sector: the unit SQLite aligns journal headers to. */
static int main_sector(sqlite3_file *f){
  (void)f;
  return 4096;
}

/* main_devchar: a write never damages bytes outside it. */
static int main_devchar(sqlite3_file *f){
  (void)f;
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static const sqlite3_io_methods main_methods = {
  1, main_close, main_read, main_write, main_truncate, main_sync, main_size,
  main_lock, main_unlock, main_check_reserved, main_fcntl, main_sector,
  main_devchar, 0, 0, 0, 0, 0, 0
};

/* ---------------------------------------------------------------------
** The VFS.
*/

/* name_has_suffix returns 1 if name ends with suffix. */
static int name_has_suffix(const char *name, const char *suffix){
  size_t n = strlen(name), m = strlen(suffix);
  return n >= m && !strcmp(name + n - m, suffix);
}

/* name_is_super_journal returns 1 for the name of a super-journal, which
** SQLite makes as "<main database>-mj" and nine hex digits. */
static int name_is_super_journal(const char *name){
  size_t n = strlen(name);
  if(n < 12 || strncmp(name + n - 12, "-mj", 3)) return 0;
  return strspn(name + n - 9, "0123456789abcdefABCDEF") == 9;
}

/* name_is_sidecar returns 1 for the journal, super-journal, WAL and shm
** names SQLite derives from a database name: s3page keeps none of them in
** the store or under those names. */
static int name_is_sidecar(const char *name){
  return name && (name_has_suffix(name, "-journal") ||
                  name_has_suffix(name, "-wal") ||
                  name_has_suffix(name, "-shm") ||
                  name_is_super_journal(name));
}

/* vfs_open opens the main database as an s3page database and every other
** file through the default VFS (journals as private temporary files). */
static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
                    int flags, int *out_flags){
  s3p_file *p = (s3p_file *)f;
  memset(p, 0, sizeof *p);
  p->lk.fd = -1;
  p->real = (sqlite3_file *)(p + 1);
  if(!(flags & SQLITE_OPEN_MAIN_DB)){
    if(flags & SQLITE_OPEN_WAL){
      /* Only a pager in WAL mode opens one (main_journal_mode keeps it
      ** out of WAL): its commits would stay in a local file. */
      sqlite3_log(SQLITE_CANTOPEN, "s3page: %s: refusing to open a WAL "
                  "file: s3page databases have none (journal_mode=WAL is "
                  "not available): run PRAGMA journal_mode=DELETE on the "
                  "database, or reopen it", name ? name : "");
      return SQLITE_CANTOPEN;
    }
    if(flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL)){
      /* Journals and super-journals serve only to undo a transaction in
      ** progress (nothing uncommitted reaches the store), so they are
      ** private unnamed files; a super-journal named after an s3:// name
      ** could not even be created locally. */
      flags = (flags & ~(SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL)) |
              SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_DELETEONCLOSE |
              SQLITE_OPEN_CREATE;
      name = NULL;
      p->journal = 1;
    }
    int rc = vfs_base->xOpen(vfs_base, name, p->real, flags, out_flags);
    if(rc == SQLITE_OK) p->base.pMethods = &pass_methods;
    return rc;
  }
  if(!name) return SQLITE_CANTOPEN;
  s3p_options opt;
  char *err = NULL;
  if(s3p_options_parse(&opt, name, &err)){
    sqlite3_log(SQLITE_CANTOPEN, "%s", err);
    sqlite3_free(err);
    return SQLITE_CANTOPEN;
  }
  if(flags & SQLITE_OPEN_READONLY) opt.readonly = 1;
  opt.create = (flags & SQLITE_OPEN_CREATE) != 0;
  /* The version loads at the first lock, unless SQLite never locks. */
  opt.lazy = !sqlite3_uri_boolean(name, "nolock", 0) &&
             !sqlite3_uri_boolean(name, "immutable", 0);
  int rc = s3p_db_open(&p->db, name, &opt, &err);
  if(rc){
    sqlite3_free(err);   /* s3p_db_open logged it */
    return rc;
  }
  if(out_flags){
    *out_flags = flags;
    if(p->db->opt.readonly){
      *out_flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
                   SQLITE_OPEN_READONLY;
    }
  }
  p->nolock = sqlite3_uri_boolean(name, "nolock", 0);
  p->db->no_rebase = p->nolock || p->db->opt.no_rebase;
  char *why = NULL;
  rc = s3p_lock_open(&p->lk, name, p->db->opt.lock_dir, p->db->opt.endpoint,
                     p->db->opt.version || p->db->opt.has_asof,
                     p->db->opt.readonly, &why);
  if(rc){
    s3p_db_close(p->db);
    p->db = NULL;
    return rc;
  }
  if(why){
    sqlite3_log(SQLITE_WARNING, "s3page: %s: no local locks (%s): this "
                "connection is kept apart from others on this machine only "
                "when it commits, as if it ran on another machine", name, why);
    sqlite3_free(why);
  }
  p->base.pMethods = &main_methods;
  (void)vfs;
  return SQLITE_OK;
}

/* vfs_delete: journals and other sidecars of s3page databases do not exist
** as named files; anything else is the default VFS's. */
static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir){
  (void)vfs;
  if(name_is_sidecar(name)) return SQLITE_OK;
  return vfs_base->xDelete(vfs_base, name, sync_dir);
}

/* vfs_access: sidecars never exist (so no hot journal is ever found). */
static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags,
                      int *out){
  (void)vfs;
  if(name_is_sidecar(name)){ *out = 0; return SQLITE_OK; }
  return vfs_base->xAccess(vfs_base, name, flags, out);
}

/* vfs_full_pathname keeps URLs and absolute paths, and makes relative
** directory names absolute so a later chdir does not change the database. */
static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
                             char *out){
  (void)vfs;
  if(!strncmp(name, "s3://", 5) || !strncmp(name, "mem:", 4) ||
     name[0] == '/'){
    if((int)strlen(name) >= n) return SQLITE_CANTOPEN;
    memcpy(out, name, strlen(name) + 1);
    return SQLITE_OK;
  }
  char cwd[4096];
  if(!getcwd(cwd, sizeof cwd)) return SQLITE_CANTOPEN;
  if(!strcmp(cwd, "/")) cwd[0] = 0;
  if((int)(strlen(cwd) + 1 + strlen(name)) >= n) return SQLITE_CANTOPEN;
  snprintf(out, (size_t)n, "%s/%s", cwd, name);
  return SQLITE_OK;
}

/* The remaining methods are the default VFS's. */
static void *vfs_dlopen(sqlite3_vfs *v, const char *z){
  (void)v; return vfs_base->xDlOpen(vfs_base, z);
}
static void vfs_dlerror(sqlite3_vfs *v, int n, char *z){
  (void)v; vfs_base->xDlError(vfs_base, n, z);
}
static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *z))(void){
  (void)v; return vfs_base->xDlSym(vfs_base, h, z);
}
static void vfs_dlclose(sqlite3_vfs *v, void *h){
  (void)v; vfs_base->xDlClose(vfs_base, h);
}
static int vfs_randomness(sqlite3_vfs *v, int n, char *z){
  (void)v; return vfs_base->xRandomness(vfs_base, n, z);
}
static int vfs_sleep(sqlite3_vfs *v, int us){
  (void)v; return vfs_base->xSleep(vfs_base, us);
}
static int vfs_current_time(sqlite3_vfs *v, double *t){
  (void)v; return vfs_base->xCurrentTime(vfs_base, t);
}
static int vfs_get_last_error(sqlite3_vfs *v, int n, char *z){
  (void)v; return vfs_base->xGetLastError(vfs_base, n, z);
}
static int vfs_current_time64(sqlite3_vfs *v, sqlite3_int64 *t){
  (void)v;
  if(vfs_base->iVersion >= 2 && vfs_base->xCurrentTimeInt64){
    return vfs_base->xCurrentTimeInt64(vfs_base, t);
  }
  double d;
  int rc = vfs_base->xCurrentTime(vfs_base, &d);
  *t = (sqlite3_int64)(d * 86400000.0);
  return rc;
}

static sqlite3_vfs vfs_s3page = {
  2, 0, 1024, 0, S3PAGE_VFS_NAME, 0,
  vfs_open, vfs_delete, vfs_access, vfs_full_pathname,
  vfs_dlopen, vfs_dlerror, vfs_dlsym, vfs_dlclose,
  vfs_randomness, vfs_sleep, vfs_current_time, vfs_get_last_error,
  vfs_current_time64, 0, 0, 0
};

static pthread_mutex_t vfs_mutex = PTHREAD_MUTEX_INITIALIZER;

int s3page_register(int make_default){
  pthread_mutex_lock(&vfs_mutex);
  int rc = SQLITE_OK;
  if(!vfs_base){
    sqlite3_vfs *base = sqlite3_vfs_find("unix");
    if(!base) base = sqlite3_vfs_find(NULL);
    if(!base || base == &vfs_s3page){
      rc = SQLITE_ERROR;
    }else{
      vfs_s3page.szOsFile = (int)sizeof(s3p_file) + base->szOsFile;
      vfs_base = base;
    }
  }
  if(rc == SQLITE_OK) rc = sqlite3_vfs_register(&vfs_s3page, make_default);
  pthread_mutex_unlock(&vfs_mutex);
  return rc;
}

int s3page_stats_get(sqlite3 *db, const char *schema, s3page_stats *out){
  sqlite3_vfs *v = NULL;
  int rc = sqlite3_file_control(db, schema ? schema : "main",
                                SQLITE_FCNTL_VFS_POINTER, &v);
  if(rc != SQLITE_OK || v != &vfs_s3page) return SQLITE_NOTFOUND;
  return sqlite3_file_control(db, schema ? schema : "main",
                              S3PAGE_FCNTL_STATS, out);
}
