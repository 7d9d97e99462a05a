/*
** prefetch.c: b-tree-aware prefetch of one connection (see prefetch.h).
**
** Two structures, both about the version the view shows:
**
**   the ring     the interior pages SQLite read lately (PF_RING of them,
**                least recently used replaced), each with its children in
**                key order and the child read last: this is how a page
**                SQLite reads is known to be the next sibling of the one
**                before it, and what its ancestors are;
**   the frontier the pages SQLite is predicted to read next, in the order
**                it will read them (a stack: the next one on top). A
**                delivered interior page of a scan pushes its children
**                (and the first pages of its cells' overflow chains), a
**                delivered leaf its cells' overflow pages, an overflow
**                page the next page of its chain: depth first, as SQLite
**                walks a b-tree. Ascending scans read the references of a
**                page in key order, descending ones and SQLite's integrity
**                check (right-most child first, cells from the last) in
**                the reverse.
**
** A miss during a scan takes the next uncached pages off the frontier into
** its own batch: the scan costs one round trip per batch of the store's
** concurrency. A miss the frontier did not foresee ends the scan (unless a
** pragma scan is armed), so a scan detected by mistake costs at most one
** batch of S3P_PREFETCH_RAMP pages.
**
** Cache accesses (page LRU, disk cache, node LRU) are the same as the
** read path's in db.c: pages fetched ahead go into the caches exactly as
** sequential read-ahead's do.
*/
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include "db.h"
#include "prefetch.h"
#include "../index/btree.h"
#include "../index/page.h"

/* Interior pages remembered. */
#define PF_RING 64
/* Frontier entries searched for a page SQLite reads or misses. */
#define PF_SEARCH 512
/* Batch width when the connection sets no concurrency (S3's default). */
#define PF_WIDTH 64
/* Deepest ancestor chain followed (SQLite's own b-tree limit is 20). */
#define PF_DEPTH 24
/* B-trees whose leaf depth is remembered. */
#define PF_ROOTS 16
/* Most entries on the frontier (a pragma scan pushes the children of every
** interior page read, also of those its index checks revisit). */
#define PF_STACK_MAX ((size_t)1 << 20)

/* A child of a remembered interior page, for lookup by page number. */
typedef struct pf_kid {
  uint32_t pgno;             /* the child */
  uint32_t idx;              /* its position among the children */
} pf_kid;

/* An interior page SQLite read. */
typedef struct pf_parent {
  uint32_t pgno;             /* the page, 0: slot unused */
  uint32_t root;             /* root of its b-tree as far as seen */
  uint32_t up;               /* its parent, 0: not known */
  uint32_t up_idx;           /* its position among the parent's children */
  uint32_t n;                /* children */
  uint32_t *kids;            /* children in key order (malloc'd) */
  pf_kid *sorted;            /* the same sorted by page number (malloc'd) */
  int32_t last;              /* position of the child read last, -1: none */
  int32_t steps;             /* reads in a row of the next child in dir */
  int dir;                   /* +1 or -1: direction of those steps */
  uint64_t tick;             /* last use, for replacement */
} pf_parent;

/* The depth of the leaves of one b-tree, as seen (prefetch_ride). */
typedef struct pf_depth {
  uint32_t root;             /* the b-tree's top page as far as seen, 0:
                             ** slot unused */
  uint32_t leaf;             /* depth of its leaves below that page */
} pf_depth;

/* A page on the frontier. */
typedef struct pf_item {
  uint32_t pgno;             /* the page */
  uint8_t ovfl;              /* an overflow page: its chain continues */
  uint8_t fetched;           /* fetched ahead and not read yet */
  uint8_t expanded;          /* its references went on the frontier when
                             ** it arrived */
} pf_item;

struct s3p_prefetch {
  s3p_btgeom geom;           /* from page 1; psz 0: unknown, no prefetch */
  uint64_t version;          /* version the ring and frontier are about */
  pf_parent ring[PF_RING];   /* interior pages read lately */
  uint64_t tick;             /* use counter of the ring */
  pf_item *stack;            /* the frontier, next read on top (end) */
  size_t n;                  /* entries on it */
  size_t cap;                /* room allocated */
  int scan;                  /* direction of the scan under way, 0: none */
  int pragma;                /* an integrity_check or quick_check is armed */
  int txn_other;             /* the transaction read a page outside the
                             ** schema's b-tree (ends an armed pragma) */
  uint32_t prev;             /* the b-tree page delivered last (overflow
                             ** pages and others do not count), 0: none */
  uint32_t ramp;             /* pages the next miss of a scan may add */
  int tree_warm;             /* the whole (small) checkpoint tree was
                             ** fetched for this version */
  pf_depth depths[PF_ROOTS]; /* depth of the leaves of b-trees seen */
  uint32_t ovfl_used;        /* overflow pages of the scan SQLite read */
  uint32_t ovfl_skip;        /* overflow pages of the scan it passed over */
  s3p_btref *refs;           /* scratch: a page's references */
  size_t refs_cap;           /* its room */
  unsigned char *buf;        /* scratch page for disk-cache reads */
  uint32_t buf_size;         /* its size */
  s3p_prefetch_stats st;     /* counters */
};

s3p_prefetch *s3p_prefetch_new(void){
  return calloc(1, sizeof(s3p_prefetch));
}

/* pf_ring_clear forgets every remembered interior page. */
static void pf_ring_clear(s3p_prefetch *pf){
  for(int i = 0; i < PF_RING; i++){
    free(pf->ring[i].kids);
    free(pf->ring[i].sorted);
    memset(&pf->ring[i], 0, sizeof pf->ring[i]);
  }
}

/* pf_scan_stop ends the scan under way: the frontier is dropped. */
static void pf_scan_stop(s3p_prefetch *pf){
  pf->scan = 0;
  pf->n = 0;
  pf->ramp = 0;
  pf->ovfl_used = pf->ovfl_skip = 0;
}

void s3p_prefetch_free(s3p_prefetch *pf){
  if(!pf) return;
  pf_ring_clear(pf);
  free(pf->stack);
  free(pf->refs);
  free(pf->buf);
  free(pf);
}

size_t s3p_prefetch_width(const s3p_db *db){
  return db->opt.concurrency > 0 ? (size_t)db->opt.concurrency : PF_WIDTH;
}

/* pf_sync makes pf describe the view's version: the ring and frontier of
** another version say nothing about this one. */
static void pf_sync(s3p_db *db, s3p_prefetch *pf){
  if(pf->version == db->view.version) return;
  pf_ring_clear(pf);
  pf_scan_stop(pf);
  pf->tree_warm = 0;
  pf->prev = 0;
  pf->version = db->view.version;
}

/* ---------------------------------------------------------------------
** Caches, as the read path uses them.
*/

/* pf_node_cached is a tree loader that only looks in the node cache.
** Returns S3P_OK or S3P_ENOTFOUND. */
static int pf_node_cached(void *ctx, const s3p_hash *h, s3p_node *out){
  (void)ctx;
  return s3p_pagecache_get(S3P_PC_NODE, h, out, sizeof *out) ? S3P_OK
                                                             : S3P_ENOTFOUND;
}

/* pf_lookup sets *h to the hash of page pgno of the view if the node cache
** can tell it without a request. Returns 1 if it could, else 0. */
static int pf_lookup(s3p_db *db, uint32_t pgno, s3p_hash *h){
  s3p_tree_io io;
  memset(&io, 0, sizeof io);
  io.ctx = db;
  io.load = pf_node_cached;
  return s3p_view_lookup(h, &db->view, pgno, &io) == S3P_OK;
}

/* pf_page_cached returns 1 if page content h is in the page cache, moving
** it there from the disk cache if that has it; else 0. */
static int pf_page_cached(s3p_db *db, s3p_prefetch *pf, const s3p_hash *h){
  if(s3p_pagecache_has(S3P_PC_PAGE, h)) return 1;
  if(!db->disk) return 0;
  uint32_t psz = db->view.page_size;
  if(pf->buf_size != psz){
    unsigned char *b = realloc(pf->buf, psz);
    if(!b) return 0;
    pf->buf = b;
    pf->buf_size = psz;
  }
  if(!s3p_diskcache_get(db->disk, h, pf->buf, psz)) return 0;
  s3p_pagecache_put(S3P_PC_PAGE, h, pf->buf, psz);
  return 1;
}

/* pf_warm loads into the node cache the checkpoint-tree nodes on the paths
** to pages pgnos[0..n), quietly and at most max_nodes of them
** (s3p_db_warm), counting them in pf's stats. */
static void pf_warm(s3p_db *db, s3p_prefetch *pf, const uint32_t *pgnos,
                    size_t n, size_t max_nodes){
  s3p_warm_stats ws = { 0, 0 };
  (void)s3p_db_warm(db, pgnos, n, 1, max_nodes, &ws);
  pf->st.nodes += ws.nodes;
  pf->st.node_batches += ws.batches;
}

/* ---------------------------------------------------------------------
** The ring of interior pages.
*/

/* pf_kid_cmp orders children by page number. */
static int pf_kid_cmp(const void *a, const void *b){
  uint32_t x = ((const pf_kid *)a)->pgno, y = ((const pf_kid *)b)->pgno;
  return x < y ? -1 : x > y;
}

/* pf_ring_find returns the remembered interior page pgno, or NULL. */
static pf_parent *pf_ring_find(s3p_prefetch *pf, uint32_t pgno){
  for(int i = 0; i < PF_RING; i++){
    if(pf->ring[i].pgno == pgno) return &pf->ring[i];
  }
  return NULL;
}

/* pf_parent_of returns the most recently used remembered interior page
** that has pgno as a child, and sets *idx to its position; or NULL. */
static pf_parent *pf_parent_of(s3p_prefetch *pf, uint32_t pgno,
                               uint32_t *idx){
  pf_parent *best = NULL;
  pf_kid want = {pgno, 0};
  for(int i = 0; i < PF_RING; i++){
    pf_parent *e = &pf->ring[i];
    if(!e->pgno || (best && best->tick > e->tick)) continue;
    pf_kid *k = bsearch(&want, e->sorted, e->n, sizeof *k, pf_kid_cmp);
    if(k){
      best = e;
      *idx = k->idx;
    }
  }
  return best;
}

/* pf_ring_add remembers interior page pgno with the children among
** refs[0..n), replacing the least recently used entry if need be. */
static void pf_ring_add(s3p_prefetch *pf, uint32_t pgno, uint32_t root,
                        uint32_t up, uint32_t up_idx, const s3p_btref *refs,
                        size_t n){
  pf_parent *e = pf_ring_find(pf, pgno);
  for(int i = 0; !e && i < PF_RING; i++){
    if(!pf->ring[i].pgno) e = &pf->ring[i];
  }
  if(!e){
    e = &pf->ring[0];
    for(int i = 1; i < PF_RING; i++){
      if(pf->ring[i].tick < e->tick) e = &pf->ring[i];
    }
  }
  free(e->kids);
  free(e->sorted);
  memset(e, 0, sizeof *e);
  e->kids = malloc(n * sizeof *e->kids);
  e->sorted = malloc(n * sizeof *e->sorted);
  if(!e->kids || !e->sorted){
    free(e->kids);
    free(e->sorted);
    e->kids = NULL;
    e->sorted = NULL;
    return;
  }
  for(size_t i = 0; i < n; i++){
    if(refs[i].overflow) continue;
    e->sorted[e->n].pgno = refs[i].pgno;
    e->sorted[e->n].idx = e->n;
    e->kids[e->n++] = refs[i].pgno;
  }
  if(e->n > 1) qsort(e->sorted, e->n, sizeof *e->sorted, pf_kid_cmp);
  e->pgno = pgno;
  e->root = root;
  e->up = up;
  e->up_idx = up_idx;
  e->last = -1;
  e->tick = ++pf->tick;
}

/* ---------------------------------------------------------------------
** The frontier.
*/

/* pf_reserve makes room for more entries on the frontier. Returns 0, or
** -1 when out of memory. */
static int pf_reserve(s3p_prefetch *pf, size_t more){
  if(pf->n + more <= pf->cap) return 0;
  if(pf->n + more > PF_STACK_MAX) return -1;
  size_t cap = pf->cap ? pf->cap : 256;
  while(cap < pf->n + more) cap *= 2;
  pf_item *s = realloc(pf->stack, cap * sizeof *s);
  if(!s) return -1;
  pf->stack = s;
  pf->cap = cap;
  return 0;
}

/* pf_push puts pages on the frontier to be read in the order
** refs[from], refs[from + dir], ... (dir +1 or -1) up to and excluding
** refs[to], before everything already on it. */
static void pf_push(s3p_prefetch *pf, const s3p_btref *refs, long from,
                    long to, int dir){
  long count = (to - from) * dir;
  if(count <= 0 || pf_reserve(pf, (size_t)count)) return;
  /* The last to be read goes in first. */
  for(long i = to - dir; i != from - dir; i -= dir){
    pf_item *it = &pf->stack[pf->n++];
    it->pgno = refs[i].pgno;
    it->ovfl = refs[i].overflow;
    it->fetched = 0;
    it->expanded = 0;
  }
}

/* pf_push_kids puts on the frontier the children of remembered interior
** page e after position idx in direction dir. */
static void pf_push_kids(s3p_prefetch *pf, const pf_parent *e, uint32_t idx,
                         int dir){
  long from = (long)idx + dir, to = dir > 0 ? (long)e->n : -1;
  long count = (to - from) * dir;
  if(count <= 0 || pf_reserve(pf, (size_t)count)) return;
  for(long i = to - dir; i != from - dir; i -= dir){
    pf_item *it = &pf->stack[pf->n++];
    it->pgno = e->kids[i];
    it->ovfl = 0;
    it->fetched = 0;
    it->expanded = 0;
  }
}

/* pf_take removes page pgno from the frontier if it is among its top
** PF_SEARCH entries, with the entries above it (predicted earlier, read
** never: SQLite went elsewhere or had them). Sets *out to its entry.
** Returns 1 if it was there, else 0. */
static int pf_take(s3p_prefetch *pf, uint32_t pgno, pf_item *out){
  size_t lo = pf->n > PF_SEARCH ? pf->n - PF_SEARCH : 0;
  for(size_t i = pf->n; i > lo; i--){
    if(pf->stack[i - 1].pgno != pgno) continue;
    for(size_t j = i; j < pf->n; j++){
      if(pf->stack[j].ovfl) pf->ovfl_skip++;
    }
    *out = pf->stack[i - 1];
    pf->n = i - 1;
    return 1;
  }
  return 0;
}

/* pf_skip_to drops the entries above page pgno from the frontier if pgno
** is among its top PF_SEARCH entries (SQLite went past them). Returns 1 if
** it was there, else 0. */
static int pf_skip_to(s3p_prefetch *pf, uint32_t pgno){
  size_t lo = pf->n > PF_SEARCH ? pf->n - PF_SEARCH : 0;
  for(size_t i = pf->n; i > lo; i--){
    if(pf->stack[i - 1].pgno != pgno) continue;
    for(size_t j = i; j < pf->n; j++){
      if(pf->stack[j].ovfl) pf->ovfl_skip++;
    }
    pf->n = i;
    return 1;
  }
  return 0;
}

/* pf_want_ovfl returns 1 if the scan's overflow pages are worth fetching:
** always for a pragma scan, else while SQLite has not passed over many
** more of them than it read (count(*) reads none). */
static int pf_want_ovfl(const s3p_prefetch *pf){
  return pf->pragma || pf->ovfl_skip <= 2 * pf->ovfl_used + 2;
}

/* pf_continue is called when page pgno, child idx of remembered interior
** page e, showed a scan in direction dir: the rest of e's children, then
** the rest of its ancestors' children (as far as the ring knows them) go
** on the frontier, nearest level on top. */
static void pf_continue(s3p_prefetch *pf, pf_parent *e, uint32_t idx,
                        int dir){
  pf_parent *chain[PF_DEPTH];
  uint32_t at[PF_DEPTH];
  int depth = 0;
  while(e && depth < PF_DEPTH){
    chain[depth] = e;
    at[depth] = idx;
    depth++;
    pf_parent *up = e->up ? pf_ring_find(pf, e->up) : NULL;
    if(!up || e->up_idx >= up->n || up->kids[e->up_idx] != e->pgno) break;
    idx = e->up_idx;
    e = up;
  }
  while(depth-- > 0) pf_push_kids(pf, chain[depth], at[depth], dir);
}

/* pf_room makes pf->refs big enough for any page. Returns 0, or -1 when
** out of memory. */
static int pf_room(s3p_prefetch *pf){
  size_t need = S3P_BTREE_MAXREFS(pf->geom.psz);
  if(pf->refs_cap >= need) return 0;
  s3p_btref *r = realloc(pf->refs, need * sizeof *r);
  if(!r) return -1;
  pf->refs = r;
  pf->refs_cap = need;
  return 0;
}

/* pf_refs decodes the references of page pgno into pf->refs. Returns
** their number, or -1. */
static int pf_refs(s3p_prefetch *pf, uint32_t pgno, const unsigned char *page,
                   int want_ovfl){
  if(pf_room(pf)) return -1;
  return s3p_btree_refs(&pf->geom, pgno, page, want_ovfl, pf->refs,
                        pf->refs_cap);
}

/* The bound on a small page map: S3P_PREFETCH_NODES, unless a test set
** another (s3p_test_small_map). */
static _Atomic size_t pf_small_map = S3P_PREFETCH_NODES;

size_t s3p_test_small_map(size_t leaves){
  return atomic_exchange(&pf_small_map,
                         leaves ? leaves : (size_t)S3P_PREFETCH_NODES);
}

/* pf_warm_tree fetches the whole checkpoint tree of the view if it has
** at most S3P_PREFETCH_NODES leaves (a database of up to 64 MB at 4 KiB
** pages), once per version: the children of interior pages, and the
** pages a scan reads, are all over the map, and one batch per level for
** all of it costs no more bytes than the bound allows for one interior
** page. Returns 1 if the tree is that small, else 0. */
static int pf_warm_tree(s3p_db *db, s3p_prefetch *pf){
  uint32_t np = db->view.page_count;
  size_t leaves = np / 256 + 1;
  if(leaves > atomic_load(&pf_small_map)) return 0;
  if(pf->tree_warm) return 1;
  pf->tree_warm = 1;
  uint32_t one[S3P_PREFETCH_NODES];        /* a page of each leaf */
  for(size_t i = 0; i < leaves; i++){
    uint32_t p = (uint32_t)(i * 256 + 1);
    one[i] = p <= np ? p : np;
  }
  pf_warm(db, pf, one, leaves, S3P_PREFETCH_NODES + 1);
  return 1;
}

/* pf_depth_of returns how many remembered ancestors interior page e has
** (0: e is the top of its b-tree as far as the ring knows). */
static uint32_t pf_depth_of(s3p_prefetch *pf, const pf_parent *e){
  uint32_t d = 0;
  while(e->up && d < PF_DEPTH){
    const pf_parent *up = pf_ring_find(pf, e->up);
    if(!up) break;
    e = up;
    d++;
  }
  return d;
}

/* pf_depth_slot returns the leaf-depth entry of b-tree root, or NULL;
** with make, a free (or the oldest-numbered) slot is taken for it. */
static pf_depth *pf_depth_slot(s3p_prefetch *pf, uint32_t root, int make){
  for(int i = 0; i < PF_ROOTS; i++){
    if(pf->depths[i].root == root) return &pf->depths[i];
  }
  if(!make) return NULL;
  for(int i = 0; i < PF_ROOTS; i++){
    if(!pf->depths[i].root){
      pf->depths[i].root = root;
      return &pf->depths[i];
    }
  }
  pf_depth *d = &pf->depths[root % PF_ROOTS];
  d->root = root;
  return d;
}

/* pf_leaf_hash sets *h to the name of the tree leaf that maps pages
** 256 * leaf + 1 .. 256 * leaf + 256, if the cached nodes above it tell.
** Returns 1 if they did, else 0. */
static int pf_leaf_hash(const s3p_db *db, uint32_t leaf, s3p_hash *h){
  const s3p_treeref *t = &db->view.tree;
  if(t->level < 1 || s3p_hash_is_zero(&t->root)) return 0;
  uint64_t key = (uint64_t)leaf << 8;
  s3p_node *node = malloc(sizeof *node);
  s3p_hash at = t->root;
  int ok = node != NULL;
  for(int level = t->level; ok && level >= 1; level--){
    ok = s3p_pagecache_get(S3P_PC_NODE, &at, node, sizeof *node);
    if(ok) at = node->slot[(key >> (8 * level)) & 255];
    ok = ok && !s3p_hash_is_zero(&at);
  }
  if(ok) *h = at;
  free(node);
  return ok;
}

/* pf_ride_small sets h[] to the leaves of a small page map not cached
** (s3p_prefetch_ride, first rule). Returns how many, or -1 if the map is
** not small (the other rule may apply). */
static long pf_ride_small(s3p_db *db, s3p_prefetch *pf, s3p_hash *h,
                          size_t cap){
  const s3p_treeref *t = &db->view.tree;
  size_t leaves = db->view.page_count / 256 + 1;
  if(t->level != 1 || leaves > atomic_load(&pf_small_map)) return -1;
  if(pf->tree_warm) return 0;
  s3p_node *root = malloc(sizeof *root);
  if(!root) return 0;
  size_t n = 0;
  if(s3p_pagecache_get(S3P_PC_NODE, &t->root, root, sizeof *root)){
    /* Warm from here on: the leaves that do not arrive are fetched by the
    ** read that needs them, as without prefetch. */
    pf->tree_warm = 1;
    for(size_t s = 0; s < leaves && s < S3P_TREE_FANOUT && n < cap; s++){
      const s3p_hash *leaf = &root->slot[s];
      if(s3p_hash_is_zero(leaf) || s3p_pagecache_has(S3P_PC_NODE, leaf)){
        continue;
      }
      h[n++] = *leaf;
    }
  }
  free(root);
  return (long)n;
}

/* pf_ride_near sets h[] to the tree leaves on either side of the one
** mapping page pgno, not cached, when pgno is likely an interior page
** (s3p_prefetch_ride, second rule). Returns how many. */
static size_t pf_ride_near(s3p_db *db, s3p_prefetch *pf, uint32_t pgno,
                           s3p_hash *h, size_t cap){
  uint32_t idx;
  pf_parent *par = pf_parent_of(pf, pgno, &idx);
  if(!par) return 0;                 /* a root, or a page out of a walk */
  const pf_depth *d = pf_depth_slot(pf, par->root, 0);
  if(d && pf_depth_of(pf, par) + 1 >= d->leaf) return 0;   /* a leaf */
  uint32_t own = (pgno - 1) >> 8, last = (db->view.page_count - 1) >> 8;
  size_t n = 0;
  for(int side = -1; side <= 1 && n < cap; side += 2){
    if((side < 0 && own == 0) || (side > 0 && own >= last)) continue;
    s3p_hash lh;
    if(!pf_leaf_hash(db, own + side, &lh)) continue;
    if(s3p_pagecache_has(S3P_PC_NODE, &lh)) continue;
    h[n++] = lh;
  }
  return n;
}

size_t s3p_prefetch_ride(s3p_db *db, uint32_t pgno, s3p_hash *h,
                         size_t cap){
  s3p_prefetch *pf = db->pf;
  if(!pf || cap == 0 || db->view.page_count == 0) return 0;
  pf_sync(db, pf);
  long n = pf_ride_small(db, pf, h, cap);
  if(n < 0) n = (long)pf_ride_near(db, pf, pgno, h, cap);
  if(n > 0){
    pf->st.node_batches++;
    pf->st.nodes += (uint64_t)n;
  }
  return (size_t)n;
}

/* pf_node_prefetch fetches the tree nodes covering the children among
** pf->refs[0..n) (node prefetch). */
static void pf_node_prefetch(s3p_db *db, s3p_prefetch *pf, int n){
  uint32_t *kids = malloc((size_t)n * sizeof *kids);
  if(!kids) return;
  size_t m = 0;
  int unmapped = 0;          /* a child the node cache cannot map yet */
  for(int i = 0; i < n; i++){
    if(pf->refs[i].overflow) continue;
    kids[m++] = pf->refs[i].pgno;
    s3p_hash h;
    if(!unmapped && !pf_lookup(db, pf->refs[i].pgno, &h)) unmapped = 1;
  }
  /* Nothing to fetch when the nodes are there already (HEAD named them,
  ** or an earlier page brought them): a batch now would only delay the
  ** read of the child. */
  if(unmapped && !pf_warm_tree(db, pf)){
    pf_warm(db, pf, kids, m, S3P_PREFETCH_NODES);
  }
  free(kids);
}

/* pf_adjacent returns 1 if reading the next child of e in direction d
** (+1 or -1) now continues a walk: the b-tree page SQLite read just before
** is the child read last, or that child is an interior page whose children
** were read to their end in that direction. */
static int pf_adjacent(s3p_prefetch *pf, const pf_parent *e, int d){
  uint32_t a = e->kids[e->last];
  if(pf->prev == a) return 1;
  const pf_parent *ae = pf_ring_find(pf, a);
  return ae && ae->n && ae->last == (d > 0 ? (int32_t)ae->n - 1 : 0);
}

void s3p_prefetch_page(s3p_db *db, uint32_t pgno, const unsigned char *page){
  s3p_prefetch *pf = db->pf;
  if(!pf) return;
  pf->st.delivered++;
  pf_sync(db, pf);
  uint32_t psz = db->view.page_size;
  if(pgno == 1 && s3p_btree_geom(&pf->geom, page, psz, db->view.page_count)){
    pf->geom.psz = 0;
  }
  if(psz == 0 || pf->geom.psz != psz) return;
  pf->geom.npages = db->view.page_count;

  pf_item it;
  memset(&it, 0, sizeof it);
  int foreseen = pf_take(pf, pgno, &it);
  if(foreseen && it.fetched) pf->st.used++;
  if(foreseen && it.ovfl) pf->ovfl_used++;
  uint32_t idx = 0;
  pf_parent *par = pf_parent_of(pf, pgno, &idx);
  uint32_t root = par ? par->root : pgno;
  if(root != 1) pf->txn_other = 1;
  int detected = 0;
  int kind = s3p_btree_kind(&pf->geom, pgno, page);
  if(par && (kind == S3P_BT_INDEX_LEAF || kind == S3P_BT_TABLE_LEAF)){
    /* Its siblings' cousins are leaves too: a b-tree is balanced. */
    pf_depth *d = pf_depth_slot(pf, par->root, 1);
    d->leaf = pf_depth_of(pf, par) + 1;
  }
  if(par){
    par->tick = ++pf->tick;
    long d = par->last < 0 ? 0 : (long)idx - par->last;
    if((d == 1 || d == -1) && pf_adjacent(pf, par, (int)d)){
      if(d == par->dir){
        par->steps++;
      }else{
        par->dir = (int)d;
        par->steps = 1;
      }
    }else{
      par->steps = 0;
      par->dir = 0;
    }
    par->last = (int32_t)idx;
    /* Three children in a row, each right after the one before (or after
    ** the end of its subtree): a scan. Point queries read one child of
    ** each page they pass, with other trees' pages in between. */
    if(par->steps >= 2 && !foreseen && !pf->pragma){
      if(pf->scan != par->dir){
        pf_scan_stop(pf);
        pf->scan = par->dir;
        pf->ramp = S3P_PREFETCH_RAMP;
        pf->st.scans++;
      }
      pf_continue(pf, par, idx, par->dir);
      detected = 1;
    }
  }
  if(kind && !(foreseen && it.ovfl)) pf->prev = pgno;
  int dir = pf->pragma ? -1 : pf->scan;
  int scanning = pf->pragma || (pf->scan && (foreseen || detected));
  int want_ovfl = scanning && pf_want_ovfl(pf);
  /* References already put on the frontier when the page arrived. */
  int pushed = foreseen && it.expanded;
  if(foreseen && it.ovfl){
    /* An overflow page: its chain goes on. */
    s3p_btref next;
    next.pgno = s3p_btree_ovfl_next(&pf->geom, pgno, page);
    next.overflow = 1;
    if(next.pgno && scanning && !pushed) pf_push(pf, &next, 0, 1, 1);
    return;
  }
  if(kind == S3P_BT_INDEX_INTERIOR || kind == S3P_BT_TABLE_INTERIOR){
    int n = pf_refs(pf, pgno, page, want_ovfl);
    if(n <= 0) return;
    pf_ring_add(pf, pgno, root, par ? par->pgno : 0, idx, pf->refs,
                (size_t)n);
    pf_node_prefetch(db, pf, n);
    if(scanning && !pushed){
      if(dir > 0) pf_push(pf, pf->refs, 0, n, 1);
      else pf_push(pf, pf->refs, n - 1, -1, -1);
    }
  }else if(kind && want_ovfl && !pushed){
    int n = pf_refs(pf, pgno, page, 1);
    if(n <= 0) return;
    if(dir > 0) pf_push(pf, pf->refs, 0, n, 1);
    else pf_push(pf, pf->refs, n - 1, -1, -1);
  }
}

size_t s3p_prefetch_more(s3p_db *db, uint32_t pgno, const s3p_hash *want,
                         uint32_t *pg, s3p_hash *h, size_t cap){
  s3p_prefetch *pf = db->pf;
  if(!pf || cap == 0) return 0;
  pf_sync(db, pf);
  if(pf->geom.psz != db->view.page_size || (!pf->scan && !pf->pragma)){
    return 0;
  }
  if(!pf_skip_to(pf, pgno) && !pf->pragma){
    pf_scan_stop(pf);           /* SQLite went elsewhere: no more guessing */
    return 0;
  }
  int want_ovfl = pf_want_ovfl(pf);
  pf_warm_tree(db, pf);
  size_t limit = pf->pragma ? cap : (pf->ramp < cap ? pf->ramp : cap);
  size_t *pos = malloc(limit * sizeof *pos);         /* chosen entries */
  size_t *later = malloc(limit * sizeof *later);     /* entries lacking nodes */
  uint32_t *lpg = malloc(limit * sizeof *lpg);
  size_t n = 0, nl = 0;
  if(!pos || !later || !lpg) goto out;
  size_t lo = pf->n > PF_SEARCH ? pf->n - PF_SEARCH : 0;
  for(int pass = 0; pass < 2 && n < limit; pass++){
    size_t todo = pass ? nl : pf->n - lo;
    for(size_t i = 0; i < todo && n < limit; i++){
      size_t at = pass ? later[i] : pf->n - 1 - i;
      pf_item *it = &pf->stack[at];
      if(it->fetched || it->pgno == pgno || (it->ovfl && !want_ovfl)){
        continue;
      }
      s3p_hash ph;
      if(!pf_lookup(db, it->pgno, &ph)){
        if(!pass && n + nl < limit){
          later[nl] = at;
          lpg[nl++] = it->pgno;
        }
        continue;
      }
      if(s3p_hash_is_zero(&ph) || s3p_hash_eq(&ph, want) ||
         pf_page_cached(db, pf, &ph)){
        continue;
      }
      int dup = 0;
      for(size_t k = 0; k < n && !dup; k++) dup = s3p_hash_eq(&h[k], &ph);
      if(dup) continue;
      pg[n] = it->pgno;
      h[n] = ph;
      pos[n++] = at;
      if(!pass && n + nl >= limit) break;
    }
    /* The pages whose tree nodes are not cached: fetch those (one batch
    ** per missing level, at most a batch's width of nodes), then look
    ** again. */
    if(!pass && nl && n < limit) pf_warm(db, pf, lpg, nl, limit);
  }
  for(size_t k = 0; k < n; k++) pf->stack[pos[k]].fetched = 1;
  pf->st.pages += n;
  if(!pf->pragma){
    size_t width = s3p_prefetch_width(db);
    pf->ramp = pf->ramp * 2 < width - 1 ? pf->ramp * 2 : (uint32_t)(width - 1);
  }
out:
  free(pos);
  free(later);
  free(lpg);
  return n;
}

void s3p_prefetch_arrived(s3p_db *db, uint32_t pgno,
                          const unsigned char *page){
  s3p_prefetch *pf = db->pf;
  if(!pf || pf->geom.psz != db->view.page_size || (!pf->scan && !pf->pragma)){
    return;
  }
  size_t lo = pf->n > PF_SEARCH ? pf->n - PF_SEARCH : 0, at = pf->n;
  for(size_t i = pf->n; i > lo && at == pf->n; i--){
    if(pf->stack[i - 1].pgno == pgno && !pf->stack[i - 1].expanded) at = i - 1;
  }
  if(at == pf->n) return;
  int n = 0;
  if(pf->stack[at].ovfl){
    uint32_t next = s3p_btree_ovfl_next(&pf->geom, pgno, page);
    if(next && pf_room(pf) == 0){
      pf->refs[0].pgno = next;
      pf->refs[0].overflow = 1;
      n = 1;
    }
  }else{
    int kind = s3p_btree_kind(&pf->geom, pgno, page);
    int interior = kind == S3P_BT_INDEX_INTERIOR ||
                   kind == S3P_BT_TABLE_INTERIOR;
    int want_ovfl = pf_want_ovfl(pf);
    if(interior || (kind && want_ovfl)) n = pf_refs(pf, pgno, page, want_ovfl);
  }
  pf->stack[at].expanded = 1;
  if(n <= 0 || pf_reserve(pf, (size_t)n)) return;
  /* Read after the page and before what lies beneath it on the stack:
  ** they go just below it, the first to be read highest. */
  memmove(&pf->stack[at + (size_t)n], &pf->stack[at],
          (pf->n - at) * sizeof *pf->stack);
  pf->n += (size_t)n;
  int dir = pf->pragma ? -1 : pf->scan;
  for(int i = 0; i < n; i++){
    pf_item *it = &pf->stack[at + (size_t)i];
    /* Ascending: refs[n-1] is read last, so lowest. */
    const s3p_btref *r = &pf->refs[dir > 0 ? n - 1 - i : i];
    it->pgno = r->pgno;
    it->ovfl = r->overflow;
    it->fetched = 0;
    it->expanded = 0;
  }
}

void s3p_prefetch_fetched(s3p_db *db, size_t n){
  if(db->pf) db->pf->st.page_gets += n;
}

void s3p_prefetch_pragma(s3p_db *db, const char *name){
  s3p_prefetch *pf = db->pf;
  if(!pf || !name) return;
  if(!strcasecmp(name, "integrity_check") || !strcasecmp(name, "quick_check")){
    pf_scan_stop(pf);
    pf->pragma = 1;
    pf->txn_other = 0;
    pf->st.scans++;
  }
}

void s3p_prefetch_end(s3p_db *db){
  s3p_prefetch *pf = db->pf;
  if(!pf) return;
  pf_scan_stop(pf);
  /* Evidence of a scan is gathered within one transaction: point queries
  ** of successive transactions that hit neighbouring pages are not one. */
  for(int i = 0; i < PF_RING; i++){
    pf->ring[i].last = -1;
    pf->ring[i].steps = 0;
    pf->ring[i].dir = 0;
  }
  /* The schema is read in a transaction of its own while a statement is
  ** prepared, after SQLITE_FCNTL_PRAGMA: an armed pragma scan outlives
  ** that one and ends with the transaction that read the database. */
  if(pf->txn_other) pf->pragma = 0;
  pf->txn_other = 0;
  pf->prev = 0;
}

void s3p_prefetch_stats_get(s3p_db *db, s3p_prefetch_stats *out, int reset){
  memset(out, 0, sizeof *out);
  if(!db->pf) return;
  *out = db->pf->st;
  if(reset) memset(&db->pf->st, 0, sizeof db->pf->st);
}
