/*
** objlen.h: the largest encoding of each kind of object, by key.
**
** Every object the format writes has a bounded size, so a reader can
** refuse a bigger one as corrupt without reading it: the store layer asks
** s3p_obj_max_len for the limit of each GET (see vfs/store/store.h) and
** checks it against the size the store reports before reading the body.
** The bounds follow from the layouts in page.h, record.h, tree.h, head.h
** tail.h and lease.h (docs/format.md, section 8, has the table).
*/
#ifndef S3P_OBJLEN_H
#define S3P_OBJLEN_H

#include <stdint.h>
#include "head.h"
#include "lease.h"
#include "page.h"
#include "record.h"
#include "tail.h"
#include "tree.h"

/* Page object: header, a raw 64 KiB page (zlib is only kept when
** smaller), trailer: 65560 bytes. */
#define S3P_PAGE_OBJ_MAXLEN ((uint64_t)S3P_PAGE_OVERHEAD + S3P_PAGE_MAX)

/* Commit record: header, 2^26 changes of 20 bytes, checksum: 1.25 GiB. */
#define S3P_RECORD_MAXLEN \
  ((uint64_t)S3P_RECORD_HDR + 20 * (uint64_t)S3P_RECORD_MAX_CHANGES + 8)

/* s3p_obj_max_len returns the largest valid encoding of the object named
** key (relative to the database prefix): HEAD S3P_HEAD_MAXLEN, TAIL 24
** bytes, wal/<N>
** S3P_RECORD_MAXLEN, pages/<hash> S3P_PAGE_OBJ_MAXLEN, index/<hash>
** S3P_NODE_MAXLEN, lease/<name> 32 bytes; 0 for keys the format does not
** define. */
uint64_t s3p_obj_max_len(const char *key);

#endif
