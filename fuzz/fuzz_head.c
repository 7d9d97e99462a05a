/*
** fuzz_head.c: libFuzzer target for the HEAD decoder.
**
** Input: one flag byte, then the object. Flag bit 0 asks the harness to
** rewrite the trailer checksum first, so that mutations reach the checks
** behind it. A successful decode of format 2 must re-encode to the same
** bytes; of format 1 (read only) it must say no hints and no checkpoint
** below its version.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../index/bytes.h"
#include "../index/err.h"
#include "../index/hash.h"
#include "../index/head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput decodes one input; aborts on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  if( size < 1 ) return 0;
  int flags = data[0];
  size_t len = size - 1;
  unsigned char *buf = malloc(len ? len : 1);
  if( buf == 0 ) return 0;
  memcpy(buf, data + 1, len);
  if( (flags & 1) && len >= 8 ){
    s3p_put64(buf + len - 8, s3p_checksum64(buf, len - 8));
  }
  s3p_head h;
  const char *why = 0;
  int rc = s3p_head_decode(&h, buf, len, &why);
  if( rc == S3P_OK ){
    if( h.nhint > S3P_HEAD_MAX_HINTS || h.ckpt_version > h.version ) abort();
    if( buf[4] == 1 ){
      if( len != S3P_HEAD_V1_LEN || h.nhint || h.ckpt_version != h.version ){
        abort();
      }
    }else{
      unsigned char again[S3P_HEAD_MAXLEN];
      size_t n = s3p_head_encode(again, &h);
      if( n != len || memcmp(again, buf, len) != 0 ) abort();
    }
  }else if( rc != S3P_ECORRUPT || why == 0 ){
    abort();
  }
  free(buf);
  return 0;
}
