/*
** test_tree.c: the tree-node codec and the checkpoint radix tree, checked
** against a plain reference map, over an in-memory node store that counts
** loads and stores.
*/
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../../index/bytes.h"
#include "../../index/err.h"
#include "../../index/hash.h"
#include "../../index/tree.h"

/* ---- An in-memory node store: open addressing on the hash. ---- */

typedef struct mem_node {
  s3p_hash h;
  size_t len;
  unsigned char *buf;
} mem_node;

typedef struct mem_store {
  mem_node *tab;
  size_t cap, used;
  long loads, stores, new_stores;
  int fail_load;       /* return S3P_EIO from load when set */
} mem_store;

/* mem_find returns the slot of h in m (empty slot if absent). */
static mem_node *mem_find(mem_store *m, const s3p_hash *h){
  uint64_t k = s3p_get64(h->b);
  size_t i = (size_t)(k % m->cap);
  while( m->tab[i].buf && !s3p_hash_eq(&m->tab[i].h, h) ) i = (i + 1) % m->cap;
  return &m->tab[i];
}

/* mem_grow doubles the table of m. */
static void mem_grow(mem_store *m){
  mem_node *old = m->tab;
  size_t oc = m->cap;
  m->cap = oc ? oc * 2 : 1024;
  m->tab = calloc(m->cap, sizeof(mem_node));
  for(size_t i = 0; i < oc; i++){
    if( old[i].buf ) *mem_find(m, &old[i].h) = old[i];
  }
  free(old);
}

/* mem_load decodes node h from the store, verifying its hash. */
static int mem_load(void *ctx, const s3p_hash *h, s3p_node *out){
  mem_store *m = ctx;
  const char *why;
  m->loads++;
  if( m->fail_load ) return S3P_EIO;
  mem_node *e = mem_find(m, h);
  if( !e->buf ) return S3P_ENOTFOUND;
  return s3p_node_decode(out, e->buf, e->len, h, &why);
}

/* mem_store_node keeps a copy of node h. */
static int mem_store_node(void *ctx, const s3p_hash *h,
                          const unsigned char *buf, size_t len){
  mem_store *m = ctx;
  s3p_hash check;
  m->stores++;
  s3p_hash_bytes(&check, buf, len);
  CHECK(s3p_hash_eq(&check, h));
  if( (m->used + 1) * 2 > m->cap ) mem_grow(m);
  mem_node *e = mem_find(m, h);
  if( e->buf ) return S3P_OK;
  m->new_stores++;
  e->h = *h;
  e->len = len;
  e->buf = malloc(len);
  memcpy(e->buf, buf, len);
  m->used++;
  return S3P_OK;
}

/* mem_init sets up m and its io. */
static void mem_init(mem_store *m, s3p_tree_io *io){
  memset(m, 0, sizeof(*m));
  mem_grow(m);
  io->ctx = m;
  io->load = mem_load;
  io->store = mem_store_node;
}

/* mem_free releases m. */
static void mem_free(mem_store *m){
  for(size_t i = 0; i < m->cap; i++) free(m->tab[i].buf);
  free(m->tab);
}

/* mem_reset_counts zeroes the load and store counters. */
static void mem_reset_counts(mem_store *m){
  m->loads = m->stores = m->new_stores = 0;
}

/* ---- Helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* rnd returns a pseudo-random 64-bit value (deterministic). */
static uint64_t rnd(void){
  rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* page_hash returns a non-zero hash standing for page content tag. */
static s3p_hash page_hash(uint32_t tag){
  s3p_hash h;
  s3p_hash_bytes(&h, &tag, sizeof(tag));
  return h;
}

/* expected_level returns the canonical root level for highest pgno max. */
static int expected_level(uint32_t maxpg){
  uint32_t key = maxpg - 1;
  if( key < 256 ) return 0;
  if( key < 65536 ) return 1;
  if( key < (1u << 24) ) return 2;
  return 3;
}

/* A reference map: sorted arrays of page numbers and hashes. */
typedef struct ref_map {
  uint32_t *pg;
  s3p_hash *h;
  size_t n, cap;
} ref_map;

/* ref_find returns the index of the first entry >= pgno. */
static size_t ref_find(const ref_map *r, uint32_t pgno){
  size_t lo = 0, hi = r->n;
  while( lo < hi ){
    size_t mid = (lo + hi) / 2;
    if( r->pg[mid] < pgno ) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/* ref_apply truncates r at mark then applies the changes. */
static void ref_apply(ref_map *r, uint32_t mark, const s3p_change *ch, size_t n){
  if( mark != 0xFFFFFFFFu ) r->n = ref_find(r, mark + 1);
  for(size_t i = 0; i < n; i++){
    size_t k = ref_find(r, ch[i].pgno);
    int present = k < r->n && r->pg[k] == ch[i].pgno;
    if( s3p_hash_is_zero(&ch[i].hash) ){
      if( present ){
        memmove(r->pg + k, r->pg + k + 1, (r->n - k - 1) * sizeof(uint32_t));
        memmove(r->h + k, r->h + k + 1, (r->n - k - 1) * sizeof(s3p_hash));
        r->n--;
      }
    }else if( present ){
      r->h[k] = ch[i].hash;
    }else{
      if( r->n == r->cap ){
        r->cap = r->cap ? r->cap * 2 : 64;
        r->pg = realloc(r->pg, r->cap * sizeof(uint32_t));
        r->h = realloc(r->h, r->cap * sizeof(s3p_hash));
      }
      memmove(r->pg + k + 1, r->pg + k, (r->n - k) * sizeof(uint32_t));
      memmove(r->h + k + 1, r->h + k, (r->n - k) * sizeof(s3p_hash));
      r->pg[k] = ch[i].pgno;
      r->h[k] = ch[i].hash;
      r->n++;
    }
  }
}

/* ref_lookup returns the hash of pgno in r, zero if absent. */
static s3p_hash ref_lookup(const ref_map *r, uint32_t pgno){
  s3p_hash z;
  size_t k = ref_find(r, pgno);
  if( k < r->n && r->pg[k] == pgno ) return r->h[k];
  memset(&z, 0, sizeof(z));
  return z;
}

/* Walk collector: checks page entries against a reference in order. */
typedef struct walk_state {
  const ref_map *ref;
  size_t next;         /* next reference entry expected */
  long nodes;
  int bad;
  uint32_t last_node_pg;
} walk_state;

/* walk_visit checks one visited entry against the reference. */
static int walk_visit(void *arg, int is_node, uint32_t pgno, const s3p_hash *h){
  walk_state *w = arg;
  if( is_node ){
    w->nodes++;
    if( pgno < w->last_node_pg ) w->bad++;
    w->last_node_pg = pgno;
    return 0;
  }
  if( w->next >= w->ref->n || w->ref->pg[w->next] != pgno ||
      !s3p_hash_eq(&w->ref->h[w->next], h) ) w->bad++;
  w->next++;
  return 0;
}

/* verify_tree checks t against r completely: canonical level, a walk that
** matches r in order, every lookup of r and a few absent pages, and that
** building r from scratch gives the same root. */
static void verify_tree(const s3p_treeref *t, const ref_map *r, s3p_tree_io *io){
  if( r->n == 0 ){
    CHECK(s3p_hash_is_zero(&t->root));
    CHECK_EQ(t->level, 0);
  }else{
    CHECK(!s3p_hash_is_zero(&t->root));
    CHECK_EQ(t->level, expected_level(r->pg[r->n - 1]));
  }
  walk_state w;
  memset(&w, 0, sizeof(w));
  w.ref = r;
  CHECK_EQ(s3p_tree_walk(t, io, walk_visit, &w), 0);
  CHECK_EQ(w.bad, 0);
  CHECK_EQ(w.next, r->n);
  for(size_t i = 0; i < r->n; i++){
    s3p_hash h;
    CHECK_EQ(s3p_tree_lookup(&h, t, r->pg[i], io), S3P_OK);
    CHECK(s3p_hash_eq(&h, &r->h[i]));
    uint32_t other = r->pg[i] + 1;
    if( other != 0 ){
      s3p_hash want = ref_lookup(r, other);
      CHECK_EQ(s3p_tree_lookup(&h, t, other, io), S3P_OK);
      CHECK(s3p_hash_eq(&h, &want));
    }
  }
  /* Canonical: the same map built in one step from empty. */
  s3p_change *ch = malloc((r->n + 1) * sizeof(s3p_change));
  for(size_t i = 0; i < r->n; i++){ ch[i].pgno = r->pg[i]; ch[i].hash = r->h[i]; }
  s3p_treeref empty, fresh;
  memset(&empty, 0, sizeof(empty));
  CHECK_EQ(s3p_tree_update(&fresh, &empty, 0, ch, r->n, io), S3P_OK);
  CHECK(s3p_hash_eq(&fresh.root, &t->root));
  CHECK_EQ(fresh.level, t->level);
  free(ch);
}

/* ---- Node codec ---- */

/* Node encode/decode round trip, and every corruption. */
static void test_node_codec(void){
  s3p_node n, d;
  unsigned char buf[S3P_NODE_MAXLEN];
  size_t len;
  s3p_hash name, other;
  const char *why;
  memset(&n, 0, sizeof(n));
  n.level = 2;
  for(int i = 0; i < 256; i += 37){ n.slot[i] = page_hash((uint32_t)i); n.count++; }
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_OK);
  CHECK_EQ(len, 8 + 17 * n.count + 8);
  CHECK(memcmp(buf, "S3PN\1\2", 6) == 0);
  s3p_hash_bytes(&other, buf, len);
  CHECK(s3p_hash_eq(&other, &name));
  CHECK_EQ(s3p_node_decode(&d, buf, len, &name, &why), S3P_OK);
  CHECK(memcmp(&d, &n, sizeof(n)) == 0);
  CHECK_EQ(s3p_node_decode(&d, buf, len, 0, 0), S3P_OK);
  for(size_t i = 0; i < len; i++){
    for(int bit = 0; bit < 8; bit++){
      buf[i] ^= (unsigned char)(1 << bit);
      why = 0;
      CHECK_EQ(s3p_node_decode(&d, buf, len, &name, &why), S3P_ECORRUPT);
      CHECK(why != 0);
      buf[i] ^= (unsigned char)(1 << bit);
    }
  }
  for(size_t k = 0; k < len; k++){
    CHECK_EQ(s3p_node_decode(&d, buf, k, 0, &why), S3P_ECORRUPT);
  }
  CHECK_EQ(s3p_node_decode(&d, buf, len + 1, 0, &why), S3P_ECORRUPT);
  other.b[0] ^= 1;
  CHECK_EQ(s3p_node_decode(&d, buf, len, &other, &why), S3P_ECORRUPT);

  /* Full node (256 entries) round-trips at the maximum length. */
  for(int i = 0; i < 256; i++) n.slot[i] = page_hash((uint32_t)i + 1000);
  n.count = 256;
  n.level = 0;
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_OK);
  CHECK_EQ(len, S3P_NODE_MAXLEN);
  CHECK_EQ(s3p_node_decode(&d, buf, len, &name, &why), S3P_OK);
  CHECK(memcmp(&d, &n, sizeof(n)) == 0);

  /* Invalid nodes are refused by the encoder. */
  n.count = 255;
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_EINVAL);
  n.count = 256; n.level = 4;
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_EINVAL);
  memset(&n, 0, sizeof(n));
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_EINVAL);
}

/* resealed_node_decode fixes the checksum of buf and decodes it. */
static int resealed_node_decode(unsigned char *buf, size_t len){
  s3p_node d;
  const char *why;
  s3p_put64(buf + len - 8, s3p_checksum64(buf, len - 8));
  return s3p_node_decode(&d, buf, len, 0, &why);
}

/* Checksummed nodes that break a rule: order, zero entries, count, level. */
static void test_node_semantics(void){
  s3p_node n;
  unsigned char buf[S3P_NODE_MAXLEN], w[S3P_NODE_MAXLEN];
  size_t len;
  s3p_hash name;
  memset(&n, 0, sizeof(n));
  n.level = 1;
  n.slot[3] = page_hash(1); n.slot[9] = page_hash(2); n.count = 2;
  CHECK_EQ(s3p_node_encode(buf, &len, &name, &n), S3P_OK);
#define MUT(stmt, want) do { memcpy(w, buf, len); stmt; \
    CHECK_EQ(resealed_node_decode(w, len), want); } while(0)
  MUT((void)0, S3P_OK);
  MUT(w[8 + 17] = 3, S3P_ECORRUPT);           /* equal slots */
  MUT(w[8 + 17] = 2, S3P_ECORRUPT);           /* descending */
  MUT(memset(w + 8 + 17 + 1, 0, 16), S3P_ECORRUPT); /* zero hash */
  MUT(w[5] = 4, S3P_ECORRUPT);                /* level */
  MUT(w[6] = 0, S3P_ECORRUPT);                /* count 0 */
  MUT(w[6] = 1, S3P_ECORRUPT);                /* count vs length */
  MUT(s3p_put16(w + 6, 257), S3P_ECORRUPT);
  MUT(w[4] = 2, S3P_ECORRUPT);                /* format */
#undef MUT
}

/* ---- Tree ---- */

/* The empty tree, bad arguments and the extreme page numbers. */
static void test_edges(void){
  mem_store m;
  s3p_tree_io io;
  s3p_treeref t, u;
  s3p_hash h;
  mem_init(&m, &io);
  memset(&t, 0, sizeof(t));
  CHECK_EQ(s3p_tree_lookup(&h, &t, 1, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&h));
  CHECK_EQ(s3p_tree_lookup(&h, &t, 0, &io), S3P_EINVAL);
  CHECK_EQ(s3p_tree_lookup(&h, &t, 0xFFFFFFFFu, &io), S3P_OK);

  s3p_change ch[3];
  ch[0].pgno = 1; ch[0].hash = page_hash(1);
  ch[1].pgno = 0xFFFFFFFEu; ch[1].hash = page_hash(2);
  ch[2].pgno = 0xFFFFFFFFu; ch[2].hash = page_hash(3);
  CHECK_EQ(s3p_tree_update(&u, &t, 0, ch, 3, &io), S3P_OK);
  CHECK_EQ(u.level, 3);
  CHECK_EQ(s3p_tree_lookup(&h, &u, 0xFFFFFFFFu, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &ch[2].hash));
  CHECK_EQ(s3p_tree_lookup(&h, &u, 0xFFFFFFFEu, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &ch[1].hash));
  CHECK_EQ(s3p_tree_lookup(&h, &u, 1, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &ch[0].hash));
  CHECK_EQ(s3p_tree_lookup(&h, &u, 2, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&h));
  /* Mark 0xFFFFFFFF cuts nothing and loads nothing. */
  mem_reset_counts(&m);
  CHECK_EQ(s3p_tree_update(&t, &u, 0xFFFFFFFFu, 0, 0, &io), S3P_OK);
  CHECK(s3p_hash_eq(&t.root, &u.root));
  CHECK_EQ(m.loads + m.stores, 0);
  /* Mark 0xFFFFFFFE drops the last page only. */
  CHECK_EQ(s3p_tree_update(&t, &u, 0xFFFFFFFEu, 0, 0, &io), S3P_OK);
  CHECK_EQ(s3p_tree_lookup(&h, &t, 0xFFFFFFFFu, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&h));
  CHECK_EQ(s3p_tree_lookup(&h, &t, 0xFFFFFFFEu, &io), S3P_OK);
  CHECK(s3p_hash_eq(&h, &ch[1].hash));
  /* Mark 1 collapses the tree to one leaf, the same as building it so. */
  s3p_treeref one, zero;
  memset(&zero, 0, sizeof(zero));
  CHECK_EQ(s3p_tree_update(&t, &u, 1, 0, 0, &io), S3P_OK);
  CHECK_EQ(s3p_tree_update(&one, &zero, 0, ch, 1, &io), S3P_OK);
  CHECK_EQ(t.level, 0);
  CHECK(s3p_hash_eq(&t.root, &one.root));
  /* Removing the only page gives the empty map. */
  s3p_change del = {1, {{0}}};
  CHECK_EQ(s3p_tree_update(&t, &one, 1, &del, 1, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&t.root));
  CHECK_EQ(t.level, 0);

  /* Invalid changes: page 0, not ascending, duplicates; *out untouched. */
  s3p_treeref keep = u;
  ch[0].pgno = 0;
  CHECK_EQ(s3p_tree_update(&keep, &u, 5, ch, 1, &io), S3P_EINVAL);
  ch[0].pgno = 9; ch[1].pgno = 9;
  CHECK_EQ(s3p_tree_update(&keep, &u, 5, ch, 2, &io), S3P_EINVAL);
  ch[1].pgno = 8;
  CHECK_EQ(s3p_tree_update(&keep, &u, 5, ch, 2, &io), S3P_EINVAL);
  CHECK(s3p_hash_eq(&keep.root, &u.root));
  CHECK_EQ(s3p_tree_update(&keep, &u, 5, 0, 1, &io), S3P_EINVAL);
  s3p_treeref bad = u;
  bad.level = 4;
  CHECK_EQ(s3p_tree_update(&keep, &bad, 5, 0, 0, &io), S3P_EINVAL);
  CHECK_EQ(s3p_tree_lookup(&h, &bad, 5, &io), S3P_EINVAL);
  mem_free(&m);
}

/* 5000 random updates with truncations against the reference map. */
static void test_random(void){
  mem_store m;
  s3p_tree_io io;
  s3p_treeref t;
  ref_map r;
  s3p_change ch[64];
  mem_init(&m, &io);
  memset(&t, 0, sizeof(t));
  memset(&r, 0, sizeof(r));
  for(int step = 0; step < 5000; step++){
    /* Page numbers mostly dense and small, sometimes far out, so that the
    ** root level goes up and down. */
    uint32_t limit;
    switch( rnd() % 8 ){
      case 0: limit = 300; break;
      case 1: limit = 70000; break;
      case 2: limit = 17000000; break;
      case 3: limit = 0xFFFFFFFFu; break;
      default: limit = 3000; break;
    }
    size_t n = rnd() % 40;
    uint32_t pg = 0;
    size_t k = 0;
    for(size_t i = 0; i < n; i++){
      uint32_t gap = 1 + (uint32_t)(rnd() % (limit / 20 + 1));
      if( pg > limit - gap || pg + gap < pg ) break;
      pg += gap;
      ch[k].pgno = pg;
      if( rnd() % 4 == 0 ) memset(&ch[k].hash, 0, sizeof(s3p_hash));
      else ch[k].hash = page_hash((uint32_t)rnd());
      k++;
    }
    uint32_t mark = 0xFFFFFFFFu;
    switch( rnd() % 10 ){
      case 0: mark = (uint32_t)(rnd() % 4000); break;
      case 1: mark = r.n ? r.pg[rnd() % r.n] : 0; break;
      case 2: mark = (uint32_t)(rnd() % 100000); break;
      case 3: mark = r.n ? r.pg[r.n - 1] - 1 : 0; break;
      default: break;
    }
    s3p_treeref u;
    int rc = s3p_tree_update(&u, &t, mark, ch, k, &io);
    CHECK_EQ(rc, S3P_OK);
    if( rc != S3P_OK ) break;
    ref_apply(&r, mark, ch, k);
    t = u;
    /* Cheap checks every step: the changed pages and the level. */
    for(size_t i = 0; i < k; i++){
      s3p_hash h, want = ref_lookup(&r, ch[i].pgno);
      CHECK_EQ(s3p_tree_lookup(&h, &t, ch[i].pgno, &io), S3P_OK);
      CHECK(s3p_hash_eq(&h, &want));
    }
    if( r.n ) CHECK_EQ(t.level, expected_level(r.pg[r.n - 1]));
    else CHECK(s3p_hash_is_zero(&t.root));
    /* Full checks every 250 steps (every step with TREE_VERIFY_ALL set). */
    if( step % 250 == 249 || getenv("TREE_VERIFY_ALL") ) verify_tree(&t, &r, &io);
    if( check_case_failed ){
      printf("#   failed at step %d, mark %u, %zu changes\n", step, mark, k);
      break;
    }
  }
  verify_tree(&t, &r, &io);
  free(r.pg);
  free(r.h);
  mem_free(&m);
}

/* build_dense builds pages 1..n (page i has content tag i) in one update. */
static s3p_treeref build_dense(uint32_t n, uint32_t salt, s3p_tree_io *io){
  s3p_change *ch = malloc(n * sizeof(s3p_change));
  s3p_treeref t, e;
  memset(&e, 0, sizeof(e));
  for(uint32_t i = 0; i < n; i++){ ch[i].pgno = i + 1; ch[i].hash = page_hash(i + salt); }
  CHECK_EQ(s3p_tree_update(&t, &e, 0, ch, n, io), S3P_OK);
  free(ch);
  return t;
}

/* Updating one page of a 100k-page tree loads and stores level+1 nodes;
** truncating it to zero loads nothing. */
static void test_sharing(void){
  mem_store m;
  s3p_tree_io io;
  mem_init(&m, &io);
  s3p_treeref t = build_dense(100000, 0, &io);
  CHECK_EQ(t.level, 2);
  /* 391 leaves, 2 level-1 nodes, 1 root. */
  CHECK_EQ(m.new_stores, 391 + 2 + 1);
  CHECK_EQ(m.stores, m.new_stores);
  uint32_t pgs[] = {1, 256, 257, 65536, 65537, 99999, 100000, 100001};
  for(size_t i = 0; i < sizeof(pgs) / sizeof(pgs[0]); i++){
    s3p_change c = {pgs[i], page_hash(777)};
    s3p_treeref u;
    mem_reset_counts(&m);
    CHECK_EQ(s3p_tree_update(&u, &t, 0xFFFFFFFFu, &c, 1, &io), S3P_OK);
    CHECK(m.stores <= t.level + 1);
    CHECK_EQ(m.stores, 3);
    CHECK(m.loads <= t.level + 1);
    CHECK_EQ(u.level, 2);
    /* With the mark at the page count (nothing cut), the path to the mark
    ** is loaded as well, but still nothing beyond the two paths. */
    s3p_treeref u2;
    mem_reset_counts(&m);
    CHECK_EQ(s3p_tree_update(&u2, &t, 100000, &c, 1, &io), S3P_OK);
    CHECK(s3p_hash_eq(&u2.root, &u.root));
    CHECK(m.loads <= 2 * (t.level + 1));
    CHECK_EQ(m.stores, 3);
    s3p_hash h;
    CHECK_EQ(s3p_tree_lookup(&h, &u, pgs[i], &io), S3P_OK);
    CHECK(s3p_hash_eq(&h, &c.hash));
    /* The old version is untouched: structural sharing. */
    CHECK_EQ(s3p_tree_lookup(&h, &t, 2, &io), S3P_OK);
    s3p_hash want = page_hash(1);
    CHECK(s3p_hash_eq(&h, &want));
    /* Re-applying the same change rebuilds identical nodes: no stores. */
    s3p_treeref v;
    mem_reset_counts(&m);
    CHECK_EQ(s3p_tree_update(&v, &u, 100000, &c, 1, &io), S3P_OK);
    CHECK(s3p_hash_eq(&v.root, &u.root));
    CHECK_EQ(m.stores, 0);
  }
  /* Truncation to zero loads nothing. */
  s3p_treeref z;
  mem_reset_counts(&m);
  CHECK_EQ(s3p_tree_update(&z, &t, 0, 0, 0, &io), S3P_OK);
  CHECK(s3p_hash_is_zero(&z.root));
  CHECK_EQ(m.loads + m.stores, 0);
  /* Truncation to 70000 loads only the boundary path. */
  mem_reset_counts(&m);
  CHECK_EQ(s3p_tree_update(&z, &t, 70000, 0, 0, &io), S3P_OK);
  CHECK(m.loads <= 3);
  CHECK(m.stores <= 3);
  s3p_treeref d = build_dense(70000, 0, &io);
  CHECK(s3p_hash_eq(&z.root, &d.root));
  /* Truncation to 65536 drops a level: the root becomes the old level-1
  ** node, which is shared and so not stored again. */
  mem_reset_counts(&m);
  CHECK_EQ(s3p_tree_update(&z, &t, 65536, 0, 0, &io), S3P_OK);
  CHECK_EQ(z.level, 1);
  CHECK_EQ(m.stores, 0);
  d = build_dense(65536, 0, &io);
  CHECK(s3p_hash_eq(&z.root, &d.root));
  mem_free(&m);
}

/* Same content built in different orders gives the same root; shrinking
** back down gives the smaller tree's root. */
static void test_canonical(void){
  mem_store m;
  s3p_tree_io io;
  s3p_treeref a, b, c, e;
  mem_init(&m, &io);
  memset(&e, 0, sizeof(e));
  a = build_dense(1000, 5, &io);
  /* b: pages one at a time in reverse order, via a detour through a huge
  ** page number that is removed again. */
  s3p_change far = {0xF0000000u, page_hash(9)};
  CHECK_EQ(s3p_tree_update(&b, &e, 0, &far, 1, &io), S3P_OK);
  CHECK_EQ(b.level, 3);
  for(uint32_t p = 1000; p >= 1; p--){
    s3p_change ch = {p, page_hash(p - 1 + 5)};
    CHECK_EQ(s3p_tree_update(&b, &b, 0xFFFFFFFFu, &ch, 1, &io), S3P_OK);
  }
  far.hash = e.root;   /* zero: delete */
  CHECK_EQ(s3p_tree_update(&b, &b, 0xFFFFFFFFu, &far, 1, &io), S3P_OK);
  CHECK(s3p_hash_eq(&a.root, &b.root));
  CHECK_EQ(a.level, b.level);
  CHECK_EQ(a.level, 1);
  /* c: 2000 pages then truncated to 1000. */
  c = build_dense(2000, 5, &io);
  CHECK_EQ(s3p_tree_update(&c, &c, 1000, 0, 0, &io), S3P_OK);
  CHECK(s3p_hash_eq(&a.root, &c.root));
  /* Pages 1 and 70000: removing 70000 shrinks to a leaf. */
  s3p_change two[2] = {{1, page_hash(1)}, {70000, page_hash(2)}};
  CHECK_EQ(s3p_tree_update(&c, &e, 0, two, 2, &io), S3P_OK);
  CHECK_EQ(c.level, 2);
  two[1].hash = e.root;
  CHECK_EQ(s3p_tree_update(&c, &c, 0xFFFFFFFFu, &two[1], 1, &io), S3P_OK);
  CHECK_EQ(s3p_tree_update(&b, &e, 0, two, 1, &io), S3P_OK);
  CHECK_EQ(c.level, 0);
  CHECK(s3p_hash_eq(&c.root, &b.root));
  mem_free(&m);
}

/* stop_visit stops the walk at the third call. */
static int stop_visit(void *arg, int is_node, uint32_t pgno, const s3p_hash *h){
  int *n = arg;
  return ++*n == 3 ? 42 : 0;
}

/* The walk visits every node and page once; visit can stop it. */
static void test_walk(void){
  mem_store m;
  s3p_tree_io io;
  mem_init(&m, &io);
  s3p_treeref t = build_dense(100000, 1, &io);
  ref_map r;
  memset(&r, 0, sizeof(r));
  s3p_change *ch = malloc(100000 * sizeof(s3p_change));
  for(uint32_t i = 0; i < 100000; i++){ ch[i].pgno = i + 1; ch[i].hash = page_hash(i + 1); }
  ref_apply(&r, 0, ch, 100000);
  free(ch);
  walk_state w;
  memset(&w, 0, sizeof(w));
  w.ref = &r;
  CHECK_EQ(s3p_tree_walk(&t, &io, walk_visit, &w), 0);
  CHECK_EQ(w.bad, 0);
  CHECK_EQ(w.next, 100000);
  CHECK_EQ(w.nodes, 391 + 2 + 1);
  int calls = 0;
  CHECK_EQ(s3p_tree_walk(&t, &io, stop_visit, &calls), 42);
  CHECK_EQ(calls, 3);
  s3p_treeref e;
  memset(&e, 0, sizeof(e));
  calls = 0;
  CHECK_EQ(s3p_tree_walk(&e, &io, stop_visit, &calls), 0);
  CHECK_EQ(calls, 0);
  free(r.pg);
  free(r.h);
  mem_free(&m);
}

/* Load errors pass through; a node at the wrong level is corruption. */
static void test_errors(void){
  mem_store m;
  s3p_tree_io io;
  s3p_hash h;
  mem_init(&m, &io);
  s3p_treeref t = build_dense(1000, 0, &io), u;
  m.fail_load = 1;
  CHECK_EQ(s3p_tree_lookup(&h, &t, 5, &io), S3P_EIO);
  s3p_change c = {5, page_hash(1)};
  u = t;
  CHECK_EQ(s3p_tree_update(&u, &t, 1000, &c, 1, &io), S3P_EIO);
  CHECK(s3p_hash_eq(&u.root, &t.root));
  int calls = 0;
  CHECK_EQ(s3p_tree_walk(&t, &io, stop_visit, &calls), S3P_EIO);
  m.fail_load = 0;
  /* A root claimed at the wrong level. */
  s3p_treeref wrong = t;
  wrong.level = 0;
  CHECK_EQ(s3p_tree_lookup(&h, &wrong, 5, &io), S3P_ECORRUPT);
  CHECK_EQ(s3p_tree_update(&u, &wrong, 1000, &c, 1, &io), S3P_ECORRUPT);
  wrong.level = 2;
  CHECK_EQ(s3p_tree_lookup(&h, &wrong, 5, &io), S3P_ECORRUPT);
  /* A missing node. */
  wrong.root = page_hash(12345);
  CHECK_EQ(s3p_tree_lookup(&h, &wrong, 5, &io), S3P_ENOTFOUND);
  /* Read-only io refuses updates. */
  s3p_tree_io ro = io;
  ro.store = 0;
  CHECK_EQ(s3p_tree_lookup(&h, &t, 5, &ro), S3P_OK);
  CHECK_EQ(s3p_tree_update(&u, &t, 1000, &c, 1, &ro), S3P_EINVAL);
  mem_free(&m);
}

int main(void){
  RUN(test_node_codec);
  RUN(test_node_semantics);
  RUN(test_edges);
  RUN(test_random);
  RUN(test_sharing);
  RUN(test_canonical);
  RUN(test_walk);
  RUN(test_errors);
  return CHECK_DONE();
}
