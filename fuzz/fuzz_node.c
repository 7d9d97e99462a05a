/*
** fuzz_node.c: libFuzzer target for the tree-node decoder and the tree.
**
** Input: one flag byte, then data.
**   flag bit 0 clear: data is a node object; bit 1 asks the harness to
**     rewrite its trailer checksum first. A decoded node must re-encode to
**     exactly the same bytes and name.
**   flag bit 0 set: data is a program of 6-byte operations run against an
**     in-memory node store and a plain reference map:
**       [op][pgno, 4 bytes LE][tag]
**     op % 4 < 3 adds the change (pgno, tag) to the batch (tag 0 removes
**     the page; pgno 0 is skipped); op % 4 == 3 applies the batch with
**     truncation mark pgno when tag is odd (else 0xFFFFFFFF). After each
**     batch every page is looked up, the tree is walked, and the root must
**     equal that of the same map built from empty.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../index/bytes.h"
#include "../index/err.h"
#include "../index/hash.h"
#include "../index/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- In-memory node store (open addressing on the node name). ---- */

typedef struct fz_node { s3p_hash h; size_t len; unsigned char *buf; } fz_node;
typedef struct fz_store { fz_node *tab; size_t cap, used; } fz_store;

/* fz_find returns the slot of h in s (an empty slot if absent). */
static fz_node *fz_find(fz_store *s, const s3p_hash *h){
  size_t i = (size_t)(s3p_get64(h->b) % s->cap);
  while( s->tab[i].buf && !s3p_hash_eq(&s->tab[i].h, h) ) i = (i + 1) % s->cap;
  return &s->tab[i];
}

/* fz_load decodes node h, verifying its name. */
static int fz_load(void *ctx, const s3p_hash *h, s3p_node *out){
  fz_store *s = ctx;
  const char *why;
  fz_node *e = fz_find(s, h);
  if( !e->buf ) return S3P_ENOTFOUND;
  return s3p_node_decode(out, e->buf, e->len, h, &why);
}

/* fz_put keeps a copy of node h, growing the table as needed. */
static int fz_put(void *ctx, const s3p_hash *h, const unsigned char *buf,
                  size_t len){
  fz_store *s = ctx;
  if( (s->used + 1) * 2 > s->cap ){
    fz_node *old = s->tab;
    size_t oc = s->cap;
    s->cap = oc * 2;
    s->tab = calloc(s->cap, sizeof(fz_node));
    if( s->tab == 0 ) abort();
    for(size_t i = 0; i < oc; i++) if( old[i].buf ) *fz_find(s, &old[i].h) = old[i];
    free(old);
  }
  fz_node *e = fz_find(s, h);
  if( e->buf ) return S3P_OK;
  s3p_hash check;
  s3p_hash_bytes(&check, buf, len);
  if( !s3p_hash_eq(&check, h) ) abort();
  e->h = *h;
  e->len = len;
  e->buf = malloc(len);
  if( e->buf == 0 ) abort();
  memcpy(e->buf, buf, len);
  s->used++;
  return S3P_OK;
}

/* ---- Reference map: parallel sorted arrays. ---- */

typedef struct fz_ref { uint32_t *pg; s3p_hash *h; size_t n, cap; } fz_ref;

/* fz_ref_find returns the index of the first entry >= pgno. */
static size_t fz_ref_find(const fz_ref *r, uint32_t pgno){
  size_t lo = 0, hi = r->n;
  while( lo < hi ){
    size_t m = (lo + hi) / 2;
    if( r->pg[m] < pgno ) lo = m + 1; else hi = m;
  }
  return lo;
}

/* fz_ref_set sets (or with a zero hash removes) pgno in r. */
static void fz_ref_set(fz_ref *r, uint32_t pgno, const s3p_hash *h){
  size_t k = fz_ref_find(r, pgno);
  int present = k < r->n && r->pg[k] == pgno;
  if( s3p_hash_is_zero(h) ){
    if( !present ) return;
    memmove(r->pg + k, r->pg + k + 1, (r->n - k - 1) * sizeof(*r->pg));
    memmove(r->h + k, r->h + k + 1, (r->n - k - 1) * sizeof(*r->h));
    r->n--;
  }else if( present ){
    r->h[k] = *h;
  }else{
    if( r->n == r->cap ){
      r->cap = r->cap ? 2 * r->cap : 64;
      r->pg = realloc(r->pg, r->cap * sizeof(*r->pg));
      r->h = realloc(r->h, r->cap * sizeof(*r->h));
      if( !r->pg || !r->h ) abort();
    }
    memmove(r->pg + k + 1, r->pg + k, (r->n - k) * sizeof(*r->pg));
    memmove(r->h + k + 1, r->h + k, (r->n - k) * sizeof(*r->h));
    r->pg[k] = pgno;
    r->h[k] = *h;
    r->n++;
  }
}

typedef struct fz_walk { const fz_ref *r; size_t next; } fz_walk;

/* fz_visit checks walked pages against the reference, in order. */
static int fz_visit(void *arg, int is_node, uint32_t pgno, const s3p_hash *h){
  fz_walk *w = arg;
  if( is_node ) return 0;
  if( w->next >= w->r->n || w->r->pg[w->next] != pgno ||
      !s3p_hash_eq(&w->r->h[w->next], h) ) abort();
  w->next++;
  return 0;
}

/* fz_cmp orders changes by page number. */
static int fz_cmp(const void *a, const void *b){
  uint32_t x = ((const s3p_change *)a)->pgno, y = ((const s3p_change *)b)->pgno;
  return x < y ? -1 : x > y;
}

/* fz_check verifies tree t against reference r completely. */
static void fz_check(const s3p_treeref *t, const fz_ref *r, const s3p_tree_io *io){
  for(size_t i = 0; i < r->n; i++){
    s3p_hash h;
    if( s3p_tree_lookup(&h, t, r->pg[i], io) != S3P_OK ) abort();
    if( !s3p_hash_eq(&h, &r->h[i]) ) abort();
  }
  fz_walk w = {r, 0};
  if( s3p_tree_walk(t, io, fz_visit, &w) != 0 || w.next != r->n ) abort();
  s3p_change *all = malloc((r->n + 1) * sizeof(*all));
  if( all == 0 ) abort();
  for(size_t i = 0; i < r->n; i++){ all[i].pgno = r->pg[i]; all[i].hash = r->h[i]; }
  s3p_treeref e, f;
  memset(&e, 0, sizeof(e));
  if( s3p_tree_update(&f, &e, 0, all, r->n, io) != S3P_OK ) abort();
  if( !s3p_hash_eq(&f.root, &t->root) || f.level != t->level ) abort();
  free(all);
}

/* fz_tree runs a tree program (see the top of the file). */
static void fz_tree(const uint8_t *p, size_t n){
  fz_store s = {calloc(256, sizeof(fz_node)), 256, 0};
  s3p_tree_io io = {&s, fz_load, fz_put};
  fz_ref r = {0, 0, 0, 0};
  s3p_treeref t;
  size_t cap = n / 6 + 1, k = 0;
  s3p_change *batch = malloc(cap * sizeof(*batch));
  if( s.tab == 0 || batch == 0 ) abort();
  memset(&t, 0, sizeof(t));
  for(size_t i = 0; i + 6 <= n; i += 6){
    uint32_t pgno = s3p_get32(p + i + 1);
    uint8_t tag = p[i + 5];
    if( p[i] % 4 < 3 ){
      if( pgno == 0 ) continue;
      batch[k].pgno = pgno;
      memset(&batch[k].hash, 0, sizeof(s3p_hash));
      if( tag ) s3p_hash_bytes(&batch[k].hash, &tag, 1);
      k++;
      continue;
    }
    uint32_t mark = (tag & 1) ? pgno : 0xFFFFFFFFu;
    /* Sort and keep one change per page (the reference sees the same). */
    qsort(batch, k, sizeof(*batch), fz_cmp);
    size_t m = 0;
    for(size_t j = 0; j < k; j++){
      if( m > 0 && batch[m - 1].pgno == batch[j].pgno ) batch[m - 1] = batch[j];
      else batch[m++] = batch[j];
    }
    s3p_treeref u;
    if( s3p_tree_update(&u, &t, mark, batch, m, &io) != S3P_OK ) abort();
    if( mark != 0xFFFFFFFFu ) r.n = fz_ref_find(&r, mark + 1);
    for(size_t j = 0; j < m; j++) fz_ref_set(&r, batch[j].pgno, &batch[j].hash);
    t = u;
    fz_check(&t, &r, &io);
    k = 0;
  }
  for(size_t i = 0; i < s.cap; i++) free(s.tab[i].buf);
  free(s.tab);
  free(batch);
  free(r.pg);
  free(r.h);
}

/* fz_node_codec decodes one node object and checks its re-encoding. */
static void fz_node_codec(const uint8_t *p, size_t n, int reseal){
  unsigned char *buf = malloc(n ? n : 1);
  if( buf == 0 ) return;
  memcpy(buf, p, n);
  if( reseal && n >= 8 ) s3p_put64(buf + n - 8, s3p_checksum64(buf, n - 8));
  s3p_node node;
  const char *why = 0;
  int rc = s3p_node_decode(&node, buf, n, 0, &why);
  if( rc == S3P_OK ){
    unsigned char again[S3P_NODE_MAXLEN];
    size_t len;
    s3p_hash name, want;
    if( s3p_node_encode(again, &len, &name, &node) != S3P_OK ) abort();
    if( len != n || memcmp(again, buf, n) != 0 ) abort();
    s3p_hash_bytes(&want, buf, n);
    if( !s3p_hash_eq(&name, &want) ) abort();
    if( s3p_node_decode(&node, buf, n, &want, &why) != S3P_OK ) abort();
    want.b[0] ^= 1;
    if( s3p_node_decode(&node, buf, n, &want, &why) != S3P_ECORRUPT ) abort();
  }else if( rc != S3P_ECORRUPT || why == 0 ){
    abort();
  }
  free(buf);
}

/* LLVMFuzzerTestOneInput runs one input; aborts on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  if( size < 1 ) return 0;
  if( data[0] & 1 ) fz_tree(data + 1, size - 1);
  else fz_node_codec(data + 1, size - 1, data[0] & 2);
  return 0;
}
