/*
** gen_corpus.c: writes the seed corpora of the fuzz targets, a few valid
** encoded objects each, with the flag byte each target expects first.
**
** Build and run from the top of the repository:
**     cc -std=c11 -D_GNU_SOURCE -o gen_corpus fuzz/gen_corpus.c \
**        index/err.c index/hash.c index/head.c index/page.c index/record.c \
**        index/tree.c -lz -lxxhash && ./gen_corpus fuzz/corpus
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../index/bytes.h"
#include "../index/err.h"
#include "../index/hash.h"
#include "../index/head.h"
#include "../index/page.h"
#include "../index/record.h"
#include "../index/tree.h"

/* gen_write writes flag byte + buf[0..len) to DIR/target/name. */
static void gen_write(const char *dir, const char *target, const char *name,
                      int flag, const unsigned char *buf, size_t len){
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, target);
  mkdir(dir, 0777);
  mkdir(path, 0777);
  snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
  FILE *f = fopen(path, "wb");
  if( f == 0 ){ perror(path); exit(1); }
  fputc(flag, f);
  fwrite(buf, 1, len, f);
  fclose(f);
}

/* gen_pages writes page objects: raw random, zlib text, zlib zero page. */
static void gen_pages(const char *dir){
  static const struct { int k; int kind; const char *name; } seeds[] = {
    {0, 0, "raw-512"}, {0, 1, "zlib-512"}, {3, 1, "zlib-4096"},
    {3, 2, "zero-4096"}, {1, 0, "raw-1024"},
  };
  for(size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++){
    uint32_t ps = 512u << seeds[s].k;
    unsigned char *p = calloc(1, ps), *obj;
    size_t len;
    uint32_t x = 12345;
    for(uint32_t i = 0; i < ps; i++){
      if( seeds[s].kind == 0 ){ x = x * 1103515245u + 12345u; p[i] = (unsigned char)(x >> 16); }
      if( seeds[s].kind == 1 ) p[i] = (unsigned char)("CREATE TABLE t(a,b); "[i % 21]);
    }
    if( s3p_page_encode(&obj, &len, p, ps) != S3P_OK ) exit(1);
    gen_write(dir, "fuzz_page", seeds[s].name, seeds[s].k, obj, len);
    free(obj);
    free(p);
  }
}

/* gen_records writes commit records with 0, 1 and 5 changes. */
static void gen_records(const char *dir){
  s3p_change ch[5];
  for(int i = 0; i < 5; i++){
    ch[i].pgno = (uint32_t)(1 + i * 7);
    memset(&ch[i].hash, 0, sizeof(s3p_hash));
    if( i != 2 ) s3p_hash_bytes(&ch[i].hash, &i, sizeof(i));
  }
  s3p_record r;
  memset(&r, 0, sizeof(r));
  r.version = 1; r.parent = 0; r.time_ms = 1700000000000ull;
  r.page_size = 4096; r.page_count = 2; r.trunc_mark = 0;
  r.nchange = 1; r.changes = ch;
  unsigned char *buf;
  size_t len;
  if( s3p_record_encode(&buf, &len, &r) != S3P_OK ) exit(1);
  gen_write(dir, "fuzz_record", "first", 0, buf, len);
  free(buf);
  r.version = 42; r.parent = 41; r.page_count = 40; r.trunc_mark = 30;
  r.ckpt_version = 40; r.ckpt_level = 1;
  s3p_hash_bytes(&r.ckpt_root, "root", 4);
  r.nchange = 5;
  memset(r.nonce, 0xAB, sizeof(r.nonce));
  if( s3p_record_encode(&buf, &len, &r) != S3P_OK ) exit(1);
  gen_write(dir, "fuzz_record", "five", 0, buf, len);
  free(buf);
  r.nchange = 0;
  r.page_size = 65536;
  if( s3p_record_encode(&buf, &len, &r) != S3P_OK ) exit(1);
  gen_write(dir, "fuzz_record", "empty", 1, buf, len);
  free(buf);
}

/* gen_heads writes HEAD objects. */
static void gen_heads(const char *dir){
  unsigned char b[S3P_HEAD_MAXLEN];
  static const unsigned char v1[S3P_HEAD_V1_LEN] = {
    'S', '3', 'P', 'H', 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0 };
  memcpy(b, v1, sizeof v1);
  s3p_put64(b + 16, s3p_checksum64(b, 16));
  gen_write(dir, "fuzz_head", "v1", 0, b, S3P_HEAD_V1_LEN);
  s3p_head h;
  memset(&h, 0, sizeof h);
  h.version = 0x0123456789ABCDEFull;
  h.ckpt_version = 0x0123456789ABCDE0ull;
  h.page_size = 4096;
  h.nhint = 3;
  for(unsigned i = 0; i < h.nhint; i++){
    h.hint[i].kind = i ? S3P_HINT_PAGE : S3P_HINT_NODE;
    memset(h.hint[i].hash.b, (int)(0x11 * (i + 1)), S3P_HASH_LEN);
  }
  gen_write(dir, "fuzz_head", "hints", 1, b, s3p_head_encode(b, &h));
  h.nhint = 0;
  h.page_size = 0;
  gen_write(dir, "fuzz_head", "bare", 0, b, s3p_head_encode(b, &h));
}

/* gen_nodes writes node objects and two tree programs. */
static void gen_nodes(const char *dir){
  s3p_node n;
  unsigned char buf[S3P_NODE_MAXLEN];
  size_t len;
  s3p_hash name;
  memset(&n, 0, sizeof(n));
  n.level = 0;
  for(int i = 0; i < 256; i += 51){ s3p_hash_bytes(&n.slot[i], &i, sizeof(i)); n.count++; }
  if( s3p_node_encode(buf, &len, &name, &n) != S3P_OK ) exit(1);
  gen_write(dir, "fuzz_node", "leaf", 0, buf, len);
  n.level = 3;
  if( s3p_node_encode(buf, &len, &name, &n) != S3P_OK ) exit(1);
  gen_write(dir, "fuzz_node", "level3", 2, buf, len);
  /* Programs: [op][pgno LE][tag]; op 3 applies with mark if tag odd. */
  unsigned char prog[6 * 12];
  uint32_t pg[12] = {1, 2, 300, 0, 70000, 5, 0, 0xFFFFFFFFu, 0x01000000u, 0, 10, 0};
  unsigned char op[12] = {0, 0, 0, 3, 1, 2, 3, 0, 0, 3, 0, 3};
  unsigned char tag[12] = {1, 2, 3, 0, 4, 0, 0, 5, 6, 1, 7, 0};
  pg[6] = 100;  /* apply with mark 100: drops page 300 */
  tag[6] = 1;
  for(int i = 0; i < 12; i++){
    prog[6 * i] = op[i];
    s3p_put32(prog + 6 * i + 1, pg[i]);
    prog[6 * i + 5] = tag[i];
  }
  gen_write(dir, "fuzz_node", "program", 1, prog, sizeof(prog));
}

/* gen_put2 and gen_put4 store big-endian integers (SQLite's byte order). */
static void gen_put2(unsigned char *p, unsigned v){
  p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v;
}
static void gen_put4(unsigned char *p, uint32_t v){
  gen_put2(p, v >> 16); gen_put2(p + 2, v & 0xffff);
}

/* gen_btree writes SQLite b-tree pages of 1024 bytes for fuzz_btree
** ([flags][reserved][npages LE][page]): an interior table page of three
** cells, a table leaf whose one cell overflows, an interior index page
** whose cell overflows (overflow pages listed), and a page 1 that is a
** table leaf under the file header. */
static void gen_btree(const char *dir){
  unsigned char b[6 + 1024];
  unsigned char *pg = b + 6;
  memset(b, 0, sizeof(b));
  b[1] = 0;                                 /* reserved bytes */
  s3p_put32(b + 2, 100);                    /* npages */
  /* Interior table page: cells at 1000, 1008, 1016: child, rowid. */
  pg[0] = 5; gen_put2(pg + 3, 3); gen_put2(pg + 5, 1000); gen_put4(pg + 8, 9);
  for(int i = 0; i < 3; i++){
    gen_put2(pg + 12 + 2 * i, 1000 + 8 * i);
    gen_put4(pg + 1000 + 8 * i, 3 + i);
    pg[1004 + 8 * i] = (unsigned char)(10 * i + 1);
  }
  gen_write(dir, "fuzz_btree", "table-interior", 1, b + 1, sizeof(b) - 1);
  /* Table leaf: one cell at 20 with a 2000-byte payload, rowid 1. With
  ** usable 1024 the most kept locally is 1024-35 = 989 < 2000, so the
  ** local part is 103 + (2000-103) % 1020 = 980 (<= 989), then the number
  ** of the overflow page. */
  memset(pg, 0, 1024);
  pg[0] = 13; gen_put2(pg + 3, 1); gen_put2(pg + 5, 20); gen_put2(pg + 8, 20);
  pg[20] = 0x80 | (2000 >> 7); pg[21] = 2000 & 0x7f; pg[22] = 1;
  gen_put4(pg + 23 + 980, 42);
  gen_write(dir, "fuzz_btree", "table-leaf-overflow", 1 | 16, b + 1,
            sizeof(b) - 1);
  /* Interior index page: one cell at 200: child 7, a 600-byte payload
  ** (max_local 230; 103 + 497 % 1020 = 600 > 230, so the local part is
  ** min_local, 103), overflow
  ** page 43; right-most child 8. */
  memset(pg, 0, 1024);
  pg[0] = 2; gen_put2(pg + 3, 1); gen_put2(pg + 5, 200); gen_put4(pg + 8, 8);
  gen_put2(pg + 12, 200);
  gen_put4(pg + 200, 7);
  pg[204] = 0x80 | (600 >> 7); pg[205] = 600 & 0x7f;
  gen_put4(pg + 206 + 103, 43);
  gen_write(dir, "fuzz_btree", "index-interior-overflow", 1 | 16, b + 1,
            sizeof(b) - 1);
  /* Page 1: the file header, then an empty table leaf. */
  memset(pg, 0, 1024);
  memcpy(pg, "SQLite format 3", 16);
  gen_put2(pg + 16, 1024);
  pg[100] = 13;
  gen_put2(pg + 105, 1024);
  gen_write(dir, "fuzz_btree", "page1", 1 | 8, b + 1, sizeof(b) - 1);
}

/* main writes every corpus under argv[1] (default fuzz/corpus). */
int main(int argc, char **argv){
  const char *dir = argc > 1 ? argv[1] : "fuzz/corpus";
  gen_pages(dir);
  gen_records(dir);
  gen_heads(dir);
  gen_nodes(dir);
  gen_btree(dir);
  return 0;
}
