/*
** test_page.c: the page-object codec.
*/
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../check.h"
#include "../../index/bytes.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/page.h"

/* test_rand returns the next value of a small deterministic generator. */
static uint64_t test_rand(uint64_t *s){
  *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
  return *s;
}

/* fill_random fills p[0..n) with pseudo-random bytes (incompressible). */
static void fill_random(unsigned char *p, size_t n, uint64_t seed){
  uint64_t s = seed | 1;
  for(size_t i = 0; i < n; i++) p[i] = (unsigned char)test_rand(&s);
}

/* fill_text fills p[0..n) with compressible, SQLite-like content. */
static void fill_text(unsigned char *p, size_t n, int seed){
  for(size_t i = 0; i < n; i++) p[i] = (unsigned char)("row data "[i % 9] + (i / 512 + seed) % 3);
}

/* roundtrip encodes page and decodes it back; returns the encoding byte. */
static int roundtrip(const unsigned char *page, uint32_t sz){
  unsigned char *obj = 0, *back = malloc(sz);
  size_t len = 0;
  s3p_hash h;
  const char *why = 0;
  int enc = -1;
  s3p_hash_page(&h, page, sz);
  CHECK_EQ(s3p_page_encode(&obj, &len, page, sz), S3P_OK);
  CHECK(len >= S3P_PAGE_OVERHEAD);
  if( obj ){
    CHECK(memcmp(obj, "S3PP\1", 5) == 0);
    CHECK_EQ(s3p_get32(obj + 8), sz);
    CHECK_EQ(s3p_get32(obj + 12) + S3P_PAGE_OVERHEAD, len);
    enc = obj[5];
    CHECK_EQ(s3p_page_decode(back, sz, &h, obj, len, &why), S3P_OK);
    CHECK(memcmp(back, page, sz) == 0);
  }
  free(obj);
  free(back);
  return enc;
}

/* Every page size, with random (raw), text and zero (zlib) content. */
static void test_all_sizes(void){
  CHECK(!s3p_page_size_ok(0));
  CHECK(!s3p_page_size_ok(256));
  CHECK(!s3p_page_size_ok(1000));
  CHECK(!s3p_page_size_ok(131072));
  CHECK(!s3p_page_size_ok(0xFFFFFFFFu));
  for(uint32_t sz = 512; sz <= 65536; sz *= 2){
    CHECK(s3p_page_size_ok(sz));
    CHECK(!s3p_page_size_ok(sz + sz / 2));
    CHECK(!s3p_page_size_ok(sz - 1));
    unsigned char *p = malloc(sz);
    fill_random(p, sz, sz);
    CHECK_EQ(roundtrip(p, sz), 0);
    fill_text(p, sz, 1);
    CHECK_EQ(roundtrip(p, sz), 1);
    memset(p, 0, sz);
    CHECK_EQ(roundtrip(p, sz), 1);
    free(p);
  }
}

/* A zero page hashes to zero and still round-trips if encoded. */
static void test_zero_page(void){
  unsigned char p[1024] = {0};
  s3p_hash h;
  s3p_hash_page(&h, p, sizeof(p));
  CHECK(s3p_hash_is_zero(&h));
  CHECK_EQ(roundtrip(p, sizeof(p)), 1);
}

/* Bad arguments to the encoder. */
static void test_encode_args(void){
  unsigned char p[4096] = {1}, *obj = (unsigned char *)1;
  size_t len = 1;
  CHECK_EQ(s3p_page_encode(&obj, &len, p, 1000), S3P_EINVAL);
  CHECK(obj == 0 && len == 0);
  CHECK_EQ(s3p_page_encode(&obj, &len, p, 0), S3P_EINVAL);
  CHECK_EQ(s3p_page_encode(&obj, &len, 0, 4096), S3P_EINVAL);
  CHECK_EQ(s3p_page_encode(0, &len, p, 4096), S3P_EINVAL);
}

/* flip_all flips each bit of each byte of obj and expects ECORRUPT. */
static void flip_all(unsigned char *obj, size_t len, uint32_t sz,
                     const s3p_hash *h){
  unsigned char *back = malloc(sz);
  for(size_t i = 0; i < len; i++){
    for(int bit = 0; bit < 8; bit++){
      const char *why = 0;
      obj[i] ^= (unsigned char)(1 << bit);
      CHECK_EQ(s3p_page_decode(back, sz, h, obj, len, &why), S3P_ECORRUPT);
      CHECK(why != 0);
      obj[i] ^= (unsigned char)(1 << bit);
    }
  }
  free(back);
}

/* Every bit flip, every truncation and every extension is corruption. */
static void test_corruption(void){
  uint32_t sz = 512;
  unsigned char page[512], back[512];
  for(int kind = 0; kind < 2; kind++){
    unsigned char *obj;
    size_t len;
    s3p_hash h;
    const char *why;
    if( kind == 0 ) fill_text(page, sz, 2); else fill_random(page, sz, 9);
    s3p_hash_page(&h, page, sz);
    CHECK_EQ(s3p_page_encode(&obj, &len, page, sz), S3P_OK);
    CHECK_EQ(obj[5], kind == 0 ? 1 : 0);
    flip_all(obj, len, sz, &h);
    for(size_t n = 0; n < len; n++){
      CHECK_EQ(s3p_page_decode(back, sz, &h, obj, n, &why), S3P_ECORRUPT);
    }
    unsigned char *big = malloc(len + 1);
    memcpy(big, obj, len);
    big[len] = 0;
    CHECK_EQ(s3p_page_decode(back, sz, &h, big, len + 1, &why), S3P_ECORRUPT);
    free(big);
    /* Wrong expected hash, wrong page size, bad page-size argument. */
    s3p_hash other = h;
    other.b[3] ^= 1;
    CHECK_EQ(s3p_page_decode(back, sz, &other, obj, len, &why), S3P_ECORRUPT);
    unsigned char *b2 = malloc(1024);
    CHECK_EQ(s3p_page_decode(b2, 1024, &h, obj, len, &why), S3P_ECORRUPT);
    free(b2);
    CHECK_EQ(s3p_page_decode(back, 500, &h, obj, len, &why), S3P_EINVAL);
    CHECK_EQ(s3p_page_decode(back, sz, &h, obj, len, 0), S3P_OK);
    free(obj);
  }
}

/* reseal rewrites the checksum trailer of obj so that only the deeper
** checks (inflate, hash) can catch the damage. */
static void reseal(unsigned char *obj, size_t len){
  s3p_put64(obj + len - 8, s3p_checksum64(obj, len - 8));
}

/* Objects with a valid checksum but bad content: the inflate and hash
** checks must catch them. */
static void test_checksummed_garbage(void){
  uint32_t sz = 4096;
  unsigned char page[4096], back[4096];
  unsigned char obj[S3P_PAGE_OVERHEAD + 8192];
  const char *why;
  s3p_hash h;
  fill_text(page, sz, 3);
  s3p_hash_page(&h, page, sz);

  /* A zlib stream of the wrong length (one byte short / long). */
  for(int delta = -1; delta <= 1; delta += 2){
    unsigned char src[4097];
    memcpy(src, page, sz);
    src[4096] = 'x';
    uLongf zlen = 8192;
    CHECK_EQ(compress2(obj + 16, &zlen, src, sz + delta, 3), Z_OK);
    memcpy(obj, "S3PP\1\1\0\0", 8);
    s3p_put32(obj + 8, sz);
    s3p_put32(obj + 12, (uint32_t)zlen);
    reseal(obj, zlen + S3P_PAGE_OVERHEAD);
    CHECK_EQ(s3p_page_decode(back, sz, &h, obj, zlen + S3P_PAGE_OVERHEAD, &why), S3P_ECORRUPT);
  }
  /* Trailing garbage after a complete zlib stream. */
  uLongf zlen = 8192;
  CHECK_EQ(compress2(obj + 16, &zlen, page, sz, 3), Z_OK);
  obj[16 + zlen] = 0;
  s3p_put32(obj + 12, (uint32_t)zlen + 1);
  reseal(obj, zlen + 1 + S3P_PAGE_OVERHEAD);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, zlen + 1 + S3P_PAGE_OVERHEAD, &why), S3P_ECORRUPT);
  /* Same stream without the garbage decodes. */
  s3p_put32(obj + 12, (uint32_t)zlen);
  reseal(obj, zlen + S3P_PAGE_OVERHEAD);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, zlen + S3P_PAGE_OVERHEAD, &why), S3P_OK);
  /* zlib payload as long as the page is refused (raw would be smaller). */
  s3p_put32(obj + 12, sz);
  reseal(obj, sz + S3P_PAGE_OVERHEAD);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, sz + S3P_PAGE_OVERHEAD, &why), S3P_ECORRUPT);
  /* Raw payload of the wrong content: checksum fine, hash wrong. */
  memcpy(obj, "S3PP\1\0\0\0", 8);
  s3p_put32(obj + 12, sz);
  memcpy(obj + 16, page, sz);
  obj[100] ^= 1;
  reseal(obj, sz + S3P_PAGE_OVERHEAD);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, sz + S3P_PAGE_OVERHEAD, &why), S3P_ECORRUPT);
  CHECK(why && strstr(why, "hash"));
  /* Raw payload length not equal to the page size. */
  s3p_put32(obj + 12, sz - 1);
  reseal(obj, sz - 1 + S3P_PAGE_OVERHEAD);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, sz - 1 + S3P_PAGE_OVERHEAD, &why), S3P_ECORRUPT);
  /* Page size field not a power of two. */
  s3p_put32(obj + 8, 4095);
  s3p_put32(obj + 12, 4095);
  reseal(obj, 4095 + S3P_PAGE_OVERHEAD);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, 4095 + S3P_PAGE_OVERHEAD, &why), S3P_ECORRUPT);
  /* Huge payload length is refused before anything is read. */
  s3p_put32(obj + 8, sz);
  s3p_put32(obj + 12, 0xFFFFFFF0u);
  CHECK_EQ(s3p_page_decode(back, sz, &h, obj, 64, &why), S3P_ECORRUPT);
}

int main(void){
  RUN(test_all_sizes);
  RUN(test_zero_page);
  RUN(test_encode_args);
  RUN(test_corruption);
  RUN(test_checksummed_garbage);
  return CHECK_DONE();
}
