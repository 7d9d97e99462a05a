/*
** db.h: the state of one open s3page database (one main-database file
** handle of the VFS): its store, the version it shows, its caches and the
** write buffer of the transaction in progress.
**
** Functions here return SQLite result codes. On failure they record a
** message naming the object and the cause (s3p_db_errmsg), which is also
** sent to sqlite3_log.
**
**   db.c       open, close, errors, reading records, pages and tree nodes
**   version.c  finding the newest version (HEAD hint + probing) and asof
**   commit.c   the commit protocol
*/
#ifndef S3P_DB_H
#define S3P_DB_H

#include <stdarg.h>
#include <stdint.h>
#include "options.h"
#include "view.h"
#include "lru.h"
#include "pagecache.h"
#include "diskcache.h"
#include "txbuf.h"
#include "rebase.h"
#include "prefetch.h"
#include "store/store.h"
#include "../index/record.h"
#include "../index/tree.h"

/* How long a fact about the store is relied on: that the view's version
** was the newest (no wal/<version+1>, none removed by gc), or that a page
** object is there. gc removes a record only once a newer version has been
** the newest for a whole grace period, and an unreferenced object only
** once it is older than the grace period, so knowledge younger than this
** cannot have been made false by gc whose grace period exceeds it plus
** clock skew and the length of a commit (docs/history.md). The default
** grace is one hour. */
#define S3P_TRUST_MS (10 * 60 * 1000)

/* Besides every K-th version, a commit writes a checkpoint when it changes
** at least this many pages itself (a bulk load: its record is large, and
** later small commits should not pay for mapping all its pages) ... */
#define S3P_CKPT_COMMIT_PAGES 1024
/* ... or when the pages changed since the last checkpoint reach this many
** (the overlay every reader must replay and hold in memory). */
#define S3P_CKPT_OVERLAY_PAGES 4096

/* Most pages fetched ahead in one batch on sequential reads. */
#define S3P_READAHEAD_MAX 128

/* Entries of a handle's page-name memo (s3p_db.memo). */
#define S3P_MEMO_SLOTS 1024

/* What the view named page pgno, remembered: valid while the view shows
** the same version with the same overlay (a version's map never changes;
** the overlay count tells a replay stopped part-way). */
typedef struct s3p_memo {
  uint64_t version;          /* the view's version then, 0: unused */
  size_t ov_count;           /* its overlay entries then */
  uint32_t pgno;             /* the page */
  s3p_hash hash;             /* its content's name (zero: a zero page) */
} s3p_memo;

typedef struct s3p_db {
  char *name;                /* database name as opened (malloc'd) */
  s3p_options opt;           /* options (owned) */
  s3p_store *store;          /* object store (owned) */
  s3p_view view;             /* the version this handle shows */
  s3p_lru *known;            /* page objects known to be in THIS store:
                             ** hash -> stamp, when a version whose map
                             ** names the page was last known to be the
                             ** newest (empty values; the bytes are in the
                             ** process cache, pagecache.h, which is shared
                             ** by every store and so knows nothing about
                             ** any one of them) */
  int pc_held;               /* holds a reference to the process cache */
  struct s3p_hydrate *hydrate; /* background download of every page
                             ** (prefetch=all, hydrate.h), or NULL */
  s3p_diskcache *disk;       /* persistent page cache, or NULL */
  s3p_txbuf *tx;             /* writes of the transaction in progress */
  uint64_t checked_ms;       /* when the newest version was last looked up */
  uint64_t create_by_ms;     /* if not 0: no attempt at creating a commit
                             ** record may start at or after this time
                             ** (the trust window of the view, commit.c) */
  uint64_t fresh_ms;         /* when the view's version was last known to
                             ** be the newest: wal/<version+1> absent and
                             ** not removed by gc (0: unknown) */
  uint64_t tail_seen;        /* highest version TAIL was seen to name */
  uint64_t head_pending;     /* version to record in HEAD on the next batch */
  uint64_t head_ms;          /* when head_pending was the newest version */
  uint64_t n_commit;         /* commits made through this handle */
  uint64_t n_conflict;       /* commits lost to another writer */
  s3p_hash *ghost;           /* after a commit that shrank the file: the
                             ** pages it dropped (view.page_count+1 ...),
                             ** which SQLite still counts on until it
                             ** truncates the file (see s3p_db_ghost_page) */
  uint32_t ghost_count;      /* the file's size in pages SQLite still
                             ** assumes, 0: no ghost tail */
  unsigned char *ghost_part; /* the last kept page as it was before the
                             ** shrink zeroed its tail (the new end fell
                             ** inside it), or NULL */
  uint32_t ghost_part_pgno;  /* its page number */
  uint32_t ra_last;          /* last page fetched from the store on a miss */
  uint32_t ra_streak;        /* consecutive sequential misses */
  s3p_prefetch *pf;          /* b-tree-aware prefetch, or NULL */
  s3p_record *stash;         /* records fetched ahead, for the next
                             ** s3p_db_get_record(s) of their versions */
  size_t nstash;             /* entries in stash */
  s3p_readset reads;         /* pages SQLite read since the view last moved
                             ** to a version it did not make with another
                             ** page 1 header (rebase.h) */
  uint64_t lost_to;          /* the version another writer made first in
                             ** the last commit attempt (0: none lost) */
  int no_rebase;             /* never rebase (locking_mode=EXCLUSIVE,
                             ** nolock=1, rebase=0) */
  int guard;                 /* a rebase moved the view since SQLite last
                             ** released its lock: its cache may hold pages
                             ** of the version before (vfs.c); 1: the
                             ** rebased commit was made (its new change
                             ** counter makes SQLite drop that cache at its
                             ** next lock), 2: it failed (the header SQLite
                             ** restores may equal the view's) */
  int no_commit;             /* a rebased attempt failed after the view
                             ** moved: what SQLite writes until it releases
                             ** its lock is its rollback, never committed */
  uint32_t *won;             /* under guard: pages the winners changed */
  size_t nwon;               /* entries in won */
  uint64_t n_rebase;         /* commits rebased through this handle */
  s3p_memo *memo;            /* page -> name of the view, by pgno modulo
                             ** S3P_MEMO_SLOTS (malloc'd at the first
                             ** read, NULL if out of memory): a read SQLite
                             ** repeats skips the tree walk and its node
                             ** copies */
  struct s3p_head *lazy;     /* opened lazily (opt.lazy): the HEAD hint
                             ** read at open, whose version is loaded when
                             ** the first lock or read needs it
                             ** (s3p_db_ready); NULL once loaded */
  char *errmsg;              /* last error message (sqlite3_malloc'd) */
  int errcode;               /* SQLite code of the last error */
} s3p_db;

/* s3p_db_ready loads the version a lazily opened handle is to show (the
** newest: round trip 2 of the open, with its probe of the next record, so
** that when a lock asks for it the open counts as that lock's freshness
** check). Does nothing for a handle loaded already. On failure the handle
** stays unloaded, to try again at the next call. Returns SQLITE_OK or an
** error (recorded). */
int s3p_db_ready(s3p_db *db);

/* s3p_db_open opens database name with options *opt (taken over, even on
** failure) and loads the version to show: opt->version, opt->asof_ms, or
** the newest. Returns SQLITE_OK or an error with *errmsg
** (sqlite3_malloc'd); SQLITE_CANTOPEN when the store or version is not
** there. */
int s3p_db_open(s3p_db **out, const char *name, s3p_options *opt,
                char **errmsg);

/* s3p_db_hydrate starts downloading every page of the version shown now
** into the caches in the background (hydrate.h), unless a hydration is
** still at work; a finished one is replaced. Returns SQLITE_OK or an
** error. */
int s3p_db_hydrate(s3p_db *db);

/* s3p_db_close flushes the HEAD hint if due and frees db (NULL is fine). */
void s3p_db_close(s3p_db *db);

/* s3p_db_error records an error: code (an SQLite code) and a printf-style
** message, logged with sqlite3_log. Returns code. */
int s3p_db_error(s3p_db *db, int code, const char *fmt, ...);

/* s3p_db_store_error records the failure of a store operation on key with
** store code rc and the store's detail msg (may be NULL). ioerr is the
** SQLite code to use for I/O failures. Returns the SQLite code chosen. */
int s3p_db_store_error(s3p_db *db, int rc, int ioerr, const char *op,
                       const char *key, const char *msg);

/* s3p_db_page_from_op turns a finished GET of the object of page pgno
** (content hash h) into the page in out (view.page_size bytes): a missing
** or damaged object is SQLITE_CORRUPT, a failed GET an I/O error, each with
** a message naming the object. Returns an SQLite code. */
int s3p_db_page_from_op(s3p_db *db, uint32_t pgno, const s3p_hash *h,
                        const s3p_op *op, void *out);

/* s3p_db_node_from_op does the same for a checkpoint-tree node named h,
** and keeps the node in the node cache. Returns an SQLite code. */
int s3p_db_node_from_op(s3p_db *db, const s3p_hash *h, const s3p_op *op,
                        s3p_node *out);

/* s3p_db_know records that the store holds page object h as of stamp: a
** version whose map names h was the newest then (0: nothing is known). */
void s3p_db_know(s3p_db *db, const s3p_hash *h, uint64_t stamp);

/* s3p_db_known returns the stamp recorded for page object h in this
** connection's store (s3p_db_know), or 0 when nothing is known. */
uint64_t s3p_db_known(s3p_db *db, const s3p_hash *h);

/* s3p_db_tree_io returns the tree loader of db (nodes through the cache). */
s3p_tree_io s3p_db_tree_io(s3p_db *db);

/* s3p_db_get_record reads and decodes commit record version into *rec.
** Returns SQLITE_OK, SQLITE_NOTFOUND if it does not exist (no error
** recorded), or an error. */
int s3p_db_get_record(s3p_db *db, uint64_t version, s3p_record *rec);

/* Most records kept fetched ahead (s3p_db_stash_record). */
#define S3P_STASH_MAX 80

/* s3p_db_stash_record keeps the record of version v, fetched as
** data[0..len) while opening or looking for the newest version, for the
** next s3p_db_get_record(s) of v (which then costs no request). A record
** that does not decode is not kept (the later GET reports it), nor one
** beyond S3P_STASH_MAX. */
void s3p_db_stash_record(s3p_db *db, uint64_t v, const unsigned char *data,
                         size_t len);

/* s3p_db_get_records reads records from..to (inclusive) in one batch into
** recs[0..to-from]. Returns SQLITE_OK or an error (a missing record is
** corruption: a later one exists). */
int s3p_db_get_records(s3p_db *db, uint64_t from, uint64_t to,
                       s3p_record *recs);

/* s3p_db_load makes the view show version (0: the empty database), which
** must exist. Returns SQLITE_OK, SQLITE_NOTFOUND if it does not, or an
** error. */
int s3p_db_load(s3p_db *db, uint64_t version);

/* s3p_db_refresh moves the view to the newest version unless the view is
** pinned or was checked within the staleness window. One GET when nothing
** changed. Returns SQLITE_OK or an error. */
int s3p_db_refresh(s3p_db *db);

/* s3p_db_read_page copies page pgno of the view into out (page_size
** bytes): zeros for an all-zero page. On a cache miss during a b-tree scan
** it also fetches, in the same batch, the pages the scan reads next
** (prefetch.h); else, after sequential misses, the following pages
** (read-ahead, window doubling up to S3P_READAHEAD_MAX). Every page it
** delivers is shown to prefetch.c. Returns SQLITE_OK, SQLITE_CORRUPT when
** the object is missing or damaged, or an I/O error. */
int s3p_db_read_page(s3p_db *db, uint32_t pgno, void *out);

/* s3p_db_ghost_page copies ghost page pgno (view.page_count < pgno <=
** ghost_count) into out: the content the page had before the shrinking
** commit. Returns an SQLite code.
**
** Why ghosts exist: SQLite truncates a shrinking transaction's file only
** after the commit (pager_end_transaction), while the commit happened at
** the sync point before, and stored the smaller size. If anything fails
** in between, SQLite rolls the committed transaction back from its
** journal, which holds only the pages the transaction changed: the pages
** beyond the new end that it never touched must still read as before, or
** the rolled-back file has holes. */
int s3p_db_ghost_page(s3p_db *db, uint32_t pgno, void *out);

/* s3p_db_page_by_hash copies the page named h (page pgno, for messages)
** into out (view.page_size bytes): zeros for the zero hash, else from the
** caches or one GET. It records nothing about the store (s3p_db_know):
** callers use it for pages of versions other than the view's. Returns an
** SQLite code. */
int s3p_db_page_by_hash(s3p_db *db, uint32_t pgno, const s3p_hash *h,
                        void *out);

/* s3p_db_ghost_clear forgets the ghost tail (SQLite truncated the file, or
** the transaction ended). */
void s3p_db_ghost_clear(s3p_db *db);

/* s3p_db_warm_paths loads into the node cache every checkpoint-tree node
** on the paths to pages pgnos[0..n) of the view's tree, one batch per tree
** level that has nodes missing. Used ahead of a checkpoint commit so that
** the commit itself reads nothing. Returns SQLITE_OK or an error. */
int s3p_db_warm_paths(s3p_db *db, const uint32_t *pgnos, size_t n);

/* What s3p_db_warm fetched. */
typedef struct s3p_warm_stats {
  uint64_t nodes;            /* tree nodes requested */
  uint64_t batches;          /* batches they went in */
} s3p_warm_stats;

/* s3p_db_warm is s3p_db_warm_paths with two more choices: quiet (for
** prefetch: nothing is recorded as an error, a node that fails to arrive
** or verify is left out, and it returns SQLITE_OK), and a bound: if the
** paths need more than max_nodes nodes in all, it stops before the batch
** that would exceed it. Adds what it fetched to *st if not NULL. Returns
** SQLITE_OK or (not quiet) an error. */
int s3p_db_warm(s3p_db *db, const uint32_t *pgnos, size_t n, int quiet,
                size_t max_nodes, s3p_warm_stats *st);

/* s3p_db_checkpoint_due returns 1 if the next commit on the view will
** write a checkpoint whatever its size: it makes a version that is a
** multiple of the checkpoint interval, or the overlay is large. (A commit
** of S3P_CKPT_COMMIT_PAGES pages or more writes one too.) */
int s3p_db_checkpoint_due(const s3p_db *db);

/* s3p_db_errmsg returns the last error message or NULL. */
const char *s3p_db_errmsg(const s3p_db *db);

/* s3p_now_ms returns the wall-clock time in Unix milliseconds, plus the
** shift tests set with s3p_test_clock_shift. Every age decision of the
** library (gc's grace period, how old a fact about the store is) uses it. */
uint64_t s3p_now_ms(void);

/* s3p_test_clock_shift moves the library's clock (s3p_now_ms) by ms
** (thread-safe) and returns the total shift. For tests only: it lets a
** grace period pass in a moment. Objects' modification times in the store
** stay real, so after a shift forward they look that much older. */
int64_t s3p_test_clock_shift(int64_t ms);

/* s3p_test_fail_syncs makes the next n xSync calls on main databases fail
** with SQLITE_IOERR_FSYNC after the commit at SQLITE_FCNTL_SYNC succeeded
** (vfs.c), as SQLite's own fault tests do: SQLite then rolls a committed
** transaction back from its journal. Returns the previous count. Tests
** only. */
int s3p_test_fail_syncs(int n);

/* version.c */

/* s3p_version_exists sets *yes to whether commit record v exists (one
** HEAD request). Returns SQLITE_OK or an I/O error. */
int s3p_version_exists(s3p_db *db, uint64_t v, int *yes);

/* s3p_version_open sets *latest to the newest version as s3p_version_latest
** from 0 does, and fetches alongside the records it reads the objects the
** HEAD hint names, unless opt.skip_hints (stashed records, cached nodes and
** pages: an open then needs no further round trip for them). Returns
** SQLITE_OK or an error. */
int s3p_version_open(s3p_db *db, uint64_t *latest);

/* s3p_version_read_head reads the HEAD hint into *head (round trip 1 of
** s3p_version_open). Returns 1 if it names a version to start from, 0 if
** there is none or it is unusable (then head->version is 0). */
int s3p_version_read_head(s3p_db *db, struct s3p_head *head);

/* s3p_version_open_head is s3p_version_open after HEAD was read into
** *head: round trip 2 and on. Returns SQLITE_OK or an error. */
int s3p_version_open_head(s3p_db *db, const struct s3p_head *head,
                          uint64_t *latest);

/* s3p_version_latest sets *latest to the newest version, starting from
** from (known to exist, 0 for none): reads the HEAD hint and probes wal/
** forward, never listing. Returns SQLITE_OK or an error. */
int s3p_version_latest(s3p_db *db, uint64_t from, uint64_t *latest);

/* s3p_version_behind is called when TAIL (tail > v + 1) says that gc is
** removing the records below tail, the record after version v among them:
** a view of v fell behind gc. It finds the newest version (*latest) and
** sets *behind to 1 if that is at or above tail, else 0 (a TAIL above every
** record was not written by gc for this history: logged and ignored).
** Returns SQLITE_OK or an error. */
int s3p_version_behind(s3p_db *db, uint64_t v, uint64_t tail,
                       uint64_t *latest, int *behind);

/* s3p_version_asof sets *version to the newest version committed at or
** before ms, by binary search over commit times (O(log n) GETs). Returns
** SQLITE_OK, or SQLITE_NOTFOUND with a message when there is none. */
int s3p_version_asof(s3p_db *db, int64_t ms, uint64_t *version);

/* commit.c */

/* s3p_db_commit commits the write buffer as the next version: uploads the
** new pages (and checkpoint nodes) in one batch, then creates the commit
** record with create-if-absent. Returns SQLITE_OK (also when there was
** nothing to commit), SQLITE_BUSY_SNAPSHOT when another writer committed
** first or gc removed the version the transaction read, or an error; on
** any failure the store is unchanged as far as any reader can tell and the
** buffer is kept for SQLite's rollback. */
int s3p_db_commit(s3p_db *db);

/* s3p_db_create_record gives rec a fresh writer nonce, encodes it and
** creates its commit record with create-if-absent, resolving an ambiguous
** store failure by reading the record back. Returns SQLITE_OK if the record
** is ours, SQLITE_BUSY_SNAPSHOT if another writer made that version first,
** or an error. */
int s3p_db_create_record(s3p_db *db, s3p_record *rec);

/* rebase.c */

/* s3p_db_rebase is called when the commit of the buffered transaction lost
** version view.version+1 to another writer: if the versions that won
** changed nothing the transaction read or wrote (rebase.c has the rules),
** it moves the view to the newest version, merges page 1 in the buffer and
** adds the pages the winners changed to db->won. Returns SQLITE_OK (commit
** again), SQLITE_BUSY_SNAPSHOT with a message naming the conflict (the
** view unchanged), or an error. */
int s3p_db_rebase(s3p_db *db);

/* s3p_db_won returns 1 if page pgno is among the pages changed by the
** versions the last rebased commit was moved over (db->won, kept sorted
** by s3p_db_rebase), else 0: under the guard SQLite's cache may hold it
** as it was before them. */
int s3p_db_won(const s3p_db *db, uint32_t pgno);

/* s3p_db_set_head records that version, just committed (or found the
** newest), is to be named by the HEAD hint, written with the next commit's
** first batch or at close, and only while it is younger than S3P_TRUST_MS
** and not below a TAIL seen: HEAD never names a version gc may remove. */
void s3p_db_set_head(s3p_db *db, uint64_t version);

/* s3p_db_flush_head writes the pending HEAD hint now (best effort). */
void s3p_db_flush_head(s3p_db *db);

/* hint.c */

/* s3p_db_head_bytes encodes into out (S3P_HEAD_MAXLEN bytes of room) the
** HEAD naming version, with the objects a reader opening it needs first
** (head.h) as far as they are found: in the caches only when io is 0 (a
** commit must not wait for them), else fetched as needed; plus the new
** content of those pages among next[0..nnext), the changes of the commit
** in progress (sorted by page number; NULL, 0 if none), and, when that
** commit writes a checkpoint, the nodes of its new tree next_tree (else
** NULL) on their paths (cached: the commit built them). Returns the
** length. */
size_t s3p_db_head_bytes(s3p_db *db, uint64_t version, int io,
                         const s3p_change *next, size_t nnext,
                         const s3p_treeref *next_tree, unsigned char *out);

#endif
