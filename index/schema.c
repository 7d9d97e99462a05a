/*
** schema.c: the root pages named by the schema table (schema.h).
**
** Layouts are SQLite's file format: a b-tree page header (type byte 13 for
** a table leaf, 5 for a table interior page; cell count at +3; right-most
** child at +8 on interior pages), the cell pointer array after it, leaf
** cells as varint payload size, varint rowid, payload (a record: varint
** header size, serial types, values) with the overflow rule for a payload
** larger than the page, interior cells as u32 left child, varint rowid.
** The schema row is (type, name, tbl_name, rootpage, sql).
*/
#include <string.h>
#include "err.h"
#include "schema.h"

/* schema_get16/32 read big-endian integers (SQLite's byte order). */
static uint32_t schema_get16(const unsigned char *p){
  return (uint32_t)p[0] << 8 | p[1];
}
static uint32_t schema_get32(const unsigned char *p){
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
         (uint32_t)p[2] << 8 | p[3];
}

/* schema_varint reads a SQLite varint at p[0..end) into *v. Returns the
** bytes it took, or 0 if it runs past end. */
static size_t schema_varint(const unsigned char *p, const unsigned char *end,
                            uint64_t *v){
  uint64_t x = 0;
  for(size_t i = 0; i < 9; i++){
    if(p + i >= end) return 0;
    if(i == 8){
      *v = (x << 8) | p[i];
      return 9;
    }
    x = (x << 7) | (p[i] & 0x7f);
    if(!(p[i] & 0x80)){
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

/* schema_type_len returns the length of a value of serial type t (0 for
** the reserved types 10 and 11, which a schema row never has). */
static uint64_t schema_type_len(uint64_t t){
  static const unsigned char fixed[10] = { 0, 1, 2, 3, 4, 6, 8, 8, 0, 0 };
  if(t < 10) return fixed[t];
  if(t < 12) return 0;
  return (t - 12) / 2;
}

uint32_t s3p_schema_usable(const unsigned char *page1, uint32_t psz){
  if(psz < 512 || memcmp(page1, "SQLite format 3", 16) != 0) return 0;
  uint32_t hps = schema_get16(page1 + 16);
  if(hps == 1) hps = 65536;
  if(hps != psz || page1[20] > psz - 480) return 0;
  return psz - page1[20];
}

/* schema_row reads the rootpage of the schema row whose local payload is
** rec[0..len): 0 when it has none (a view, a trigger) or lies beyond the
** local part. Returns S3P_OK or S3P_ECORRUPT. */
static int schema_row(const unsigned char *rec, size_t len, uint32_t *root){
  const unsigned char *end = rec + len;
  uint64_t hs, t, off;
  *root = 0;
  size_t k = schema_varint(rec, end, &hs);
  if(k == 0 || hs > len || hs < k) return S3P_ECORRUPT;
  const unsigned char *h = rec + k, *hend = rec + hs;
  off = hs;
  for(int col = 0; col < 4; col++){
    size_t m = schema_varint(h, hend, &t);
    if(m == 0) return S3P_ECORRUPT;
    h += m;
    if(col < 3){
      off += schema_type_len(t);
      continue;
    }
    if(t == 8 || t == 9) return S3P_OK;             /* the constants 0, 1 */
    if(t < 1 || t > 6) return S3P_OK;               /* not an integer */
    uint64_t vl = schema_type_len(t);
    if(off + vl > len) return S3P_OK;               /* on an overflow page */
    uint64_t v = 0;
    for(uint64_t i = 0; i < vl; i++) v = (v << 8) | rec[off + i];
    if(rec[off] & 0x80) return S3P_OK;              /* negative */
    if(v > 0xffffffffu) return S3P_ECORRUPT;
    *root = (uint32_t)v;
    return S3P_OK;
  }
  return S3P_OK;
}

int s3p_schema_page(const unsigned char *page, uint32_t pgno, uint32_t psz,
                    uint32_t usable, uint32_t *out, size_t max, size_t *n,
                    int *leaf){
  *n = 0;
  *leaf = 0;
  if(usable < 480 || usable > psz) return S3P_ECORRUPT;
  const unsigned char *b = page + (pgno == 1 ? 100 : 0);
  const unsigned char *end = page + usable;
  if(b[0] != 13 && b[0] != 5) return S3P_ECORRUPT;
  int is_leaf = b[0] == 13;
  uint32_t hdr = is_leaf ? 8 : 12;
  uint32_t ncell = schema_get16(b + 3);
  if((size_t)(b - page) + hdr + 2 * (size_t)ncell > usable) return S3P_ECORRUPT;
  *leaf = is_leaf;
  for(uint32_t i = 0; i < ncell; i++){
    uint32_t at = schema_get16(b + hdr + 2 * i);
    if(at >= usable || page + at < b + hdr) return S3P_ECORRUPT;
    const unsigned char *c = page + at;
    if(!is_leaf){
      if(c + 4 > end) return S3P_ECORRUPT;
      uint32_t kid = schema_get32(c);
      if(kid == 0) return S3P_ECORRUPT;
      if(*n < max) out[(*n)++] = kid;
      continue;
    }
    uint64_t plen, rowid;
    size_t k = schema_varint(c, end, &plen);
    if(k == 0) return S3P_ECORRUPT;
    size_t k2 = schema_varint(c + k, end, &rowid);
    if(k2 == 0) return S3P_ECORRUPT;
    c += k + k2;
    /* The local part of the payload (SQLite's rule for table leaves). */
    uint64_t local = plen, maxl = usable - 35;
    if(plen > maxl){
      uint64_t minl = (uint64_t)(usable - 12) * 32 / 255 - 23;
      local = minl + (plen - minl) % (usable - 4);
      if(local > maxl) local = minl;
    }
    if(local > (uint64_t)(end - c)) return S3P_ECORRUPT;
    uint32_t root;
    if(schema_row(c, (size_t)local, &root)) return S3P_ECORRUPT;
    if(root && *n < max) out[(*n)++] = root;
  }
  if(!is_leaf){
    uint32_t kid = schema_get32(b + 8);
    if(kid == 0) return S3P_ECORRUPT;
    if(*n < max) out[(*n)++] = kid;
  }
  return S3P_OK;
}
