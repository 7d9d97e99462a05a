/*
** hash.h: content hashes that name page objects and checkpoint-tree nodes.
**
** A hash is XXH3-128 of the object's uncompressed content. The all-zero hash
** is reserved: it stands for an all-zero page (never stored) or an empty
** subtree. Object keys carry the algorithm name so it can change later:
**     pages/xxh128-<32 lowercase hex>
**     index/xxh128-<32 lowercase hex>
*/
#ifndef S3P_HASH_H
#define S3P_HASH_H

#include <stddef.h>
#include <stdint.h>

#define S3P_HASH_LEN 16          /* bytes in a content hash */
#define S3P_HASH_HEXLEN 32       /* hex digits in a content hash */
#define S3P_HASH_PREFIX "xxh128-" /* algorithm tag in object names */
/* Longest key built by s3p_hash_key, including the terminating NUL. */
#define S3P_KEY_MAX 64

typedef struct s3p_hash {
  unsigned char b[S3P_HASH_LEN]; /* big-endian XXH3-128 (high 64 bits first) */
} s3p_hash;

/* s3p_hash_page sets *out to the XXH3-128 of data[0..n), or to the zero
** hash when every byte is zero (so zero pages need no object). */
void s3p_hash_page(s3p_hash *out, const void *data, size_t n);

/* s3p_hash_bytes sets *out to the XXH3-128 of data[0..n), with no zero-page
** special case (used for tree nodes). */
void s3p_hash_bytes(s3p_hash *out, const void *data, size_t n);

/* s3p_hash_is_zero returns 1 if h is the reserved zero hash. */
int s3p_hash_is_zero(const s3p_hash *h);

/* s3p_hash_eq returns 1 if a and b are equal. */
int s3p_hash_eq(const s3p_hash *a, const s3p_hash *b);

/* s3p_hash_hex writes 32 hex digits and a NUL into out[33]. */
void s3p_hash_hex(char *out, const s3p_hash *h);

/* s3p_hash_from_hex parses 32 hex digits; returns S3P_OK or S3P_EINVAL. */
int s3p_hash_from_hex(s3p_hash *out, const char *hex);

/* s3p_hash_key writes "<dir>/xxh128-<hex>" into out[S3P_KEY_MAX]; dir is
** "pages" or "index". */
void s3p_hash_key(char *out, const char *dir, const s3p_hash *h);

/* s3p_checksum64 returns XXH3-64 of data[0..n): the trailer checksum that
** every stored object carries. */
uint64_t s3p_checksum64(const void *data, size_t n);

#endif
