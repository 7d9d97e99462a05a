/*
** s3.c: the S3 backend (AWS S3 and S3-compatible stores: MinIO, R2, Ceph
** RGW), on libcurl's multi interface.
**
** One store handle owns one curl multi handle: one event loop, its own
** pool of kept-alive connections (at most `concurrency` per host) and a
** pool of reusable easy handles. exec() turns the batch into jobs and runs
** up to `concurrency` of them at a time until every op has an rc, so a
** batch costs one round trip whatever its size (up to the concurrency).
**
** Requests are signed with our own SigV4 (sigv4.c), payload SHA-256
** included, with the credentials the handle holds a reference to; before
** each attempt, credentials within their refresh margin are swapped for
** the source's current ones (cred_chain.c). Keys given to exec are relative to PREFIX: "pages/x" is the
** object PREFIX/pages/x of BUCKET.
**
** Answers:
**   GET 200/206 -> OK (416 -> OK with no bytes, like a range past the end
**   elsewhere), 404 -> ENOTFOUND (but NoSuchBucket -> EIO); PUT_NEW sends
**   If-None-Match: * and 412/409 -> EEXISTS; 401/403 -> EAUTH; other
**   failures -> EIO with a message naming bucket, key, HTTP status and the
**   S3 error code.
**   400/403 ExpiredToken (or TokenRefreshRequired, or a 403 for
**   credentials past their expiry) -> the shared credentials source
**   (cred.h) refreshes once for all jobs signed with the same credentials
**   and the request is retried once, then EAUTH.
**   301 PermanentRedirect / 400 AuthorizationHeaderMalformed with
**   x-amz-bucket-region -> the handle signs for that region from now on
**   (and moves to its endpoint when it uses the default AWS one) and the
**   request is retried once; otherwise EIO naming the bucket's region.
**   A GET of more than op->max_len bytes -> ECORRUPT, not retried:
**   refused from its Content-Length before any of the body is kept, or
**   aborted once the limit is passed when there is no Content-Length.
**
** Retries: connection errors, timeouts, 5xx, 429, SlowDown and
** RequestTimeout are retried with exponential backoff and full jitter
** (base 50 ms, cap 2 s), at most conf.max_attempts attempts and no new
** attempt after the op's deadline (2 x the attempt timeout, at least 10 s,
** from the op's first attempt). Every retried attempt adds one to
** stats.n_retry.
**
** Ambiguous create: a PUT_NEW whose attempt failed with a 5xx or a
** transport error may have landed. If a later attempt answers 412/409, we
** GET the object and compare it with our body: equal means our write
** landed (OK), different means another writer's did (EEXISTS). That GET
** is counted in stats.n_get.
**
** Create-if-absent probe: before the first PUT_NEW of a handle, unless
** S3PAGE_TRUST_CONDITIONAL=1, we create PREFIX/_probe/<random> twice with
** If-None-Match: * and delete it. If the second create succeeds too, the
** store ignores the condition and every PUT_NEW fails with
** S3P_EUNSUPPORTED. The verdict is cached per endpoint and bucket for the
** life of the process, so the probe costs three requests once per
** process. The probe's requests are not counted in the handle's stats:
** they are not the caller's operations.
**
** Header values have no length limit (session tokens of STS, SSO, ECS and
** Lambda run to kilobytes); header lines and the Authorization value are
** wiped before they are freed.
**
** A handle is used by one thread at a time; different handles may run in
** different threads. Nothing here prints.
*/
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "store.h"
#include "sigv4.h"
#include "s3xml.h"
#include "s3conf.h"

/* Backoff: base and cap of the exponential, in milliseconds. */
#define S3_BACKOFF_BASE_MS 50
#define S3_BACKOFF_CAP_MS 2000
/* Connect timeout, in milliseconds (capped by the attempt timeout). */
#define S3_CONNECT_TIMEOUT_MS 10000
/* Seconds without a byte moving before an attempt is abandoned. */
#define S3_LOW_SPEED_SECS 10
/* Most bytes of an error response we keep (to find its <Code>). */
#define S3_ERRBODY_MAX 16384
/* Most bytes of one LIST page we accept. */
#define S3_LIST_MAX (16u << 20)
/* Probe verdicts remembered per process (endpoint and bucket). */
#define S3_PROBE_CACHE 32
/* Internal request kind for ListObjectsV2 (beside S3P_OP_*). */
#define S3_KIND_LIST 100

/* Job states. */
#define S3_JOB_READY 0          /* waiting to (re)start at wake_ms */
#define S3_JOB_RUNNING 1        /* a transfer is in the multi handle */
#define S3_JOB_DONE 2           /* op->rc is final */

typedef struct s3_job s3_job;

/* A reusable easy handle. */
typedef struct s3_conn {
  CURL *easy;                   /* the handle (kept across requests) */
  struct curl_slist *hdrs;      /* request headers of the current request */
  char *url;                    /* malloc'd URL of the current request */
  char *auth;                   /* malloc'd Authorization header line */
  char errbuf[CURL_ERROR_SIZE]; /* curl's detail of a transport error */
  s3_job *job;                  /* the job it serves, NULL when idle */
} s3_conn;

/* One operation being carried out, across attempts. */
struct s3_job {
  s3p_op *op;                   /* the operation; outputs go here */
  int kind;                     /* S3P_OP_* or S3_KIND_LIST */
  const char *query;            /* LIST: canonical query string */
  int state;                    /* S3_JOB_* */
  int attempts;                 /* attempts started */
  int ambiguous;                /* PUT_NEW: an earlier attempt may have
                                ** landed (5xx or transport error) */
  int verifying;                /* PUT_NEW: reading back after 412/409 */
  uint64_t wake_ms;             /* READY: start no earlier than this */
  uint64_t deadline_ms;         /* no new attempt starts after this */
  char payload_sha256[65];      /* hex SHA-256 of the PUT body */
  s3_conn *conn;                /* RUNNING: its transfer */
  unsigned char *buf;           /* response bytes (malloc'd) */
  size_t len;                   /* bytes in buf */
  size_t cap;                   /* bytes allocated in buf */
  long status;                  /* HTTP status of the current response,
                                ** 0 until known */
  uint64_t skip;                /* bytes still to drop (server ignored our
                                ** Range and sent the whole object) */
  size_t keep;                  /* most bytes to keep of this response */
  int overflow;                 /* the response was longer than allowed */
  int too_big;                  /* GET: the object is over op->max_len */
  uint64_t too_big_size;        /* its Content-Length, 0 if not known */
  long last_status;             /* last failed attempt: HTTP status */
  CURLcode last_curl;           /* last failed attempt: curl result */
  char last_code[48];           /* last failed attempt: S3 error Code */
  char last_detail[CURL_ERROR_SIZE];  /* last failed attempt: curl detail */
  unsigned cred_gen;            /* s3_store.cred_gen it was signed with */
  int cred_retried;             /* retried once after ExpiredToken */
  char signed_region[65];       /* region the current attempt is signed
                                ** for */
  char bucket_region[65];       /* x-amz-bucket-region of the answer */
  int region_retried;           /* retried once in the bucket's region */
};

/* The store handle. */
typedef struct s3_store {
  s3p_store base;               /* must be first */
  s3p_s3conf conf;              /* where and how */
  int readonly;                 /* refuse writes with S3P_EINVAL */
  CURLM *multi;                 /* the event loop and connection pool */
  s3_conn **idle;               /* easy handles not in use */
  size_t n_idle;                /* entries in idle */
  size_t n_conn;                /* easy handles created (all idle between
                                ** batches) */
  uint64_t rng;                 /* xorshift state for jitter and probe keys */
  int probed;                   /* 1: create-if-absent verified or trusted */
  unsigned cred_gen;            /* bumped when conf.cred is replaced */
} s3_store;

/* Process-wide state: curl's global init, and the probe verdicts. */
static pthread_once_t s3_once = PTHREAD_ONCE_INIT;
static CURLcode s3_global_rc = CURLE_FAILED_INIT;   /* set once by s3_once */
static pthread_mutex_t s3_probe_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char *where;                  /* malloc'd "endpoint bucket", kept for the
                                ** life of the process */
  int verdict;                  /* S3P_OK or S3P_EUNSUPPORTED */
} s3_probe_cache[S3_PROBE_CACHE];   /* under s3_probe_mutex */
static int s3_probe_n;              /* entries used, under s3_probe_mutex */

/* s3_global_init initializes libcurl once per process (pthread_once). */
static void s3_global_init(void){
  s3_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* s3_now_ms returns a monotonic clock in milliseconds. */
static uint64_t s3_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* s3_rand returns the next pseudo-random number of s (xorshift64*). */
static uint64_t s3_rand(s3_store *s){
  uint64_t x = s->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  s->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* s3_method returns the HTTP method of a job kind. */
static const char *s3_method(int kind){
  switch(kind){
    case S3P_OP_PUT: case S3P_OP_PUT_NEW: return "PUT";
    case S3P_OP_HEAD: return "HEAD";
    case S3P_OP_DELETE: return "DELETE";
    default: return "GET";
  }
}

/* s3_label returns the verb used in messages for a job. */
static const char *s3_label(const s3_job *j){
  if(j->kind == S3_KIND_LIST) return "LIST";
  if(j->verifying) return "GET (checking an ambiguous create)";
  return s3_method(j->kind);
}

/* s3_fail sets the op's final rc and a message "DESC/KEY: VERB: detail". */
static void s3_fail(s3_store *s, s3_job *j, int rc, const char *fmt, ...){
  va_list ap;
  char *detail = NULL;
  assert(rc != S3P_OK);
  va_start(ap, fmt);
  if(vasprintf(&detail, fmt, ap) < 0) detail = NULL;
  va_end(ap);
  free(j->op->errmsg);
  if(j->kind == S3_KIND_LIST){
    j->op->errmsg = s3p_store_msg("%s: LIST %s: %s", s->base.desc, j->op->key,
                           detail ? detail : s3p_errstr(rc));
  }else{
    j->op->errmsg = s3p_store_msg("%s/%s: %s: %s", s->base.desc, j->op->key,
                           s3_label(j), detail ? detail : s3p_errstr(rc));
  }
  free(detail);
  j->op->rc = rc;
  free(j->op->data);
  j->op->data = NULL;
  j->op->len = 0;
  j->state = S3_JOB_DONE;
}

/* s3_write_cb stores response bytes of a job (curl write callback):
** success bodies up to j->keep bytes (after dropping j->skip), error
** bodies up to S3_ERRBODY_MAX. A GET whose Content-Length, or whose bytes
** so far, pass op->max_len sets j->too_big. Returns the bytes consumed; a
** short count aborts the transfer (out of memory, or a body longer than
** allowed). */
static size_t s3_write_cb(char *ptr, size_t size, size_t nmemb, void *arg){
  s3_job *j = arg;
  size_t n = size * nmemb, take;
  if(j->status == 0){
    long st = 0;
    curl_easy_getinfo(j->conn->easy, CURLINFO_RESPONSE_CODE, &st);
    j->status = st;
    j->len = 0;
    j->skip = 0;
    if(st < 200 || st > 299){
      j->keep = S3_ERRBODY_MAX;
    }else if(j->kind == S3P_OP_GET && !j->verifying){
      int ranged = j->op->range_off > 0 || j->op->range_len > 0;
      if(st == 200){
        /* Server ignored the Range: slice the wanted part out ourselves. */
        j->skip = j->op->range_off;
        if(j->op->range_len > 0 && j->op->range_len < (uint64_t)SIZE_MAX){
          j->keep = (size_t)j->op->range_len;
        }
      }
      if(st == 206 || !ranged){
        /* Content-Length is what we would keep: refuse it unread. */
        curl_off_t cl = -1;
        curl_easy_getinfo(j->conn->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                          &cl);
        if(cl > 0 && j->op->max_len > 0 && (uint64_t)cl > j->op->max_len){
          j->too_big = 1;
          j->too_big_size = (uint64_t)cl;
          return 0;
        }
      }
    }
  }
  if(j->skip > 0){
    uint64_t d = j->skip < n ? j->skip : n;
    j->skip -= d;
    ptr += d;
    n -= (size_t)d;
    if(n == 0) return size * nmemb;
  }
  take = n;
  if(j->len + take > j->keep || j->len + take < j->len){
    take = j->keep > j->len ? j->keep - j->len : 0;
    if(j->status >= 200 && j->status <= 299){
      /* More than we asked for. For a 200 to a ranged GET, the rest of
      ** the object is just not wanted; otherwise the reply is malformed. */
      if(!(j->kind == S3P_OP_GET && j->status == 200 && j->op->range_len > 0)){
        j->overflow = 1;
        return 0;
      }
    }
  }
  if(take > 0 && j->kind == S3P_OP_GET && !j->verifying && j->status >= 200
     && j->status <= 299 && j->op->max_len > 0
     && (take > j->op->max_len || j->len > j->op->max_len - take)){
    /* No (or a lying) Content-Length: stop at the limit. */
    j->too_big = 1;
    j->too_big_size = 0;
    return 0;
  }
  if(take > 0){
    if(j->len + take + 1 > j->cap){
      size_t ncap = j->cap ? j->cap : 4096;
      unsigned char *b;
      while(ncap < j->len + take + 1) ncap *= 2;
      b = realloc(j->buf, ncap);
      if(b == NULL) return 0;
      j->buf = b;
      j->cap = ncap;
    }
    memcpy(j->buf + j->len, ptr, take);
    j->len += take;
    j->buf[j->len] = 0;
  }
  return size * nmemb;
}

/* s3_header_cb is curl's header callback: keeps x-amz-bucket-region
** (the region of a bucket we addressed in the wrong one). Returns the
** bytes taken. */
static size_t s3_header_cb(char *ptr, size_t size, size_t nmemb, void *arg){
  static const char name[] = "x-amz-bucket-region:";
  s3_job *j = arg;
  size_t n = size * nmemb, k = sizeof(name) - 1;
  if(n > k && strncasecmp(ptr, name, k) == 0){
    const char *v = ptr + k, *e = ptr + n;
    while(v < e && (*v == ' ' || *v == '\t')) v++;
    while(e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
    if(e - v > 0 && (size_t)(e - v) < sizeof(j->bucket_region)){
      memcpy(j->bucket_region, v, (size_t)(e - v));
      j->bucket_region[e - v] = 0;
    }
  }
  return n;
}

/* s3_conn_get returns an idle easy handle of s (reset for a new request),
** or a new one, or NULL when out of memory. */
static s3_conn *s3_conn_get(s3_store *s){
  s3_conn *c;
  if(s->n_idle > 0){
    c = s->idle[--s->n_idle];
    curl_easy_reset(c->easy);
    return c;
  }
  c = calloc(1, sizeof(*c));
  if(c == NULL) return NULL;
  c->easy = curl_easy_init();
  if(c->easy == NULL){
    free(c);
    return NULL;
  }
  s->n_conn++;
  return c;
}

/* s3_hdrs_free wipes and frees a request's header lines: they may hold
** the session token and the signature. */
static void s3_hdrs_free(struct curl_slist *l){
  struct curl_slist *p;
  for(p = l; p != NULL; p = p->next){
    if(p->data) s3p_wipe(p->data, strlen(p->data));
  }
  curl_slist_free_all(l);
}

/* s3_conn_put returns c to the idle pool of s, freeing its request. The
** pool never holds more than n_conn handles, so the push cannot fail. */
static void s3_conn_put(s3_store *s, s3_conn *c){
  s3_hdrs_free(c->hdrs);
  c->hdrs = NULL;
  free(c->url);
  c->url = NULL;
  s3p_wipe_str(c->auth);
  c->auth = NULL;
  c->job = NULL;
  assert(s->n_idle < s->n_conn);
  s->idle[s->n_idle++] = c;
}

/* s3_conn_free releases c and its easy handle. */
static void s3_conn_free(s3_conn *c){
  s3_hdrs_free(c->hdrs);
  free(c->url);
  s3p_wipe_str(c->auth);
  curl_easy_cleanup(c->easy);
  free(c);
}

/* s3_hdr appends "name: value" to *list, whatever their length (session
** tokens run to kilobytes). The line is built on the heap and wiped after
** curl has copied it, as it may hold a secret. Returns 0, or -1 when out
** of memory. */
static int s3_hdr(struct curl_slist **list, const char *name,
                  const char *value){
  char *line = s3p_store_msg("%s: %s", name, value);
  struct curl_slist *l = line ? curl_slist_append(*list, line) : NULL;
  s3p_wipe_str(line);
  if(l == NULL) return -1;
  *list = l;
  return 0;
}

/* s3_cred_update replaces s->conf.cred with what the shared source says
** to sign with now (refreshing due credentials; with failed, replacing
** ones the store refused as expired). Returns 1 if they changed. */
static int s3_cred_update(s3_store *s, int failed){
  s3p_cred *c;
  if(s->conf.cred_src == NULL) return 0;
  c = s3p_cred_current(s->conf.cred_src, s->conf.cred, failed, NULL);
  if(c == NULL || c == s->conf.cred){
    return 0;                       /* ours still (or a failed refresh) */
  }
  s->conf.cred = c;
  s->cred_gen++;
  return 1;
}

/* s3_cred_due returns 1 if the credentials of s are within their refresh
** margin (read without the lock: our reference keeps them unchanged). */
static int s3_cred_due(const s3_store *s){
  const s3p_cred *c = s->conf.cred;
  return s->conf.cred_src && c->expires
      && s3p_cred_now() >= c->expires - s3p_cred_refresh_margin(c);
}

/* s3_start begins one attempt of job j: builds and signs the request and
** adds it to the multi handle. Returns S3P_OK, or an error (the job is
** then failed and DONE). */
static int s3_start(s3_store *s, s3_job *j){
  const s3p_s3conf *cf = &s->conf;
  const s3p_cred *cr;
  s3p_op *op = j->op;
  int kind = j->verifying ? S3P_OP_GET : j->kind;
  const char *method = s3_method(kind);
  const char *payload = S3P_SIGV4_EMPTY_SHA256;
  char date[17], range[64], sig[65], *host = NULL, *path = NULL, *uri = NULL;
  char *enc = NULL;
  s3p_sigv4_header sh[8];
  size_t nsh = 0;
  s3p_sigv4_req r;
  s3_conn *c;
  long timeout = cf->timeout_ms;
  CURLMcode mrc;
  int bad = 0;

  if(s3_cred_due(s)) s3_cred_update(s, 0);
  cr = cf->cred;
  j->cred_gen = s->cred_gen;
  snprintf(j->signed_region, sizeof(j->signed_region), "%s", cf->region);
  j->bucket_region[0] = 0;
  c = s3_conn_get(s);
  if(c == NULL){
    s3_fail(s, j, S3P_ENOMEM, "out of memory");
    return S3P_ENOMEM;
  }
  c->job = j;
  j->conn = c;
  j->status = 0;
  j->len = 0;
  j->skip = 0;
  j->overflow = 0;
  j->too_big = 0;
  j->too_big_size = 0;
  j->keep = SIZE_MAX - 1;
  if(kind == S3P_OP_GET && !j->verifying && op->range_len > 0
     && op->range_len < (uint64_t)SIZE_MAX){
    j->keep = (size_t)op->range_len;
  }
  if(j->kind == S3_KIND_LIST) j->keep = S3_LIST_MAX;
  if(j->verifying) j->keep = op->body_len;
  if(j->attempts++ == 0){
    /* The op's time starts with its first attempt, not with the batch. */
    uint64_t window = 2 * (uint64_t)cf->timeout_ms;
    if(window < 10000) window = 10000;
    j->deadline_ms = s3_now_ms() + window;
  }

  /* Where: host, canonical URI, URL. */
  host = cf->path_style ? strdup(cf->authority)
                        : s3p_store_msg("%s.%s", cf->bucket, cf->authority);
  if(j->kind == S3_KIND_LIST){
    uri = cf->path_style ? s3p_store_msg("/%s", cf->bucket) : strdup("/");
  }else{
    path = cf->prefix[0] ? s3p_store_msg("%s/%s", cf->prefix, op->key)
                         : strdup(op->key);
    enc = path ? s3p_sigv4_uri_encode(path, 1) : NULL;
    if(enc){
      uri = cf->path_style ? s3p_store_msg("/%s/%s", cf->bucket, enc)
                           : s3p_store_msg("/%s", enc);
    }
  }
  if(host && uri){
    c->url = s3p_store_msg("%s://%s%s%s%s", cf->scheme, host, uri,
                    j->query && j->query[0] ? "?" : "",
                    j->query ? j->query : "");
  }
  if(c->url == NULL) bad = 1;

  /* What: signed headers. */
  s3p_sigv4_amz_date(time(NULL), date);
  if(kind == S3P_OP_PUT || kind == S3P_OP_PUT_NEW) payload = j->payload_sha256;
  sh[nsh].name = "host"; sh[nsh++].value = host;
  sh[nsh].name = "x-amz-content-sha256"; sh[nsh++].value = payload;
  sh[nsh].name = "x-amz-date"; sh[nsh++].value = date;
  if(cr->session_token){
    sh[nsh].name = "x-amz-security-token"; sh[nsh++].value = cr->session_token;
  }
  if(kind == S3P_OP_PUT_NEW){
    sh[nsh].name = "if-none-match"; sh[nsh++].value = "*";
  }
  if(kind == S3P_OP_GET && !j->verifying
     && (op->range_off > 0 || op->range_len > 0)){
    if(op->range_len > 0){
      uint64_t last = op->range_off + op->range_len - 1;
      if(last < op->range_off) last = UINT64_MAX - 1;
      snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
               op->range_off, last);
    }else{
      snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", op->range_off);
    }
    sh[nsh].name = "range"; sh[nsh++].value = range;
  }
  assert(nsh <= sizeof(sh) / sizeof(sh[0]));
  if(!bad){
    size_t i;
    memset(&r, 0, sizeof(r));
    r.method = method;
    r.uri = uri;
    r.query = j->query ? j->query : "";
    r.headers = sh;
    r.n_headers = nsh;
    r.payload_sha256 = payload;
    r.amz_date = date;
    r.region = cf->region;
    r.service = "s3";
    r.access_key = cr->access_key;
    r.secret_key = cr->secret_key;
    c->auth = s3p_sigv4_sign(&r, sig);
    if(c->auth == NULL) bad = 1;
    for(i = 0; i < nsh && !bad; i++){
      if(s3_hdr(&c->hdrs, sh[i].name, sh[i].value)) bad = 1;
    }
    if(!bad && s3_hdr(&c->hdrs, "Authorization", c->auth)) bad = 1;
    /* No "Expect: 100-continue" round trip; no form content type. */
    if(!bad && s3_hdr(&c->hdrs, "Expect", "")) bad = 1;
    if(!bad && (kind == S3P_OP_PUT || kind == S3P_OP_PUT_NEW)
       && s3_hdr(&c->hdrs, "Content-Type", "application/octet-stream")){
      bad = 1;
    }
  }
  free(host);
  free(path);
  free(enc);
  free(uri);
  if(bad){
    s3_conn_put(s, c);
    j->conn = NULL;
    s3_fail(s, j, S3P_ENOMEM, "out of memory building the request");
    return S3P_ENOMEM;
  }

  /* How: transfer options. */
  curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
  curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
  curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
  curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
  c->errbuf[0] = 0;
  curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "s3page");
  curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
                   timeout < S3_CONNECT_TIMEOUT_MS ? timeout
                                                   : (long)S3_CONNECT_TIMEOUT_MS);
  curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME,
                   timeout / 1000 < S3_LOW_SPEED_SECS
                     ? (timeout / 1000 > 0 ? timeout / 1000 : 1L)
                     : (long)S3_LOW_SPEED_SECS);
  curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, s3_write_cb);
  curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, s3_header_cb);
  curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, j);
  curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, cf->insecure ? 0L : 1L);
  curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, cf->insecure ? 0L : 2L);
  if(cf->ca_file) curl_easy_setopt(c->easy, CURLOPT_CAINFO, cf->ca_file);
  switch(kind){
    case S3P_OP_PUT:
    case S3P_OP_PUT_NEW:
      curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)op->body_len);
      curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS,
                       op->body_len ? (const char *)op->body : "");
      break;
    case S3P_OP_HEAD:
      curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
      break;
    case S3P_OP_DELETE:
      curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
    default:
      curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
      break;
  }
  mrc = curl_multi_add_handle(s->multi, c->easy);
  if(mrc != CURLM_OK){
    s3_conn_put(s, c);
    j->conn = NULL;
    s3_fail(s, j, S3P_EIO, "curl_multi_add_handle: %s",
            curl_multi_strerror(mrc));
    return S3P_EIO;
  }
  j->state = S3_JOB_RUNNING;
  return S3P_OK;
}

/* s3_curl_retryable returns 1 if a transport error is worth another
** attempt (network trouble), 0 if it will not go away (bad URL, TLS
** verification failure, misconfiguration). */
static int s3_curl_retryable(CURLcode rc){
  switch(rc){
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_WRITE_ERROR:
    case CURLE_TOO_MANY_REDIRECTS:
      return 0;
    default:
      return 1;
  }
}

/* s3_retry schedules another attempt of j after a failed one (whose
** cause is in j->last_*), or fails it for good when attempts or time ran
** out. */
static void s3_retry(s3_store *s, s3_job *j, uint64_t now){
  uint64_t cap, delay;
  int shift = j->attempts - 1;
  if(shift > 20) shift = 20;
  cap = (uint64_t)S3_BACKOFF_BASE_MS << shift;
  if(cap > S3_BACKOFF_CAP_MS) cap = S3_BACKOFF_CAP_MS;
  delay = s3_rand(s) % (cap + 1);
  if(j->attempts >= s->conf.max_attempts || now + delay > j->deadline_ms){
    const char *why = j->attempts >= s->conf.max_attempts ? "" : " (deadline)";
    if(j->last_status){
      s3_fail(s, j, S3P_EIO, "HTTP %ld%s%s after %d attempt%s%s",
              j->last_status, j->last_code[0] ? " " : "", j->last_code,
              j->attempts, j->attempts == 1 ? "" : "s", why);
    }else{
      s3_fail(s, j, S3P_EIO, "%s (%s) after %d attempt%s%s",
              curl_easy_strerror(j->last_curl), j->last_detail, j->attempts,
              j->attempts == 1 ? "" : "s", why);
    }
    return;
  }
  s->base.stats.n_retry++;
  j->state = S3_JOB_READY;
  j->wake_ms = now + delay;
}

/* s3_take_body moves the response bytes of j into its op (data, len). */
static void s3_take_body(s3_job *j){
  if(j->buf == NULL){
    j->buf = malloc(1);
    if(j->buf == NULL){
      j->op->rc = S3P_ENOMEM;
      return;
    }
    j->buf[0] = 0;
    j->len = 0;
  }
  j->op->data = j->buf;
  j->op->len = j->len;
  j->buf = NULL;
  j->cap = 0;
  j->len = 0;
  j->op->rc = S3P_OK;
}

/* s3_region_follow makes region the store's signing region (and, with
** the default AWS endpoint, its regional endpoint). Returns S3P_OK, or
** S3P_EINVAL for a name that is not a region, or S3P_ENOMEM. */
static int s3_region_follow(s3_store *s, const char *region){
  s3p_s3conf *cf = &s->conf;
  char *r, *auth = NULL, *ep = NULL;
  if(strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-")
     != strlen(region)){
    return S3P_EINVAL;
  }
  if(strcmp(region, cf->region) == 0) return S3P_OK;   /* done already */
  r = strdup(region);
  if(r == NULL) return S3P_ENOMEM;
  if(cf->default_endpoint){
    auth = s3p_store_msg("s3.%s.amazonaws.com", region);
    ep = auth ? s3p_store_msg("%s://%s", cf->scheme, auth) : NULL;
    if(ep == NULL){
      free(r);
      free(auth);
      return S3P_ENOMEM;
    }
    free(cf->authority);
    free(cf->endpoint);
    cf->authority = auth;
    cf->endpoint = ep;
  }
  free(cf->region);
  cf->region = r;
  return S3P_OK;
}

/* s3_expired returns 1 if the answer st/code of job j says that the
** credentials it was signed with have expired: an ExpiredToken-like code,
** or a 403 for credentials past their expiry. */
static int s3_expired(const s3_store *s, const s3_job *j, long st,
                      const char *code){
  if(st != 400 && st != 403) return 0;
  if(strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired")
     == 0 || strcmp(code, "ExpiredTokenException") == 0){
    return 1;
  }
  return st == 403 && j->cred_gen == s->cred_gen && s->conf.cred->expires
      && s3p_cred_now() >= s->conf.cred->expires;
}

/* s3_done handles the end of an attempt of j (curl result res): sets the
** op's final rc, or schedules a retry or the next step. */
static void s3_done(s3_store *s, s3_job *j, CURLcode res, uint64_t now){
  s3_conn *c = j->conn;
  long st = 0;
  char code[48];
  int kind = j->verifying ? S3P_OP_GET : j->kind;

  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
  j->state = S3_JOB_DONE;     /* unless changed below */
  if(res != CURLE_OK){
    if(res == CURLE_WRITE_ERROR && j->too_big){
      /* Not retried: the object will not shrink. */
      s3p_op_too_big(j->op, s->base.desc, j->too_big_size);
      j->state = S3_JOB_DONE;
      return;
    }
    if(res == CURLE_WRITE_ERROR && j->overflow && j->verifying){
      /* The object there is longer than ours: someone else's. */
      j->op->rc = S3P_EEXISTS;
      return;
    }
    if(res == CURLE_WRITE_ERROR && j->overflow){
      s3_fail(s, j, S3P_EIO, "HTTP %ld: response longer than asked for", st);
      return;
    }
    j->last_status = 0;
    j->last_code[0] = 0;
    j->last_curl = res;
    snprintf(j->last_detail, sizeof(j->last_detail), "%s",
             c->errbuf[0] ? c->errbuf : "no detail");
    if(!s3_curl_retryable(res)){
      s3_fail(s, j, S3P_EIO, "%s (%s)", curl_easy_strerror(res),
              j->last_detail);
      return;
    }
    if(j->kind == S3P_OP_PUT_NEW && !j->verifying) j->ambiguous = 1;
    s3_retry(s, j, now);
    return;
  }
  s3p_xml_error_code(st >= 200 && st <= 299 ? NULL : j->buf, j->len, code,
                sizeof(code));

  /* Reading back after an ambiguous create. */
  if(j->verifying && (st == 200 || st == 404)){
    if(st == 404){
      /* Gone again (deleted in between): create it anew. */
      j->verifying = 0;
      j->ambiguous = 0;
      j->state = S3_JOB_READY;
      j->wake_ms = now;
      s->base.stats.n_retry++;
      return;
    }
    j->op->rc = (j->len == j->op->body_len
                 && (j->len == 0 || memcmp(j->buf, j->op->body, j->len) == 0))
                ? S3P_OK : S3P_EEXISTS;
    return;
  }

  if(st >= 200 && st <= 299){
    switch(kind){
      case S3P_OP_GET:
      case S3_KIND_LIST:
        s3_take_body(j);
        break;
      case S3P_OP_HEAD: {
        curl_off_t cl = -1;
        curl_easy_getinfo(c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if(cl < 0){
          s3_fail(s, j, S3P_EIO, "HTTP %ld without a Content-Length", st);
          return;
        }
        j->op->len = (size_t)cl;
        j->op->rc = S3P_OK;
        break;
      }
      default:
        j->op->rc = S3P_OK;
        break;
    }
    return;
  }
  if(st == 404){
    if(strcmp(code, "NoSuchBucket") == 0 || j->kind == S3_KIND_LIST
       || kind == S3P_OP_PUT || kind == S3P_OP_PUT_NEW){
      s3_fail(s, j, S3P_EIO, "HTTP 404 %s (bucket %s at %s)",
              code[0] ? code : "NotFound", s->conf.bucket, s->conf.endpoint);
    }else if(kind == S3P_OP_DELETE){
      j->op->rc = S3P_OK;
    }else{
      j->op->rc = S3P_ENOTFOUND;
    }
    return;
  }
  if(kind == S3P_OP_PUT_NEW && (st == 412 || st == 409)){
    if(j->ambiguous){
      /* Ours or someone else's? Read it back. */
      j->verifying = 1;
      j->state = S3_JOB_READY;
      j->wake_ms = now;
      s->base.stats.n_get++;
      return;
    }
    j->op->rc = S3P_EEXISTS;
    return;
  }
  if(kind == S3P_OP_GET && st == 416){
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
    s3_take_body(j);
    return;
  }
  if(s3_expired(s, j, st, code)){
    if(s->conf.cred_src && !j->cred_retried){
      /* Refresh (once for all the jobs signed with the same ones) and
      ** retry this request once. */
      j->cred_retried = 1;
      if(j->cred_gen == s->cred_gen) s3_cred_update(s, 1);
      j->state = S3_JOB_READY;
      j->wake_ms = now;
      s->base.stats.n_retry++;
      return;
    }
    s3_fail(s, j, S3P_EAUTH, "HTTP %ld%s%s: the credentials (from %s) have "
            "expired%s", st, code[0] ? " " : "", code, s->conf.cred->source,
            s->conf.cred_src ? " and a refresh did not help" : "");
    return;
  }
  if(st == 401 || st == 403){
    s3_fail(s, j, S3P_EAUTH, "HTTP %ld%s%s: the store refused our "
            "credentials (from %s; check AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY, the region and the clock)", st,
            code[0] ? " " : "", code, s->conf.cred->source);
    return;
  }
  if(st >= 500 || st == 429 || strcmp(code, "SlowDown") == 0
     || strcmp(code, "RequestTimeout") == 0){
    j->last_status = st;
    snprintf(j->last_code, sizeof(j->last_code), "%s", code);
    if(j->kind == S3P_OP_PUT_NEW && !j->verifying) j->ambiguous = 1;
    s3_retry(s, j, now);
    return;
  }
  if(st == 301 || st == 307 || strcmp(code, "AuthorizationHeaderMalformed")
     == 0 || strcmp(code, "PermanentRedirect") == 0){
    if(j->bucket_region[0] && !j->region_retried
       && strcmp(j->bucket_region, j->signed_region) != 0
       && s3_region_follow(s, j->bucket_region) == S3P_OK){
      /* The bucket is elsewhere: sign for its region (and go to its
      ** endpoint on AWS) from now on, and retry once. */
      j->region_retried = 1;
      j->state = S3_JOB_READY;
      j->wake_ms = now;
      s->base.stats.n_retry++;
      return;
    }
    if(j->bucket_region[0]){
      s3_fail(s, j, S3P_EIO, "HTTP %ld%s%s: bucket %s is in region %s, not "
              "%s (set AWS_REGION=%s or region=%s)", st, code[0] ? " " : "",
              code, s->conf.bucket, j->bucket_region, j->signed_region,
              j->bucket_region, j->bucket_region);
      return;
    }
  }
  s3_fail(s, j, S3P_EIO, "HTTP %ld%s%s%s", st, code[0] ? " " : "", code,
          (st == 301 || strcmp(code, "AuthorizationHeaderMalformed") == 0)
            ? " (wrong region or endpoint for this bucket?)" : "");
}

/* s3_run carries out jobs[0..n) concurrently (at most conf.concurrency
** transfers at a time) until every job is DONE. Returns S3P_OK, or
** S3P_EIO if the event loop itself failed (every job still gets an rc). */
static int s3_run(s3_store *s, s3_job *jobs, size_t n){
  size_t i, n_done = 0, running = 0;
  uint64_t start = s3_now_ms();
  int rc = S3P_OK;

  for(i = 0; i < n; i++){
    jobs[i].state = S3_JOB_READY;
    jobs[i].wake_ms = start;
  }
  while(n_done < n){
    uint64_t now = s3_now_ms(), wait = 1000;
    int still = 0, pending, startable = 0;
    CURLMsg *m;
    CURLMcode mrc;

    /* Start whatever may start: new jobs in order, then due retries. */
    for(i = 0; i < n && running < (size_t)s->conf.concurrency; i++){
      s3_job *j = &jobs[i];
      if(j->state != S3_JOB_READY || j->wake_ms > now) continue;
      if(s3_start(s, j) == S3P_OK){
        running++;
      }else{
        n_done++;
      }
    }

    mrc = curl_multi_perform(s->multi, &still);
    if(mrc != CURLM_OK){
      rc = S3P_EIO;
      break;
    }
    while((m = curl_multi_info_read(s->multi, &pending)) != NULL){
      s3_conn *c = NULL;
      s3_job *j;
      if(m->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
      assert(c != NULL && c->job != NULL);
      j = c->job;
      curl_multi_remove_handle(s->multi, c->easy);
      running--;
      s3_done(s, j, m->data.result, s3_now_ms());
      j->conn = NULL;
      s3_conn_put(s, c);
      if(j->state == S3_JOB_DONE){
        free(j->buf);
        j->buf = NULL;
        j->len = j->cap = 0;
        n_done++;
      }
    }
    if(n_done == n) break;

    /* Sleep until a transfer moves or a retry is due. */
    now = s3_now_ms();
    for(i = 0; i < n; i++){
      if(jobs[i].state != S3_JOB_READY) continue;
      if(jobs[i].wake_ms <= now){
        if(running < (size_t)s->conf.concurrency) startable = 1;
      }else if(jobs[i].wake_ms - now < wait){
        wait = jobs[i].wake_ms - now;
      }
    }
    if(startable) continue;
    mrc = curl_multi_poll(s->multi, NULL, 0, (int)wait, NULL);
    if(mrc != CURLM_OK){
      rc = S3P_EIO;
      break;
    }
  }
  if(rc != S3P_OK){
    /* The loop broke: abandon what is in flight. */
    for(i = 0; i < n; i++){
      s3_job *j = &jobs[i];
      if(j->state == S3_JOB_RUNNING){
        curl_multi_remove_handle(s->multi, j->conn->easy);
        s3_conn_put(s, j->conn);
        j->conn = NULL;
      }
      if(j->state != S3_JOB_DONE) s3_fail(s, j, S3P_EIO, "curl event loop failed");
      free(j->buf);
      j->buf = NULL;
    }
  }
  return rc;
}

/* s3_jobs_run makes jobs for ops[0..n) (kinds as given) and runs them.
** Returns S3P_OK, S3P_ENOMEM (ops untouched) or s3_run's error. */
static int s3_jobs_run(s3_store *s, s3p_op **ops, size_t n){
  s3_job *jobs;
  size_t i;
  int rc;
  if(n == 0) return S3P_OK;
  jobs = calloc(n, sizeof(*jobs));
  if(jobs == NULL) return S3P_ENOMEM;
  for(i = 0; i < n; i++){
    jobs[i].op = ops[i];
    jobs[i].kind = ops[i]->kind;
    if(ops[i]->kind == S3P_OP_PUT || ops[i]->kind == S3P_OP_PUT_NEW){
      s3p_sigv4_sha256_hex(ops[i]->body, ops[i]->body_len,
                           jobs[i].payload_sha256);
    }
  }
  rc = s3_run(s, jobs, n);
  free(jobs);
  return rc;
}

/* s3_probe_where returns the malloc'd probe-cache key of s, "endpoint
** bucket", or NULL when out of memory (then the verdict is not cached). */
static char *s3_probe_where(const s3_store *s){
  return s3p_store_msg("%s %s", s->conf.endpoint, s->conf.bucket);
}

/* s3_probe makes sure the store honours If-None-Match: * (see the top of
** the file). Returns S3P_OK, S3P_EUNSUPPORTED, or the error that kept us
** from knowing; sets *errmsg on errors. */
static int s3_probe(s3_store *s, char **errmsg){
  char *where = NULL, key[64];
  static const unsigned char body1[] = "s3page create-if-absent probe 1";
  static const unsigned char body2[] = "s3page create-if-absent probe 2";
  s3p_op ops[3], *p[1];
  int i, cached = 0, verdict = S3P_OK, rc;

  if(s->probed || s->conf.trust_conditional){
    s->probed = 1;
    return S3P_OK;
  }
  where = s3_probe_where(s);
  if(where != NULL){
    pthread_mutex_lock(&s3_probe_mutex);
    for(i = 0; i < s3_probe_n; i++){
      if(strcmp(s3_probe_cache[i].where, where) == 0){
        cached = 1;
        verdict = s3_probe_cache[i].verdict;
        break;
      }
    }
    pthread_mutex_unlock(&s3_probe_mutex);
  }
  if(!cached){
    snprintf(key, sizeof(key), "_probe/%ld-%016" PRIx64, (long)getpid(),
             s3_rand(s));
    memset(ops, 0, sizeof(ops));
    for(i = 0; i < 3; i++) ops[i].key = key;
    ops[0].kind = ops[1].kind = S3P_OP_PUT_NEW;
    ops[0].body = body1;
    ops[0].body_len = sizeof(body1) - 1;
    ops[1].body = body2;
    ops[1].body_len = sizeof(body2) - 1;
    ops[2].kind = S3P_OP_DELETE;
    for(i = 0; i < 3; i++){
      p[0] = &ops[i];
      rc = s3_jobs_run(s, p, 1);
      if(rc == S3P_OK) rc = ops[i].rc;
      if(i == 0 && rc != S3P_OK){
        *errmsg = s3p_store_msg("%s: cannot check that the store honours "
                         "If-None-Match (creating %s/%s): %s", s->base.desc,
                         s->base.desc, key,
                         ops[i].errmsg ? ops[i].errmsg : s3p_errstr(rc));
        break;
      }
      if(i == 1){
        if(rc == S3P_OK){
          verdict = S3P_EUNSUPPORTED;
        }else if(rc != S3P_EEXISTS){
          *errmsg = s3p_store_msg("%s: cannot check that the store honours "
                           "If-None-Match: %s", s->base.desc,
                           ops[i].errmsg ? ops[i].errmsg : s3p_errstr(rc));
          /* the DELETE below still runs */
          verdict = rc;
        }
      }
    }
    for(i = 0; i < 3; i++) s3p_op_reset(&ops[i]);
    if(*errmsg != NULL){
      free(where);
      return verdict != S3P_OK && verdict != S3P_EUNSUPPORTED ? verdict
                                                              : S3P_EIO;
    }
    if(where != NULL){
      pthread_mutex_lock(&s3_probe_mutex);
      for(i = 0; i < s3_probe_n; i++){
        if(strcmp(s3_probe_cache[i].where, where) == 0) break;
      }
      if(i == s3_probe_n && s3_probe_n < S3_PROBE_CACHE){
        s3_probe_cache[i].where = where;     /* the cache keeps it */
        where = NULL;
        s3_probe_cache[i].verdict = verdict;
        s3_probe_n++;
      }
      pthread_mutex_unlock(&s3_probe_mutex);
    }
  }
  free(where);
  if(verdict == S3P_EUNSUPPORTED){
    *errmsg = s3p_store_msg("%s: this store ignores If-None-Match; refusing to "
                     "write (set S3PAGE_TRUST_CONDITIONAL=1 if you vouch "
                     "for it)", s->base.desc);
    return S3P_EUNSUPPORTED;
  }
  s->probed = 1;
  return S3P_OK;
}

/* s3_exec runs ops[0..n) concurrently (the vtable's exec). Returns S3P_OK
** once every op has an rc, or S3P_ENOMEM/S3P_EIO when the batch could not
** be run at all. */
static int s3_exec(s3p_store *st, s3p_op *ops, size_t n){
  s3_store *s = (s3_store *)st;
  s3p_op **run;
  size_t i, m = 0;
  int has_put_new = 0, probe_rc = S3P_OK, rc;
  char *probe_msg = NULL;

  for(i = 0; i < n; i++){
    if(ops[i].kind == S3P_OP_PUT_NEW && !s->readonly) has_put_new = 1;
  }
  if(has_put_new) probe_rc = s3_probe(s, &probe_msg);
  run = calloc(n ? n : 1, sizeof(*run));
  if(run == NULL){
    free(probe_msg);
    return S3P_ENOMEM;
  }
  for(i = 0; i < n; i++){
    s3p_op *op = &ops[i];
    int write = op->kind == S3P_OP_PUT || op->kind == S3P_OP_PUT_NEW
                || op->kind == S3P_OP_DELETE;
    if(!s3p_key_ok(op->key) || op->kind < S3P_OP_GET
       || op->kind > S3P_OP_DELETE){
      op->rc = S3P_EINVAL;
      op->errmsg = s3p_store_msg("%s/%s: invalid operation or key", st->desc,
                          op->key ? op->key : "(null)");
    }else if(write && s->readonly){
      op->rc = S3P_EINVAL;
      op->errmsg = s3p_store_msg("%s/%s: store is read-only", st->desc, op->key);
    }else if(op->kind == S3P_OP_PUT_NEW && probe_rc != S3P_OK){
      op->rc = probe_rc;
      op->errmsg = probe_msg ? strdup(probe_msg) : NULL;
    }else{
      run[m++] = op;
    }
  }
  free(probe_msg);
  rc = s3_jobs_run(s, run, m);
  free(run);
  return rc;
}

/* s3_list lists keys under prefix with ListObjectsV2 (the vtable's list),
** page after page. Returns S3P_OK or an error with *errmsg set. */
static int s3_list(s3p_store *st, const char *prefix, s3p_list_fn fn,
                   void *arg, char **errmsg){
  s3_store *s = (s3_store *)st;
  s3p_xml_list lc;
  char *full, *token = NULL, *query = NULL;
  int rc = S3P_OK, pages = 0;

  if(strlen(prefix) > 1024 || strspn(prefix, "abcdefghijklmnopqrstuvwxyz"
       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") != strlen(prefix)){
    *errmsg = s3p_store_msg("%s: LIST %s: invalid prefix", st->desc, prefix);
    return S3P_EINVAL;
  }
  full = s->conf.prefix[0] ? s3p_store_msg("%s/%s", s->conf.prefix, prefix)
                           : strdup(prefix);
  if(full == NULL) return S3P_ENOMEM;
  memset(&lc, 0, sizeof(lc));
  lc.full = full;
  lc.strip = s->conf.prefix[0] ? strlen(s->conf.prefix) + 1 : 0;
  lc.fn = fn;
  lc.arg = arg;
  do{
    s3p_sigv4_param q[4];
    size_t nq = 0;
    char maxkeys[16];
    s3p_op op;
    s3_job job;
    char *next = NULL;

    snprintf(maxkeys, sizeof(maxkeys), "%d", s->conf.list_keys);
    q[nq].name = "list-type"; q[nq++].value = "2";
    q[nq].name = "max-keys"; q[nq++].value = maxkeys;
    if(full[0]){ q[nq].name = "prefix"; q[nq++].value = full; }
    if(token){ q[nq].name = "continuation-token"; q[nq++].value = token; }
    free(query);
    query = s3p_sigv4_query(q, nq);
    if(query == NULL){ rc = S3P_ENOMEM; break; }
    if(pages++ > 0){
      st->stats.n_list++;
      st->stats.round_trips++;
    }
    memset(&op, 0, sizeof(op));
    memset(&job, 0, sizeof(job));
    op.kind = S3P_OP_GET;
    op.key = prefix;
    job.op = &op;
    job.kind = S3_KIND_LIST;
    job.query = query;
    rc = s3_run(s, &job, 1);
    if(rc == S3P_OK) rc = op.rc;
    if(rc != S3P_OK){
      *errmsg = op.errmsg;
      op.errmsg = NULL;
      s3p_op_reset(&op);
      break;
    }
    const char *why = NULL;
    rc = s3p_xml_list_page(&lc, (const char *)op.data, op.len, &next, &why);
    if(rc == S3P_EIO){
      *errmsg = s3p_store_msg("%s: LIST %s: %s", s->base.desc, lc.full, why);
    }
    s3p_op_reset(&op);
    free(token);
    token = next;
    if(token && pages > 100000){
      *errmsg = s3p_store_msg("%s: LIST %s: more than 100000 pages", st->desc, full);
      rc = S3P_EIO;
    }
  }while(rc == S3P_OK && token != NULL && !lc.stopped);
  free(token);
  free(query);
  free(full);
  return rc;
}

/* s3_close releases the handle: easy handles, the multi handle, the
** configuration (wiping secrets). */
static void s3_close(s3p_store *st){
  s3_store *s = (s3_store *)st;
  size_t i;
  assert(s->n_idle == s->n_conn);
  for(i = 0; i < s->n_idle; i++) s3_conn_free(s->idle[i]);
  free(s->idle);
  if(s->multi) curl_multi_cleanup(s->multi);
  s3p_s3conf_free(&s->conf);
  free(st->desc);
  free(s);
}

static const s3p_store_vtab s3_vtab = {
  "s3",
  s3_exec,
  s3_list,
  s3_close,
};

/* s3p_store_s3_open opens "s3://BUCKET/PREFIX" with opts and the AWS
** environment (s3conf.h). Makes no request: the store is first contacted
** by the first batch. Returns S3P_OK and *out, or an error with *errmsg
** set (if errmsg is not NULL). */
int s3p_store_s3_open(s3p_store **out, const char *url,
                      const s3p_store_opts *opts, char **errmsg){
  s3_store *s;
  char *msg = NULL;
  uint64_t seed = 0;
  int rc;

  *out = NULL;
  pthread_once(&s3_once, s3_global_init);
  if(s3_global_rc != CURLE_OK){
    if(errmsg) *errmsg = s3p_store_msg("%s: curl_global_init failed: %s", url,
                                curl_easy_strerror(s3_global_rc));
    return S3P_EIO;
  }
  s = calloc(1, sizeof(*s));
  if(s == NULL) return S3P_ENOMEM;
  rc = s3p_s3conf_load(&s->conf, url, opts, &msg);
  if(rc != S3P_OK){
    free(s);
    if(errmsg) *errmsg = msg; else free(msg);
    return rc;
  }
  s->base.vt = &s3_vtab;
  s->readonly = opts ? opts->readonly : 0;
  s->base.desc = s->conf.prefix[0]
      ? s3p_store_msg("s3://%s/%s", s->conf.bucket, s->conf.prefix)
      : s3p_store_msg("s3://%s", s->conf.bucket);
  s->idle = calloc((size_t)s->conf.concurrency, sizeof(*s->idle));
  s->multi = curl_multi_init();
  if(s->base.desc == NULL || s->idle == NULL || s->multi == NULL){
    s3_close(&s->base);
    if(errmsg) *errmsg = s3p_store_msg("%s: out of memory", url);
    return S3P_ENOMEM;
  }
  curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    (long)s->conf.concurrency);
  curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->conf.concurrency);
  if(getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)){
    seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32)
         ^ (uint64_t)(uintptr_t)s;
  }
  s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
  *out = &s->base;
  return S3P_OK;
}
