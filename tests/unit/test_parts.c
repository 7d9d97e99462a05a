/*
** test_parts.c: unit tests of the small data structures under the VFS:
** the hash-keyed LRU (lru.c), the transaction write buffer (txbuf.c), the
** version view (view.c) and the option and time parsers (options.c).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../check.h"
#include "../../vfs/lru.h"
#include "../../vfs/txbuf.h"
#include "../../vfs/view.h"
#include "../../vfs/options.h"
#include "../../index/err.h"

/* hash_of returns a distinct non-zero hash for n. */
static s3p_hash hash_of(uint32_t n){
  s3p_hash h;
  memset(&h, 0, sizeof h);
  memcpy(h.b, &n, sizeof n);
  h.b[15] = 1;
  memcpy(h.b + 8, &n, sizeof n);     /* lru hashes on the second half */
  return h;
}

/* lru_budget: values are kept within the byte budget, the least recently
** used go first, and a get refreshes an entry. */
static void lru_budget(void){
  s3p_lru *c = s3p_lru_new(10 * (100 + S3P_LRU_OVERHEAD));
  CHECK(c != NULL);
  if(!c) return;
  char v[100];
  for(uint32_t i = 0; i < 10; i++){
    memset(v, (int)i, sizeof v);
    s3p_hash h = hash_of(i);
    CHECK_EQ(s3p_lru_put(c, &h, v, sizeof v, i), S3P_OK);
  }
  CHECK_EQ(s3p_lru_count(c), 10);
  CHECK_EQ(s3p_lru_bytes(c), 10 * (100 + S3P_LRU_OVERHEAD));
  s3p_hash h0 = hash_of(0);
  size_t len = 0;
  uint64_t stamp = 99;
  const char *got = s3p_lru_get(c, &h0, &len, &stamp);   /* 0 now recent */
  CHECK(got && len == 100 && got[0] == 0 && stamp == 0);
  for(uint32_t i = 10; i < 15; i++){
    s3p_hash h = hash_of(i);
    memset(v, (int)i, sizeof v);
    CHECK_EQ(s3p_lru_put(c, &h, v, sizeof v, i), S3P_OK);
  }
  CHECK_EQ(s3p_lru_count(c), 10);
  CHECK(s3p_lru_get(c, &h0, NULL, NULL) != NULL);          /* kept */
  for(uint32_t i = 1; i <= 5; i++){
    s3p_hash h = hash_of(i);
    CHECK(s3p_lru_get(c, &h, NULL, NULL) == NULL);         /* evicted */
  }
  for(uint32_t i = 6; i < 15; i++){
    s3p_hash h = hash_of(i);
    got = s3p_lru_get(c, &h, &len, NULL);
    CHECK(got && got[99] == (char)i);
  }
  /* Replacing keeps the newer stamp; a value over budget is not kept. */
  s3p_hash h7 = hash_of(7);
  CHECK_EQ(s3p_lru_put(c, &h7, v, 10, 1), S3P_OK);
  CHECK(s3p_lru_get(c, &h7, &len, &stamp) && len == 10 && stamp == 7);
  char big[2000] = {0};
  s3p_hash hb = hash_of(1000);
  CHECK_EQ(s3p_lru_put(c, &hb, big, sizeof big, 0), S3P_OK);
  CHECK(s3p_lru_get(c, &hb, NULL, NULL) == NULL);
  /* A stamp is raised in place, never lowered; an absent key is not added. */
  CHECK_EQ(s3p_lru_stamp(c, &h7, 5), 1);
  CHECK(s3p_lru_get(c, &h7, NULL, &stamp) && stamp == 7);
  CHECK_EQ(s3p_lru_stamp(c, &h7, 70), 1);
  CHECK(s3p_lru_get(c, &h7, NULL, &stamp) && stamp == 70);
  CHECK_EQ(s3p_lru_stamp(c, &hb, 70), 0);
  CHECK(s3p_lru_get(c, &hb, NULL, NULL) == NULL);
  /* Empty values are counted for their overhead, so they are bounded too;
  ** a smaller budget evicts the least recently used (h7 is the newest). */
  s3p_hash he = hash_of(2000);
  CHECK_EQ(s3p_lru_put(c, &he, NULL, 0, 3), S3P_OK);
  CHECK(s3p_lru_get(c, &he, &len, &stamp) && len == 0 && stamp == 3);
  s3p_lru_set_budget(c, 10 + 2 * S3P_LRU_OVERHEAD);
  CHECK_EQ(s3p_lru_count(c), 2);
  CHECK(s3p_lru_get(c, &h7, NULL, NULL) != NULL);
  CHECK(s3p_lru_get(c, &he, NULL, NULL) != NULL);
  CHECK(s3p_lru_bytes(c) <= 10 + 2 * S3P_LRU_OVERHEAD);
  s3p_lru_free(c);
}

/* lru_many: thousands of entries through a small table stay findable
** (table growth and backward-shift deletion). */
static void lru_many(void){
  s3p_lru *c = s3p_lru_new(3000 * (8 + S3P_LRU_OVERHEAD));
  CHECK(c != NULL);
  if(!c) return;
  for(uint32_t i = 0; i < 20000; i++){
    s3p_hash h = hash_of(i * 2654435761u);
    uint64_t v = i;
    CHECK_EQ(s3p_lru_put(c, &h, &v, sizeof v, 0), S3P_OK);
  }
  CHECK_EQ(s3p_lru_count(c), 3000);
  int found = 0;
  for(uint32_t i = 17000; i < 20000; i++){
    s3p_hash h = hash_of(i * 2654435761u);
    const uint64_t *v = s3p_lru_get(c, &h, NULL, NULL);
    found += v && *v == i;
  }
  CHECK_EQ(found, 3000);
  s3p_lru_free(c);
}

/* txbuf_spill: pages beyond the memory limit spill to the temporary file
** and read back; truncation drops pages and lowers the mark; the list is
** sorted. */
static void txbuf_spill(void){
  s3p_txbuf *t = s3p_txbuf_new(4 * 512);     /* 4 pages in memory */
  CHECK(t != NULL);
  if(!t) return;
  s3p_txbuf_begin(t, 512, 10);
  CHECK(s3p_txbuf_active(t));
  unsigned char p[512], q[512];
  for(uint32_t g = 30; g >= 1; g--){
    memset(p, (int)g, sizeof p);
    CHECK_EQ(s3p_txbuf_put(t, g, p), S3P_OK);
  }
  memset(p, 0xEE, sizeof p);
  CHECK_EQ(s3p_txbuf_put(t, 3, p), S3P_OK);   /* overwrite a spilled page */
  CHECK_EQ(s3p_txbuf_pages(t), 30);
  CHECK_EQ(s3p_txbuf_count(t), 30);
  for(uint32_t g = 1; g <= 30; g++){
    CHECK_EQ(s3p_txbuf_get(t, g, q), 1);
    CHECK_EQ(q[511], g == 3 ? 0xEE : g);
  }
  CHECK_EQ(s3p_txbuf_get(t, 31, q), 0);
  CHECK_EQ(s3p_txbuf_trunc_mark(t), 10);
  s3p_txbuf_truncate(t, 7);
  CHECK_EQ(s3p_txbuf_pages(t), 7);
  CHECK_EQ(s3p_txbuf_trunc_mark(t), 7);
  CHECK_EQ(s3p_txbuf_get(t, 8, q), 0);
  memset(p, 0x11, sizeof p);
  CHECK_EQ(s3p_txbuf_put(t, 12, p), S3P_OK);
  CHECK_EQ(s3p_txbuf_pages(t), 12);
  CHECK_EQ(s3p_txbuf_trunc_mark(t), 7);
  uint32_t *list = NULL;
  size_t n = 0;
  CHECK_EQ(s3p_txbuf_list(t, &list, &n), S3P_OK);
  CHECK_EQ(n, 8);
  for(size_t i = 0; i + 1 < n; i++) CHECK(list[i] < list[i + 1]);
  CHECK(n == 8 && list[0] == 1 && list[6] == 7 && list[7] == 12);
  free(list);
  s3p_txbuf_clear(t);
  CHECK(!s3p_txbuf_active(t));
  s3p_txbuf_free(t);
}

/* record_of makes a record of version v (page size 4096, count pages,
** truncation mark mark) changing the given pages to hash_of(tag). */
static s3p_record record_of(uint64_t v, uint32_t count, uint32_t mark,
                            const uint32_t *pg, size_t n, uint32_t tag){
  s3p_record r;
  memset(&r, 0, sizeof r);
  r.version = v;
  r.parent = v - 1;
  r.time_ms = 1000 * v;
  r.page_size = 4096;
  r.page_count = count;
  r.trunc_mark = mark;
  r.nchange = (uint32_t)n;
  r.changes = calloc(n + 1, sizeof *r.changes);
  for(size_t i = 0; i < n; i++){
    r.changes[i].pgno = pg[i];
    r.changes[i].hash = hash_of(tag + pg[i]);
  }
  return r;
}

/* view_replay: records apply in order, later changes win, truncation
** hides what lay above the mark until rewritten, and a record out of
** order is refused. (The tree is empty, so no node is ever loaded.) */
static void view_replay(void){
  s3p_view v;
  s3p_view_init(&v);
  s3p_tree_io io = { NULL, NULL, NULL };
  const char *why = NULL;
  uint32_t a[] = { 1, 2, 3, 4, 5 }, b[] = { 2, 9 }, c[] = { 7 };
  s3p_record r1 = record_of(1, 5, 0, a, 5, 100);
  s3p_record r2 = record_of(2, 9, 5, b, 2, 200);
  s3p_record r3 = record_of(3, 7, 3, c, 1, 300);      /* truncates to 3 */
  s3p_record bad = record_of(5, 7, 7, c, 1, 400);
  CHECK_EQ(s3p_view_apply(&v, &r1, &why), S3P_OK);
  CHECK_EQ(s3p_view_apply(&v, &r2, &why), S3P_OK);
  s3p_hash h;
  CHECK_EQ(s3p_view_lookup(&h, &v, 2, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &r2.changes[0].hash));
  CHECK_EQ(s3p_view_lookup(&h, &v, 5, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &r1.changes[4].hash));
  CHECK_EQ(s3p_view_apply(&v, &r3, &why), S3P_OK);
  CHECK_EQ(v.version, 3);
  CHECK_EQ(v.page_count, 7);
  CHECK_EQ(s3p_view_lookup(&h, &v, 3, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &r1.changes[2].hash));        /* below the mark */
  CHECK_EQ(s3p_view_lookup(&h, &v, 5, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&h));                        /* cleared */
  CHECK_EQ(s3p_view_lookup(&h, &v, 7, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &r3.changes[0].hash));        /* rewritten */
  CHECK_EQ(s3p_view_lookup(&h, &v, 9, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&h));                        /* beyond the end */
  s3p_change *ov = NULL;
  size_t n = 0;
  CHECK_EQ(s3p_view_overlay(&v, &ov, &n), S3P_OK);
  CHECK_EQ(n, 4);                                     /* 1, 2, 3, 7 */
  for(size_t i = 0; i + 1 < n; i++) CHECK(ov[i].pgno < ov[i + 1].pgno);
  free(ov);
  CHECK_EQ(s3p_view_apply(&v, &bad, &why), S3P_ECORRUPT);
  CHECK(why != NULL);
  CHECK_EQ(v.version, 3);
  s3p_record_free(&r1); s3p_record_free(&r2); s3p_record_free(&r3);
  s3p_record_free(&bad);
  s3p_view_free(&v);
}

/* view_checkpoint: a record carrying its own checkpoint replaces the
** overlay; one naming another checkpoint than its parent's is refused. */
static void view_checkpoint(void){
  s3p_view v;
  s3p_view_init(&v);
  const char *why = NULL;
  uint32_t a[] = { 1, 2 };
  s3p_record r1 = record_of(1, 2, 0, a, 2, 10);
  s3p_record r2 = record_of(2, 2, 2, a, 1, 20);
  r2.ckpt_version = 2;
  r2.ckpt_root = hash_of(77);
  r2.ckpt_level = 0;
  s3p_record r3 = record_of(3, 2, 2, a, 1, 30);       /* keeps ckpt 0: bad */
  CHECK_EQ(s3p_view_apply(&v, &r1, &why), S3P_OK);
  CHECK_EQ(v.ov_count, 2);
  CHECK_EQ(s3p_view_apply(&v, &r2, &why), S3P_OK);
  CHECK_EQ(v.ov_count, 0);
  CHECK_EQ(v.ckpt_version, 2);
  CHECK(s3p_hash_eq(&v.tree.root, &r2.ckpt_root));
  CHECK_EQ(s3p_view_apply(&v, &r3, &why), S3P_ECORRUPT);
  s3p_record_free(&r1); s3p_record_free(&r2); s3p_record_free(&r3);
  s3p_view_free(&v);
}

/* time_parse: ISO-8601 UTC and Unix seconds, and what is refused. */
static void time_parse(void){
  int64_t ms = 0;
  CHECK_EQ(s3p_time_parse(&ms, "2026-11-22T10:00:00Z"), S3P_OK);
  CHECK_EQ(ms, INT64_C(1795341600000));
  CHECK_EQ(s3p_time_parse(&ms, "2026-11-22T10:00:00.25Z"), S3P_OK);
  CHECK_EQ(ms, INT64_C(1795341600250));
  CHECK_EQ(s3p_time_parse(&ms, "2026-11-22 10:00"), S3P_OK);
  CHECK_EQ(ms, INT64_C(1795341600000));
  CHECK_EQ(s3p_time_parse(&ms, "2026-11-22"), S3P_OK);
  CHECK_EQ(ms, INT64_C(1795305600000));
  CHECK_EQ(s3p_time_parse(&ms, "1795341600.5"), S3P_OK);
  CHECK_EQ(ms, INT64_C(1795341600500));
  const char *bad[] = { "", "yesterday", "2026-13-01", "2026-11-22T25:00Z",
                        "2026-11-22T10:00:00+02:00", "-5", "12e3", "2026" };
  for(size_t i = 0; i < sizeof bad / sizeof *bad; i++){
    CHECK_EQ(s3p_time_parse(&ms, bad[i]), S3P_EINVAL);
  }
  char out[32];
  s3p_time_format(out, INT64_C(1795341600250));
  CHECK(!strcmp(out, "2026-11-22T10:00:00.250Z"));
}

/* options_parse: URI parameters, defaults, and a clear refusal of bad
** values. */
static void options_parse(void){
  s3p_options o;
  char *err = NULL;
  CHECK_EQ(s3p_options_parse(&o, NULL, &err), S3P_OK);
  CHECK(!o.readonly && o.version == 0 && o.ckpt_interval == 32);
  s3p_options_free(&o);
  /* sqlite3_uri_parameter needs a name laid out as SQLite gives xOpen. */
  const char *p1[] = { "version", "7", "checkpoint", "8" };
  sqlite3_filename f = sqlite3_create_filename("db", "db-journal", "db-wal", 2, p1);
  CHECK_EQ(s3p_options_parse(&o, f, &err), S3P_OK);
  CHECK(o.readonly && o.version == 7 && o.ckpt_interval == 8);
  s3p_options_free(&o);
  sqlite3_free_filename(f);
  const char *p2[] = { "version", "x7" };
  f = sqlite3_create_filename("db", "db-journal", "db-wal", 1, p2);
  CHECK_EQ(s3p_options_parse(&o, f, &err), S3P_EINVAL);
  CHECK(err && strstr(err, "version"));
  sqlite3_free(err);
  s3p_options_free(&o);
  sqlite3_free_filename(f);
  const char *p3[] = { "version", "3", "asof", "5" };
  f = sqlite3_create_filename("db", "db-journal", "db-wal", 2, p3);
  err = NULL;
  CHECK_EQ(s3p_options_parse(&o, f, &err), S3P_EINVAL);
  CHECK(err != NULL);
  sqlite3_free(err);
  sqlite3_free_filename(f);
  s3p_options_free(&o);
}

int main(void){
  RUN(lru_budget);
  RUN(lru_many);
  RUN(txbuf_spill);
  RUN(view_replay);
  RUN(view_checkpoint);
  RUN(time_parse);
  RUN(options_parse);
  return CHECK_DONE();
}
