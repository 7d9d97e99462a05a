/*
** hash.c: XXH3-128 content hashes, their hex form and object keys, and the
** XXH3-64 trailer checksum.
**
** A hash is stored big-endian (XXH128_canonicalFromHash: high 64 bits
** first) so that its hex form reads the same as xxhsum's.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "err.h"
#include "hash.h"

/* hash_all_zero returns 1 if every byte of data[0..n) is zero. */
static int hash_all_zero(const unsigned char *p, size_t n){
  /* Compare word-sized chunks first: pages are large and usually not zero,
  ** so the loop exits early in the common case. */
  while( n >= 8 ){
    uint64_t w;
    memcpy(&w, p, 8);
    if( w ) return 0;
    p += 8; n -= 8;
  }
  while( n-- ){
    if( *p++ ) return 0;
  }
  return 1;
}

/* s3p_hash_bytes sets *out to the XXH3-128 of data[0..n). */
void s3p_hash_bytes(s3p_hash *out, const void *data, size_t n){
  XXH128_hash_t h;
  XXH128_canonical_t c;
  assert( out && (data || n == 0) );
  h = XXH3_128bits(data, n);
  XXH128_canonicalFromHash(&c, h);
  assert( sizeof(c.digest) == S3P_HASH_LEN );
  memcpy(out->b, c.digest, S3P_HASH_LEN);
}

/* s3p_hash_page sets *out to the XXH3-128 of data[0..n), or to the zero
** hash when the page is all zeros. */
void s3p_hash_page(s3p_hash *out, const void *data, size_t n){
  assert( out && (data || n == 0) );
  if( hash_all_zero(data, n) ){
    memset(out->b, 0, S3P_HASH_LEN);
  }else{
    s3p_hash_bytes(out, data, n);
  }
}

/* s3p_hash_is_zero returns 1 if h is the reserved zero hash, else 0. */
int s3p_hash_is_zero(const s3p_hash *h){
  return hash_all_zero(h->b, S3P_HASH_LEN);
}

/* s3p_hash_eq returns 1 if a and b are the same hash, else 0. */
int s3p_hash_eq(const s3p_hash *a, const s3p_hash *b){
  return memcmp(a->b, b->b, S3P_HASH_LEN) == 0;
}

/* s3p_hash_hex writes the 32 lowercase hex digits of h and a NUL into
** out[33]. */
void s3p_hash_hex(char *out, const s3p_hash *h){
  static const char digits[] = "0123456789abcdef";
  for(int i = 0; i < S3P_HASH_LEN; i++){
    out[2 * i] = digits[h->b[i] >> 4];
    out[2 * i + 1] = digits[h->b[i] & 15];
  }
  out[S3P_HASH_HEXLEN] = 0;
}

/* hash_hexval returns the value of lowercase hex digit c, or -1. Upper case
** is refused: object names are canonical, so "ABC" is not one of ours. */
static int hash_hexval(char c){
  if( c >= '0' && c <= '9' ) return c - '0';
  if( c >= 'a' && c <= 'f' ) return c - 'a' + 10;
  return -1;
}

/* s3p_hash_from_hex parses the first 32 characters of hex, which must all
** be lowercase hex digits (reading stops at the first bad one, so a short
** NUL-terminated string is never over-read). Characters after the 32nd are
** not examined. Returns S3P_OK, or S3P_EINVAL leaving *out unchanged. */
int s3p_hash_from_hex(s3p_hash *out, const char *hex){
  s3p_hash h;
  if( hex == 0 ) return S3P_EINVAL;
  for(int i = 0; i < S3P_HASH_LEN; i++){
    int hi = hash_hexval(hex[2 * i]);
    if( hi < 0 ) return S3P_EINVAL;
    int lo = hash_hexval(hex[2 * i + 1]);
    if( lo < 0 ) return S3P_EINVAL;
    h.b[i] = (unsigned char)(hi << 4 | lo);
  }
  *out = h;
  return S3P_OK;
}

/* s3p_hash_key writes "<dir>/xxh128-<hex>" into out[S3P_KEY_MAX]. A dir
** too long to fit is truncated (never the case for "pages" and "index"). */
void s3p_hash_key(char *out, const char *dir, const s3p_hash *h){
  char hex[S3P_HASH_HEXLEN + 1];
  s3p_hash_hex(hex, h);
  snprintf(out, S3P_KEY_MAX, "%s/" S3P_HASH_PREFIX "%s", dir, hex);
}

/* s3p_checksum64 returns the XXH3-64 of data[0..n). */
uint64_t s3p_checksum64(const void *data, size_t n){
  assert( data || n == 0 );
  return (uint64_t)XXH3_64bits(data, n);
}
