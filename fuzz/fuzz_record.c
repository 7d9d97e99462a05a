/*
** fuzz_record.c: libFuzzer target for the commit-record decoder.
**
** Input: one flag byte, then the object. Flag bit 0 asks the harness to
** rewrite the trailer checksum first, so that mutations reach the field
** checks behind it. A successful decode must satisfy the documented
** invariants and re-encode to exactly the same bytes.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../index/bytes.h"
#include "../index/err.h"
#include "../index/hash.h"
#include "../index/record.h"

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
  s3p_record r;
  const char *why = 0;
  int rc = s3p_record_decode(&r, buf, len, &why);
  if( rc == S3P_OK ){
    if( r.version < 1 || r.parent != r.version - 1 ) abort();
    if( r.ckpt_version > r.version || r.ckpt_level > 3 ) abort();
    for(uint32_t i = 0; i < r.nchange; i++){
      if( r.changes[i].pgno < 1 || r.changes[i].pgno > r.page_count ) abort();
      if( i > 0 && r.changes[i].pgno <= r.changes[i - 1].pgno ) abort();
    }
    unsigned char *again = 0;
    size_t alen = 0;
    if( s3p_record_encode(&again, &alen, &r) != S3P_OK ) abort();
    if( alen != len || memcmp(again, buf, len) != 0 ) abort();
    free(again);
    s3p_record_free(&r);
  }else if( rc == S3P_ECORRUPT ){
    if( why == 0 || r.changes != 0 ) abort();
  }else if( rc != S3P_ENOMEM ){
    abort();
  }
  free(buf);
  return 0;
}
