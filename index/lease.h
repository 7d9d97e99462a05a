/*
** lease.h: the codec of the in-progress marker of a bulk writer (the
** objects lease/<32 hex digits>).
**
** A writer that uploads objects for longer than it can vouch for them
** (s3page import, copies between stores, anything that uploads before it
** creates its one record) first creates a marker with its start time,
** writes it again every few minutes while it runs, and deletes it at the
** end. gc spares every unreferenced object younger than the start of the
** oldest live marker (docs/history.md, "Bulk writers"). The bytes come
** from the store: untrusted.
**
** Layout: magic "S3PL", u8 format version (1), 3 reserved bytes, u64 start
** time, u64 renewal time (Unix ms, the writer's clock; start <= renewal),
** u64 XXH3-64 of the preceding 24 bytes: 32 bytes.
*/
#ifndef S3P_LEASE_H
#define S3P_LEASE_H

#include <stddef.h>
#include <stdint.h>

#define S3P_LEASE_LEN 32
/* Hex digits of the random name after "lease/". */
#define S3P_LEASE_NAME_HEX 32

/* s3p_lease_encode writes the 32-byte marker into out. start_ms must be
** at least 1 and at most renewed_ms. */
void s3p_lease_encode(unsigned char out[S3P_LEASE_LEN], uint64_t start_ms,
                      uint64_t renewed_ms);

/* s3p_lease_decode parses buf[0..len) into *start_ms and *renewed_ms.
** Returns S3P_OK, or S3P_ECORRUPT with *why set (if why is not NULL) and
** the outputs unchanged. */
int s3p_lease_decode(uint64_t *start_ms, uint64_t *renewed_ms,
                     const unsigned char *buf, size_t len, const char **why);

/* s3p_lease_key_ok returns 1 if key is a marker's canonical name:
** "lease/" and exactly 32 lowercase hex digits, else 0. */
int s3p_lease_key_ok(const char *key);

#endif
