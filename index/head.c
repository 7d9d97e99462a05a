/*
** head.c: the HEAD hint codec. HEAD is 24 bytes: magic "S3PH", format
** version 1, three zero bytes, the u64 version, and the XXH3-64 of the
** first 16 bytes.
*/
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "head.h"

#define HEAD_MAGIC "S3PH"
#define HEAD_FORMAT 1

/* s3p_head_encode writes the 24-byte HEAD object naming version into out. */
void s3p_head_encode(unsigned char out[S3P_HEAD_LEN], uint64_t version){
  memcpy(out, HEAD_MAGIC, 4);
  out[4] = HEAD_FORMAT;
  out[5] = out[6] = out[7] = 0;
  s3p_put64(out + 8, version);
  s3p_put64(out + 16, s3p_checksum64(out, 16));
}

/* s3p_head_decode parses the HEAD object buf[0..len) into *version.
** Returns S3P_OK, or S3P_ECORRUPT with *why set and *version unchanged. */
int s3p_head_decode(uint64_t *version, const unsigned char *buf, size_t len,
                    const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  if( buf == 0 || len != S3P_HEAD_LEN ){
    *why = "HEAD has the wrong length";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, HEAD_MAGIC, 4) != 0 ){
    *why = "bad HEAD magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] != HEAD_FORMAT ){
    *why = "unknown HEAD format version";
    return S3P_ECORRUPT;
  }
  if( buf[5] || buf[6] || buf[7] ){
    *why = "reserved HEAD bytes not zero";
    return S3P_ECORRUPT;
  }
  if( s3p_get64(buf + 16) != s3p_checksum64(buf, 16) ){
    *why = "HEAD checksum mismatch";
    return S3P_ECORRUPT;
  }
  *version = s3p_get64(buf + 8);
  return S3P_OK;
}
