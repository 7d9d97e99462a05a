/*
** fuzz_btree.c: libFuzzer target for the b-tree page decoder (btree.h).
**
** Input: [flags][reserved][npages, 4 bytes LE][page bytes ...]
**   flags bits 0-2: page size 512 << k (k <= 7); bit 3: the page is page 1
**   (header at offset 100; its first 100 bytes are also tried as a file
**   header by s3p_btree_geom); bit 4: list overflow pages too; bit 5: an
**   auto-vacuum database (pointer-map pages are not b-tree pages).
**   The page bytes are copied into a buffer of exactly the page size
**   (zero-padded), so that any read outside the page is caught.
** Checks: every reference is a page in 2..npages other than the page
** itself, no more than S3P_BTREE_MAXREFS; a page that s3p_btree_kind
** rejects lists nothing; an interior page lists its right-most child last;
** without overflow pages, an interior page lists exactly one child per
** cell plus one and a leaf lists nothing; with them, the children are the
** same, in the same order.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../index/bytes.h"
#include "../index/btree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fz_children copies the child (non-overflow) references of r[0..n) to
** out. Returns how many. */
static size_t fz_children(const s3p_btref *r, int n, uint32_t *out){
  size_t m = 0;
  for(int i = 0; i < n; i++) if(!r[i].overflow) out[m++] = r[i].pgno;
  return m;
}

/* LLVMFuzzerTestOneInput runs one input; aborts on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  if(size < 6) return 0;
  uint32_t psz = 512u << (data[0] & 7);
  int page1 = (data[0] >> 3) & 1;
  int want_ovfl = (data[0] >> 4) & 1;
  uint32_t npages = s3p_get32(data + 2);
  unsigned char *page = calloc(1, psz);
  size_t max = S3P_BTREE_MAXREFS(psz);
  s3p_btref *a = malloc(max * sizeof *a), *b = malloc(max * sizeof *b);
  uint32_t *ca = malloc(max * sizeof *ca), *cb = malloc(max * sizeof *cb);
  if(!page || !a || !b || !ca || !cb) abort();
  memcpy(page, data + 6, size - 6 < psz ? size - 6 : psz);
  uint32_t self = page1 ? 1 : 2 + (npages % 1000);

  s3p_btgeom g;
  if(page1 && s3p_btree_geom(&g, page, psz, npages) == 0){
    if(g.psz != psz || g.usable < 480 || g.usable > psz) abort();
  }
  g.psz = psz;
  g.usable = psz - data[1];
  g.npages = npages;
  g.autovac = (data[0] >> 5) & 1;

  int kind = s3p_btree_kind(&g, self, page);
  int n = s3p_btree_refs(&g, self, page, want_ovfl, a, max);
  int m = s3p_btree_refs(&g, self, page, 0, b, max);
  if(kind == 0 && (n >= 0 || m >= 0)) abort();
  if(n >= 0 && m < 0) abort();     /* overflow listing checks more */
  if(n > (int)max || m > (int)max) abort();
  for(int i = 0; i < n; i++){
    if(a[i].pgno < 2 || a[i].pgno > npages || a[i].pgno == self) abort();
  }
  if(m >= 0){
    int interior = kind == S3P_BT_INDEX_INTERIOR ||
                   kind == S3P_BT_TABLE_INTERIOR;
    uint32_t h = page1 ? 100 : 0;
    uint32_t ncell = (uint32_t)page[h + 3] << 8 | page[h + 4];
    if(interior ? (uint32_t)m != ncell + 1 : m != 0) abort();
    for(int i = 0; i < m; i++) if(b[i].overflow) abort();
    if(interior){
      uint32_t right = (uint32_t)page[h + 8] << 24 |
                       (uint32_t)page[h + 9] << 16 |
                       (uint32_t)page[h + 10] << 8 | page[h + 11];
      if(b[m - 1].pgno != right) abort();
    }
    if(n >= 0){
      size_t x = fz_children(a, n, ca), y = fz_children(b, m, cb);
      if(x != y || memcmp(ca, cb, x * sizeof *ca) != 0) abort();
    }
  }
  if(!want_ovfl && n != m) abort();
  (void)s3p_btree_ovfl_next(&g, self, page);
  free(page);
  free(a);
  free(b);
  free(ca);
  free(cb);
  return 0;
}
