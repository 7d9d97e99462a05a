/*
** hint.c: what a committer names in HEAD besides the version (head.h).
**
** A reader opening the database needs, right after the record of version
** N, the checkpoint root and the tree nodes on the way to page 1, page 1,
** the pages of the schema table and the root page of every table and
** index (any query starts at one). The committer knows all of them: they
** are in its view of N and, right after a commit, in its caches. Naming
** them in HEAD lets the reader fetch them in the same batch as the record
** (vfs/version.c, s3p_version_open) instead of one round trip each, level
** by level. It also names the tree leaves of the root pages' children (so
** that a b-tree's second level costs one round trip), and, when HEAD goes
** out with the next commit, that commit's new content of those pages and
** its new checkpoint tree's nodes (a reader opening just after it sees
** that commit's version). Everything named is verified against its hash
** on arrival, so a hint that is stale (a later commit changed the page) or
** wrong costs bytes, never correctness. The layout is docs/format.md,
** section 6.
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "db.h"
#include "../index/btree.h"
#include "../index/head.h"
#include "../index/page.h"
#include "../index/schema.h"

/* Most pages of the schema table read to find the root pages. */
#define HINT_SCHEMA_PAGES 16
/* Most nodes below the root and above the leaves named (in a tree of
** level 2, one per 65,536 pages: 16 cover 4 GB at 4 KiB). */
#define HINT_UPPER 16
/* Most root pages looked up (more than fit in HEAD: some share nodes). */
#define HINT_ROOTS 256
/* Most tree leaves named for the children of root pages, so that the
** second level of a b-tree costs its page only, not its tree leaf and
** then its page: at most 32 x 4368 bytes (140 KB) more at open. */
#define HINT_CHILD_LEAVES 32
/* Most children of one root page considered. */
#define HINT_KIDS 1024

/* State of one build. */
typedef struct hint_build {
  s3p_db *db;                /* the database, its view at the version */
  int io;                    /* 1: fetch what is not cached; 0: never */
  s3p_head *head;            /* the hints gathered */
  uint32_t pgno[S3P_HEAD_MAX_HINTS]; /* the pages named, in order */
  unsigned npgno;            /* entries in pgno */
  int to_leaf;               /* lookups stop at the tree leaf: named, not
                             ** loaded (hint_leaf) */
  int depth;                 /* nodes loaded so far by this lookup */
  unsigned cap;              /* most hints named (room is kept for the
                             ** commit in progress, hint_next) */
} hint_build;

/* Hints kept free for hint_next: the new checkpoint root, the path to page
** 1 in the new tree (up to 4 nodes), page 1's new content and a few more. */
#define HINT_NEXT_ROOM 10

/* hint_add appends object h of kind to the hints unless it is zero, there
** already, or the list has b->cap entries. */
static void hint_add(hint_build *b, uint8_t kind, const s3p_hash *h){
  s3p_head *head = b->head;
  if(s3p_hash_is_zero(h) || head->nhint >= b->cap) return;
  for(unsigned i = 0; i < head->nhint; i++){
    if(head->hint[i].kind == kind && s3p_hash_eq(&head->hint[i].hash, h)){
      return;
    }
  }
  head->hint[head->nhint].kind = kind;
  head->hint[head->nhint].hash = *h;
  head->nhint++;
}

/* hint_node_load is the tree loader of a build: it names every node a
** lookup passes through, then loads it from the cache, or (io) the store.
** Returns S3P_OK or an error (S3P_ENOTFOUND: not cached). */
static int hint_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  hint_build *b = ctx;
  hint_add(b, S3P_HINT_NODE, h);
  if(b->to_leaf && b->depth++ == b->db->view.tree.level) return S3P_ENOTFOUND;
  if(s3p_pagecache_get(S3P_PC_NODE, h, out, sizeof *out)) return S3P_OK;
  if(!b->io) return S3P_ENOTFOUND;
  s3p_tree_io io = s3p_db_tree_io(b->db);
  return io.load(io.ctx, h, out);
}

/* hint_page names page pgno of the view and the nodes on its path and, if
** buf is not NULL, copies the page there. Returns 1 if buf was filled. */
static int hint_page(hint_build *b, uint32_t pgno, unsigned char *buf){
  s3p_db *db = b->db;
  s3p_tree_io io = { b, hint_node_load, NULL };
  s3p_hash h;
  if(pgno == 0 || pgno > db->view.page_count) return 0;
  if(s3p_view_lookup(&h, &db->view, pgno, &io)) return 0;
  hint_add(b, S3P_HINT_PAGE, &h);
  if(b->npgno < S3P_HEAD_MAX_HINTS) b->pgno[b->npgno++] = pgno;
  if(!buf || s3p_hash_is_zero(&h)) return 0;
  uint32_t psz = db->view.page_size;
  if(s3p_pagecache_get(S3P_PC_PAGE, &h, buf, psz)) return 1;
  if(db->disk && s3p_diskcache_get(db->disk, &h, buf, psz)) return 1;
  return b->io && s3p_db_read_page(db, pgno, buf) == SQLITE_OK;
}

/* hint_upper names the nodes of the tree's levels above the leaves (for a
** large database, what every lookup passes through), as far as cached. */
static void hint_upper(hint_build *b){
  const s3p_treeref *t = &b->db->view.tree;
  s3p_node root;
  if(t->level < 2 || hint_node_load(b, &t->root, &root)) return;
  unsigned named = 0;
  for(unsigned s = 0; s < S3P_TREE_FANOUT && named < HINT_UPPER; s++){
    if(s3p_hash_is_zero(&root.slot[s])) continue;
    hint_add(b, S3P_HINT_NODE, &root.slot[s]);
    named++;
  }
}

/* hint_leaf names the tree nodes on the path to page pgno down to its
** tree leaf, without loading the leaf. Returns 1 if that added a name. */
static int hint_leaf(hint_build *b, uint32_t pgno){
  s3p_tree_io io = { b, hint_node_load, NULL };
  s3p_hash h;
  unsigned before = b->head->nhint;
  b->to_leaf = 1;
  b->depth = 0;
  (void)s3p_view_lookup(&h, &b->db->view, pgno, &io);
  b->to_leaf = 0;
  return b->head->nhint > before;
}

/* hint_fetch_pages brings pages pgnos[0..n) of the view into the page
** cache in one batch, those not cached yet (io only). */
static void hint_fetch_pages(hint_build *b, const uint32_t *pgnos, size_t n){
  s3p_db *db = b->db;
  uint32_t psz = db->view.page_size;
  s3p_tree_io io = s3p_db_tree_io(db);
  s3p_hash *hs = calloc(n ? n : 1, sizeof *hs);
  char (*keys)[S3P_KEY_MAX] = malloc((n ? n : 1) * sizeof *keys);
  s3p_op *ops = calloc(n ? n : 1, sizeof *ops);
  unsigned char *buf = malloc(psz);
  size_t m = 0;
  if(!hs || !keys || !ops || !buf) goto out;
  for(size_t i = 0; i < n; i++){
    s3p_hash h;
    if(s3p_view_lookup(&h, &db->view, pgnos[i], &io)) continue;
    if(s3p_hash_is_zero(&h) || s3p_pagecache_has(S3P_PC_PAGE, &h)) continue;
    hs[m] = h;
    s3p_hash_key(keys[m], "pages", &h);
    ops[m].kind = S3P_OP_GET;
    ops[m].key = keys[m];
    m++;
  }
  if(m && s3p_store_exec(db->store, ops, m) == S3P_OK){
    for(size_t i = 0; i < m; i++){
      const char *why;
      if(ops[i].rc == S3P_OK && s3p_page_decode(buf, psz, &hs[i], ops[i].data,
                                                ops[i].len, &why) == S3P_OK){
        s3p_pagecache_put(S3P_PC_PAGE, &hs[i], buf, psz);
      }
    }
  }
  for(size_t i = 0; i < m; i++) s3p_op_reset(&ops[i]);
out:
  free(hs);
  free(keys);
  free(ops);
  free(buf);
}

/* One root page's children, for hint_children. */
typedef struct hint_kids {
  uint32_t *kid;             /* child page numbers (malloc'd) */
  size_t n;                  /* entries in kid */
  size_t leaves;             /* distinct tree leaves they fall in */
} hint_kids;

/* hint_u32_cmp orders numbers for qsort. */
static int hint_u32_cmp(const void *x, const void *y){
  uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
  return a < c ? -1 : a > c;
}

/* hint_kids_cmp orders roots by how many tree leaves their children need. */
static int hint_kids_cmp(const void *x, const void *y){
  const hint_kids *a = x, *c = y;
  return a->leaves < c->leaves ? -1 : a->leaves > c->leaves;
}

/* hint_children names the tree leaves of the children of root pages
** roots[0..n), up to HINT_CHILD_LEAVES: whole roots at a time, those that
** need the fewest leaves first (an index's root page has a few children,
** a big table's dozens), so that every b-tree it covers has its second
** level one round trip away. Root pages are read from the caches (io:
** also fetched, in one batch). */
static void hint_children(hint_build *b, const uint32_t *roots, size_t n,
                          const s3p_btgeom *geom){
  s3p_db *db = b->db;
  uint32_t psz = db->view.page_size;
  if(db->view.tree.level == 0 || n == 0) return;   /* one leaf: named */
  if(b->io) hint_fetch_pages(b, roots, n);
  hint_kids *k = calloc(n, sizeof *k);
  unsigned char *buf = malloc(psz);
  uint32_t *leaf = malloc(HINT_KIDS * sizeof *leaf);
  s3p_btref *refs = malloc(S3P_BTREE_MAXREFS(psz) * sizeof *refs);
  if(!k || !buf || !leaf || !refs) goto out;
  for(size_t i = 0; i < n; i++){
    s3p_tree_io io = s3p_db_tree_io(db);
    s3p_hash h;
    if(!b->io) io.ctx = b, io.load = hint_node_load;
    if(s3p_view_lookup(&h, &db->view, roots[i], &io) || s3p_hash_is_zero(&h))
      continue;
    if(s3p_pagecache_get(S3P_PC_PAGE, &h, buf, psz)){
      /* in memory */
    }else if(!db->disk || !s3p_diskcache_get(db->disk, &h, buf, psz)){
      continue;
    }
    int nref = s3p_btree_refs(geom, roots[i], buf, 0, refs,
                              S3P_BTREE_MAXREFS(psz));
    if(nref <= 0) continue;                      /* a leaf, or damaged */
    k[i].kid = malloc(HINT_KIDS * sizeof *k[i].kid);
    if(!k[i].kid) continue;
    for(int j = 0; j < nref && k[i].n < HINT_KIDS; j++){
      k[i].kid[k[i].n++] = refs[j].pgno;
    }
    /* Distinct leaves: a leaf covers 256 consecutive page numbers. */
    for(size_t j = 0; j < k[i].n; j++) leaf[j] = (k[i].kid[j] - 1) >> 8;
    qsort(leaf, k[i].n, sizeof *leaf, hint_u32_cmp);
    for(size_t j = 0; j < k[i].n; j++){
      if(j == 0 || leaf[j] != leaf[j - 1]) k[i].leaves++;
    }
  }
  qsort(k, n, sizeof *k, hint_kids_cmp);
  unsigned named = 0;
  for(size_t i = 0; i < n; i++){
    if(k[i].n == 0) continue;
    if(named + k[i].leaves > HINT_CHILD_LEAVES) break;
    for(size_t j = 0; j < k[i].n; j++) named += (unsigned)hint_leaf(b, k[i].kid[j]);
  }
out:
  for(size_t i = 0; k && i < n; i++) free(k[i].kid);
  free(k);
  free(buf);
  free(leaf);
  free(refs);
}

/* hint_schema names page 1, the other pages of the schema table and the
** root page of every table and index it lists, with their tree paths. */
static void hint_schema(hint_build *b){
  s3p_db *db = b->db;
  uint32_t psz = db->view.page_size;
  unsigned char *buf = malloc(psz);
  uint32_t *roots = malloc(HINT_ROOTS * sizeof *roots);
  uint32_t todo[HINT_SCHEMA_PAGES];
  size_t ntodo = 0, nroots = 0;
  if(!buf || !roots) goto out;
  if(!hint_page(b, 1, buf)) goto out;
  uint32_t usable = s3p_schema_usable(buf, psz);
  s3p_btgeom geom;
  if(usable == 0 || s3p_btree_geom(&geom, buf, psz, db->view.page_count)){
    goto out;
  }
  hint_upper(b);
  todo[ntodo++] = 1;
  for(size_t i = 0; i < ntodo; i++){
    if(i > 0 && !hint_page(b, todo[i], buf)) continue;
    uint32_t got[HINT_ROOTS];
    size_t n;
    int leaf;
    if(s3p_schema_page(buf, todo[i], psz, usable, got, HINT_ROOTS, &n,
                       &leaf)) continue;
    for(size_t k = 0; k < n; k++){
      if(leaf && nroots < HINT_ROOTS) roots[nroots++] = got[k];
      if(!leaf && ntodo < HINT_SCHEMA_PAGES) todo[ntodo++] = got[k];
    }
  }
  /* Fetching what is missing (io), the tree nodes on the roots' paths
  ** come one batch per tree level, not one round trip per root. */
  if(b->io) (void)s3p_db_warm_paths(db, roots, nroots);
  for(size_t k = 0; k < nroots && b->head->nhint < b->cap; k++){
    hint_page(b, roots[k], NULL);
  }
  hint_children(b, roots, nroots, &geom);
out:
  free(buf);
  free(roots);
}

/* hint_next names, for every page named that the commit in progress
** changes (next[0..nnext), sorted by page number), its new content too,
** and the nodes on its path in next_tree, that commit's new checkpoint
** tree (NULL if it writes none):
** HEAD is written in that commit's first batch, so it names the version
** before it, and a reader opening right after the commit finds the new
** version (its batch reads the record after HEAD's) and these pages. */
static void hint_next(hint_build *b, const s3p_change *next, size_t nnext,
                      const s3p_treeref *next_tree){
  if(next_tree && !s3p_hash_is_zero(&next_tree->root)){
    /* The commit writes a checkpoint: a reader of its version looks every
    ** page up in the new tree, whose nodes the commit has in its cache. */
    s3p_tree_io io = { b, hint_node_load, NULL };
    hint_add(b, S3P_HINT_NODE, &next_tree->root);
    for(unsigned i = 0; i < b->npgno; i++){
      s3p_hash h;
      (void)s3p_tree_lookup(&h, next_tree, b->pgno[i], &io);
    }
  }
  for(unsigned i = 0; i < b->npgno && nnext; i++){
    size_t lo = 0, hi = nnext;
    while(lo < hi){
      size_t mid = lo + (hi - lo) / 2;
      if(next[mid].pgno < b->pgno[i]) lo = mid + 1; else hi = mid;
    }
    if(lo < nnext && next[lo].pgno == b->pgno[i]){
      hint_add(b, S3P_HINT_PAGE, &next[lo].hash);
    }
  }
}

size_t s3p_db_head_bytes(s3p_db *db, uint64_t version, int io,
                         const s3p_change *next, size_t nnext,
                         const s3p_treeref *next_tree, unsigned char *out){
  s3p_head *head = calloc(1, sizeof *head);
  if(!head){
    s3p_head bare;
    memset(&bare, 0, sizeof bare);
    bare.version = bare.ckpt_version = version;
    return s3p_head_encode(out, &bare);
  }
  head->version = head->ckpt_version = version;
  s3p_view saved;
  int swapped = 0;
  if(db->view.version != version && io){
    /* A history operation (import, gc, checkpoint) names a version its
    ** handle does not show: load it aside for the time of the build. */
    saved = db->view;
    s3p_view_init(&db->view);
    swapped = 1;
    if(s3p_db_load(db, version) != SQLITE_OK) s3p_view_free(&db->view);
  }
  if(db->view.version == version){
    hint_build b;
    memset(&b, 0, sizeof b);
    b.db = db;
    b.io = io;
    b.head = head;
    b.cap = S3P_HEAD_MAX_HINTS - (nnext || next_tree ? HINT_NEXT_ROOM : 0);
    head->ckpt_version = db->view.ckpt_version;
    head->page_size = db->view.page_size;
    hint_add(&b, S3P_HINT_NODE, &db->view.tree.root);
    hint_schema(&b);
    b.cap = S3P_HEAD_MAX_HINTS;
    if(nnext || next_tree) hint_next(&b, next, nnext, next_tree);
  }
  if(swapped){
    s3p_view_free(&db->view);
    db->view = saved;
  }
  size_t len = s3p_head_encode(out, head);
  free(head);
  return len;
}
