/*
** page.h: the page-object codec (objects under pages/).
**
** A page object holds one database page, zlib-compressed when that is
** smaller. It is named by the XXH3-128 of the uncompressed page; decoding
** verifies both the trailer checksum and that hash, so a flipped byte
** anywhere is reported as corruption, never returned as data.
**
** Layout (all integers little-endian):
**     0  4  magic "S3PP"
**     4  1  format version (1)
**     5  1  encoding: 0 raw, 1 zlib
**     6  2  reserved, zero
**     8  4  page size: uncompressed length, a power of two in 512..65536
**    12  4  payload length (== page size when raw, < page size when zlib)
**    16  n  payload
**  16+n  8  XXH3-64 of bytes [0, 16+n)
*/
#ifndef S3P_PAGE_H
#define S3P_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include "hash.h"

#define S3P_PAGE_MIN 512
#define S3P_PAGE_MAX 65536
#define S3P_PAGE_HDR 16            /* bytes before the payload */
#define S3P_PAGE_OVERHEAD 24       /* header plus trailer */

/* s3p_page_size_ok returns 1 if n is a power of two in 512..65536. */
int s3p_page_size_ok(uint32_t n);

/* s3p_page_encode encodes one page of page_size bytes into a malloc'd
** buffer *out of *outlen bytes. Returns S3P_OK, S3P_EINVAL or S3P_ENOMEM. */
int s3p_page_encode(unsigned char **out, size_t *outlen,
                    const void *page, uint32_t page_size);

/* s3p_page_decode checks and decodes the object buf[0..len) into out, which
** has room for page_size bytes; the page must have exactly page_size bytes
** and hash to *expect. Returns S3P_OK or S3P_ECORRUPT with *why set to a
** static reason. */
int s3p_page_decode(void *out, uint32_t page_size, const s3p_hash *expect,
                    const unsigned char *buf, size_t len, const char **why);

#endif
