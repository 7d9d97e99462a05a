/*
** internal.h: what the history operations (this folder) share among
** themselves: opening a database for a history operation, a hash set,
** batched tree walks, the page 1 stamp of versions made outside SQLite,
** creating their records, bulk-writer leases, and reading SQLite pages of
** stored versions directly. Nothing outside history/ includes it: the rest
** of the library sees history.h, users see s3page.h.
**
**   common.c     opening, a hash set, batched tree walks, the page 1 stamp,
**                creating records
**   lease.c      in-progress markers of bulk writers (lease/), for the
**                writers and for gc
**   import.c     s3page_import          export.c  s3page_export
**   log.c        s3page_log             verify.c  s3page_verify
**   checkpoint.c s3page_checkpoint      gc.c      s3page_gc
**   revert.c     s3page_revert          copy.c    s3page_copy
**   stats.c      s3page_stats_report
**   diff.c       s3page_diff: page maps, schema, b-tree of each page
**   diff_rows.c  ... the rows that differ (state in diff.h)
**   diff_keyed.c ... of WITHOUT ROWID tables, by primary key
**   keycmp.c     ... locating index pages by searching their keys
**   pages.c      SQLite pages of stored versions, read directly
**
** Functions return SQLite result codes and record their messages in the
** s3p_db (s3p_db_error), like the rest of the library.
*/
#ifndef S3P_HIST_INTERNAL_H
#define S3P_HIST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "history.h"
#include "../vfs/db.h"
#include "../vfs/tail.h"
#include "../vfs/upload.h"
#include "../vfs/s3page.h"



/* Operations per store batch (one round trip). */
#define S3P_HIST_BATCH 256
/* ... and at most this many bytes of uploads. */
#define S3P_HIST_BATCH_BYTES (64u << 20)

/* s3p_hist_open opens database name for a history operation: read-only
** unless writable (create: also make a missing directory store), showing
** version at (NULL: the newest). Options come from the environment. On
** failure returns an SQLite code and sets *errmsg (sqlite3_malloc'd). */
int s3p_hist_open(s3p_db **out, const char *name, int writable, int create,
                  const s3page_at *at, char **errmsg);

/* s3p_hist_finish copies db's last error into *errmsg (if errmsg is not
** NULL and rc is an error), closes db and returns rc. */
int s3p_hist_finish(s3p_db *db, int rc, char **errmsg);

/* s3p_hist_set_error sets *errmsg (if not NULL) to a formatted message.
** Returns code. */
int s3p_hist_set_error(char **errmsg, int code, const char *fmt, ...);

/* s3p_hist_stamp_page1 prepares page1, page 1 of a new version of
** page_count pages that a history tool makes outside SQLite (with other
** content than the view's version, its parent), so that every connection
** drops its page and schema caches on seeing it: SQLite keeps its page
** cache while bytes 24..39 of page 1 are unchanged, and its parsed schema
** while the schema cookie (offset 40) is, and two different files often
** share both. The change counter (offset 24, and version-valid-for at 92)
** and the schema cookie become one more than the larger of the parent's
** and page1's own, so they differ from every earlier version's (SQLite
** only ever increments them); the in-header size (offset 28) becomes
** page_count. Over an empty database (view version 0) nothing is changed:
** no connection can hold a cache of a database that did not exist.
** Returns SQLITE_OK or an error reading the parent's page 1. */
int s3p_hist_stamp_page1(s3p_db *db, unsigned char *page1,
                         uint32_t page_count);

/* A set of content hashes with a 32-bit value each (open addressing). */
typedef struct s3p_hset {
  s3p_hash *keys;            /* slots; the zero hash marks an empty slot */
  uint32_t *vals;            /* value of each slot */
  size_t nslot;              /* slots, a power of two (or 0) */
  size_t count;              /* keys held */
} s3p_hset;

/* s3p_hset_add adds h with value val. Returns 1 if added, 0 if h was
** already there (its value unchanged), or -1 when out of memory. The zero
** hash is never added (returns 0). */
int s3p_hset_add(s3p_hset *s, const s3p_hash *h, uint32_t val);

/* s3p_hset_get returns 1 and sets *val (if not NULL) if h is in s, else 0. */
int s3p_hset_get(const s3p_hset *s, const s3p_hash *h, uint32_t *val);

/* s3p_hset_free releases s and zeroes it. */
void s3p_hset_free(s3p_hset *s);


/* A breadth-first walk of checkpoint trees, one batch of GETs per level
** (S3P_HIST_BATCH nodes per round trip). */
typedef struct s3p_hwalk {
  s3p_db *db;                /* the database */
  s3p_hset *visited;         /* nodes walked already (skipped with their
                             ** subtrees); NULL to walk everything */
  /* page is called for every non-zero page entry; non-zero stops the walk
  ** and is returned. */
  int (*page)(void *arg, uint32_t pgno, const s3p_hash *h);
  /* problem receives a missing or damaged node (the walk goes on without
  ** its subtree); NULL makes such a node an error of the walk. */
  void (*problem)(void *arg, const char *msg);
  void *arg;                 /* for the callbacks */
  uint64_t nodes;            /* nodes fetched and verified */
  uint64_t bytes;            /* their bytes */
} s3p_hwalk;

/* s3p_hist_walk walks tree t (every node fetched is decoded against its
** name). Returns SQLITE_OK, a callback's value, or an error. */
int s3p_hist_walk(s3p_hwalk *w, const s3p_treeref *t);


/* lease.c: in-progress markers of bulk writers (docs/history.md,
** "Bulk writers"). A history operation that uploads objects and only then
** creates the record naming them (import, copy, revert, ...) does:
**
**     s3p_lease lease;
**     rc = s3p_lease_begin(&lease, db);         before the first upload
**     ... s3p_lease_keep(&lease) between upload batches (cheap: a clock
**         read; one PUT every S3P_LEASE_RENEW_MS) ...
**     rc = s3p_hist_refresh(db, 0);             the newest version, now
**     ... make rec on top of db->view ...
**     rc = s3p_hist_create_record(db, &rec, &lease);  keeps the lease
**     (SQLITE_BUSY_SNAPSHOT: refresh, make rec again, retry)
**     s3p_lease_end(&lease);                    always, once begun
**
** and stops without creating its record when s3p_lease_keep fails. The
** SQL commit path needs none of this: its uploads are fresh and what it
** relies on is bounded by S3P_TRUST_MS. */

/* A held marker re-PUT when its last renewal is this old. */
#define S3P_LEASE_RENEW_MS (S3P_TRUST_MS / 4)

/* A marker held by a bulk writer. */
typedef struct s3p_lease {
  s3p_db *db;                /* the database written to */
  char key[S3P_KEY_MAX];     /* lease/<32 random hex digits> */
  uint64_t start_ms;         /* when the write began (library clock) */
  uint64_t issued_ms;        /* when the newest PUT of the marker that
                             ** succeeded was sent */
  int held;                  /* created and not yet ended */
} s3p_lease;

/* s3p_lease_begin creates a new marker for db, starting now. Returns
** SQLITE_OK (then s3p_lease_end must follow) or an error in db. */
int s3p_lease_begin(s3p_lease *l, s3p_db *db);

/* s3p_lease_begin_reuse creates a marker for a writer that will name
** objects older than its start, which no version gc keeps may use (a
** revert names the pages of V): its start is 1, so gc spares every
** unreferenced object while it lives. The writer must create it before it
** reads what it will reuse (V's record): gc deletes records before it
** reads the markers a second time and sweeps objects (gc.c). Returns as
** s3p_lease_begin. */
int s3p_lease_begin_reuse(s3p_lease *l, s3p_db *db);

/* s3p_lease_keep renews the marker if its last renewal is older than
** S3P_LEASE_RENEW_MS. Returns SQLITE_OK, a store error, or SQLITE_ABORT
** (message in db) when S3P_TRUST_MS passed without a renewal: gc may then
** have deleted what the writer uploaded, and it must not commit. */
int s3p_lease_keep(s3p_lease *l);

/* s3p_lease_end deletes the marker (best effort: a failure is logged; gc
** removes a dead marker). Does nothing if l is not held. */
void s3p_lease_end(s3p_lease *l);

/* What gc learned from the markers in the store. */
typedef struct s3p_lease_scan {
  int64_t floor_ms;          /* unreferenced objects modified at or after
                             ** this (Unix ms) may be a live writer's:
                             ** INT64_MAX when no marker is live */
  uint64_t live;             /* live markers */
  char (*dead)[S3P_KEY_MAX]; /* dead markers, to delete */
  size_t ndead, capdead;     /* entries / room in dead */
} s3p_lease_scan;

/* s3p_lease_scan_run lists lease/ and reads every marker: one renewed less
** than dead_ms before now (by the later of its modification time and the
** renewal time it holds; one of unknown age and content counts as
** renewed) is live and lowers sc->floor_ms to its start (or its
** modification time, if earlier) less S3P_GC_MARGIN_MS, or to 0 if it
** is damaged; others are dead. Returns
** SQLITE_OK or an error (sc is then to be freed and not used). */
int s3p_lease_scan_run(s3p_db *db, uint64_t now, uint64_t dead_ms,
                       s3p_lease_scan *sc);

/* s3p_lease_scan_free releases sc. */
void s3p_lease_scan_free(s3p_lease_scan *sc);


/* Creating a version outside SQL (common.c). */

/* s3p_hist_refresh makes the view show the newest version, looked up now
** from from (a version known to exist now, e.g. one that just won a
** conflict) or, when from is 0, from HEAD or TAIL: never from the view's
** version, which a long operation learned too long ago (gc may have
** removed the records after it meanwhile: a record created on top of it
** would re-create a removed version behind newer ones). Sets db->fresh_ms
** to when the look-up began. Returns SQLITE_OK or an error. */
int s3p_hist_refresh(s3p_db *db, uint64_t from);

/* s3p_hist_create_record creates rec, a version a history operation made
** on top of the view's, with create-if-absent. First it keeps lease (if
** not NULL; its errors are returned), then it refuses with
** SQLITE_BUSY_SNAPSHOT when the view's version was last known to be the
** newest S3P_TRUST_MS ago or more (db->fresh_ms, as s3p_hist_refresh
** sets it): the caller refreshes and makes rec again. Returns SQLITE_OK,
** SQLITE_BUSY_SNAPSHOT (also when another writer made that version first:
** db->n_conflict grows then), or an error. */
int s3p_hist_create_record(s3p_db *db, s3p_record *rec, s3p_lease *lease);

/* s3p_hist_full_record fills *rec as the full-image version after parent
** (committed at parent_ms): the page map is tree, the whole content,
** page_count pages of page_size bytes, its own checkpoint. Its time is
** now, never before the parent's. */
void s3p_hist_full_record(s3p_record *rec, uint64_t parent, uint64_t parent_ms,
                          uint32_t page_size, uint32_t page_count,
                          const s3p_treeref *tree);





/* pages.c: SQLite pages of stored versions, read directly. */

/* Page contents by hash, shared by the versions a tool reads. */
typedef struct s3p_hpages {
  s3p_db *db;                /* store and error messages */
  s3p_hset slots;            /* page hash -> index in buf */
  unsigned char **buf;       /* page bytes (malloc'd each) */
  size_t n;                  /* pages held */
  size_t cap;                /* room in buf */
  unsigned char *zero;       /* an all-zero page (zero_size bytes) */
  uint32_t zero_size;        /* its size */
  uint64_t fetched;          /* page objects fetched */
  uint64_t bytes;            /* their stored bytes */
} s3p_hpages;

/* One version read through an s3p_hpages. */
typedef struct s3p_hside {
  s3p_db *db;                /* its handle (view and node cache) */
  s3p_hpages *pc;            /* the page cache */
  uint32_t spsz;             /* the store's page size (view.page_size) */
  uint32_t snpages;          /* store pages (view.page_count) */
  uint32_t psz;              /* SQLite's page size (page 1, offset 16):
                             ** SQLite page p is bytes (p-1)*psz.. */
  uint32_t usable;           /* usable bytes per page (page 1, offset 20) */
  uint32_t npages;           /* SQLite pages */
  int autovac;               /* 1: the file has a pointer map */
} s3p_hside;

/* A parsed b-tree page (pointers into the cached page). */
typedef struct s3p_btpage {
  uint32_t pgno;             /* page number */
  const unsigned char *data; /* page bytes */
  int type;                  /* 0x0D, 0x05, 0x0A, 0x02; 0: not a b-tree page */
  int interior;              /* 1 for interior pages */
  int table;                 /* 1 for table (rowid) b-trees */
  uint32_t ncell;            /* cells */
  const unsigned char *ptrs; /* cell pointer array */
  uint32_t right;            /* right-most child (interior pages) */
  uint32_t usable;           /* usable page size */
} s3p_btpage;

/* One cell of a b-tree page. */
typedef struct s3p_btcell {
  uint32_t child;            /* left child (interior pages) */
  int64_t rowid;             /* rowid (table leaf) or key (table interior) */
  uint32_t payload;          /* payload bytes in all */
  const unsigned char *local;/* the part on the page */
  uint32_t nlocal;           /* its length */
  uint32_t overflow;         /* first overflow page, 0 if none */
} s3p_btcell;

/* Pointer-map entry types (SQLite's), and the pointer-map pages' own. */
#define S3P_PTRMAP_ROOT 1
#define S3P_PTRMAP_FREE 2
#define S3P_PTRMAP_OVERFLOW1 3
#define S3P_PTRMAP_OVERFLOW2 4
#define S3P_PTRMAP_BTREE 5
#define S3P_PTRMAP_SELF 100

/* s3p_hpages_init makes pc an empty cache reporting errors to db.
** Returns SQLITE_OK. s3p_hpages_free releases it. */
int s3p_hpages_init(s3p_hpages *pc, s3p_db *db);
void s3p_hpages_free(s3p_hpages *pc);

/* s3p_hside_init prepares s to read the version of db's view through pc,
** reading page 1 (unless the version has no pages). Returns SQLITE_OK or
** an error. */
int s3p_hside_init(s3p_hside *s, s3p_db *db, s3p_hpages *pc);

/* s3p_hside_hash sets *out to the hash of store page pgno of s (zero:
** all-zero). Returns SQLITE_OK or an error. */
int s3p_hside_hash(s3p_hside *s, uint32_t pgno, s3p_hash *out);

/* s3p_hside_prefetch fetches the store pages holding SQLite pages
** pgnos[0..n) of s that are not cached, in batches of parallel GETs.
** Returns SQLITE_OK or an error. */
int s3p_hside_prefetch(s3p_hside *s, const uint32_t *pgnos, size_t n);

/* s3p_hside_page sets *out to the bytes of SQLite page pgno of s (psz
** bytes, cached; an all-zero page is a shared zero buffer). Returns
** SQLITE_OK, or SQLITE_CORRUPT for a page number outside the version, or
** an error. */
int s3p_hside_page(s3p_hside *s, uint32_t pgno, const unsigned char **out);

/* s3p_get4 reads the big-endian 32-bit number at p. */
uint32_t s3p_get4(const unsigned char *p);

/* s3p_varint decodes SQLite's varint at p (not reading at or past end)
** into *v. Returns its length (1..9) or 0 when it runs past end. */
int s3p_varint(const unsigned char *p, const unsigned char *end, uint64_t *v);

/* s3p_btpage_parse reads page pgno of s as a b-tree page into *bp
** (bp->type 0 when it is not one). Returns SQLITE_OK or an error. */
int s3p_btpage_parse(s3p_hside *s, uint32_t pgno, s3p_btpage *bp);

/* s3p_btpage_cell decodes cell i of bp into *c. Returns 0, or -1 when the
** cell does not fit in the page. */
int s3p_btpage_cell(const s3p_btpage *bp, uint32_t i, s3p_btcell *c);

/* s3p_btcell_payload sets *out to the whole payload of c (malloc'd,
** c->payload bytes), following its overflow chain in s. Returns SQLITE_OK
** or an error. */
int s3p_btcell_payload(s3p_hside *s, const s3p_btcell *c, unsigned char **out);

/* s3p_record_values decodes the SQLite record rec[0..n) into vals[0..max)
** (text and blobs point into rec). Returns the number of values, or -1
** when the record is malformed or has more than max. */
int s3p_record_values(const unsigned char *rec, uint32_t n, s3page_value *vals,
                      int max);

/* s3p_btree_find looks rowid up in the table b-tree at root of s, setting
** *leaf and *cell. Returns SQLITE_OK, SQLITE_NOTFOUND, or an error. */
int s3p_btree_find(s3p_hside *s, uint32_t root, int64_t rowid,
                   s3p_btpage *leaf, s3p_btcell *cell);

/* s3p_btree_leads_to sets *yes when the search for rowid from root of s
** passes through page target. Returns SQLITE_OK or an error. */
int s3p_btree_leads_to(s3p_hside *s, uint32_t root, int64_t rowid,
                       uint32_t target, int *yes);

/* s3p_ptrmap_get sets *type (S3P_PTRMAP_*, or 0 when the file has no
** pointer map or pgno has no entry) and *parent of page pgno of s.
** Returns SQLITE_OK or an error. */
int s3p_ptrmap_get(s3p_hside *s, uint32_t pgno, int *type, uint32_t *parent);

#endif
