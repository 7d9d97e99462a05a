/*
** prefetch.h: b-tree-aware prefetch of one connection (one s3p_db).
**
** The read path (db.c) tells this module about every main-database page
** it delivers to SQLite, and asks it, on every page miss, which more pages
** to fetch in the same batch. From the pages SQLite reads it learns the
** shape of the b-trees (index/btree.h):
**
**   node prefetch   when an interior page is delivered, the checkpoint-
**                   tree nodes covering its children are fetched at once
**                   (one batch per missing tree level, at most
**                   S3P_PREFETCH_NODES nodes), so that reading a child
**                   costs one round trip, not two;
**   scan prefetch   when SQLite reads three neighbouring children of one
**                   interior page in order (up or down), each right after
**                   the one before or the end of its subtree, or while
**                   PRAGMA integrity_check
**                   or quick_check runs, the pages SQLite will read next
**                   (the rest of that subtree, then the rest of the
**                   subtrees of its ancestors, overflow chains included,
**                   in SQLite's order) ride along with each miss, up to
**                   the store's concurrency per batch.
**
** Everything here is advisory: a prefetched page or node that fails to
** arrive or to verify is simply not cached, and no error is recorded; the
** read of that page, if SQLite makes it, reports it. State is per
** connection and used under SQLite's connection mutex.
*/
#ifndef S3P_PREFETCH_H
#define S3P_PREFETCH_H

#include <stddef.h>
#include <stdint.h>
#include "../index/hash.h"

struct s3p_db;
typedef struct s3p_prefetch s3p_prefetch;

/* Most tree nodes fetched ahead for the children of one interior page
** (about 4.4 KB each): an interior page whose children need more is not
** node-prefetched (its children cost two round trips, as without
** prefetch), which bounds the bytes a point query can pay for. */
#define S3P_PREFETCH_NODES 64

/* Pages fetched ahead with the first miss after a scan is detected; each
** later batch doubles it, up to the store's concurrency less one. */
#define S3P_PREFETCH_RAMP 8

/* Counters, for PRAGMA s3page_prefetch and tests. */
typedef struct s3p_prefetch_stats {
  uint64_t delivered;        /* pages the read path gave SQLite */
  uint64_t pages;            /* pages fetched ahead by scan prefetch */
  uint64_t used;             /* of those, pages SQLite then read */
  uint64_t nodes;            /* tree nodes fetched ahead */
  uint64_t node_batches;     /* batches that fetched them */
  uint64_t scans;            /* scans detected (or pragma scans begun) */
  uint64_t page_gets;        /* page GETs of the read path: misses, pages
                             ** fetched ahead, sequential read-ahead */
} s3p_prefetch_stats;

/* s3p_prefetch_new returns fresh prefetch state, or NULL when out of
** memory (the connection then reads without prefetch). */
s3p_prefetch *s3p_prefetch_new(void);

/* s3p_prefetch_free releases pf (NULL is fine). */
void s3p_prefetch_free(s3p_prefetch *pf);

/* s3p_prefetch_page is told that page pgno of the view was delivered to
** SQLite as page[0..page_size). It may fetch tree nodes (node prefetch)
** and extends the scan frontier. Never fails. */
void s3p_prefetch_page(struct s3p_db *db, uint32_t pgno,
                       const unsigned char *page);

/* s3p_prefetch_more is asked on a miss of page pgno (content hash want):
** it sets pg[i], h[i] (i < return value <= cap) to pages to fetch in the
** same batch: distinct, not cached, not want, not the zero page. It may
** fetch tree nodes first (one batch per missing level). Returns 0 when no
** scan is under way, and ends a scan that did not foresee this miss. */
size_t s3p_prefetch_more(struct s3p_db *db, uint32_t pgno,
                         const s3p_hash *want, uint32_t *pg, s3p_hash *h,
                         size_t cap);

/* s3p_prefetch_arrived is told that page pgno, fetched ahead in a miss's
** batch, arrived and verified as page[0..page_size): the pages it refers
** to go on the frontier at once, so that the next batch can hold them
** (the children of interior pages, the overflow pages of leaves, as they
** arrive). Never fails. */
void s3p_prefetch_arrived(struct s3p_db *db, uint32_t pgno,
                          const unsigned char *page);

/* s3p_test_small_map makes a page map of at most leaves tree leaves
** "small" for s3p_prefetch_ride's first rule, instead of
** S3P_PREFETCH_NODES (0: back to that), so that tests can try the second
** rule on a small database. Thread-safe. Returns the previous bound. Tests
** only. */
size_t s3p_test_small_map(size_t leaves);

/* s3p_prefetch_ride is asked, on a miss of page pgno, for checkpoint-tree
** leaves to fetch in the same batch, a batch being paid for anyway; it sets
** h[0..return value) to leaves not cached (at most cap), counted as one
** node batch, and the read path keeps those that verify. Two rules:
**   - the whole map is small (at most S3P_PREFETCH_NODES leaves, one
**     level below the root) and not warm for this version: every leaf not
**     cached, once; this is the fetch node prefetch would make when the
**     first interior page arrives, made one round trip earlier;
**   - else, if pgno is likely an interior page (a child of an interior
**     page SQLite read, above the depth where that b-tree's leaves were
**     seen, or no leaf seen yet): the two leaves beside pgno's own. A
**     b-tree built in key order (import, VACUUM, ordered inserts) keeps a
**     page's children within a leaf of it (for the 1 GB benchmark
**     database: 717 of its 722 interior pages), so the next level's page
**     costs its own round trip only, not its tree leaf's before it.
** Returns 0 when there is nothing to ride along. */
size_t s3p_prefetch_ride(struct s3p_db *db, uint32_t pgno, s3p_hash *h,
                         size_t cap);

/* s3p_prefetch_fetched is told that the read path sent a batch of n page
** GETs (counted in page_gets). */
void s3p_prefetch_fetched(struct s3p_db *db, size_t n);

/* s3p_prefetch_width returns how many pages one batch may hold: the
** store's concurrency (the connection's concurrency= option, else 64). */
size_t s3p_prefetch_width(const struct s3p_db *db);

/* s3p_prefetch_pragma is told of PRAGMA name (SQLITE_FCNTL_PRAGMA):
** integrity_check and quick_check arm the pragma scan, which lasts until a
** transaction that read a page outside the schema's b-tree ends. */
void s3p_prefetch_pragma(struct s3p_db *db, const char *name);

/* s3p_prefetch_end is told that the connection's transaction ended (its
** lock dropped to SHARED or NONE): a scan ends with it. */
void s3p_prefetch_end(struct s3p_db *db);

/* s3p_prefetch_stats_get copies the counters into *out (zeros without
** prefetch state); reset, if set, zeroes them afterwards. */
void s3p_prefetch_stats_get(struct s3p_db *db, s3p_prefetch_stats *out,
                            int reset);

#endif
