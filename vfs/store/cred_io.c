/*
** cred_io.c: the I/O the credential providers share: one HTTP request on
** a libcurl easy handle with a short time limit, reading a small file
** that may hold a secret, the environment and the clock.
**
** Answers and files may hold secrets: their buffers are grown by copying
** and wiping, never by realloc (which could leave a copy behind), and the
** caller wipes the result. Messages name the URL's host and the cause,
** never a header or the body.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "cred.h"

/* Largest provider answer we accept. */
#define CREDIO_BODY_MAX (1u << 20)

/* A response being received. */
typedef struct credio_buf {
  char *p;                      /* bytes (malloc'd), NUL-terminated */
  size_t n;                     /* bytes used */
  size_t cap;                   /* bytes allocated */
  int too_big;                  /* the answer passed CREDIO_BODY_MAX */
  int nomem;                    /* an allocation failed */
} credio_buf;

/* credio_write is curl's write callback: appends to the credio_buf.
** Returns the bytes taken (fewer aborts the transfer). */
static size_t credio_write(char *ptr, size_t size, size_t nmemb, void *arg){
  credio_buf *b = arg;
  size_t add = size * nmemb;
  if(add > CREDIO_BODY_MAX - b->n){
    b->too_big = 1;
    return 0;
  }
  if(b->n + add + 1 > b->cap){
    size_t cap = b->cap ? b->cap : 4096;
    char *q;
    while(cap < b->n + add + 1) cap *= 2;
    q = malloc(cap);
    if(q == NULL){
      b->nomem = 1;
      return 0;
    }
    if(b->p){
      memcpy(q, b->p, b->n);
      s3p_wipe(b->p, b->cap);
      free(b->p);
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, ptr, add);
  b->n += add;
  b->p[b->n] = 0;
  return add;
}

/* credio_host copies the host[:port] of url into out[cap] for messages
** (no user part, path or query). */
static void credio_host(const char *url, char *out, size_t cap){
  const char *p = strstr(url, "://");
  size_t n;
  p = p ? p + 3 : url;
  n = strcspn(p, "/?#");
  if(memchr(p, '@', n)){
    const char *at = memchr(p, '@', n);
    n -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  if(n >= cap) n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

/* s3p_credhttp_run: see cred.h. */
int s3p_credhttp_run(const s3p_credhttp *r, long *status, char **body,
                     size_t *len, char **errmsg){
  CURL *e = curl_easy_init();
  struct curl_slist *hdrs = NULL, *l;
  credio_buf b;
  char errbuf[CURL_ERROR_SIZE], host[128];
  CURLcode res;
  int rc = S3P_OK;

  *status = 0;
  *body = NULL;
  *len = 0;
  *errmsg = NULL;
  memset(&b, 0, sizeof(b));
  credio_host(r->url, host, sizeof(host));
  if(e == NULL){
    *errmsg = s3p_store_msg("%s: curl_easy_init failed", host);
    return S3P_EIO;
  }
  for(size_t i = 0; r->headers && r->headers[i]; i++){
    l = curl_slist_append(hdrs, r->headers[i]);
    if(l == NULL){
      rc = S3P_ENOMEM;
      break;
    }
    hdrs = l;
  }
  /* No "Expect: 100-continue" round trip. */
  if(rc == S3P_OK && (l = curl_slist_append(hdrs, "Expect:")) != NULL){
    hdrs = l;
  }
  errbuf[0] = 0;
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "s3page");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, credio_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  if(r->no_proxy) curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if(s3p_cred_env_get("AWS_CA_BUNDLE")){
    curl_easy_setopt(e, CURLOPT_CAINFO, s3p_cred_env_get("AWS_CA_BUNDLE"));
  }
  if(strcmp(r->method, "GET") != 0){
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
  }
  if(rc == S3P_OK){
    res = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    if(b.nomem){
      rc = S3P_ENOMEM;
    }else if(b.too_big){
      *errmsg = s3p_store_msg("%s: answer longer than %u bytes", host,
                              CREDIO_BODY_MAX);
      rc = S3P_EIO;
    }else if(res != CURLE_OK){
      *errmsg = s3p_store_msg("%s: %s%s%s%s", host, curl_easy_strerror(res),
                              errbuf[0] ? " (" : "", errbuf,
                              errbuf[0] ? ")" : "");
      rc = S3P_EIO;
    }
  }
  if(rc == S3P_ENOMEM && *errmsg == NULL){
    *errmsg = s3p_store_msg("%s: out of memory", host);
  }
  /* The header lines may carry a token: wipe curl's copies. */
  for(l = hdrs; l; l = l->next) s3p_wipe(l->data, strlen(l->data));
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(e);
  if(rc != S3P_OK){
    if(b.p){
      s3p_wipe(b.p, b.cap);
      free(b.p);
    }
    return rc == S3P_ENOMEM ? S3P_ENOMEM : S3P_EIO;
  }
  if(b.p == NULL){
    b.p = calloc(1, 1);
    if(b.p == NULL) return S3P_ENOMEM;
  }
  *body = b.p;
  *len = b.n;
  return S3P_OK;
}

/* s3p_cred_read_file: see cred.h. */
int s3p_cred_read_file(const char *path, size_t max, char **out,
                       size_t *len){
  char *buf;
  size_t n = 0;
  int fd;
  *out = NULL;
  *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0) return errno == ENOENT || errno == ENOTDIR ? S3P_ENOTFOUND
                                                         : S3P_EIO;
  buf = malloc(max + 1);
  if(buf == NULL){
    close(fd);
    return S3P_ENOMEM;
  }
  while(n < max + 1){
    ssize_t r = read(fd, buf + n, max + 1 - n);
    if(r < 0 && errno == EINTR) continue;
    if(r < 0){
      n = max + 1;        /* unreadable: treated as too big */
      break;
    }
    if(r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  if(n > max){
    s3p_wipe(buf, max + 1);
    free(buf);
    return S3P_EIO;
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return S3P_OK;
}

/* s3p_cred_env_get: see cred.h. */
const char *s3p_cred_env_get(const char *name){
  const char *v = getenv(name);
  return (v && v[0]) ? v : NULL;
}

/* s3p_cred_now: see cred.h. */
int64_t s3p_cred_now(void){
  return (int64_t)time(NULL);
}
