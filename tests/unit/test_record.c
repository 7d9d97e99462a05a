/*
** test_record.c: the commit-record codec and wal/ keys.
*/
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../../index/bytes.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/record.h"

/* make_record fills r with a valid record of n changes (changes malloc'd). */
static void make_record(s3p_record *r, uint32_t n){
  memset(r, 0, sizeof(*r));
  r->version = 17;
  r->parent = 16;
  r->time_ms = 1700000000123ull;
  for(int i = 0; i < 16; i++) r->nonce[i] = (unsigned char)(0xA0 + i);
  r->page_size = 4096;
  r->page_count = 10 + 3 * n;
  r->trunc_mark = 5;
  r->ckpt_version = 12;
  r->ckpt_level = 1;
  for(int i = 0; i < 16; i++) r->ckpt_root.b[i] = (unsigned char)(i + 1);
  r->nchange = n;
  r->changes = n ? calloc(n, sizeof(s3p_change)) : 0;
  for(uint32_t i = 0; i < n; i++){
    r->changes[i].pgno = 1 + 3 * i;
    if( i % 4 != 3 ){     /* every fourth change is a zero page */
      for(int j = 0; j < 16; j++) r->changes[i].hash.b[j] = (unsigned char)(i * 31 + j);
    }
  }
}

/* same_record returns 1 if a and b hold the same fields and changes. */
static int same_record(const s3p_record *a, const s3p_record *b){
  if( a->version != b->version || a->parent != b->parent ) return 0;
  if( a->time_ms != b->time_ms || memcmp(a->nonce, b->nonce, 16) ) return 0;
  if( a->flags != b->flags ) return 0;
  if( a->page_size != b->page_size || a->page_count != b->page_count ) return 0;
  if( a->trunc_mark != b->trunc_mark || a->nchange != b->nchange ) return 0;
  if( a->ckpt_version != b->ckpt_version || a->ckpt_level != b->ckpt_level ) return 0;
  if( !s3p_hash_eq(&a->ckpt_root, &b->ckpt_root) ) return 0;
  for(uint32_t i = 0; i < a->nchange; i++){
    if( a->changes[i].pgno != b->changes[i].pgno ) return 0;
    if( !s3p_hash_eq(&a->changes[i].hash, &b->changes[i].hash) ) return 0;
  }
  return 1;
}

/* Round trips with 0, 1 and many changes; layout spot checks. */
static void test_roundtrip(void){
  uint32_t ns[] = {0, 1, 2, 1000};
  for(size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++){
    s3p_record r, d;
    unsigned char *buf;
    size_t len;
    const char *why = 0;
    make_record(&r, ns[k]);
    CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
    CHECK_EQ(len, 96 + 20 * ns[k] + 8);
    CHECK(memcmp(buf, "S3PR\1\0\0\0", 8) == 0);
    CHECK_EQ(s3p_get64(buf + 8), 17);
    CHECK_EQ(s3p_get32(buf + 60), ns[k]);
    CHECK_EQ(buf[72], 1);
    CHECK_EQ(s3p_record_decode(&d, buf, len, &why), S3P_OK);
    CHECK(same_record(&r, &d));
    /* Re-encoding the decoded record gives the same bytes. */
    unsigned char *buf2;
    size_t len2;
    CHECK_EQ(s3p_record_encode(&buf2, &len2, &d), S3P_OK);
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    free(buf2);
    s3p_record_free(&d);
    CHECK(d.changes == 0 && d.nchange == 0);
    free(buf);
    s3p_record_free(&r);
  }
}

/* Edge values: first version, largest page number, checkpoint at N. */
static void test_edges(void){
  s3p_record r, d;
  unsigned char *buf;
  size_t len;
  const char *why;
  make_record(&r, 1);
  r.version = 1; r.parent = 0; r.trunc_mark = 0;
  r.ckpt_version = 0; r.ckpt_level = 0; memset(&r.ckpt_root, 0, 16);
  r.page_count = 0xFFFFFFFFu;
  r.changes[0].pgno = 0xFFFFFFFFu;
  r.page_size = 65536;
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
  CHECK_EQ(s3p_record_decode(&d, buf, len, &why), S3P_OK);
  CHECK(same_record(&r, &d));
  s3p_record_free(&d);
  free(buf);
  r.version = 0xFFFFFFFFFFFFFFFFull; r.parent = r.version - 1;
  r.ckpt_version = r.version; r.ckpt_level = 3; r.ckpt_root.b[0] = 1;
  r.trunc_mark = 0xFFFFFFFFu;
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
  CHECK_EQ(s3p_record_decode(&d, buf, len, &why), S3P_OK);
  CHECK(same_record(&r, &d));
  s3p_record_free(&d);
  free(buf);
  s3p_record_free(&r);
}

/* expect_einval checks that encoding r fails with S3P_EINVAL. */
static void expect_einval(const s3p_record *r, int line){
  unsigned char *buf = (unsigned char *)1;
  size_t len = 1;
  int rc = s3p_record_encode(&buf, &len, r);
  if( rc != S3P_EINVAL ) printf("#   case at line %d\n", line);
  CHECK_EQ(rc, S3P_EINVAL);
  CHECK(buf == 0);
}
#define EINVAL_CASE(stmt) do { \
    s3p_record r_; make_record(&r_, 3); { s3p_record *r = &r_; stmt; } \
    expect_einval(&r_, __LINE__); s3p_record_free(&r_); \
  } while(0)

/* The encoder refuses every record the decoder would refuse. */
static void test_encode_invalid(void){
  EINVAL_CASE(r->version = 0; r->parent = 0);
  EINVAL_CASE(r->parent = 15);
  EINVAL_CASE(r->page_size = 1000);
  EINVAL_CASE(r->page_size = 256);
  EINVAL_CASE(r->page_size = 131072);
  EINVAL_CASE(r->trunc_mark = r->page_count + 1);
  EINVAL_CASE(r->version = 1; r->parent = 0; r->ckpt_version = 0;
              r->ckpt_level = 0; memset(&r->ckpt_root, 0, 16); r->trunc_mark = 1);
  EINVAL_CASE(r->ckpt_version = 18);
  EINVAL_CASE(r->ckpt_level = 4);
  EINVAL_CASE(memset(&r->ckpt_root, 0, 16));   /* empty map at level 1 */
  EINVAL_CASE(r->ckpt_version = 0);             /* checkpoint 0 not empty */
  EINVAL_CASE(r->changes[0].pgno = 0);
  EINVAL_CASE(r->changes[1].pgno = r->changes[0].pgno);
  EINVAL_CASE(r->changes[2].pgno = r->changes[0].pgno);
  EINVAL_CASE(r->changes[2].pgno = r->page_count + 1);
  EINVAL_CASE(r->nchange = S3P_RECORD_MAX_CHANGES + 1);
  EINVAL_CASE(free(r->changes); r->changes = 0);
}

/* Every flipped bit, truncation and extension is corruption; the decoder
** leaves *r zeroed. */
static void test_corruption(void){
  s3p_record r, d;
  unsigned char *buf;
  size_t len;
  const char *why;
  make_record(&r, 5);
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
  for(size_t i = 0; i < len; i++){
    for(int bit = 0; bit < 8; bit++){
      buf[i] ^= (unsigned char)(1 << bit);
      why = 0;
      CHECK_EQ(s3p_record_decode(&d, buf, len, &why), S3P_ECORRUPT);
      CHECK(why != 0);
      CHECK(d.changes == 0 && d.version == 0);
      buf[i] ^= (unsigned char)(1 << bit);
    }
  }
  for(size_t n = 0; n < len; n++){
    CHECK_EQ(s3p_record_decode(&d, buf, n, &why), S3P_ECORRUPT);
  }
  unsigned char *big = malloc(len + 20);
  memcpy(big, buf, len);
  memset(big + len, 0, 20);
  CHECK_EQ(s3p_record_decode(&d, big, len + 20, &why), S3P_ECORRUPT);
  CHECK_EQ(s3p_record_decode(&d, big, len + 1, &why), S3P_ECORRUPT);
  free(big);
  CHECK_EQ(s3p_record_decode(&d, buf, len, 0), S3P_OK);
  s3p_record_free(&d);
  free(buf);
  s3p_record_free(&r);
}

/* resealed_decode rewrites the checksum of buf[0..len) and decodes it, so
** that the semantic checks behind the checksum are what is tested. */
static int resealed_decode(unsigned char *buf, size_t len){
  s3p_record d;
  const char *why = 0;
  s3p_put64(buf + len - 8, s3p_checksum64(buf, len - 8));
  int rc = s3p_record_decode(&d, buf, len, &why);
  if( rc == S3P_OK ) s3p_record_free(&d); else CHECK(why != 0);
  return rc;
}

/* Checksummed records with bad fields: each semantic check on its own. */
static void test_semantic_checks(void){
  s3p_record r;
  unsigned char *buf, *w;
  size_t len;
  make_record(&r, 3);   /* pgnos 1, 4, 7; page count 19 */
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
  w = malloc(len);
#define MUTATE(stmt, want) do { memcpy(w, buf, len); stmt; \
    CHECK_EQ(resealed_decode(w, len), want); } while(0)
  MUTATE((void)0, S3P_OK);
  MUTATE(w[5] = 1, S3P_ECORRUPT);                 /* full, but C != N */
  MUTATE(w[5] = 1; s3p_put64(w + 64, 17), S3P_OK); /* full image */
  MUTATE(w[5] = 2, S3P_ECORRUPT);                 /* unknown flag */
  MUTATE(w[5] = 0x80, S3P_ECORRUPT);
  MUTATE(w[6] = 1, S3P_ECORRUPT);                 /* reserved */
  MUTATE(w[79] = 1, S3P_ECORRUPT);                /* reserved */
  MUTATE(w[4] = 2, S3P_ECORRUPT);                 /* format version */
  MUTATE(s3p_put64(w + 8, 0); s3p_put64(w + 16, 0xFFFFFFFFFFFFFFFFull), S3P_ECORRUPT);
  MUTATE(s3p_put64(w + 16, 17), S3P_ECORRUPT);    /* parent != N-1 */
  MUTATE(s3p_put32(w + 48, 4095), S3P_ECORRUPT);  /* page size */
  MUTATE(s3p_put32(w + 48, 0), S3P_ECORRUPT);
  MUTATE(s3p_put32(w + 52, 6), S3P_ECORRUPT);     /* pgno 7 > count */
  MUTATE(s3p_put32(w + 52, 7), S3P_OK);
  MUTATE(s3p_put32(w + 56, 20), S3P_ECORRUPT);    /* mark > count */
  MUTATE(s3p_put32(w + 60, 2), S3P_ECORRUPT);     /* n vs length */
  MUTATE(s3p_put32(w + 60, 4), S3P_ECORRUPT);
  MUTATE(s3p_put32(w + 60, 0xFFFFFFFFu), S3P_ECORRUPT);
  MUTATE(s3p_put64(w + 64, 18), S3P_ECORRUPT);    /* ckpt > N */
  MUTATE(s3p_put64(w + 64, 17), S3P_OK);
  MUTATE(w[72] = 4, S3P_ECORRUPT);                /* ckpt level */
  MUTATE(s3p_put32(w + 96, 0), S3P_ECORRUPT);     /* pgno 0 */
  MUTATE(s3p_put32(w + 116, 1), S3P_ECORRUPT);    /* not ascending */
  MUTATE(s3p_put32(w + 136, 3), S3P_ECORRUPT);    /* descending */
#undef MUTATE
  free(w);
  free(buf);
  s3p_record_free(&r);
}

/* A full-image record (flag bit 0) round-trips and must carry its own
** checkpoint; the encoder refuses unknown flags. */
static void test_full_image(void){
  s3p_record r, d;
  unsigned char *buf;
  size_t len;
  make_record(&r, 0);
  r.flags = S3P_RECORD_FULL;
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_EINVAL);  /* C != N */
  r.ckpt_version = r.version;
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
  CHECK_EQ(buf[5], S3P_RECORD_FULL);
  CHECK_EQ(len, 104);
  CHECK_EQ(s3p_record_decode(&d, buf, len, 0), S3P_OK);
  CHECK(same_record(&r, &d));
  CHECK_EQ(d.flags, S3P_RECORD_FULL);
  s3p_record_free(&d);
  free(buf);
  r.flags = 4;
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_EINVAL);
  s3p_record_free(&r);
}

/* wal/ keys are 20 zero-padded digits and sort like versions. */
static void test_keys(void){
  char k[32];
  s3p_record_key(k, 0);
  CHECK(strcmp(k, "wal/00000000000000000000") == 0);
  s3p_record_key(k, 42);
  CHECK(strcmp(k, "wal/00000000000000000042") == 0);
  s3p_record_key(k, 0xFFFFFFFFFFFFFFFFull);
  CHECK(strcmp(k, "wal/18446744073709551615") == 0);
  char a[32], b[32];
  s3p_record_key(a, 9);
  s3p_record_key(b, 10);
  CHECK(strcmp(a, b) < 0);
}

int main(void){
  RUN(test_roundtrip);
  RUN(test_edges);
  RUN(test_encode_invalid);
  RUN(test_corruption);
  RUN(test_semantic_checks);
  RUN(test_full_image);
  RUN(test_keys);
  return CHECK_DONE();
}
