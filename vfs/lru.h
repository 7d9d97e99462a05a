/*
** lru.h: a least-recently-used cache of immutable blobs keyed by content
** hash. Entries never go stale (a hash names one content forever), so the
** cache needs no invalidation, only a byte budget.
**
** Used for page bytes and decoded checkpoint-tree nodes. Not thread-safe:
** each database handle owns its caches.
*/
#ifndef S3P_LRU_H
#define S3P_LRU_H

#include <stddef.h>
#include <stdint.h>
#include "../index/hash.h"

typedef struct s3p_lru s3p_lru;

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
** Returns S3P_OK or S3P_ENOMEM. A value larger than the budget is not
** kept. */
int s3p_lru_put(s3p_lru *c, const s3p_hash *h, const void *val, size_t len,
                uint64_t stamp);

/* s3p_lru_count returns the number of entries (for tests). */
size_t s3p_lru_count(const s3p_lru *c);

#endif
