/*
** page.c: the page-object codec (objects under pages/).
**
** Encoding compresses with zlib and keeps the result only when it is
** smaller than the page; otherwise the page is stored raw. Decoding treats
** the object as hostile: every length is checked against the header and
** the caller's page size before it is used, inflate writes into the
** caller's page-sized buffer and must produce exactly page_size bytes from
** exactly the whole payload, and the result must hash to its name.
*/
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "err.h"
#include "hash.h"
#include "page.h"

#define PAGE_MAGIC "S3PP"
#define PAGE_FORMAT 1
#define PAGE_ENC_RAW 0
#define PAGE_ENC_ZLIB 1
/* zlib level: 3 is several times faster than the default 6 and loses only
** a few percent of ratio on SQLite pages. */
#define PAGE_ZLEVEL 3

/* s3p_page_size_ok returns 1 if n is a power of two in 512..65536. */
int s3p_page_size_ok(uint32_t n){
  return n >= S3P_PAGE_MIN && n <= S3P_PAGE_MAX && (n & (n - 1)) == 0;
}

/* page_put_header writes the 16-byte header into p. */
static void page_put_header(unsigned char *p, int enc, uint32_t page_size,
                            uint32_t payload){
  memcpy(p, PAGE_MAGIC, 4);
  p[4] = PAGE_FORMAT;
  p[5] = (unsigned char)enc;
  s3p_put16(p + 6, 0);
  s3p_put32(p + 8, page_size);
  s3p_put32(p + 12, payload);
}

/* s3p_page_encode encodes the page_size bytes at page into a malloc'd
** object *out of *outlen bytes. Returns S3P_OK, S3P_EINVAL (bad page size
** or NULL argument) or S3P_ENOMEM. */
int s3p_page_encode(unsigned char **out, size_t *outlen,
                    const void *page, uint32_t page_size){
  unsigned char *buf;
  uLongf zlen;
  size_t cap;

  if( out == 0 || outlen == 0 || page == 0 ) return S3P_EINVAL;
  *out = 0;
  *outlen = 0;
  if( !s3p_page_size_ok(page_size) ) return S3P_EINVAL;

  /* Room for the larger of the raw page and zlib's worst case, so that one
  ** allocation serves both encodings. */
  zlen = compressBound(page_size);
  cap = (size_t)(zlen > page_size ? zlen : page_size) + S3P_PAGE_OVERHEAD;
  buf = malloc(cap);
  if( buf == 0 ) return S3P_ENOMEM;

  int zrc = compress2(buf + S3P_PAGE_HDR, &zlen, page, page_size, PAGE_ZLEVEL);
  if( zrc == Z_MEM_ERROR ){
    free(buf);
    return S3P_ENOMEM;
  }
  uint32_t payload;
  if( zrc == Z_OK && zlen < page_size ){
    payload = (uint32_t)zlen;
    page_put_header(buf, PAGE_ENC_ZLIB, page_size, payload);
  }else{
    payload = page_size;
    memcpy(buf + S3P_PAGE_HDR, page, page_size);
    page_put_header(buf, PAGE_ENC_RAW, page_size, payload);
  }
  size_t body = S3P_PAGE_HDR + (size_t)payload;
  s3p_put64(buf + body, s3p_checksum64(buf, body));
  *out = buf;
  *outlen = body + 8;
  return S3P_OK;
}

/* page_inflate decompresses the zlib stream src[0..n) into dst, which must
** come out at exactly dstlen bytes with no input left over. Returns S3P_OK,
** S3P_ENOMEM or S3P_ECORRUPT with *why set. */
static int page_inflate(unsigned char *dst, uint32_t dstlen,
                        const unsigned char *src, uint32_t n,
                        const char **why){
  z_stream zs;
  int zrc;

  memset(&zs, 0, sizeof(zs));
  zrc = inflateInit(&zs);
  if( zrc == Z_MEM_ERROR ) return S3P_ENOMEM;
  if( zrc != Z_OK ){
    *why = "zlib init failed";
    return S3P_ECORRUPT;
  }
  /* zlib's next_in is not const in older headers; it never writes there. */
  zs.next_in = (Bytef *)(uintptr_t)src;
  zs.avail_in = n;
  zs.next_out = dst;
  zs.avail_out = dstlen;
  zrc = inflate(&zs, Z_FINISH);
  int rc = S3P_OK;
  if( zrc == Z_MEM_ERROR ){
    rc = S3P_ENOMEM;
  }else if( zrc != Z_STREAM_END ){
    /* Z_BUF_ERROR: more output than a page, or the stream is cut short;
    ** Z_DATA_ERROR: not a valid zlib stream (bad header, code or adler). */
    *why = zrc == Z_BUF_ERROR ? "zlib stream too long or truncated"
                              : "bad zlib data";
    rc = S3P_ECORRUPT;
  }else if( zs.avail_out != 0 ){
    *why = "zlib output shorter than page";
    rc = S3P_ECORRUPT;
  }else if( zs.avail_in != 0 ){
    *why = "trailing bytes after zlib stream";
    rc = S3P_ECORRUPT;
  }
  inflateEnd(&zs);
  return rc;
}

/* s3p_page_decode checks the page object buf[0..len) and decodes it into
** out (page_size bytes of room). The object must be well formed, carry a
** good checksum, hold exactly page_size bytes and hash to *expect. Returns
** S3P_OK; S3P_ECORRUPT with *why set; S3P_ENOMEM if zlib cannot allocate;
** S3P_EINVAL if the caller's page_size is invalid. On failure the contents
** of out are unspecified. */
int s3p_page_decode(void *out, uint32_t page_size, const s3p_hash *expect,
                    const unsigned char *buf, size_t len, const char **why){
  const char *dummy;
  if( why == 0 ) why = &dummy;
  *why = 0;
  if( out == 0 || expect == 0 || !s3p_page_size_ok(page_size) ){
    *why = "invalid page size argument";
    return S3P_EINVAL;
  }
  if( buf == 0 || len < S3P_PAGE_OVERHEAD ){
    *why = "page object too short";
    return S3P_ECORRUPT;
  }
  if( memcmp(buf, PAGE_MAGIC, 4) != 0 ){
    *why = "bad page object magic";
    return S3P_ECORRUPT;
  }
  if( buf[4] != PAGE_FORMAT ){
    *why = "unknown page object format version";
    return S3P_ECORRUPT;
  }
  int enc = buf[5];
  if( enc != PAGE_ENC_RAW && enc != PAGE_ENC_ZLIB ){
    *why = "unknown page encoding";
    return S3P_ECORRUPT;
  }
  if( s3p_get16(buf + 6) != 0 ){
    *why = "reserved page header bytes not zero";
    return S3P_ECORRUPT;
  }
  uint32_t psz = s3p_get32(buf + 8);
  if( !s3p_page_size_ok(psz) ){
    *why = "invalid page size in page object";
    return S3P_ECORRUPT;
  }
  if( psz != page_size ){
    *why = "page object has the wrong page size";
    return S3P_ECORRUPT;
  }
  uint32_t payload = s3p_get32(buf + 12);
  if( enc == PAGE_ENC_RAW ? payload != psz : (payload == 0 || payload >= psz) ){
    *why = "payload length inconsistent with encoding";
    return S3P_ECORRUPT;
  }
  /* payload < 2^17 here, so the sum cannot overflow. */
  if( len != (size_t)S3P_PAGE_OVERHEAD + payload ){
    *why = "page object length does not match payload length";
    return S3P_ECORRUPT;
  }
  size_t body = S3P_PAGE_HDR + (size_t)payload;
  if( s3p_get64(buf + body) != s3p_checksum64(buf, body) ){
    *why = "page object checksum mismatch";
    return S3P_ECORRUPT;
  }
  if( enc == PAGE_ENC_RAW ){
    memcpy(out, buf + S3P_PAGE_HDR, psz);
  }else{
    int rc = page_inflate(out, psz, buf + S3P_PAGE_HDR, payload, why);
    if( rc != S3P_OK ) return rc;
  }
  s3p_hash got;
  s3p_hash_page(&got, out, psz);
  if( !s3p_hash_eq(&got, expect) ){
    *why = "page content does not match its hash";
    return S3P_ECORRUPT;
  }
  return S3P_OK;
}
