/*
** record.h: the commit-record codec (objects under wal/).
**
** Commit record N is the object wal/<N as 20 decimal digits>, created with
** create-if-absent by the one writer that wins version N. It lists the pages
** the commit changed and points at the newest checkpoint of the page map.
**
** Layout (all integers little-endian):
**     0  4  magic "S3PR"
**     4  1  format version (1)
**     5  1  flags: bit 0 S3P_RECORD_FULL (see below); other bits zero
**     6  2  reserved, zero
**     8  8  version N (>= 1)
**    16  8  parent version (N - 1)
**    24  8  commit time, Unix milliseconds; never less than the parent's
**    32 16  writer nonce: random per commit attempt, tells a writer whether
**           a record it finds at N after an ambiguous failure is its own
**    48  4  page size, a power of two in 512..65536
**    52  4  page count after the commit
**    56  4  truncation mark: pages above it (1-based) were cleared by this
**           commit before its changes apply; == parent's page count when the
**           commit truncated nothing
**    60  4  number of changes n
**    64  8  checkpoint version C (0: the empty map)
**    72  1  checkpoint root level (0..3)
**    73  7  reserved, zero
**    80 16  checkpoint root hash (zero: empty map)
**    96 20n changes: u32 page number (1-based, strictly ascending,
**           <= page count), then 16-byte page hash (zero: all-zero page)
**  96+20n 8 XXH3-64 of bytes [0, 96+20n)
**
** The state at N is: the checkpoint tree of version C, then for each record
** C+1..N in order: drop pages above its truncation mark, apply its changes.
** When C == N the tree already is the state at N.
**
** A record with flag S3P_RECORD_FULL is a full image (written by import):
** C == N, its checkpoint is the whole state, and its change list is empty
** or partial (informational only), so a huge import keeps a small record.
*/
#ifndef S3P_RECORD_H
#define S3P_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "hash.h"

#define S3P_RECORD_HDR 96
#define S3P_RECORD_MAX_CHANGES (1u << 26) /* decode limit: 1.3 GB record */
#define S3P_VERSION_DIGITS 20
#define S3P_RECORD_FULL 0x01 /* flags: full image, checkpoint == state */

typedef struct s3p_change {
  uint32_t pgno;              /* 1-based page number */
  s3p_hash hash;              /* content hash; zero for an all-zero page */
} s3p_change;

typedef struct s3p_record {
  uint64_t version;           /* N */
  uint64_t parent;            /* N - 1 */
  uint64_t time_ms;           /* commit time, Unix ms */
  uint8_t flags;              /* S3P_RECORD_* bits */
  unsigned char nonce[16];    /* writer nonce */
  uint32_t page_size;         /* bytes per page */
  uint32_t page_count;        /* pages after the commit */
  uint32_t trunc_mark;        /* pages above this were cleared first */
  uint64_t ckpt_version;      /* newest checkpoint at or below N */
  uint8_t ckpt_level;         /* level of the checkpoint root node */
  s3p_hash ckpt_root;         /* checkpoint root node, zero if empty */
  uint32_t nchange;           /* entries in changes */
  s3p_change *changes;        /* sorted by pgno; owned (malloc) */
} s3p_record;

/* s3p_record_encode serializes r into a malloc'd buffer. Returns S3P_OK,
** S3P_EINVAL (unsorted changes, bad sizes) or S3P_ENOMEM. */
int s3p_record_encode(unsigned char **out, size_t *outlen, const s3p_record *r);

/* s3p_record_decode parses buf[0..len) into *r (r->changes malloc'd; free
** with s3p_record_free). Checks magic, version, checksum, sizes, ordering.
** Returns S3P_OK, S3P_ENOMEM or S3P_ECORRUPT with *why set. */
int s3p_record_decode(s3p_record *r, const unsigned char *buf, size_t len,
                      const char **why);

/* s3p_record_free releases r->changes and zeroes *r. */
void s3p_record_free(s3p_record *r);

/* s3p_record_key writes "wal/<20 digits>" into out[32]. */
void s3p_record_key(char *out, uint64_t version);

#endif
