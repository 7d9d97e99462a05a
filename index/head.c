/*
** head.c: the HEAD hint codec (head.h, docs/format.md section 6).
** Format 1 is read only (older writers); format 2 is what is written.
*/
#include <assert.h>
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "head.h"

#define HEAD_MAGIC "S3PH"

size_t s3p_head_encode(unsigned char *out, const s3p_head *h){
  assert(h->nhint <= S3P_HEAD_MAX_HINTS);
  assert(h->ckpt_version <= h->version);
  memcpy(out, HEAD_MAGIC, 4);
  out[4] = 2;
  out[5] = 0;
  for(unsigned b = 9; b <= 16; b++){
    if(h->page_size == 1u << b) out[5] = (unsigned char)b;
  }
  assert(h->page_size == 0 || out[5] != 0);
  s3p_put16(out + 6, (uint16_t)h->nhint);
  s3p_put64(out + 8, h->version);
  s3p_put64(out + 16, h->ckpt_version);
  size_t off = 24;
  for(unsigned i = 0; i < h->nhint; i++){
    assert(!s3p_hash_is_zero(&h->hint[i].hash));
    out[off] = h->hint[i].kind;
    memcpy(out + off + 1, h->hint[i].hash.b, S3P_HASH_LEN);
    off += 17;
  }
  s3p_put64(out + off, s3p_checksum64(out, off));
  return off + 8;
}

/* head_decode_v1 parses a format-1 HEAD (24 bytes, checked by the caller
** for length and magic). Returns S3P_OK or S3P_ECORRUPT with *why set. */
static int head_decode_v1(s3p_head *h, const unsigned char *buf,
                          const char **why){
  if( buf[5] || buf[6] || buf[7] ){
    *why = "reserved HEAD bytes not zero";
    return S3P_ECORRUPT;
  }
  if( s3p_get64(buf + 16) != s3p_checksum64(buf, 16) ){
    *why = "HEAD checksum mismatch";
    return S3P_ECORRUPT;
  }
  h->version = s3p_get64(buf + 8);
  h->ckpt_version = h->version;
  h->nhint = 0;
  return S3P_OK;
}

int s3p_head_decode(s3p_head *h, const unsigned char *buf, size_t len,
                    const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  memset(h, 0, sizeof *h);
  if( buf == 0 || len < S3P_HEAD_V1_LEN ){
    *why = "HEAD is too short";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, HEAD_MAGIC, 4) != 0 ){
    *why = "bad HEAD magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] == 1 ){
    if( len != S3P_HEAD_V1_LEN ){
      *why = "HEAD has the wrong length";
      return S3P_ECORRUPT;
    }
    return head_decode_v1(h, buf, why);
  }
  if( buf[4] != 2 ){
    *why = "unknown HEAD format version";
    return S3P_ECORRUPT;
  }
  if( buf[5] != 0 && (buf[5] < 9 || buf[5] > 16) ){
    *why = "HEAD states an impossible page size";
    return S3P_ECORRUPT;
  }
  unsigned n = s3p_get16(buf + 6);
  if( n > S3P_HEAD_MAX_HINTS ){
    *why = "HEAD names too many objects";
    return S3P_ECORRUPT;
  }
  if( len != S3P_HEAD_V2_LEN(n) ){
    *why = "HEAD has the wrong length";
    return S3P_ECORRUPT;
  }
  size_t end = len - 8;
  if( s3p_get64(buf + end) != s3p_checksum64(buf, end) ){
    *why = "HEAD checksum mismatch";
    return S3P_ECORRUPT;
  }
  uint64_t v = s3p_get64(buf + 8), c = s3p_get64(buf + 16);
  if( c > v ){
    *why = "HEAD checkpoint is above its version";
    return S3P_ECORRUPT;
  }
  for(unsigned i = 0; i < n; i++){
    const unsigned char *e = buf + 24 + 17 * (size_t)i;
    if( e[0] != S3P_HINT_NODE && e[0] != S3P_HINT_PAGE ){
      *why = "HEAD names an object of unknown kind";
      memset(h, 0, sizeof *h);
      return S3P_ECORRUPT;
    }
    h->hint[i].kind = e[0];
    memcpy(h->hint[i].hash.b, e + 1, S3P_HASH_LEN);
    if( s3p_hash_is_zero(&h->hint[i].hash) ){
      *why = "HEAD names the zero hash";
      memset(h, 0, sizeof *h);
      return S3P_ECORRUPT;
    }
  }
  h->version = v;
  h->ckpt_version = c;
  h->page_size = buf[5] ? 1u << buf[5] : 0;
  h->nhint = n;
  return S3P_OK;
}
