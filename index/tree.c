/*
** tree.c: the checkpoint page map, a content-addressed radix tree.
**
** Keys are pgno-1, 32 bits, consumed 8 bits per level from the top: a node
** at level l covers 256^(l+1) keys and its slot i covers the 256^l keys
** starting at base + i*256^l. A tree whose root is at level L covers keys
** 0 .. 256^(L+1)-1; every larger key is absent.
**
** Updates are easiest to describe against a full-height tree whose root is
** at level 3. A smaller tree (root at level L < 3) is seen as if it had
** "virtual" nodes at levels L+1..3 above it, each with the real root chain
** in slot 0 and nothing else. The update rebuilds, bottom up, exactly the
** nodes whose subtree changes: a subtree is entered only if a change falls
** in it or the truncation mark cuts through it; a subtree entirely above
** the mark is dropped without being loaded. Rebuilt nodes are stored as
** soon as they are final, children before parents.
**
** The nodes on the "top chain" (base 0: the leftmost node of each level)
** are the exception: whether they belong to the new tree depends on the
** canonical root, known only at the end. They are kept in memory and the
** root is found by walking down from level 3 while a node's only entry is
** slot 0; the chain nodes at or below that root are then stored. If the
** walk reaches an unchanged node it has to load it to see its shape (at
** most three loads, and only when a tree shrinks to a lower level).
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "record.h"
#include "tree.h"

#define NODE_MAGIC "S3PN"
#define NODE_FORMAT 1
#define NODE_HDR 8
#define NODE_ENTRY 17

/* tree_key returns the tree key of page pgno (>= 1). */
static uint32_t tree_key(uint32_t pgno){
  assert( pgno >= 1 );
  return pgno - 1;
}

/* tree_slot returns the slot of key in a node at level l. */
static int tree_slot(uint32_t key, int l){
  assert( l >= 0 && l <= S3P_TREE_MAXLEVEL );
  return (int)((key >> (8 * l)) & 255);
}

/* tree_node_clear makes n an empty node at level l. */
static void tree_node_clear(s3p_node *n, int l){
  memset(n, 0, sizeof(*n));
  n->level = (uint8_t)l;
}

/* tree_node_count returns the number of non-zero slots of n. */
static int tree_node_count(const s3p_node *n){
  int c = 0;
  for(int i = 0; i < S3P_TREE_FANOUT; i++){
    if( !s3p_hash_is_zero(&n->slot[i]) ) c++;
  }
  return c;
}

/* s3p_node_encode writes node n into out (S3P_NODE_MAXLEN bytes of room),
** sets *len to its length and *name to the hash of the encoding. Returns
** S3P_OK, or S3P_EINVAL if the level is above 3, the node is empty or
** n->count does not match its non-zero slots. */
int s3p_node_encode(unsigned char *out, size_t *len, s3p_hash *name,
                    const s3p_node *n){
  if( out == 0 || len == 0 || name == 0 || n == 0 ) return S3P_EINVAL;
  if( n->level > S3P_TREE_MAXLEVEL ) return S3P_EINVAL;
  if( n->count < 1 || n->count != tree_node_count(n) ) return S3P_EINVAL;
  memcpy(out, NODE_MAGIC, 4);
  out[4] = NODE_FORMAT;
  out[5] = n->level;
  s3p_put16(out + 6, n->count);
  unsigned char *p = out + NODE_HDR;
  for(int i = 0; i < S3P_TREE_FANOUT; i++){
    if( s3p_hash_is_zero(&n->slot[i]) ) continue;
    *p = (unsigned char)i;
    memcpy(p + 1, n->slot[i].b, S3P_HASH_LEN);
    p += NODE_ENTRY;
  }
  size_t body = (size_t)(p - out);
  assert( body == NODE_HDR + (size_t)NODE_ENTRY * n->count );
  s3p_put64(p, s3p_checksum64(out, body));
  *len = body + 8;
  s3p_hash_bytes(name, out, *len);
  return S3P_OK;
}

/* s3p_node_decode parses the node object buf[0..len) into *n; if expect is
** not NULL the bytes must also hash to it. Returns S3P_OK, or
** S3P_ECORRUPT with *why set. */
int s3p_node_decode(s3p_node *n, const unsigned char *buf, size_t len,
                    const s3p_hash *expect, const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  if( buf == 0 || len < NODE_HDR + NODE_ENTRY + 8 ){
    *why = "tree node too short";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, NODE_MAGIC, 4) != 0 ){
    *why = "bad tree node magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] != NODE_FORMAT ){
    *why = "unknown tree node format version";
    return S3P_ECORRUPT;
  }
  if( buf[5] > S3P_TREE_MAXLEVEL ){
    *why = "tree node level above 3";
    return S3P_ECORRUPT;
  }
  uint16_t count = s3p_get16(buf + 6);
  if( count < 1 || count > S3P_TREE_FANOUT ){
    *why = "tree node count out of range";
    return S3P_ECORRUPT;
  }
  if( len != NODE_HDR + (size_t)NODE_ENTRY * count + 8 ){
    *why = "tree node length does not match its count";
    return S3P_ECORRUPT;
  }
  size_t body = len - 8;
  if( s3p_get64(buf + body) != s3p_checksum64(buf, body) ){
    *why = "tree node checksum mismatch";
    return S3P_ECORRUPT;
  }
  if( expect ){
    s3p_hash got;
    s3p_hash_bytes(&got, buf, len);
    if( !s3p_hash_eq(&got, expect) ){
      *why = "tree node does not match its hash";
      return S3P_ECORRUPT;
    }
  }
  s3p_node t;
  tree_node_clear(&t, buf[5]);
  t.count = count;
  const unsigned char *p = buf + NODE_HDR;
  int prev = -1;
  for(int i = 0; i < count; i++, p += NODE_ENTRY){
    if( (int)p[0] <= prev ){
      *why = "tree node slots not strictly ascending";
      return S3P_ECORRUPT;
    }
    prev = p[0];
    memcpy(t.slot[p[0]].b, p + 1, S3P_HASH_LEN);
    if( s3p_hash_is_zero(&t.slot[p[0]]) ){
      *why = "tree node has a zero entry";
      return S3P_ECORRUPT;
    }
  }
  *n = t;
  return S3P_OK;
}

/* tree_load loads node h, which must be at level l, into *n. Returns S3P_OK,
** the loader's error, or S3P_ECORRUPT if the node is at another level. */
static int tree_load(const s3p_tree_io *io, const s3p_hash *h, int l,
                     s3p_node *n){
  int rc = io->load(io->ctx, h, n);
  if( rc != S3P_OK ) return rc;
  if( n->level != l ) return S3P_ECORRUPT;
  return S3P_OK;
}

/* s3p_tree_lookup sets *out to the hash of page pgno in tree t, zero when
** the page is absent. Loads at most level+1 nodes. Returns S3P_OK,
** S3P_EINVAL (pgno 0, bad arguments) or a load error. */
int s3p_tree_lookup(s3p_hash *out, const s3p_treeref *t, uint32_t pgno,
                    const s3p_tree_io *io){
  if( out == 0 || t == 0 || io == 0 || io->load == 0 ) return S3P_EINVAL;
  memset(out, 0, sizeof(*out));
  if( pgno == 0 || t->level > S3P_TREE_MAXLEVEL ) return S3P_EINVAL;
  if( s3p_hash_is_zero(&t->root) ) return S3P_OK;
  uint32_t key = tree_key(pgno);
  int l = t->level;
  if( l < S3P_TREE_MAXLEVEL && (key >> (8 * (l + 1))) != 0 ) return S3P_OK;
  s3p_node n;
  s3p_hash h = t->root;
  for(;;){
    int rc = tree_load(io, &h, l, &n);
    if( rc != S3P_OK ) return rc;
    h = n.slot[tree_slot(key, l)];
    if( s3p_hash_is_zero(&h) || l == 0 ) break;
    l--;
  }
  *out = h;
  return S3P_OK;
}

/* A rebuilt node of the top chain, kept until the root is known. */
typedef struct tree_chain {
  int valid;                          /* rebuilt and non-empty */
  s3p_hash old;                       /* the node it replaces (or zero) */
  s3p_node node;
  s3p_hash name;
  size_t len;
  unsigned char buf[S3P_NODE_MAXLEN];
} tree_chain;

/* The state of one s3p_tree_update call (heap: about 50 KB). */
typedef struct tree_ctx {
  const s3p_tree_io *io;
  const s3p_change *ch;               /* the changes, sorted */
  uint64_t trunc;                     /* keys >= trunc are removed first */
  s3p_node work[S3P_TREE_MAXLEVEL + 1]; /* the node being rebuilt per level */
  tree_chain chain[S3P_TREE_MAXLEVEL + 1];
  unsigned char enc[S3P_NODE_MAXLEN]; /* encoding of an off-chain node */
  s3p_node probe;                     /* unchanged node read while finishing */
} tree_ctx;

/* tree_finish_child encodes the rebuilt child x->work[l] (slot i of a node
** at level l+1 with base `base`, replacing the node old) and sets *slot to
** its name, or to zero if the child came out empty. Off-chain children are
** stored now unless identical to old (re-applying a change rebuilds the
** same node); a top-chain child is kept in x->chain[l]. Returns S3P_OK or
** a store error. */
static int tree_finish_child(tree_ctx *x, int l, uint32_t base, int i,
                             const s3p_hash *old, s3p_hash *slot){
  s3p_node *c = &x->work[l];
  c->count = (uint16_t)tree_node_count(c);
  if( c->count == 0 ){
    memset(slot, 0, sizeof(*slot));
    return S3P_OK;
  }
  if( base == 0 && i == 0 ){
    tree_chain *k = &x->chain[l];
    k->node = *c;
    int rc = s3p_node_encode(k->buf, &k->len, &k->name, c);
    if( rc != S3P_OK ) return rc;
    k->valid = 1;
    k->old = *old;
    *slot = k->name;
    return S3P_OK;
  }
  size_t len;
  s3p_hash name;
  int rc = s3p_node_encode(x->enc, &len, &name, c);
  if( rc == S3P_OK && !s3p_hash_eq(&name, old) ){
    rc = x->io->store(x->io->ctx, &name, x->enc, len);
  }
  if( rc != S3P_OK ) return rc;
  *slot = name;
  return S3P_OK;
}

/* tree_update_rec rebuilds into x->work[l] the node at level l covering
** keys from base, whose old content is the subtree old (a real node at
** old_level == l, a virtual node above a root at old_level < l, or zero
** for empty), applying the truncation and the changes x->ch[lo..hi), which
** all fall inside this node. Returns S3P_OK or an error. */
static int tree_update_rec(tree_ctx *x, int l, uint32_t base,
                           const s3p_hash *old, int old_level,
                           size_t lo, size_t hi){
  s3p_node *out = &x->work[l];
  int virt = 0;
  int rc;

  assert( l >= 0 && l <= S3P_TREE_MAXLEVEL && old_level <= l );
  if( s3p_hash_is_zero(old) ){
    tree_node_clear(out, l);
  }else if( old_level == l - 1 ){
    /* A virtual node right above the real root: that root is its slot 0,
    ** so from here on it is an ordinary node that needed no load. */
    tree_node_clear(out, l);
    out->slot[0] = *old;
  }else if( old_level < l ){
    tree_node_clear(out, l);
    virt = 1;
  }else{
    rc = tree_load(x->io, old, l, out);
    if( rc != S3P_OK ) return rc;
  }

  uint64_t span = (uint64_t)1 << (8 * l);  /* keys per slot */
  size_t j = lo;
  for(int i = 0; i < S3P_TREE_FANOUT; i++){
    uint64_t cbase = (uint64_t)base + (uint64_t)i * span;
    size_t clo = j;
    while( j < hi && tree_slot(tree_key(x->ch[j].pgno), l) == i ) j++;
    size_t chi = j;
    int full = cbase >= x->trunc;                  /* slot wholly cut */
    int partial = !full && x->trunc < cbase + span; /* mark inside slot */

    if( l == 0 ){
      if( full ) memset(&out->slot[i], 0, sizeof(s3p_hash));
      assert( chi - clo <= 1 );
      if( clo < chi ) out->slot[i] = x->ch[clo].hash;
      continue;
    }

    /* The old child of slot i: in a virtual node, slot 0 holds the real
    ** root (or another virtual node) and every other slot is empty. */
    s3p_hash cold;
    int cold_level = l - 1;
    if( virt ){
      memset(&cold, 0, sizeof(cold));
      if( i == 0 ){
        cold = *old;
        cold_level = old_level;
      }
    }else{
      cold = out->slot[i];
    }
    int empty = s3p_hash_is_zero(&cold);
    /* A virtual child must be materialized even if nothing changes in it,
    ** since this node is being rebuilt as a real one. */
    int lift = !empty && cold_level < l - 1;

    if( clo == chi ){
      if( empty ) continue;
      if( full ){
        memset(&out->slot[i], 0, sizeof(s3p_hash));
        continue;
      }
      if( !partial && !lift ) continue;
    }
    if( full ){
      /* Everything old is cut: start from an empty subtree, unloaded. */
      memset(&cold, 0, sizeof(cold));
      cold_level = l - 1;
    }
    rc = tree_update_rec(x, l - 1, (uint32_t)cbase, &cold, cold_level, clo, chi);
    if( rc != S3P_OK ) return rc;
    if( cold_level != l - 1 ) memset(&cold, 0, sizeof(cold));
    rc = tree_finish_child(x, l - 1, base, i, &cold, &out->slot[i]);
    if( rc != S3P_OK ) return rc;
  }
  assert( j == hi );
  out->count = (uint16_t)tree_node_count(out);
  return S3P_OK;
}

/* tree_finish_root finds the canonical root after the rebuild of the top
** node x->work[S3P_TREE_MAXLEVEL], stores the top-chain nodes that belong
** to the new tree and sets *out. old is the tree before the update.
** Returns S3P_OK or a load/store error. */
static int tree_finish_root(tree_ctx *x, const s3p_treeref *old,
                            s3p_treeref *out){
  int top = S3P_TREE_MAXLEVEL;
  s3p_hash oldtop;
  memset(&oldtop, 0, sizeof(oldtop));
  if( old->level == top ) oldtop = old->root;
  int rc = tree_finish_child(x, top, 0, 0, &oldtop, &out->root);
  if( rc != S3P_OK ) return rc;
  if( !x->chain[top].valid ){
    memset(out, 0, sizeof(*out));      /* the empty map */
    return S3P_OK;
  }
  /* Walk down the top chain while a node's only entry is slot 0. */
  int l = top;
  const s3p_node *cur = &x->chain[top].node;
  s3p_hash name = x->chain[top].name;
  while( l > 0 && cur->count == 1 && !s3p_hash_is_zero(&cur->slot[0]) ){
    name = cur->slot[0];
    if( cur != &x->probe && x->chain[l - 1].valid ){
      assert( s3p_hash_eq(&name, &x->chain[l - 1].name) );
      cur = &x->chain[l - 1].node;
    }else if( s3p_hash_eq(&name, &old->root) && l - 1 == old->level ){
      /* The old root is unchanged and was canonical already. */
      l--;
      break;
    }else{
      rc = tree_load(x->io, &name, l - 1, &x->probe);
      if( rc != S3P_OK ) return rc;
      cur = &x->probe;
    }
    l--;
  }
  /* Chain nodes at or below the root are in the new tree: a valid chain
  ** node is slot 0 of the valid chain node above it, and the walk only
  ** leaves the chain for an unchanged node, below which nothing was
  ** rebuilt. Store them children first, skipping unchanged ones. */
  for(int k = 0; k <= l; k++){
    tree_chain *c = &x->chain[k];
    if( !c->valid || s3p_hash_eq(&c->name, &c->old) ) continue;
    rc = x->io->store(x->io->ctx, &c->name, c->buf, c->len);
    if( rc != S3P_OK ) return rc;
  }
  out->root = name;
  out->level = (uint8_t)l;
  return S3P_OK;
}

/* s3p_tree_update builds in *out (which may be t) the tree t with every
** page above trunc_mark removed and then the n changes applied (sorted by
** strictly ascending pgno >= 1; a zero hash removes the page). Only nodes
** on changed paths are loaded and only new nodes are stored. Returns
** S3P_OK, S3P_EINVAL, S3P_ENOMEM or a load/store error (then *out is
** unchanged; nodes already stored are harmless garbage). */
int s3p_tree_update(s3p_treeref *out, const s3p_treeref *t,
                    uint32_t trunc_mark, const s3p_change *ch, size_t n,
                    const s3p_tree_io *io){
  if( out == 0 || t == 0 || io == 0 || io->load == 0 || io->store == 0 ){
    return S3P_EINVAL;
  }
  if( n > 0 && ch == 0 ) return S3P_EINVAL;
  if( t->level > S3P_TREE_MAXLEVEL ) return S3P_EINVAL;
  for(size_t i = 0; i < n; i++){
    if( ch[i].pgno == 0 ) return S3P_EINVAL;
    if( i > 0 && ch[i].pgno <= ch[i - 1].pgno ) return S3P_EINVAL;
  }
  s3p_treeref old = *t;
  if( s3p_hash_is_zero(&old.root) ) old.level = 0;

  /* Nothing to do: no changes and the mark lies above every key. */
  uint64_t cover = (uint64_t)1 << (8 * (old.level + 1));
  if( cover > 0xFFFFFFFFu ) cover = 0xFFFFFFFFu;
  if( n == 0 && (s3p_hash_is_zero(&old.root) || trunc_mark >= cover) ){
    *out = old;
    return S3P_OK;
  }

  tree_ctx *x = calloc(1, sizeof(*x));
  if( x == 0 ) return S3P_ENOMEM;
  x->io = io;
  x->ch = ch;
  /* Key 0xFFFFFFFF (page 2^32) cannot exist, so a mark of 0xFFFFFFFF cuts
  ** nothing: treat it as "no mark" so that no path is loaded for it. */
  x->trunc = trunc_mark == 0xFFFFFFFFu ? (uint64_t)1 << 32 : trunc_mark;
  int rc = tree_update_rec(x, S3P_TREE_MAXLEVEL, 0, &old.root, old.level, 0, n);
  s3p_treeref res;
  if( rc == S3P_OK ) rc = tree_finish_root(x, &old, &res);
  if( rc == S3P_OK ) *out = res;
  free(x);
  return rc;
}

/* tree_walk_rec visits node h at level l covering keys from base, then its
** entries in key order. Returns 0, a load error or visit's return. */
static int tree_walk_rec(const s3p_tree_io *io, const s3p_hash *h, int l,
                         uint32_t base,
                         int (*visit)(void *, int, uint32_t, const s3p_hash *),
                         void *arg){
  s3p_node n;
  int rc = tree_load(io, h, l, &n);
  if( rc != S3P_OK ) return rc;
  rc = visit(arg, 1, base + 1, h);
  if( rc != 0 ) return rc;
  for(int i = 0; i < S3P_TREE_FANOUT; i++){
    if( s3p_hash_is_zero(&n.slot[i]) ) continue;
    uint32_t cbase = base + ((uint32_t)i << (8 * l));
    if( l == 0 ){
      /* Key 0xFFFFFFFF would be page 2^32, which cannot exist. */
      if( cbase == 0xFFFFFFFFu ) return S3P_ECORRUPT;
      rc = visit(arg, 0, cbase + 1, &n.slot[i]);
    }else{
      rc = tree_walk_rec(io, &n.slot[i], l - 1, cbase, visit, arg);
    }
    if( rc != 0 ) return rc;
  }
  return 0;
}

/* s3p_tree_walk calls visit for every node of t (is_node 1; pgno is the
** first page the node covers) and every non-zero page entry (is_node 0),
** depth first in key order, parents before children. Returns 0, a load
** error, S3P_EINVAL, or the first non-zero value visit returned. */
int s3p_tree_walk(const s3p_treeref *t, const s3p_tree_io *io,
                  int (*visit)(void *arg, int is_node, uint32_t pgno,
                               const s3p_hash *h),
                  void *arg){
  if( t == 0 || io == 0 || io->load == 0 || visit == 0 ) return S3P_EINVAL;
  if( t->level > S3P_TREE_MAXLEVEL ) return S3P_EINVAL;
  if( s3p_hash_is_zero(&t->root) ) return 0;
  return tree_walk_rec(io, &t->root, t->level, 0, visit, arg);
}
