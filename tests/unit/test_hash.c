/*
** test_hash.c: content hashes, hex names, keys and checksums.
*/
#include <string.h>
#include <xxhash.h>

#include "../check.h"
#include "../../index/err.h"
#include "../../index/hash.h"

/* Known-answer: XXH3-128 of the empty input and of "abc", as printed by
** `xxhsum -H2` (big-endian, high half first). */
static void test_known_answers(void){
  s3p_hash h;
  char hex[S3P_HASH_HEXLEN + 1];
  s3p_hash_bytes(&h, "", 0);
  s3p_hash_hex(hex, &h);
  CHECK(strcmp(hex, "99aa06d3014798d86001c324468d497f") == 0);
  s3p_hash_bytes(&h, "abc", 3);
  s3p_hash_hex(hex, &h);
  XXH128_hash_t x = XXH3_128bits("abc", 3);
  char want[33];
  snprintf(want, sizeof(want), "%016llx%016llx",
           (unsigned long long)x.high64, (unsigned long long)x.low64);
  CHECK(strcmp(hex, want) == 0);
  CHECK_EQ(s3p_checksum64("abc", 3), XXH3_64bits("abc", 3));
}

/* The zero page maps to the zero hash; any other page does not. */
static void test_zero_page(void){
  unsigned char page[4096];
  s3p_hash h, z;
  memset(page, 0, sizeof(page));
  memset(&z, 0, sizeof(z));
  s3p_hash_page(&h, page, sizeof(page));
  CHECK(s3p_hash_is_zero(&h));
  CHECK(s3p_hash_eq(&h, &z));
  /* s3p_hash_bytes has no special case. */
  s3p_hash_bytes(&h, page, sizeof(page));
  CHECK(!s3p_hash_is_zero(&h));
  for(size_t i = 0; i < sizeof(page); i += 511){
    page[i] = 1;
    s3p_hash_page(&h, page, sizeof(page));
    CHECK(!s3p_hash_is_zero(&h));
    s3p_hash b;
    s3p_hash_bytes(&b, page, sizeof(page));
    CHECK(s3p_hash_eq(&h, &b));
    page[i] = 0;
  }
  page[sizeof(page) - 1] = 0x80;
  s3p_hash_page(&h, page, sizeof(page));
  CHECK(!s3p_hash_is_zero(&h));
  /* Odd lengths exercise the byte tail of the zero scan. */
  s3p_hash_page(&h, page, 13);
  CHECK(s3p_hash_is_zero(&h));
}

/* Hex round trip, strict parsing, and keys. */
static void test_hex_and_keys(void){
  s3p_hash h, g;
  char hex[S3P_HASH_HEXLEN + 1], key[S3P_KEY_MAX];
  for(int i = 0; i < S3P_HASH_LEN; i++) h.b[i] = (unsigned char)(i * 17);
  s3p_hash_hex(hex, &h);
  CHECK_EQ(strlen(hex), 32);
  CHECK_EQ(s3p_hash_from_hex(&g, hex), S3P_OK);
  CHECK(s3p_hash_eq(&h, &g));
  CHECK(strcmp(hex, "00112233445566778899aabbccddeeff") == 0);

  s3p_hash_key(key, "pages", &h);
  CHECK(strcmp(key, "pages/xxh128-00112233445566778899aabbccddeeff") == 0);
  s3p_hash_key(key, "index", &h);
  CHECK(strcmp(key, "index/xxh128-00112233445566778899aabbccddeeff") == 0);

  /* Upper case, short strings and junk are refused, *out untouched. */
  g = h;
  CHECK_EQ(s3p_hash_from_hex(&g, "00112233445566778899AABBCCDDEEFF"), S3P_EINVAL);
  CHECK_EQ(s3p_hash_from_hex(&g, "0112"), S3P_EINVAL);
  CHECK_EQ(s3p_hash_from_hex(&g, ""), S3P_EINVAL);
  CHECK_EQ(s3p_hash_from_hex(&g, "g0112233445566778899aabbccddeeff"), S3P_EINVAL);
  CHECK_EQ(s3p_hash_from_hex(&g, 0), S3P_EINVAL);
  CHECK(s3p_hash_eq(&h, &g));
}

/* s3p_errstr knows every code. */
static void test_errstr(void){
  for(int rc = 0; rc >= -9; rc--){
    CHECK(strcmp(s3p_errstr(rc), "unknown error") != 0);
  }
  CHECK(strcmp(s3p_errstr(-100), "unknown error") == 0);
}

int main(void){
  RUN(test_known_answers);
  RUN(test_zero_page);
  RUN(test_hex_and_keys);
  RUN(test_errstr);
  return CHECK_DONE();
}
