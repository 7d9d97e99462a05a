/*
** test_objlen.c: the size limit of each object kind (index/objlen.h) is
** what the encoders really produce at worst, so no valid object is ever
** refused by it, and keys map to the right kind.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/objlen.h"

/* Random bytes for incompressible pages (xorshift, fixed seed). */
static void fill_random(unsigned char *p, size_t n){
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for(size_t i = 0; i < n; i++){
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (unsigned char)x;
  }
}

/* The largest page object: a random (raw) 64 KiB page hits the limit
** exactly; every page size stays within it. */
static void test_page_limit(void){
  static unsigned char page[S3P_PAGE_MAX];
  fill_random(page, sizeof page);
  for(uint32_t sz = S3P_PAGE_MIN; sz <= S3P_PAGE_MAX; sz *= 2){
    unsigned char *obj = NULL;
    size_t len = 0;
    CHECK_EQ(s3p_page_encode(&obj, &len, page, sz), S3P_OK);
    CHECK(len <= S3P_PAGE_OBJ_MAXLEN);
    if(sz == S3P_PAGE_MAX) CHECK_EQ(len, S3P_PAGE_OBJ_MAXLEN);
    free(obj);
  }
  CHECK_EQ(S3P_PAGE_OBJ_MAXLEN, 65560);
}

/* The largest tree node: all 256 slots used. */
static void test_node_limit(void){
  static s3p_node n;
  unsigned char buf[S3P_NODE_MAXLEN];
  size_t len = 0;
  s3p_hash name;
  memset(&n, 0, sizeof n);
  n.level = 1;
  n.count = S3P_TREE_FANOUT;
  for(int i = 0; i < S3P_TREE_FANOUT; i++){
    fill_random(n.slot[i].b, sizeof n.slot[i].b);
    n.slot[i].b[0] |= 1;                    /* never the zero hash */
  }
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_OK);
  CHECK_EQ(len, S3P_NODE_MAXLEN);
  CHECK_EQ(S3P_NODE_MAXLEN, 4368);
}

/* A commit record grows by 20 bytes a change up to the decoder's limit of
** changes; HEAD is at most 1120 bytes (64 hints), TAIL 24. */
static void test_record_head_tail_limits(void){
  s3p_record r;
  unsigned char *buf = NULL, hbuf[S3P_HEAD_MAXLEN], tbuf[S3P_TAIL_LEN];
  s3p_head head;
  size_t len = 0;
  memset(&r, 0, sizeof r);
  r.version = 2;
  r.parent = 1;
  r.page_size = 4096;
  r.page_count = 1000;
  r.trunc_mark = 1000;
  r.nchange = 1000;
  r.changes = calloc(r.nchange, sizeof *r.changes);
  for(uint32_t i = 0; r.changes && i < r.nchange; i++){
    r.changes[i].pgno = i + 1;
    r.changes[i].hash.b[0] = 1;
  }
  CHECK_EQ(s3p_record_encode(&buf, &len, &r), S3P_OK);
  CHECK_EQ(len, S3P_RECORD_MAXLEN - 20 * (uint64_t)(S3P_RECORD_MAX_CHANGES
                                                    - r.nchange));
  free(buf);
  free(r.changes);
  CHECK_EQ(S3P_RECORD_MAXLEN, 96 + 20 * (uint64_t)(1u << 26) + 8);
  memset(&head, 0, sizeof head);
  head.version = head.ckpt_version = 7;
  head.nhint = S3P_HEAD_MAX_HINTS;
  for(unsigned i = 0; i < head.nhint; i++){
    head.hint[i].kind = S3P_HINT_PAGE;
    head.hint[i].hash.b[0] = (unsigned char)(i + 1);
  }
  CHECK_EQ(s3p_head_encode(hbuf, &head), sizeof hbuf);
  s3p_tail_encode(tbuf, 7);
  CHECK_EQ(s3p_obj_max_len("HEAD"), sizeof hbuf);
  CHECK_EQ(sizeof hbuf, 1120);
  CHECK_EQ(s3p_obj_max_len("TAIL"), sizeof tbuf);
}

/* Keys map to their kind; others have no limit of their own (0). */
static void test_keys(void){
  char key[S3P_KEY_MAX];
  s3p_hash h;
  memset(&h, 0xab, sizeof h);
  s3p_hash_key(key, "pages", &h);
  CHECK_EQ(s3p_obj_max_len(key), S3P_PAGE_OBJ_MAXLEN);
  s3p_hash_key(key, "index", &h);
  CHECK_EQ(s3p_obj_max_len(key), S3P_NODE_MAXLEN);
  s3p_record_key(key, 42);
  CHECK_EQ(s3p_obj_max_len(key), S3P_RECORD_MAXLEN);
  CHECK_EQ(s3p_obj_max_len("lease/0123456789abcdef0123456789abcdef"),
           S3P_LEASE_LEN);
  CHECK_EQ(s3p_obj_max_len("lease/"), 0);
  CHECK_EQ(s3p_obj_max_len("HEADS"), 0);
  CHECK_EQ(s3p_obj_max_len("wal/"), 0);
  CHECK_EQ(s3p_obj_max_len("wal"), 0);
  CHECK_EQ(s3p_obj_max_len("pagesx/a"), 0);
  CHECK_EQ(s3p_obj_max_len("_probe/1"), 0);
  CHECK_EQ(s3p_obj_max_len(NULL), 0);
}

int main(void){
  RUN(test_page_limit);
  RUN(test_node_limit);
  RUN(test_record_head_tail_limits);
  RUN(test_keys);
  return CHECK_DONE();
}
