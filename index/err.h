/*
** err.h: result codes shared by the pure format core (index/) and the
** object-store layer (vfs/store/).
**
** Every function that can fail returns one of these as an int. Decoders
** also hand back a static string saying what was wrong, so that callers can
** build a message naming the object ("pages/xxh128-...: bad checksum").
*/
#ifndef S3P_ERR_H
#define S3P_ERR_H

#define S3P_OK        0   /* success */
#define S3P_ENOMEM   -1   /* allocation failed */
#define S3P_ECORRUPT -2   /* bytes from the store are malformed or fail a check */
#define S3P_EINVAL   -3   /* caller passed an invalid argument */
#define S3P_ENOTFOUND -4  /* object does not exist */
#define S3P_EEXISTS  -5   /* create-if-absent found the object already there */
#define S3P_EIO      -6   /* the store failed (network, disk, HTTP 5xx ...) */
#define S3P_ETOOBIG  -7   /* a size limit of the format was exceeded */
#define S3P_EUNSUPPORTED -8 /* the store lacks a needed capability */
#define S3P_EAUTH    -9   /* the store refused our credentials (401/403) */

/* s3p_errstr returns a short static description of a result code. */
const char *s3p_errstr(int rc);

#endif
