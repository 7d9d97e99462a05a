/*
** head.h: the HEAD hint codec (the object HEAD).
**
** HEAD names a recent version so that opening a database needs no LIST: a
** reader starts from it and probes wal/ forward until a 404. It may lag
** behind the newest version (it is written after commits, without
** conditions) but never names a version that does not exist.
**
** Format 2 also names the objects a reader needs right after that
** version's record (the checkpoint root and top tree nodes, page 1, the
** schema's root pages and the tree nodes on their paths) and the
** version's checkpoint, so that they are fetched in the same round trip
** as the record. Every one is named by its content hash and verified on
** arrival: a stale or wrong hint costs bytes, never correctness.
**
** Format 1 (24 bytes): magic "S3PH", u8 format 1, 3 zero bytes, u64
** version, u64 XXH3-64 of the preceding 16 bytes.
** Format 2 (32 + 17n bytes): magic "S3PH", u8 format 2, u8 log2 of the
** page size (0: not stated), u16 n, u64
** version, u64 checkpoint version, n x (u8 kind, 16-byte hash), u64
** XXH3-64 of everything before it. docs/format.md has the details.
*/
#ifndef S3P_HEAD_H
#define S3P_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include "hash.h"

#define S3P_HEAD_V1_LEN 24           /* format 1: no hints */
#define S3P_HEAD_MAX_HINTS 64        /* most objects one HEAD names */
/* Size of a format-2 HEAD with n hints; the largest HEAD of all. */
#define S3P_HEAD_V2_LEN(n) (32 + 17 * (size_t)(n))
#define S3P_HEAD_MAXLEN S3P_HEAD_V2_LEN(S3P_HEAD_MAX_HINTS)

/* Kinds of hinted object. */
#define S3P_HINT_NODE 1              /* index/<hash>: a checkpoint-tree node */
#define S3P_HINT_PAGE 2              /* pages/<hash>: a page object */

typedef struct s3p_hint {
  uint8_t kind;                      /* S3P_HINT_NODE or S3P_HINT_PAGE */
  s3p_hash hash;                     /* the object's name, never zero */
} s3p_hint;

typedef struct s3p_head {
  uint64_t version;                  /* the version HEAD names */
  uint64_t ckpt_version;             /* its checkpoint (<= version); for a
                                     ** format-1 HEAD: version (unknown) */
  uint32_t page_size;                /* its page size, 0 if not stated */
  unsigned nhint;                    /* entries in hint */
  s3p_hint hint[S3P_HEAD_MAX_HINTS]; /* objects to fetch with the record */
} s3p_head;

/* s3p_head_encode writes the HEAD object of h (format 2; h->nhint at most
** S3P_HEAD_MAX_HINTS, no zero hash, ckpt_version <= version, page_size 0
** or a power of two from 512 to 65536) into out,
** which has S3P_HEAD_MAXLEN bytes of room. Returns its length. */
size_t s3p_head_encode(unsigned char *out, const s3p_head *h);

/* s3p_head_decode parses the HEAD object buf[0..len) of format 1 or 2 into
** *h. Returns S3P_OK, or S3P_ECORRUPT with *why set (why may be NULL). */
int s3p_head_decode(s3p_head *h, const unsigned char *buf, size_t len,
                    const char **why);

#endif
