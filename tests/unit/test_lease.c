/*
** test_lease.c: the codec of a bulk writer's in-progress marker
** (index/lease.h) and the syntax of its name.
*/
#include <string.h>

#include "../check.h"
#include "../../index/bytes.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/lease.h"

/* Encode then decode gives both times back, for edge values too. */
static void test_roundtrip(void){
  static const uint64_t t[][2] = {
    {1, 1}, {1700000000000ull, 1700000150000ull},
    {42, 0xFFFFFFFFFFFFFFFFull}, {0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull},
  };
  for(size_t i = 0; i < sizeof t / sizeof t[0]; i++){
    unsigned char b[S3P_LEASE_LEN];
    uint64_t s = 7, r = 7;
    const char *why = 0;
    s3p_lease_encode(b, t[i][0], t[i][1]);
    CHECK(memcmp(b, "S3PL\1\0\0\0", 8) == 0);
    CHECK_EQ(s3p_lease_decode(&s, &r, b, sizeof b, &why), S3P_OK);
    CHECK(s == t[i][0] && r == t[i][1]);
    CHECK(why == 0);
  }
}

/* Every flipped bit, every wrong length, a start of 0 and a renewal
** before the start are corruption, and leave the outputs alone. */
static void test_corruption(void){
  unsigned char b[S3P_LEASE_LEN + 1];
  uint64_t s = 5, r = 6;
  const char *why;
  s3p_lease_encode(b, 1000, 2000);
  for(int i = 0; i < S3P_LEASE_LEN; i++){
    for(int bit = 0; bit < 8; bit++){
      b[i] ^= (unsigned char)(1 << bit);
      why = 0;
      CHECK_EQ(s3p_lease_decode(&s, &r, b, S3P_LEASE_LEN, &why), S3P_ECORRUPT);
      CHECK(why != 0);
      b[i] ^= (unsigned char)(1 << bit);
    }
  }
  for(size_t n = 0; n <= S3P_LEASE_LEN + 1; n++){
    if( n == S3P_LEASE_LEN ) continue;
    CHECK_EQ(s3p_lease_decode(&s, &r, b, n, &why), S3P_ECORRUPT);
  }
  CHECK_EQ(s3p_lease_decode(&s, &r, 0, 0, 0), S3P_ECORRUPT);
  s3p_lease_encode(b, 0, 10);
  CHECK_EQ(s3p_lease_decode(&s, &r, b, S3P_LEASE_LEN, &why), S3P_ECORRUPT);
  s3p_lease_encode(b, 11, 10);
  CHECK_EQ(s3p_lease_decode(&s, &r, b, S3P_LEASE_LEN, &why), S3P_ECORRUPT);
  CHECK(s == 5 && r == 6);
  /* A TAIL-like object of the right length is not a marker. */
  memcpy(b, "S3PT", 4);
  s3p_put64(b + 24, s3p_checksum64(b, 24));
  CHECK_EQ(s3p_lease_decode(&s, &r, b, S3P_LEASE_LEN, &why), S3P_ECORRUPT);
  s3p_lease_encode(b, 1000, 2000);
  CHECK_EQ(s3p_lease_decode(&s, &r, b, S3P_LEASE_LEN, 0), S3P_OK);
  CHECK(s == 1000 && r == 2000);
}

/* Only "lease/" and 32 lowercase hex digits is a marker's name. */
static void test_names(void){
  CHECK(s3p_lease_key_ok("lease/0123456789abcdef0123456789abcdef"));
  CHECK(!s3p_lease_key_ok("lease/0123456789ABCDEF0123456789abcdef"));
  CHECK(!s3p_lease_key_ok("lease/0123456789abcdef0123456789abcde"));
  CHECK(!s3p_lease_key_ok("lease/0123456789abcdef0123456789abcdef0"));
  CHECK(!s3p_lease_key_ok("lease/0123456789abcdef0123456789abcdeg"));
  CHECK(!s3p_lease_key_ok("leases/0123456789abcdef0123456789abcdef"));
  CHECK(!s3p_lease_key_ok("lease/"));
  CHECK(!s3p_lease_key_ok("lease"));
  CHECK(!s3p_lease_key_ok(0));
}

int main(void){
  RUN(test_roundtrip);
  RUN(test_corruption);
  RUN(test_names);
  return CHECK_DONE();
}
