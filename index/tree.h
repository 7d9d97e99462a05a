/*
** tree.h: the checkpoint page map, a content-addressed radix tree.
**
** A checkpoint maps every page number of one version to its page hash. Keys
** are pgno-1 (32 bits), split into four 8-bit slots; a node at level l
** indexes slot (key >> 8*l) & 255. Level-0 nodes (leaves) hold page hashes,
** higher levels hold child node hashes; a zero hash is an all-zero page or an
** empty subtree. Nodes are objects index/xxh128-<hash of encoded node>, so
** unchanged subtrees are shared between checkpoints and an update rewrites
** only the nodes on the paths to changed pages.
**
** The shape is canonical: the root has the lowest level that covers the
** highest non-empty key, empty subtrees are never stored, and the empty map
** is the zero root at level 0. Equal maps therefore have equal roots.
**
** Node layout (integers little-endian):
**     0  4  magic "S3PN"
**     4  1  format version (1)
**     5  1  level (0..3)
**     6  2  count n of non-empty slots (1..256)
**     8 17n entries: u8 slot (strictly ascending), 16-byte non-zero hash
**  8+17n 8  XXH3-64 of bytes [0, 8+17n)
**
** No I/O here: nodes are fetched and stored through s3p_tree_io callbacks.
*/
#ifndef S3P_TREE_H
#define S3P_TREE_H

#include <stddef.h>
#include <stdint.h>
#include "hash.h"
#include "record.h"

#define S3P_TREE_FANOUT 256
#define S3P_TREE_MAXLEVEL 3
#define S3P_NODE_MAXLEN (8 + 17 * 256 + 8)

typedef struct s3p_node {
  uint8_t level;                     /* 0 = leaf */
  uint16_t count;                    /* number of non-zero slots */
  s3p_hash slot[S3P_TREE_FANOUT];    /* child or page hash; zero = empty */
} s3p_node;

typedef struct s3p_treeref {
  s3p_hash root;                     /* root node hash, zero = empty map */
  uint8_t level;                     /* level of the root node */
} s3p_treeref;

typedef struct s3p_tree_io {
  void *ctx;                         /* passed to both callbacks */
  /* load fetches node h (verified: it hashes to h) into *out. Returns
  ** S3P_OK or an S3P_E* code, which the tree functions pass through. */
  int (*load)(void *ctx, const s3p_hash *h, s3p_node *out);
  /* store receives a node created by an update: its name and encoding.
  ** The callee copies what it keeps. May be NULL for read-only use. */
  int (*store)(void *ctx, const s3p_hash *h, const unsigned char *buf,
               size_t len);
} s3p_tree_io;

/* s3p_node_encode writes node n into out (S3P_NODE_MAXLEN bytes of room),
** sets *len and *name (hash of the encoding). n->count must match the
** non-zero slots. Returns S3P_OK or S3P_EINVAL. */
int s3p_node_encode(unsigned char *out, size_t *len, s3p_hash *name,
                    const s3p_node *n);

/* s3p_node_decode parses buf[0..len) into *n. If expect is not NULL the
** bytes must hash to it. Returns S3P_OK or S3P_ECORRUPT with *why set. */
int s3p_node_decode(s3p_node *n, const unsigned char *buf, size_t len,
                    const s3p_hash *expect, const char **why);

/* s3p_tree_lookup sets *out to the hash of page pgno (1-based) in tree t,
** zero if the page is absent. Returns S3P_OK or a load error. */
int s3p_tree_lookup(s3p_hash *out, const s3p_treeref *t, uint32_t pgno,
                    const s3p_tree_io *io);

/* s3p_tree_update builds in *out the tree t with every page above
** trunc_mark removed and then the n changes (sorted by pgno, zero hash =
** remove) applied. New nodes go to io->store; untouched subtrees are
** shared. Returns S3P_OK, S3P_EINVAL, S3P_ENOMEM or a load/store error. */
int s3p_tree_update(s3p_treeref *out, const s3p_treeref *t,
                    uint32_t trunc_mark, const s3p_change *ch, size_t n,
                    const s3p_tree_io *io);

/* s3p_tree_walk calls visit once for every node of t (is_node = 1, with
** the node's hash) and every non-zero page entry (is_node = 0, with pgno
** and page hash), depth first in key order. A non-zero return from visit
** stops the walk and is returned. Used by verify and gc. */
int s3p_tree_walk(const s3p_treeref *t, const s3p_tree_io *io,
                  int (*visit)(void *arg, int is_node, uint32_t pgno,
                               const s3p_hash *h),
                  void *arg);

#endif
