/*
** tail.c: the TAIL hint codec. TAIL is 24 bytes: magic "S3PT", format
** version 1, three zero bytes, the u64 oldest kept version (>= 1), and the
** XXH3-64 of the first 16 bytes.
*/
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "tail.h"

#define TAIL_MAGIC "S3PT"
#define TAIL_FORMAT 1

/* s3p_tail_encode writes the 24-byte TAIL object naming version into out. */
void s3p_tail_encode(unsigned char out[S3P_TAIL_LEN], uint64_t version){
  memcpy(out, TAIL_MAGIC, 4);
  out[4] = TAIL_FORMAT;
  out[5] = out[6] = out[7] = 0;
  s3p_put64(out + 8, version);
  s3p_put64(out + 16, s3p_checksum64(out, 16));
}

/* s3p_tail_decode parses the TAIL object buf[0..len) into *version.
** Returns S3P_OK, or S3P_ECORRUPT with *why set and *version unchanged. */
int s3p_tail_decode(uint64_t *version, const unsigned char *buf, size_t len,
                    const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  if( buf == 0 || len != S3P_TAIL_LEN ){
    *why = "TAIL has the wrong length";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, TAIL_MAGIC, 4) != 0 ){
    *why = "bad TAIL magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] != TAIL_FORMAT ){
    *why = "unknown TAIL format version";
    return S3P_ECORRUPT;
  }
  if( buf[5] || buf[6] || buf[7] ){
    *why = "reserved TAIL bytes not zero";
    return S3P_ECORRUPT;
  }
  if( s3p_get64(buf + 16) != s3p_checksum64(buf, 16) ){
    *why = "TAIL checksum mismatch";
    return S3P_ECORRUPT;
  }
  if( s3p_get64(buf + 8) == 0 ){
    *why = "TAIL names version 0";
    return S3P_ECORRUPT;
  }
  *version = s3p_get64(buf + 8);
  return S3P_OK;
}
