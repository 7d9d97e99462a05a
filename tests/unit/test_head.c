/*
** test_head.c: the HEAD hint codec, both formats.
*/
#include <string.h>

#include "../check.h"
#include "../../index/bytes.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/head.h"

/* head_fill makes h a HEAD of version v naming n objects. */
static void head_fill(s3p_head *h, uint64_t v, unsigned n){
  memset(h, 0, sizeof *h);
  h->version = v;
  h->ckpt_version = v / 2;
  h->page_size = 4096;
  h->nhint = n;
  for(unsigned i = 0; i < n; i++){
    h->hint[i].kind = i % 3 ? S3P_HINT_PAGE : S3P_HINT_NODE;
    memset(h->hint[i].hash.b, (int)(i + 1), S3P_HASH_LEN);
    h->hint[i].hash.b[15] = (unsigned char)(i * 7);
  }
}

/* v1_encode writes a format-1 HEAD of version v (as older writers did). */
static void v1_encode(unsigned char b[S3P_HEAD_V1_LEN], uint64_t v){
  memcpy(b, "S3PH\1\0\0\0", 8);
  s3p_put64(b + 8, v);
  s3p_put64(b + 16, s3p_checksum64(b, 16));
}

/* test_roundtrip: encode then decode gives every field back, for edge
** versions and hint counts; the length is 32 + 17 per hint. */
static void test_roundtrip(void){
  uint64_t vs[] = {1, 42, 0xFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull};
  unsigned ns[] = {0, 1, 17, S3P_HEAD_MAX_HINTS};
  for(size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++){
    for(size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++){
      s3p_head h, got;
      unsigned char b[S3P_HEAD_MAXLEN];
      const char *why = 0;
      head_fill(&h, vs[i], ns[j]);
      size_t len = s3p_head_encode(b, &h);
      CHECK_EQ(len, 32 + 17 * (size_t)ns[j]);
      CHECK(memcmp(b, "S3PH\2\14", 6) == 0);
      CHECK_EQ(s3p_head_decode(&got, b, len, &why), S3P_OK);
      CHECK(got.version == vs[i]);
      CHECK(got.ckpt_version == vs[i] / 2);
      CHECK_EQ(got.page_size, 4096);
      CHECK_EQ(got.nhint, ns[j]);
      CHECK(memcmp(got.hint, h.hint, ns[j] * sizeof h.hint[0]) == 0);
    }
  }
  /* Page size not stated: byte 5 is 0. */
  s3p_head h, got;
  unsigned char b[S3P_HEAD_MAXLEN];
  head_fill(&h, 9, 2);
  h.page_size = 0;
  size_t len = s3p_head_encode(b, &h);
  CHECK_EQ(b[5], 0);
  CHECK_EQ(s3p_head_decode(&got, b, len, 0), S3P_OK);
  CHECK_EQ(got.page_size, 0);
  h.page_size = 65536;
  len = s3p_head_encode(b, &h);
  CHECK_EQ(b[5], 16);
  CHECK_EQ(s3p_head_decode(&got, b, len, 0), S3P_OK);
  CHECK_EQ(got.page_size, 65536);
}

/* test_format1: a HEAD written by an older writer (24 bytes, format 1)
** still decodes: its version, no hints, its checkpoint unknown (= version). */
static void test_format1(void){
  unsigned char b[S3P_HEAD_V1_LEN + 1];
  s3p_head h;
  const char *why = 0;
  v1_encode(b, 123456789);
  CHECK_EQ(s3p_head_decode(&h, b, S3P_HEAD_V1_LEN, &why), S3P_OK);
  CHECK(h.version == 123456789);
  CHECK(h.ckpt_version == 123456789);
  CHECK_EQ(h.nhint, 0);
  CHECK_EQ(h.page_size, 0);
  CHECK_EQ(s3p_head_decode(&h, b, S3P_HEAD_V1_LEN + 1, &why), S3P_ECORRUPT);
  b[5] = 1;                                    /* reserved in format 1 */
  s3p_put64(b + 16, s3p_checksum64(b, 16));
  CHECK_EQ(s3p_head_decode(&h, b, S3P_HEAD_V1_LEN, &why), S3P_ECORRUPT);
}

/* test_corruption: every flipped bit of both formats and every wrong
** length is reported as corruption, with a reason. */
static void test_corruption(void){
  unsigned char b[S3P_HEAD_MAXLEN + 1];
  s3p_head h, got;
  const char *why;
  head_fill(&h, 77, 5);
  size_t len = s3p_head_encode(b, &h);
  for(size_t i = 0; i < len; i++){
    for(int bit = 0; bit < 8; bit++){
      b[i] ^= (unsigned char)(1 << bit);
      why = 0;
      CHECK_EQ(s3p_head_decode(&got, b, len, &why), S3P_ECORRUPT);
      CHECK(why != 0);
      b[i] ^= (unsigned char)(1 << bit);
    }
  }
  for(size_t n = 0; n <= len + 1; n++){
    if( n == len ) continue;
    CHECK_EQ(s3p_head_decode(&got, b, n, &why), S3P_ECORRUPT);
  }
  CHECK_EQ(s3p_head_decode(&got, 0, 0, 0), S3P_ECORRUPT);
  CHECK_EQ(s3p_head_decode(&got, b, len, 0), S3P_OK);
  unsigned char v1[S3P_HEAD_V1_LEN];
  v1_encode(v1, 5);
  for(int i = 0; i < S3P_HEAD_V1_LEN; i++){
    for(int bit = 0; bit < 8; bit++){
      v1[i] ^= (unsigned char)(1 << bit);
      CHECK_EQ(s3p_head_decode(&got, v1, sizeof v1, &why), S3P_ECORRUPT);
      v1[i] ^= (unsigned char)(1 << bit);
    }
  }
}

/* reseal rewrites the trailer checksum of the format-2 HEAD b[0..len). */
static void reseal(unsigned char *b, size_t len){
  s3p_put64(b + len - 8, s3p_checksum64(b, len - 8));
}

/* test_bad_fields: with a valid checksum, the decoder still refuses a
** count above the cap (or not matching the length), a checkpoint above the
** version, an unknown kind, a zero hash, an impossible page size and an
** unknown format version. */
static void test_bad_fields(void){
  unsigned char b[S3P_HEAD_MAXLEN + 17];
  s3p_head h, got;
  const char *why;
  head_fill(&h, 50, 2);
  size_t len = s3p_head_encode(b, &h);
  unsigned char keep[S3P_HEAD_MAXLEN];
  memcpy(keep, b, len);
  struct { size_t off; unsigned char val; } bad[] = {
    {4, 3},                        /* format 3 */
    {4, 0},                        /* format 0 */
    {5, 8},                        /* page size 256 */
    {5, 17},                       /* page size 128 KiB */
    {6, 3},                        /* count says 3, length says 2 */
    {23, 0xFF},                    /* checkpoint far above the version */
    {24, 0},                       /* kind 0 */
    {24 + 17, 3},                  /* kind 3 */
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
    memcpy(b, keep, len);
    b[bad[i].off] = bad[i].val;
    reseal(b, len);
    why = 0;
    CHECK_EQ(s3p_head_decode(&got, b, len, &why), S3P_ECORRUPT);
    CHECK(why != 0);
  }
  /* A zero hash. */
  memcpy(b, keep, len);
  memset(b + 24 + 17 + 1, 0, S3P_HASH_LEN);
  reseal(b, len);
  CHECK_EQ(s3p_head_decode(&got, b, len, &why), S3P_ECORRUPT);
  /* A count above the cap, with a matching length. */
  head_fill(&h, 50, S3P_HEAD_MAX_HINTS);
  len = s3p_head_encode(b, &h);
  memmove(b + len + 9, b + len - 8, 8);
  memcpy(b + len - 8, b + len - 25, 17);
  len += 17;
  s3p_put16(b + 6, S3P_HEAD_MAX_HINTS + 1);
  reseal(b, len);
  CHECK_EQ(s3p_head_decode(&got, b, len, &why), S3P_ECORRUPT);
  CHECK(why && strstr(why, "too many") != 0);
}

int main(void){
  RUN(test_roundtrip);
  RUN(test_format1);
  RUN(test_corruption);
  RUN(test_bad_fields);
  return CHECK_DONE();
}
