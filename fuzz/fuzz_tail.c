/*
** fuzz_tail.c: libFuzzer target for the TAIL decoder.
**
** Input: one flag byte, then the object. Flag bit 0 asks the harness to
** rewrite the trailer checksum first, so that mutations reach the checks
** behind it. A successful decode must re-encode to the same bytes.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../index/bytes.h"
#include "../index/err.h"
#include "../index/hash.h"
#include "../index/tail.h"

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
  uint64_t v = 0;
  const char *why = 0;
  int rc = s3p_tail_decode(&v, buf, len, &why);
  if( rc == S3P_OK ){
    unsigned char again[S3P_TAIL_LEN];
    s3p_tail_encode(again, v);
    if( len != S3P_TAIL_LEN || memcmp(again, buf, len) != 0 ) abort();
  }else if( rc != S3P_ECORRUPT || why == 0 ){
    abort();
  }
  free(buf);
  return 0;
}
