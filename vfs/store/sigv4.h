/*
** sigv4.h: AWS Signature Version 4 for S3 requests, on OpenSSL.
**
** The signer is the project's own (about a hundred lines) so that it
** behaves the same on every libcurl version: curl's built-in CURLOPT_AWS_SIGV4
** of Debian 12 omits x-amz-content-sha256, signs Expect: and signs the
** query string as written.
**
** Signing a request (AWS "Signature Calculations for the Authorization
** Header: Transferring Payload in a Single Chunk"):
**
**   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
**                      CanonicalHeaders \n SignedHeaders \n HexPayloadHash
**   StringToSign     = "AWS4-HMAC-SHA256" \n AMZDATE \n SCOPE \n
**                      Hex(SHA256(CanonicalRequest))
**   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, DATE), REGION),
**                      SERVICE), "aws4_request")
**   Signature        = Hex(HMAC(SigningKey, StringToSign))
**
** The caller passes the canonical URI (already URI-encoded, '/' kept) and
** the canonical query (already sorted and encoded, s3p_sigv4_query builds
** it); the headers to sign, which must include host, x-amz-date and
** x-amz-content-sha256 (and x-amz-security-token with temporary
** credentials), are lower-cased, trimmed and sorted here.
*/
#ifndef S3P_SIGV4_H
#define S3P_SIGV4_H

#include <stddef.h>
#include <time.h>

/* Hex SHA-256 of the empty string: the payload hash of GET/HEAD/DELETE. */
#define S3P_SIGV4_EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One header to sign: name in any case, value untrimmed. */
typedef struct s3p_sigv4_header {
  const char *name;             /* e.g. "Host", "x-amz-date" */
  const char *value;            /* e.g. "examplebucket.s3.amazonaws.com" */
} s3p_sigv4_header;

/* One query parameter, unencoded. */
typedef struct s3p_sigv4_param {
  const char *name;             /* e.g. "list-type" */
  const char *value;            /* e.g. "2"; "" for "?lifecycle" */
} s3p_sigv4_param;

/* What to sign. All strings are NUL-terminated and borrowed. */
typedef struct s3p_sigv4_req {
  const char *method;           /* "GET", "PUT", "HEAD", "DELETE" */
  const char *uri;              /* canonical URI, encoded: "/test%24file.text" */
  const char *query;            /* canonical query string, "" if none */
  const s3p_sigv4_header *headers;  /* headers to sign */
  size_t n_headers;             /* entries in headers (at most 32) */
  const char *payload_sha256;   /* lower-case hex SHA-256 of the body */
  const char *amz_date;         /* "20130524T000000Z", same as x-amz-date */
  const char *region;           /* "us-east-1" */
  const char *service;          /* "s3" */
  const char *access_key;       /* AWS_ACCESS_KEY_ID */
  const char *secret_key;       /* AWS_SECRET_ACCESS_KEY */
} s3p_sigv4_req;

/* s3p_sigv4_sha256_hex writes the lower-case hex SHA-256 of data[0..len)
** and a NUL into out[65]. */
void s3p_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* s3p_sigv4_amz_date formats t (UTC) as "YYYYMMDDTHHMMSSZ" into out[17]. */
void s3p_sigv4_amz_date(time_t t, char out[17]);

/* s3p_sigv4_uri_encode URI-encodes in per AWS rules (every byte but
** A-Z a-z 0-9 - . _ ~ becomes %XX with upper-case hex; '/' is kept when
** keep_slash). Returns a malloc'd string, or NULL when out of memory. */
char *s3p_sigv4_uri_encode(const char *in, int keep_slash);

/* s3p_sigv4_query builds the canonical query string of params[0..n):
** names and values URI-encoded, sorted by encoded name (then value),
** joined as "a=1&b=2" (a parameter without value as "name="). The same
** string must be sent on the wire. Returns a malloc'd string ("" for
** n == 0), or NULL when out of memory. */
char *s3p_sigv4_query(const s3p_sigv4_param *params, size_t n);

/* s3p_sigv4_canonical_request returns the malloc'd canonical request of r
** and sets *signed_headers to the malloc'd "host;x-amz-date;..." list
** (if signed_headers is not NULL). Returns NULL when out of memory or when
** r has too many headers. */
char *s3p_sigv4_canonical_request(const s3p_sigv4_req *r,
                                  char **signed_headers);

/* s3p_sigv4_sign computes the signature of r: writes its 64 hex digits
** and a NUL into sig[65], and returns the malloc'd value of the
** Authorization header ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=
** ..., Signature=..."), or NULL when out of memory. The result holds the
** access key id but never the secret. */
char *s3p_sigv4_sign(const s3p_sigv4_req *r, char sig[65]);

#endif
