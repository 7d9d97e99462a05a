/*
** sigv4.c: AWS Signature Version 4 on OpenSSL's SHA-256 and HMAC.
** See sigv4.h for the algorithm; test vectors in tests/unit/test_sigv4.c.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include "sigv4.h"
#include "store.h"

/* Most headers one request may sign (we sign at most seven). */
#define SIGV4_MAX_HEADERS 32

/* A growable NUL-terminated string; a failed append sets oom. The
** canonical request holds the session token, so a buffer is wiped when it
** moves (growth) and when it is dropped. */
typedef struct sigv4_buf {
  char *s;                      /* malloc'd bytes, NUL-terminated */
  size_t len;                   /* bytes before the NUL */
  size_t cap;                   /* bytes allocated */
  int oom;                      /* an allocation failed: s is garbage */
} sigv4_buf;

/* sigv4_buf_add appends p[0..n) to b (does nothing once oom is set). */
static void sigv4_buf_add(sigv4_buf *b, const char *p, size_t n){
  if(b->oom) return;
  if(b->len + n + 1 > b->cap){
    size_t ncap = b->cap ? b->cap : 256;
    char *s;
    while(ncap < b->len + n + 1) ncap *= 2;
    s = malloc(ncap);
    if(s == NULL){ b->oom = 1; return; }
    if(b->s){
      memcpy(s, b->s, b->len + 1);
      s3p_wipe(b->s, b->cap);
      free(b->s);
    }
    b->s = s;
    b->cap = ncap;
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = 0;
}

/* sigv4_buf_str appends the NUL-terminated s to b. */
static void sigv4_buf_str(sigv4_buf *b, const char *s){
  sigv4_buf_add(b, s, strlen(s));
}

/* sigv4_buf_take returns b's malloc'd string (an empty one if nothing was
** added), or NULL after an allocation failure; b is left empty. */
static char *sigv4_buf_take(sigv4_buf *b){
  char *s;
  if(!b->oom && b->s == NULL) sigv4_buf_add(b, "", 0);
  if(b->oom){
    if(b->s) s3p_wipe(b->s, b->cap);
    free(b->s);
    s = NULL;
  }else{
    s = b->s;
  }
  memset(b, 0, sizeof(*b));
  return s;
}

/* sigv4_hex writes n bytes of in as lower-case hex and a NUL into out. */
static void sigv4_hex(const unsigned char *in, size_t n, char *out){
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for(i = 0; i < n; i++){
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = 0;
}

/* s3p_sigv4_sha256_hex writes the hex SHA-256 of data[0..len) into out. */
void s3p_sigv4_sha256_hex(const void *data, size_t len, char out[65]){
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(len ? data : (const void *)"", len, md);
  sigv4_hex(md, sizeof(md), out);
}

/* sigv4_hmac computes HMAC-SHA256(key, msg) into out[32] (out may be the
** key's own buffer). */
static void sigv4_hmac(const unsigned char *key, size_t klen,
                       const char *msg, unsigned char out[32]){
  unsigned char tmp[32];
  unsigned int olen = 32;
  unsigned char *r = HMAC(EVP_sha256(), key, (int)klen,
                          (const unsigned char *)msg, strlen(msg), tmp, &olen);
  assert(r != NULL && olen == 32);
  (void)r;
  memcpy(out, tmp, 32);
  s3p_wipe(tmp, sizeof(tmp));
}

/* s3p_sigv4_amz_date formats t as "YYYYMMDDTHHMMSSZ" (UTC) into out. */
void s3p_sigv4_amz_date(time_t t, char out[17]){
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* sigv4_unreserved returns 1 if c needs no encoding. */
static int sigv4_unreserved(unsigned char c){
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
      || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
      || c == '~';
}

/* sigv4_encode_into appends the URI encoding of in to b (see
** s3p_sigv4_uri_encode). */
static void sigv4_encode_into(sigv4_buf *b, const char *in, int keep_slash){
  static const char digits[] = "0123456789ABCDEF";
  const unsigned char *p;
  for(p = (const unsigned char *)in; *p; p++){
    if(sigv4_unreserved(*p) || (keep_slash && *p == '/')){
      sigv4_buf_add(b, (const char *)p, 1);
    }else{
      char e[3];
      e[0] = '%';
      e[1] = digits[*p >> 4];
      e[2] = digits[*p & 15];
      sigv4_buf_add(b, e, 3);
    }
  }
}

/* s3p_sigv4_uri_encode returns the malloc'd AWS URI encoding of in. */
char *s3p_sigv4_uri_encode(const char *in, int keep_slash){
  sigv4_buf b;
  memset(&b, 0, sizeof(b));
  sigv4_encode_into(&b, in, keep_slash);
  return sigv4_buf_take(&b);
}

/* One encoded query parameter while sorting. */
typedef struct sigv4_qp {
  char *name;                   /* malloc'd encoded name */
  char *value;                  /* malloc'd encoded value */
} sigv4_qp;

/* sigv4_qp_cmp orders encoded parameters by name, then value (qsort). */
static int sigv4_qp_cmp(const void *a, const void *b){
  const sigv4_qp *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

/* s3p_sigv4_query returns the malloc'd canonical query of params[0..n). */
char *s3p_sigv4_query(const s3p_sigv4_param *params, size_t n){
  sigv4_qp *qp;
  sigv4_buf b;
  size_t i;
  int oom = 0;
  memset(&b, 0, sizeof(b));
  if(n == 0) return sigv4_buf_take(&b);
  qp = calloc(n, sizeof(*qp));
  if(qp == NULL) return NULL;
  for(i = 0; i < n; i++){
    qp[i].name = s3p_sigv4_uri_encode(params[i].name, 0);
    qp[i].value = s3p_sigv4_uri_encode(params[i].value ? params[i].value : "",
                                       0);
    if(qp[i].name == NULL || qp[i].value == NULL) oom = 1;
  }
  if(!oom){
    qsort(qp, n, sizeof(*qp), sigv4_qp_cmp);
    for(i = 0; i < n; i++){
      if(i) sigv4_buf_add(&b, "&", 1);
      sigv4_buf_str(&b, qp[i].name);
      sigv4_buf_add(&b, "=", 1);
      sigv4_buf_str(&b, qp[i].value);
    }
  }
  for(i = 0; i < n; i++){
    free(qp[i].name);
    free(qp[i].value);
  }
  free(qp);
  if(oom){
    free(b.s);
    return NULL;
  }
  return sigv4_buf_take(&b);
}

/* A header in canonical form while sorting. */
typedef struct sigv4_hdr {
  char *name;                   /* malloc'd lower-cased name */
  const char *value;            /* the caller's value, untrimmed */
} sigv4_hdr;

/* sigv4_add_trimmed appends v to b without leading and trailing spaces
** and with runs of spaces inside collapsed to one (AWS Trimall). */
static void sigv4_add_trimmed(sigv4_buf *b, const char *v){
  const char *p = v, *end = v + strlen(v);
  while(p < end && (*p == ' ' || *p == '\t')) p++;
  while(end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
  while(p < end){
    if(*p == ' ' || *p == '\t'){
      sigv4_buf_add(b, " ", 1);
      while(p < end && (*p == ' ' || *p == '\t')) p++;
    }else{
      sigv4_buf_add(b, p, 1);
      p++;
    }
  }
}

/* sigv4_free_headers frees the names of h[0..n). */
static void sigv4_free_headers(sigv4_hdr *h, size_t n){
  size_t i;
  for(i = 0; i < n; i++) free(h[i].name);
}

/* sigv4_sort_headers lower-cases r's header names into h (sorted by name;
** free the names with sigv4_free_headers). Returns the number of headers,
** or -1 if there are too many, a name is empty or memory ran out. */
static int sigv4_sort_headers(const s3p_sigv4_req *r,
                              sigv4_hdr h[SIGV4_MAX_HEADERS]){
  size_t i, j, k;
  if(r->n_headers > SIGV4_MAX_HEADERS) return -1;
  for(i = 0; i < r->n_headers; i++){
    const char *nm = r->headers[i].name;
    size_t n = strlen(nm);
    sigv4_hdr t;
    t.name = n > 0 ? malloc(n + 1) : NULL;
    if(t.name == NULL){
      sigv4_free_headers(h, i);
      return -1;
    }
    for(k = 0; k <= n; k++){
      char c = nm[k];
      t.name[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    t.value = r->headers[i].value ? r->headers[i].value : "";
    /* insertion sort: at most a few dozen entries */
    for(j = i; j > 0 && strcmp(h[j - 1].name, t.name) > 0; j--) h[j] = h[j - 1];
    h[j] = t;
  }
  return (int)r->n_headers;
}

/* s3p_sigv4_canonical_request returns the malloc'd canonical request. */
char *s3p_sigv4_canonical_request(const s3p_sigv4_req *r,
                                  char **signed_headers){
  sigv4_hdr h[SIGV4_MAX_HEADERS];
  sigv4_buf b, sh;
  int n, i;
  char *out;

  if(signed_headers) *signed_headers = NULL;
  n = sigv4_sort_headers(r, h);
  if(n < 0) return NULL;
  memset(&b, 0, sizeof(b));
  memset(&sh, 0, sizeof(sh));
  sigv4_buf_str(&b, r->method);
  sigv4_buf_add(&b, "\n", 1);
  sigv4_buf_str(&b, r->uri[0] ? r->uri : "/");
  sigv4_buf_add(&b, "\n", 1);
  sigv4_buf_str(&b, r->query ? r->query : "");
  sigv4_buf_add(&b, "\n", 1);
  for(i = 0; i < n; i++){
    sigv4_buf_str(&b, h[i].name);
    sigv4_buf_add(&b, ":", 1);
    sigv4_add_trimmed(&b, h[i].value);
    sigv4_buf_add(&b, "\n", 1);
    if(i) sigv4_buf_add(&sh, ";", 1);
    sigv4_buf_str(&sh, h[i].name);
  }
  sigv4_free_headers(h, (size_t)n);
  sigv4_buf_add(&b, "\n", 1);
  sigv4_buf_str(&b, sh.s ? sh.s : "");
  sigv4_buf_add(&b, "\n", 1);
  sigv4_buf_str(&b, r->payload_sha256);
  out = sigv4_buf_take(&b);
  if(out == NULL || signed_headers == NULL){
    free(sh.s);
    return out;
  }
  *signed_headers = sigv4_buf_take(&sh);
  if(*signed_headers == NULL){
    free(out);
    return NULL;
  }
  return out;
}

/* s3p_sigv4_sign signs r: fills sig and returns the Authorization value. */
char *s3p_sigv4_sign(const s3p_sigv4_req *r, char sig[65]){
  char *creq, *signed_hdrs = NULL, *out;
  char creq_hash[65], date[9];
  unsigned char k[32], mac[32];
  sigv4_buf b;
  size_t slen;
  char *ksecret;

  assert(r->amz_date != NULL && strlen(r->amz_date) == 16);
  sig[0] = 0;
  creq = s3p_sigv4_canonical_request(r, &signed_hdrs);
  if(creq == NULL) return NULL;
  s3p_sigv4_sha256_hex(creq, strlen(creq), creq_hash);
  s3p_wipe_str(creq);              /* it holds the session token */
  memcpy(date, r->amz_date, 8);
  date[8] = 0;

  /* String to sign. */
  memset(&b, 0, sizeof(b));
  sigv4_buf_str(&b, "AWS4-HMAC-SHA256\n");
  sigv4_buf_str(&b, r->amz_date);
  sigv4_buf_add(&b, "\n", 1);
  sigv4_buf_str(&b, date);
  sigv4_buf_add(&b, "/", 1);
  sigv4_buf_str(&b, r->region);
  sigv4_buf_add(&b, "/", 1);
  sigv4_buf_str(&b, r->service);
  sigv4_buf_str(&b, "/aws4_request\n");
  sigv4_buf_str(&b, creq_hash);
  if(b.oom){
    free(b.s);
    free(signed_hdrs);
    return NULL;
  }

  /* Signing key: the secret never leaves this function's buffers. */
  slen = strlen(r->secret_key);
  ksecret = malloc(slen + 5);
  if(ksecret == NULL){
    free(b.s);
    free(signed_hdrs);
    return NULL;
  }
  memcpy(ksecret, "AWS4", 4);
  memcpy(ksecret + 4, r->secret_key, slen + 1);
  sigv4_hmac((const unsigned char *)ksecret, slen + 4, date, k);
  s3p_wipe(ksecret, slen + 5);
  free(ksecret);
  sigv4_hmac(k, 32, r->region, k);
  sigv4_hmac(k, 32, r->service, k);
  sigv4_hmac(k, 32, "aws4_request", k);
  sigv4_hmac(k, 32, b.s, mac);
  s3p_wipe(k, sizeof(k));
  sigv4_hex(mac, 32, sig);
  s3p_wipe(mac, sizeof(mac));
  free(b.s);

  /* Authorization header value. */
  memset(&b, 0, sizeof(b));
  sigv4_buf_str(&b, "AWS4-HMAC-SHA256 Credential=");
  sigv4_buf_str(&b, r->access_key);
  sigv4_buf_add(&b, "/", 1);
  sigv4_buf_str(&b, date);
  sigv4_buf_add(&b, "/", 1);
  sigv4_buf_str(&b, r->region);
  sigv4_buf_add(&b, "/", 1);
  sigv4_buf_str(&b, r->service);
  sigv4_buf_str(&b, "/aws4_request,SignedHeaders=");
  sigv4_buf_str(&b, signed_hdrs);
  sigv4_buf_str(&b, ",Signature=");
  sigv4_buf_str(&b, sig);
  free(signed_hdrs);
  out = sigv4_buf_take(&b);
  return out;
}
