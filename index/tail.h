/*
** tail.h: the TAIL hint codec (the object TAIL).
**
** TAIL names the oldest version that garbage collection kept: versions
** below it were removed (their records deleted, oldest first, after TAIL
** was written). Readers use it as the lower bound of the history: the time
** search of asof= starts there, and finding the newest version starts
** there when HEAD names a removed version. A database that was never
** collected has no TAIL, which means 1.
**
** Layout: magic "S3PT", u8 format version (1), 3 reserved bytes, u64
** oldest kept version, u64 XXH3-64 of the preceding 16 bytes: 24 bytes.
*/
#ifndef S3P_TAIL_H
#define S3P_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define S3P_TAIL_LEN 24

/* s3p_tail_encode writes the 24-byte TAIL object naming version into out. */
void s3p_tail_encode(unsigned char out[S3P_TAIL_LEN], uint64_t version);

/* s3p_tail_decode parses buf[0..len) into *version (>= 1). Returns S3P_OK
** or S3P_ECORRUPT with *why set and *version unchanged. */
int s3p_tail_decode(uint64_t *version, const unsigned char *buf, size_t len,
                    const char **why);

#endif
