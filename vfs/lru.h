/*
** lru.h: a least-recently-used cache of immutable blobs keyed by content
** hash. Entries never go stale (a hash names one content forever), so the
** cache needs no invalidation, only a byte budget.
**
** Used for page bytes and decoded checkpoint-tree nodes (the process-wide
** cache, pagecache.c, which wraps it with a lock) and for the facts a
** connection knows about the objects of its store (db.h: known). Not
** thread-safe by itself.
**
** The budget counts every entry's value plus S3P_LRU_OVERHEAD, what an entry
** costs besides its value (its header, the allocator's and the table's
** share), so that entries with small or empty values are bounded too.
*/
#ifndef S3P_LRU_H
#define S3P_LRU_H

#include <stddef.h>
#include <stdint.h>
#include "../index/hash.h"

typedef struct s3p_lru s3p_lru;

/* Bytes an entry is counted for besides its value. */
#define S3P_LRU_OVERHEAD 96

/* s3p_lru_new returns a cache holding at most budget bytes of values, or
** NULL when out of memory. */
s3p_lru *s3p_lru_new(size_t budget);

/* s3p_lru_free releases the cache and every value in it (NULL is fine). */
void s3p_lru_free(s3p_lru *c);

/* s3p_lru_get returns the value stored under h and marks it recently used,
** or NULL. *len gets its size and *stamp (if not NULL) the stamp given when
** it was stored. The pointer stays valid until the next put or free. */
const void *s3p_lru_get(s3p_lru *c, const s3p_hash *h, size_t *len,
                        uint64_t *stamp);

/* s3p_lru_put copies len bytes under h (replacing an older value, keeping
** the newer stamp) and evicts least-recently-used entries over budget.
** val may be NULL when len is 0. Returns S3P_OK or S3P_ENOMEM. A value
** larger than the budget is not kept. */
int s3p_lru_put(s3p_lru *c, const s3p_hash *h, const void *val, size_t len,
                uint64_t stamp);

/* s3p_lru_stamp raises the stamp of the entry under h to stamp (if that is
** newer) and marks it recently used. Returns 1 if there is such an entry,
** else 0 (nothing is added). */
int s3p_lru_stamp(s3p_lru *c, const s3p_hash *h, uint64_t stamp);

/* s3p_lru_has returns 1 if an entry is stored under h, else 0, without
** changing its recency. */
int s3p_lru_has(const s3p_lru *c, const s3p_hash *h);

/* s3p_lru_set_budget changes the budget to budget bytes, evicting
** least-recently-used entries over it. */
void s3p_lru_set_budget(s3p_lru *c, size_t budget);

/* s3p_lru_count returns the number of entries. */
size_t s3p_lru_count(const s3p_lru *c);

/* s3p_lru_bytes returns the bytes counted against the budget: the values
** plus S3P_LRU_OVERHEAD per entry. */
size_t s3p_lru_bytes(const s3p_lru *c);

#endif
