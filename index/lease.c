/*
** lease.c: the codec of a bulk writer's in-progress marker (lease.h).
** 32 bytes: magic "S3PL", format version 1, three zero bytes, u64 start
** time, u64 renewal time, and the XXH3-64 of the first 24 bytes.
*/
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "lease.h"

#define LEASE_MAGIC "S3PL"
#define LEASE_FORMAT 1

/* s3p_lease_encode writes the 32-byte marker into out. */
void s3p_lease_encode(unsigned char out[S3P_LEASE_LEN], uint64_t start_ms,
                      uint64_t renewed_ms){
  memcpy(out, LEASE_MAGIC, 4);
  out[4] = LEASE_FORMAT;
  out[5] = out[6] = out[7] = 0;
  s3p_put64(out + 8, start_ms);
  s3p_put64(out + 16, renewed_ms);
  s3p_put64(out + 24, s3p_checksum64(out, 24));
}

/* s3p_lease_decode parses the marker buf[0..len). Returns S3P_OK, or
** S3P_ECORRUPT with *why set and the outputs unchanged. */
int s3p_lease_decode(uint64_t *start_ms, uint64_t *renewed_ms,
                     const unsigned char *buf, size_t len, const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  if( buf == 0 || len != S3P_LEASE_LEN ){
    *why = "marker has the wrong length";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, LEASE_MAGIC, 4) != 0 ){
    *why = "bad marker magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] != LEASE_FORMAT ){
    *why = "unknown marker format version";
    return S3P_ECORRUPT;
  }
  if( buf[5] || buf[6] || buf[7] ){
    *why = "reserved marker bytes not zero";
    return S3P_ECORRUPT;
  }
  if( s3p_get64(buf + 24) != s3p_checksum64(buf, 24) ){
    *why = "marker checksum mismatch";
    return S3P_ECORRUPT;
  }
  uint64_t s = s3p_get64(buf + 8), r = s3p_get64(buf + 16);
  if( s == 0 ){
    *why = "marker start time is 0";
    return S3P_ECORRUPT;
  }
  if( r < s ){
    *why = "marker renewed before it started";
    return S3P_ECORRUPT;
  }
  *start_ms = s;
  *renewed_ms = r;
  return S3P_OK;
}

/* s3p_lease_key_ok returns 1 if key is "lease/" + 32 lowercase hex. */
int s3p_lease_key_ok(const char *key){
  if( key == 0 || strncmp(key, "lease/", 6) != 0 ) return 0;
  const char *p = key + 6;
  for(int i = 0; i < S3P_LEASE_NAME_HEX; i++){
    if( !((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')) ){
      return 0;
    }
  }
  return p[S3P_LEASE_NAME_HEX] == 0;
}
