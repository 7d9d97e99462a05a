/*
** fuzz_page.c: libFuzzer target for the page-object decoder.
**
** Input: one flag byte, then the object. Flag bits 0-2 pick the page size
** the caller expects (512 << k, k = 0..7); bit 3 asks the harness to
** rewrite the trailer checksum first. The harness computes the expected
** hash on its own (the raw payload, or zlib's uncompress of it) so that a
** fuzzed object can get through every check; its result is also an oracle
** for the decoder's. A decoded page must re-encode and decode back to the
** same bytes.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../index/bytes.h"
#include "../index/err.h"
#include "../index/hash.h"
#include "../index/page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* harness_expect sets *h to the hash the object buf[0..len) would have if
** it were valid for page size ps, and returns 1 with the page in ref; or
** returns 0 when the harness cannot tell. */
static int harness_expect(s3p_hash *h, unsigned char *ref, uint32_t ps,
                          const unsigned char *buf, size_t len){
  if( len < S3P_PAGE_OVERHEAD ) return 0;
  size_t n = len - S3P_PAGE_OVERHEAD;
  if( buf[5] == 0 ){
    if( n != ps ) return 0;
    memcpy(ref, buf + S3P_PAGE_HDR, ps);
  }else{
    uLongf out = ps;
    if( uncompress(ref, &out, buf + S3P_PAGE_HDR, n) != Z_OK || out != ps ) return 0;
  }
  s3p_hash_page(h, ref, ps);
  return 1;
}

/* LLVMFuzzerTestOneInput decodes one input; aborts on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  if( size < 1 ) return 0;
  int flags = data[0];
  uint32_t ps = 512u << (flags & 7);
  size_t len = size - 1;
  unsigned char *buf = malloc(len ? len : 1);
  unsigned char *out = malloc(ps), *ref = malloc(ps), *back = malloc(ps);
  if( !buf || !out || !ref || !back ) goto done;
  memcpy(buf, data + 1, len);
  if( (flags & 8) && len >= 8 ){
    s3p_put64(buf + len - 8, s3p_checksum64(buf, len - 8));
  }
  s3p_hash expect;
  int known = harness_expect(&expect, ref, ps, buf, len);
  if( !known ) memset(&expect, 0x5A, sizeof(expect));
  const char *why = 0;
  int rc = s3p_page_decode(out, ps, &expect, buf, len, &why);
  if( rc == S3P_OK ){
    if( !known || memcmp(out, ref, ps) != 0 ) abort();
    unsigned char *enc = 0;
    size_t elen = 0;
    if( s3p_page_encode(&enc, &elen, out, ps) != S3P_OK ) abort();
    if( s3p_page_decode(back, ps, &expect, enc, elen, &why) != S3P_OK ) abort();
    if( memcmp(back, out, ps) != 0 ) abort();
    free(enc);
  }else if( rc == S3P_ECORRUPT ){
    if( why == 0 ) abort();
  }else if( rc != S3P_ENOMEM ){
    abort();
  }
done:
  free(buf);
  free(out);
  free(ref);
  free(back);
  return 0;
}
