/*
** fuzz_schema.c: libFuzzer target for the schema-table page reader
** and the b-tree child lister (index/schema.h), which a committer runs on
** pages it names in HEAD.
**
** Input: one flag byte, then the page. Flag bit 0: the page is page 1 (its
** b-tree header after the 100-byte file header); bits 1-2 pick the page
** size (512 << bits, 512..4096); the page is cut or zero-padded to it.
** Seeds (fuzz/corpus/fuzz_schema) are pages of small SQLite files. Any
** result is fine but a read out of bounds; page numbers out are non-zero.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../index/err.h"
#include "../index/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput parses one page; aborts on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  if( size < 1 ) return 0;
  int flags = data[0];
  uint32_t psz = 512u << ((flags >> 1) & 3);
  unsigned char *page = calloc(1, psz);
  if( page == 0 ) return 0;
  memcpy(page, data + 1, size - 1 < psz ? size - 1 : psz);
  uint32_t pgno = (flags & 1) ? 1 : 2;
  uint32_t usable = pgno == 1 ? s3p_schema_usable(page, psz) : psz - page[0] % 32;
  if( pgno == 1 && usable == 0 ) usable = psz;
  uint32_t out[64];
  size_t n = 99;
  int leaf = -1;
  int rc = s3p_schema_page(page, pgno, psz, usable, out, 64, &n, &leaf);
  if( rc != S3P_OK && rc != S3P_ECORRUPT ) abort();
  if( n > 64 || (leaf != 0 && leaf != 1) ) abort();
  for(size_t i = 0; i < n; i++) if( out[i] == 0 ) abort();
  free(page);
  return 0;
}
