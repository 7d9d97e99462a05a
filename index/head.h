/*
** head.h: the HEAD hint codec (the object HEAD).
**
** HEAD names a recent version so that opening a database needs no LIST: a
** reader starts from it and probes wal/ forward until a 404. It may lag
** behind the newest version (it is written after commits, without
** conditions) but never names a version that does not exist.
**
** Layout: magic "S3PH", u8 format version (1), 3 reserved bytes, u64
** version, u64 XXH3-64 of the preceding 16 bytes: 24 bytes in all.
*/
#ifndef S3P_HEAD_H
#define S3P_HEAD_H

#include <stddef.h>
#include <stdint.h>

#define S3P_HEAD_LEN 24

/* s3p_head_encode writes the 24-byte HEAD object for version into out. */
void s3p_head_encode(unsigned char out[S3P_HEAD_LEN], uint64_t version);

/* s3p_head_decode parses buf[0..len); returns S3P_OK or S3P_ECORRUPT. */
int s3p_head_decode(uint64_t *version, const unsigned char *buf, size_t len,
                    const char **why);

#endif
