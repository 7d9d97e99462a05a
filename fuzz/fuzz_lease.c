/*
** fuzz_lease.c: libFuzzer target for the decoder of a bulk writer's
** in-progress marker (lease/<name>).
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
#include "../index/lease.h"

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
  uint64_t s = 0, r = 0;
  const char *why = 0;
  int rc = s3p_lease_decode(&s, &r, buf, len, &why);
  if( rc == S3P_OK ){
    unsigned char again[S3P_LEASE_LEN];
    if( s == 0 || r < s ) abort();
    s3p_lease_encode(again, s, r);
    if( len != S3P_LEASE_LEN || memcmp(again, buf, len) != 0 ) abort();
  }else if( rc != S3P_ECORRUPT || why == 0 ){
    abort();
  }
  /* The name check must not read past a short or odd name. */
  char key[48];
  size_t n = len < sizeof key - 1 ? len : sizeof key - 1;
  memcpy(key, buf, n);
  key[n] = 0;
  int ok = s3p_lease_key_ok(key);
  if( ok && (strlen(key) != 6 + S3P_LEASE_NAME_HEX
             || memcmp(key, "lease/", 6) != 0) ){
    abort();
  }
  free(buf);
  return 0;
}
