/*
** btree.c: decoding what a SQLite b-tree page points to (see btree.h).
** Every read is bounds-checked: the bytes are untrusted.
*/
#include <string.h>
#include "btree.h"

/* bt_get2 reads the big-endian 16-bit number at p. */
static uint32_t bt_get2(const unsigned char *p){
  return (uint32_t)p[0] << 8 | p[1];
}

/* bt_get4 reads the big-endian 32-bit number at p. */
static uint32_t bt_get4(const unsigned char *p){
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* bt_varint reads SQLite's variable-length integer at page[*at..end):
** 1 to 9 bytes, 7 bits each with the high bit meaning "more", all 8 bits
** of the ninth. Sets *v and advances *at. Returns 0, or -1 if it runs past
** end. */
static int bt_varint(const unsigned char *page, uint32_t *at, uint32_t end,
                     uint64_t *v){
  uint64_t x = 0;
  for(int i = 0; i < 9; i++){
    if(*at >= end) return -1;
    unsigned char c = page[(*at)++];
    if(i == 8){
      *v = (x << 8) | c;
      return 0;
    }
    x = (x << 7) | (c & 0x7f);
    if(!(c & 0x80)){
      *v = x;
      return 0;
    }
  }
  return -1;   /* not reached */
}

/* bt_pgno_ok returns 1 if p can be a page that page self refers to. */
static int bt_pgno_ok(const s3p_btgeom *g, uint32_t self, uint32_t p){
  return p >= 2 && p <= g->npages && p != self;
}

int s3p_btree_geom(s3p_btgeom *g, const unsigned char *page1, uint32_t psz,
                   uint32_t npages){
  memset(g, 0, sizeof *g);
  if(psz < 512 || psz > 65536 || (psz & (psz - 1))) return -1;
  if(memcmp(page1, "SQLite format 3", 16) != 0) return -1;
  uint32_t q = bt_get2(page1 + 16);
  if(q == 1) q = 65536;
  if(q != psz) return -1;
  uint32_t reserved = page1[20];
  if(psz - reserved < 480) return -1;
  g->psz = psz;
  g->usable = psz - reserved;
  g->npages = npages;
  g->autovac = (page1[52] | page1[53] | page1[54] | page1[55]) != 0;
  return 0;
}

/* bt_header checks the header of page pgno: sets *hdr (its offset),
** *cells (offset of the cell pointer array) and *ncell. Returns the page
** type, or 0 if the header is not plausible. */
static int bt_header(const s3p_btgeom *g, uint32_t pgno,
                     const unsigned char *page, uint32_t *hdr,
                     uint32_t *cells, uint32_t *ncell){
  if(g->psz == 0 || g->usable > g->psz || g->usable < 480) return 0;
  /* Pointer-map pages: page 2 and every usable/5 + 1 pages after it. */
  if(g->autovac && pgno >= 2 && (pgno - 2) % (g->usable / 5 + 1) == 0) return 0;
  uint32_t h = pgno == 1 ? 100 : 0;
  int type = page[h];
  uint32_t hsize;
  switch(type){
    case S3P_BT_INDEX_INTERIOR: case S3P_BT_TABLE_INTERIOR: hsize = 12; break;
    case S3P_BT_INDEX_LEAF: case S3P_BT_TABLE_LEAF: hsize = 8; break;
    default: return 0;
  }
  uint32_t n = bt_get2(page + h + 3);
  if(h + hsize + 2 * n > g->usable) return 0;
  *hdr = h;
  *cells = h + hsize;
  *ncell = n;
  return type;
}

int s3p_btree_kind(const s3p_btgeom *g, uint32_t pgno,
                   const unsigned char *page){
  uint32_t hdr, cells, ncell;
  return bt_header(g, pgno, page, &hdr, &cells, &ncell);
}

/* bt_overflow finds the overflow page of the payload whose size varint
** starts at page[at] (a table leaf cell has its rowid varint next), if the
** payload does not fit on the page: SQLite keeps a local part of a size
** fixed by the usable size, and the 4-byte number of the first overflow
** page after it. Sets *ovfl (0: no overflow). Returns 0, or -1 if the cell
** runs off the page. */
static int bt_overflow(const s3p_btgeom *g, const unsigned char *page,
                       uint32_t at, int type, uint32_t *ovfl){
  uint32_t u = g->usable;
  uint64_t payload, rowid;
  *ovfl = 0;
  if(bt_varint(page, &at, u, &payload)) return -1;
  if(type == S3P_BT_TABLE_LEAF && bt_varint(page, &at, u, &rowid)) return -1;
  uint64_t max_local = type == S3P_BT_TABLE_LEAF ? u - 35
                                                 : (u - 12) * 64 / 255 - 23;
  uint64_t min_local = (u - 12) * 32 / 255 - 23;
  if(payload <= max_local) return at + payload <= u ? 0 : -1;
  uint64_t local = min_local + (payload - min_local) % (u - 4);
  if(local > max_local) local = min_local;
  if(at + local + 4 > u) return -1;
  *ovfl = bt_get4(page + at + local);
  return 0;
}

int s3p_btree_refs(const s3p_btgeom *g, uint32_t pgno,
                   const unsigned char *page, int want_ovfl,
                   s3p_btref *out, size_t max){
  uint32_t hdr, cells, ncell;
  int type = bt_header(g, pgno, page, &hdr, &cells, &ncell);
  if(type == 0) return -1;
  int interior = type == S3P_BT_INDEX_INTERIOR ||
                 type == S3P_BT_TABLE_INTERIOR;
  int payload = type != S3P_BT_TABLE_INTERIOR;
  uint32_t content = cells + 2 * ncell;   /* cells lie at or after this */
  size_t n = 0;
  for(uint32_t i = 0; i < ncell; i++){
    uint32_t off = bt_get2(page + cells + 2 * i);
    if(off < content || off + (interior ? 4 : 1) > g->usable) return -1;
    if(interior){
      uint32_t child = bt_get4(page + off);
      if(!bt_pgno_ok(g, pgno, child) || n >= max) return -1;
      out[n].pgno = child;
      out[n].overflow = 0;
      n++;
    }
    if(want_ovfl && payload){
      uint32_t ovfl;
      if(bt_overflow(g, page, off + (interior ? 4 : 0), type, &ovfl)) return -1;
      if(ovfl){
        if(!bt_pgno_ok(g, pgno, ovfl) || n >= max) return -1;
        out[n].pgno = ovfl;
        out[n].overflow = 1;
        n++;
      }
    }
  }
  if(interior){
    uint32_t right = bt_get4(page + hdr + 8);
    if(!bt_pgno_ok(g, pgno, right) || n >= max) return -1;
    out[n].pgno = right;
    out[n].overflow = 0;
    n++;
  }
  return (int)n;
}

uint32_t s3p_btree_ovfl_next(const s3p_btgeom *g, uint32_t pgno,
                             const unsigned char *page){
  if(g->psz < 4) return 0;
  uint32_t next = bt_get4(page);
  return bt_pgno_ok(g, pgno, next) ? next : 0;
}
