/*
** view.h: the page map of one version, as a reader sees it.
**
** A view is the checkpoint tree of some version C plus an overlay of the
** pages changed by the commit records C+1..N that were replayed on top of
** it. Lookups consult the overlay first, then (below the truncation mark)
** the tree. Applying record N+1 moves the view forward one version; a record
** that carries its own checkpoint replaces tree and overlay at once.
**
** No I/O here: tree nodes come through an s3p_tree_io.
*/
#ifndef S3P_VIEW_H
#define S3P_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include "../index/hash.h"
#include "../index/record.h"
#include "../index/tree.h"

typedef struct s3p_view {
  uint64_t version;          /* version shown; 0 = the empty database */
  uint64_t time_ms;          /* commit time of version (0 for version 0) */
  uint32_t page_size;        /* bytes per page; 0 while version is 0 */
  uint32_t page_count;       /* pages in the database at version */
  uint64_t ckpt_version;     /* version the tree describes */
  s3p_treeref tree;          /* page map at ckpt_version */
  uint32_t trunc;            /* tree pages above this read as zero */
  uint32_t *ov_pgno;         /* overlay table: page numbers, 0 = empty */
  s3p_hash *ov_hash;         /* overlay table: page hashes */
  size_t ov_nslot;           /* overlay table size, a power of two or 0 */
  size_t ov_count;           /* overlay entries */
} s3p_view;

/* s3p_view_init makes v the view of the empty database (version 0). */
void s3p_view_init(s3p_view *v);

/* s3p_view_free releases the overlay and re-initializes v. */
void s3p_view_free(s3p_view *v);

/* s3p_view_start makes v the view at rec's checkpoint, ready to replay the
** records after it (or already at rec when rec made the checkpoint). */
void s3p_view_start(s3p_view *v, const s3p_record *rec);

/* s3p_view_apply moves v from version N to N+1 by applying rec, which must
** be record N+1. Returns S3P_OK, S3P_ENOMEM, or S3P_ECORRUPT with *why set
** when rec does not follow v (wrong version, checkpoint going backwards). */
int s3p_view_apply(s3p_view *v, const s3p_record *rec, const char **why);

/* s3p_view_lookup sets *out to the hash of page pgno (zero for an all-zero
** or absent page). Returns S3P_OK or the tree loader's error. */
int s3p_view_lookup(s3p_hash *out, const s3p_view *v, uint32_t pgno,
                    const s3p_tree_io *io);

/* s3p_view_overlay sets *out to a malloc'd array of the overlay entries
** sorted by page number (zero hashes included), *n to its length. Returns
** S3P_OK or S3P_ENOMEM. */
int s3p_view_overlay(const s3p_view *v, s3p_change **out, size_t *n);

#endif
