/*
** btree.h: what a SQLite b-tree page points to, for prefetching.
**
** SQLite's file format (https://sqlite.org/fileformat.html, section 1.6):
** a b-tree page starts with a header (at offset 100 on page 1, after the
** file header, else at 0):
**     0  1  page type: 2 interior index, 5 interior table, 10 leaf index,
**           13 leaf table
**     3  2  number of cells (big-endian, as every integer below)
**     8  4  interior pages only: the right-most child
** followed by the cell pointer array (2 bytes a cell, offsets into the
** page). An interior cell starts with the 4-byte page number of its left
** child. Cells that carry a payload (all but interior table cells) keep
** what does not fit on the page in a chain of overflow pages, whose first
** page number follows the part kept locally; each overflow page starts
** with the number of the next one (0 at the end).
**
** No I/O here, and no trust: the page came from the store, so every
** offset, count, varint and page number is checked against the page and
** the database's page count, and a page that does not add up is reported
** as not a b-tree page.
*/
#ifndef S3P_BTREE_H
#define S3P_BTREE_H

#include <stddef.h>
#include <stdint.h>

/* Page types (the first byte of the b-tree page header). */
#define S3P_BT_INDEX_INTERIOR 2
#define S3P_BT_TABLE_INTERIOR 5
#define S3P_BT_INDEX_LEAF 10
#define S3P_BT_TABLE_LEAF 13

/* Room s3p_btree_refs may need for a page of psz bytes: a cell pointer is
** 2 bytes, and a cell gives at most two references (child, overflow). */
#define S3P_BTREE_MAXREFS(psz) ((size_t)(psz) + 1)

/* One page a b-tree page refers to. */
typedef struct s3p_btref {
  uint32_t pgno;             /* page number, 1..npages */
  uint8_t overflow;          /* 1: first page of a cell's overflow chain;
                             ** 0: a child b-tree page */
} s3p_btref;

/* The geometry of the pages of one database. */
typedef struct s3p_btgeom {
  uint32_t psz;              /* bytes per page, 512..65536 */
  uint32_t usable;           /* usable bytes: psz less the reserved bytes
                             ** (page 1, offset 20), at least 480 */
  uint32_t npages;           /* pages in the database: references beyond
                             ** are damage */
  uint8_t autovac;           /* 1: auto-vacuum database (page 1, offset
                             ** 52): it has pointer-map pages, which are
                             ** not b-tree pages whatever their first byte */
} s3p_btgeom;

/* s3p_btree_geom fills *g from page 1 (psz bytes) of a database of npages
** pages. Returns 0, or -1 if page 1 is not a SQLite header of that page
** size. */
int s3p_btree_geom(s3p_btgeom *g, const unsigned char *page1, uint32_t psz,
                   uint32_t npages);

/* s3p_btree_kind returns the page type (S3P_BT_*) of page pgno (bytes
** page[0..g->psz)), or 0 if its header is not a plausible b-tree page
** header or pgno is a pointer-map page. Cheap: looks at the header
** only. */
int s3p_btree_kind(const s3p_btgeom *g, uint32_t pgno,
                   const unsigned char *page);

/* s3p_btree_refs lists in out[0..max) the pages that b-tree page pgno
** refers to, in key order: for an interior page the left child of each
** cell (each followed, if want_ovfl, by the first overflow page of the
** cell's payload when it has one), then the right-most child; for a leaf
** page, if want_ovfl, the first overflow page of each cell that has one.
** Reading a tree in ascending key order visits them in this order,
** descending order (and SQLite's integrity check) in the reverse. Returns
** the number of references, or -1 if the page is not a b-tree page, is
** damaged (any offset, size or page number out of bounds, a child that is
** page 1 or pgno itself), or needs more than max entries. */
int s3p_btree_refs(const s3p_btgeom *g, uint32_t pgno,
                   const unsigned char *page, int want_ovfl,
                   s3p_btref *out, size_t max);

/* s3p_btree_ovfl_next returns the next page of the overflow chain that
** overflow page page (g->psz bytes) belongs to, or 0 at the end of the
** chain or if the number is out of range. */
uint32_t s3p_btree_ovfl_next(const s3p_btgeom *g, uint32_t pgno,
                             const unsigned char *page);

#endif
