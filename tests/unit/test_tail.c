/*
** test_tail.c: the TAIL hint codec (oldest version kept by gc).
*/
#include <string.h>

#include "../check.h"
#include "../../index/bytes.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/tail.h"

/* Encode then decode gives the version back, for edge values too. */
static void test_roundtrip(void){
  uint64_t vs[] = {1, 42, 0xFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull};
  for(size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++){
    unsigned char b[S3P_TAIL_LEN];
    uint64_t v = 7;
    const char *why = 0;
    s3p_tail_encode(b, vs[i]);
    CHECK(memcmp(b, "S3PT\1\0\0\0", 8) == 0);
    CHECK_EQ(s3p_tail_decode(&v, b, sizeof(b), &why), S3P_OK);
    CHECK(v == vs[i]);
  }
}

/* Every flipped bit, every wrong length and version 0 are corruption. */
static void test_corruption(void){
  unsigned char b[S3P_TAIL_LEN + 1];
  uint64_t v = 5;
  const char *why;
  s3p_tail_encode(b, 123456789);
  for(int i = 0; i < S3P_TAIL_LEN; i++){
    for(int bit = 0; bit < 8; bit++){
      b[i] ^= (unsigned char)(1 << bit);
      why = 0;
      CHECK_EQ(s3p_tail_decode(&v, b, S3P_TAIL_LEN, &why), S3P_ECORRUPT);
      CHECK(why != 0);
      b[i] ^= (unsigned char)(1 << bit);
    }
  }
  CHECK(v == 5);
  for(size_t n = 0; n <= S3P_TAIL_LEN + 1; n++){
    if( n == S3P_TAIL_LEN ) continue;
    CHECK_EQ(s3p_tail_decode(&v, b, n, &why), S3P_ECORRUPT);
  }
  CHECK_EQ(s3p_tail_decode(&v, 0, 0, 0), S3P_ECORRUPT);
  s3p_tail_encode(b, 0);
  CHECK_EQ(s3p_tail_decode(&v, b, S3P_TAIL_LEN, &why), S3P_ECORRUPT);
  CHECK(v == 5);
  /* A HEAD object is not a TAIL. */
  memcpy(b, "S3PH", 4);
  s3p_put64(b + 8, 9);
  s3p_put64(b + 16, s3p_checksum64(b, 16));
  CHECK_EQ(s3p_tail_decode(&v, b, S3P_TAIL_LEN, &why), S3P_ECORRUPT);
  s3p_tail_encode(b, 123456789);
  CHECK_EQ(s3p_tail_decode(&v, b, S3P_TAIL_LEN, 0), S3P_OK);
  CHECK(v == 123456789);
}

int main(void){
  RUN(test_roundtrip);
  RUN(test_corruption);
  return CHECK_DONE();
}
