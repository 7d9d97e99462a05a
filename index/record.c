/*
** record.c: the commit-record codec (objects under wal/).
**
** Encoding and decoding share one validator (record_check) so that the
** encoder can never write a record the decoder would refuse. The decoder
** checks the length equation 96 + 20n == len before allocating anything,
** so a hostile count cannot make it allocate more than the input's size.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "page.h"
#include "record.h"
#include "tree.h"

#define RECORD_MAGIC "S3PR"
#define RECORD_FORMAT 1
#define RECORD_CHANGE_LEN 20

/* record_check returns NULL if the header fields of r are consistent, or a
** static reason. Changes are checked separately (record_check_changes). */
static const char *record_check(const s3p_record *r){
  if( r->version < 1 ) return "record version is zero";
  if( r->flags & ~S3P_RECORD_FULL ) return "record has unknown flags";
  if( (r->flags & S3P_RECORD_FULL) && r->ckpt_version != r->version ){
    return "full-image record without its own checkpoint";
  }
  if( r->parent != r->version - 1 ) return "record parent is not version - 1";
  if( !s3p_page_size_ok(r->page_size) ) return "record has an invalid page size";
  /* A commit cannot keep pages it says it cleared: after truncating at the
  ** mark it may only grow, so the mark is at most the new page count. */
  if( r->trunc_mark > r->page_count ) return "record truncation mark above page count";
  /* Version 0 is the empty database, so the first commit's parent has no
  ** pages and its mark (the parent's page count) must be 0. */
  if( r->version == 1 && r->trunc_mark != 0 ) return "first record has a truncation mark";
  if( r->nchange > S3P_RECORD_MAX_CHANGES ) return "record has too many changes";
  if( r->ckpt_version > r->version ) return "record checkpoint is newer than the record";
  if( r->ckpt_level > S3P_TREE_MAXLEVEL ) return "record checkpoint level above 3";
  if( s3p_hash_is_zero(&r->ckpt_root) && r->ckpt_level != 0 ){
    return "record has an empty checkpoint at a non-zero level";
  }
  if( r->ckpt_version == 0 && !s3p_hash_is_zero(&r->ckpt_root) ){
    return "record checkpoint 0 is not the empty map";
  }
  return 0;
}

/* record_check_change returns NULL if change c (preceded by page number
** prev, 0 for the first) is valid in a record of page_count pages. */
static const char *record_check_change(uint32_t prev, uint32_t pgno,
                                       uint32_t page_count){
  if( pgno == 0 ) return "record change for page 0";
  if( pgno <= prev ) return "record changes not strictly ascending";
  if( pgno > page_count ) return "record change above the page count";
  return 0;
}

/* s3p_record_encode serializes r into a malloc'd buffer *out of *outlen
** bytes. Returns S3P_OK, S3P_EINVAL if r would not decode (bad fields,
** unsorted or out-of-range changes), or S3P_ENOMEM. */
int s3p_record_encode(unsigned char **out, size_t *outlen, const s3p_record *r){
  if( out == 0 || outlen == 0 || r == 0 ) return S3P_EINVAL;
  *out = 0;
  *outlen = 0;
  if( record_check(r) != 0 ) return S3P_EINVAL;
  if( r->nchange > 0 && r->changes == 0 ) return S3P_EINVAL;
  uint32_t prev = 0;
  for(uint32_t i = 0; i < r->nchange; i++){
    if( record_check_change(prev, r->changes[i].pgno, r->page_count) ){
      return S3P_EINVAL;
    }
    prev = r->changes[i].pgno;
  }

  size_t body = S3P_RECORD_HDR + (size_t)RECORD_CHANGE_LEN * r->nchange;
  unsigned char *p = malloc(body + 8);
  if( p == 0 ) return S3P_ENOMEM;
  memset(p, 0, S3P_RECORD_HDR);
  memcpy(p, RECORD_MAGIC, 4);
  p[4] = RECORD_FORMAT;
  p[5] = r->flags;
  s3p_put64(p + 8, r->version);
  s3p_put64(p + 16, r->parent);
  s3p_put64(p + 24, r->time_ms);
  memcpy(p + 32, r->nonce, 16);
  s3p_put32(p + 48, r->page_size);
  s3p_put32(p + 52, r->page_count);
  s3p_put32(p + 56, r->trunc_mark);
  s3p_put32(p + 60, r->nchange);
  s3p_put64(p + 64, r->ckpt_version);
  p[72] = r->ckpt_level;
  memcpy(p + 80, r->ckpt_root.b, S3P_HASH_LEN);
  unsigned char *c = p + S3P_RECORD_HDR;
  for(uint32_t i = 0; i < r->nchange; i++, c += RECORD_CHANGE_LEN){
    s3p_put32(c, r->changes[i].pgno);
    memcpy(c + 4, r->changes[i].hash.b, S3P_HASH_LEN);
  }
  s3p_put64(p + body, s3p_checksum64(p, body));
  *out = p;
  *outlen = body + 8;
  return S3P_OK;
}

/* s3p_record_decode parses the commit record buf[0..len) into *r, with
** r->changes malloc'd (NULL when there are none). Returns S3P_OK;
** S3P_ECORRUPT with *why set; or S3P_ENOMEM. On failure *r is zeroed. */
int s3p_record_decode(s3p_record *r, const unsigned char *buf, size_t len,
                      const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  memset(r, 0, sizeof(*r));
  if( buf == 0 || len < S3P_RECORD_HDR + 8 ){
    *why = "record too short";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, RECORD_MAGIC, 4) != 0 ){
    *why = "bad record magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] != RECORD_FORMAT ){
    *why = "unknown record format version";
    return S3P_ECORRUPT;
  }
  if( buf[6] || buf[7] ){
    *why = "reserved record bytes not zero";
    return S3P_ECORRUPT;
  }
  for(int i = 73; i < 80; i++){
    if( buf[i] ){
      *why = "reserved record bytes not zero";
      return S3P_ECORRUPT;
    }
  }
  uint32_t n = s3p_get32(buf + 60);
  if( n > S3P_RECORD_MAX_CHANGES ){
    *why = "record has too many changes";
    return S3P_ECORRUPT;
  }
  /* 64-bit arithmetic: n <= 2^26 so this cannot overflow. */
  uint64_t want = (uint64_t)S3P_RECORD_HDR + (uint64_t)RECORD_CHANGE_LEN * n + 8;
  if( (uint64_t)len != want ){
    *why = "record length does not match its change count";
    return S3P_ECORRUPT;
  }
  size_t body = len - 8;
  if( s3p_get64(buf + body) != s3p_checksum64(buf, body) ){
    *why = "record checksum mismatch";
    return S3P_ECORRUPT;
  }

  s3p_record t;
  memset(&t, 0, sizeof(t));
  t.version = s3p_get64(buf + 8);
  t.parent = s3p_get64(buf + 16);
  t.time_ms = s3p_get64(buf + 24);
  t.flags = buf[5];
  memcpy(t.nonce, buf + 32, 16);
  t.page_size = s3p_get32(buf + 48);
  t.page_count = s3p_get32(buf + 52);
  t.trunc_mark = s3p_get32(buf + 56);
  t.nchange = n;
  t.ckpt_version = s3p_get64(buf + 64);
  t.ckpt_level = buf[72];
  memcpy(t.ckpt_root.b, buf + 80, S3P_HASH_LEN);
  const char *bad = record_check(&t);
  if( bad ){
    *why = bad;
    return S3P_ECORRUPT;
  }

  /* Check the changes before allocating, so a corrupt record costs no
  ** allocation at all. */
  const unsigned char *c = buf + S3P_RECORD_HDR;
  uint32_t prev = 0;
  for(uint32_t i = 0; i < n; i++, c += RECORD_CHANGE_LEN){
    uint32_t pgno = s3p_get32(c);
    bad = record_check_change(prev, pgno, t.page_count);
    if( bad ){
      *why = bad;
      return S3P_ECORRUPT;
    }
    prev = pgno;
  }
  if( n > 0 ){
    t.changes = malloc((size_t)n * sizeof(s3p_change));
    if( t.changes == 0 ) return S3P_ENOMEM;
    c = buf + S3P_RECORD_HDR;
    for(uint32_t i = 0; i < n; i++, c += RECORD_CHANGE_LEN){
      t.changes[i].pgno = s3p_get32(c);
      memcpy(t.changes[i].hash.b, c + 4, S3P_HASH_LEN);
    }
  }
  *r = t;
  return S3P_OK;
}

/* s3p_record_free releases r->changes and zeroes *r. */
void s3p_record_free(s3p_record *r){
  if( r == 0 ) return;
  free(r->changes);
  memset(r, 0, sizeof(*r));
}

/* s3p_record_key writes "wal/<version as 20 zero-padded digits>" into
** out[32]. 20 digits hold any u64, so keys sort in version order. */
void s3p_record_key(char *out, uint64_t version){
  snprintf(out, 32, "wal/%020" PRIu64, version);
}
