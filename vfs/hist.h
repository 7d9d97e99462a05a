/*
** hist.h: internals shared by the history operations (hist_*.c): import,
** export, log, checkpoint, revert, verify and gc, plus the TAIL hint that bounds
** the history from below after gc (see docs/history.md).
**
**   hist_common.c     opening, a hash set, batched tree walks, the page 1
**                     stamp of versions made outside SQLite
**   hist_tail.c       TAIL: reading, writing, finding the oldest version
**   hist_import.c     s3page_import          hist_export.c  s3page_export
**   hist_log.c        s3page_log             hist_verify.c  s3page_verify
**   hist_checkpoint.c s3page_checkpoint      hist_gc.c      s3page_gc
**   hist_revert.c     s3page_revert
**
** Functions return SQLite result codes and record their messages in the
** s3p_db (s3p_db_error), like the rest of vfs/.
*/
#ifndef S3P_HIST_H
#define S3P_HIST_H

#include <stddef.h>
#include <stdint.h>
#include "db.h"
#include "upload.h"
#include "s3page.h"

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


/* hist_tail.c */

/* s3p_version_floor sets *floor to the version named by TAIL (1 when
** there is none or it is unreadable; a damaged TAIL is logged). One GET. */
int s3p_version_floor(s3p_db *db, uint64_t *floor);

/* s3p_version_oldest sets *oldest to the oldest version kept, given the
** newest (latest, which exists): TAIL if its record exists, else the
** first existing record above it, found by bisection. 0 when latest is 0.
** Returns SQLITE_OK or an error. */
int s3p_version_oldest(s3p_db *db, uint64_t latest, uint64_t *oldest);


/* s3p_tail_write writes TAIL naming version. Returns SQLITE_OK or an
** error. */
int s3p_tail_write(s3p_db *db, uint64_t version);

#endif
