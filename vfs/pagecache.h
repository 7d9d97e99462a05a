/*
** pagecache.h: the process-wide memory cache of page bytes and decoded
** checkpoint-tree nodes, shared by every connection and every database of
** the process.
**
** Sharing is safe because an object is named by the hash of its content
** (verified when it is fetched): the same name means the same bytes in
** every store. What is NOT shared is knowledge about a store, such as
** "store A holds page object X": that fact is kept per connection
** (db.h: known), since a page present in store A need not be in store B.
**
** One limit for the whole process: the largest cache_mb (S3PAGE_CACHE_MB)
** of the connections opened since the cache was created. Seven
** eighths go to pages, one eighth to tree nodes. The cache exists while at
** least one connection is open and is freed when the last one closes.
**
** Thread-safe: one mutex, held only for a table lookup and a copy. Values
** are copied out under the lock, so no caller ever holds a pointer into an
** entry that another thread may evict.
*/
#ifndef S3P_PAGECACHE_H
#define S3P_PAGECACHE_H

#include <stddef.h>
#include <stdint.h>
#include "../index/hash.h"

/* What an entry holds: two namespaces, since a page and a node could in
** principle have the same content hash but are cached in different forms. */
#define S3P_PC_PAGE 0        /* page bytes */
#define S3P_PC_NODE 1        /* a decoded s3p_node */

/* Counters of the process cache (PRAGMA s3page_cache). */
typedef struct s3p_pagecache_info {
  uint64_t limit;            /* the limit in bytes (0: no cache now) */
  uint64_t users;            /* connections holding the cache */
  uint64_t page_bytes;       /* bytes counted for pages (s3p_lru_bytes) */
  uint64_t page_entries;     /* pages held */
  uint64_t node_bytes;       /* bytes counted for tree nodes */
  uint64_t node_entries;     /* tree nodes held */
  uint64_t hits;             /* lookups that found their entry */
  uint64_t misses;           /* lookups that did not */
} s3p_pagecache_info;

/* s3p_pagecache_acquire registers a user of the cache (a connection),
** creating the cache if there is none, and raises the limit to limit bytes
** if that is more. Returns S3P_OK or S3P_ENOMEM. Every successful call is
** paired with one s3p_pagecache_release. */
int s3p_pagecache_acquire(size_t limit);

/* s3p_pagecache_release unregisters a user; the last one frees the cache. */
void s3p_pagecache_release(void);

/* s3p_pagecache_get copies the entry of kind under h into out if it holds
** exactly len bytes, and marks it recently used. Returns 1 on a hit, else
** 0. */
int s3p_pagecache_get(int kind, const s3p_hash *h, void *out, size_t len);

/* s3p_pagecache_has returns 1 if an entry of kind under h is held (without
** copying it or changing its recency), else 0. */
int s3p_pagecache_has(int kind, const s3p_hash *h);

/* s3p_pagecache_put copies len bytes of val under h, evicting the least
** recently used entries of that kind over their share of the limit. Best
** effort: out of memory only means a smaller cache. */
void s3p_pagecache_put(int kind, const s3p_hash *h, const void *val,
                       size_t len);

/* s3p_pagecache_page_budget returns the bytes pages may take now (0 when
** there is no cache). */
size_t s3p_pagecache_page_budget(void);

/* s3p_pagecache_clear drops every entry (the counters stay). Safe at any
** time: it only costs downloads. Tests use it to make a connection act as
** if it ran in another process. */
void s3p_pagecache_clear(void);

/* s3p_pagecache_info_get fills *out with the cache's counters. */
void s3p_pagecache_info_get(s3p_pagecache_info *out);

#endif
