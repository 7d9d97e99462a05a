/*
** diskcache.h: a persistent local cache of pages, keyed by content hash
** (URI option cache_dir=DIR). A page's hash names its content forever, so an
** entry never goes stale and several processes can share one directory;
** every entry is checked against its hash when read, so a damaged cache
** costs a download, never wrong data.
*/
#ifndef S3P_DISKCACHE_H
#define S3P_DISKCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "../index/hash.h"

typedef struct s3p_diskcache s3p_diskcache;

/* s3p_diskcache_open opens (creating it if needed) the cache directory
** dir, keeping it near max_bytes. Returns S3P_OK, or an S3P_E* code with
** *errmsg (malloc'd) naming the directory and the cause. */
int s3p_diskcache_open(s3p_diskcache **out, const char *dir, uint64_t max_bytes,
                       char **errmsg);

/* s3p_diskcache_close releases the handle (NULL is fine). */
void s3p_diskcache_close(s3p_diskcache *c);

/* s3p_diskcache_get copies the page named h (len bytes) into out. Returns
** 1 on a hit, 0 on a miss (also when the entry was damaged: it is then
** removed). */
int s3p_diskcache_get(s3p_diskcache *c, const s3p_hash *h, void *out,
                      size_t len);

/* s3p_diskcache_put stores the page named h, best effort (a full disk
** only means a smaller cache). */
void s3p_diskcache_put(s3p_diskcache *c, const s3p_hash *h, const void *data,
                       size_t len);

/* s3p_diskcache_trim removes the least recently used entries until the
** cache holds at most its budget. Returns the bytes it holds afterwards. */
uint64_t s3p_diskcache_trim(s3p_diskcache *c);

#endif
