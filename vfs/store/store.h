/*
** store.h: the object-store interface, in the spirit of libgit2's
** git_odb_backend: a small vtable with one backend per file.
**
**   dir.c    a local directory (the embedded default)
**   mem.c    process memory (tests)
**   fault.c  a wrapper that injects failures and crashes (tests)
**   s3.c     S3 and S3-compatible stores
**
** Every request goes through s3p_store_exec as a batch: the backend runs the
** operations of one batch concurrently where it can and returns when all are
** done, so one batch costs one round trip however many operations it holds.
** s3p_store_exec counts requests, bytes and round trips in st->stats, which
** is what PRAGMA s3page_stats reports and what tests hold budgets against.
**
** A backend knows nothing of the format: keys are opaque strings made of
** [A-Za-z0-9._-] and '/' separators, never empty, never starting with '/',
** never containing an empty, "." or ".." component. Backends reject other
** keys with S3P_EINVAL.
*/
#ifndef S3P_STORE_H
#define S3P_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "../../index/err.h"

typedef struct s3p_store s3p_store;

/* Operation kinds. */
#define S3P_OP_GET     1  /* read an object (or a byte range of it) */
#define S3P_OP_PUT     2  /* write an object, replacing any old one */
#define S3P_OP_PUT_NEW 3  /* create-if-absent: S3P_EEXISTS if already there */
#define S3P_OP_HEAD    4  /* does it exist, and how big is it */
#define S3P_OP_DELETE  5  /* remove; removing an absent object is S3P_OK */

typedef struct s3p_op {
  /* Inputs. */
  int kind;                     /* S3P_OP_* */
  const char *key;              /* object key, see the rules above */
  const unsigned char *body;    /* PUT/PUT_NEW payload (not copied) */
  size_t body_len;              /* PUT/PUT_NEW payload length */
  uint64_t range_off;           /* GET: first byte wanted */
  uint64_t range_len;           /* GET: bytes wanted, 0 = to the end */
  uint64_t max_len;             /* GET: most bytes it may return, 0 = the
                                ** store's limit for the key (see
                                ** s3p_max_len_fn); s3p_store_exec fills it
                                ** in. More is S3P_ECORRUPT, not read. */
  /* Outputs, set by the backend. */
  int rc;                       /* S3P_OK, S3P_ENOTFOUND, S3P_EEXISTS, ... */
  unsigned char *data;          /* GET: malloc'd bytes (caller frees) */
  size_t len;                   /* GET: bytes in data; HEAD: object size */
  char *errmsg;                 /* malloc'd detail when rc is an error
                                ** other than ENOTFOUND/EEXISTS: names the
                                ** key and the cause, never credentials */
} s3p_op;

/* Counters of one store handle. Read them, never write them. */
typedef struct s3p_store_stats {
  uint64_t n_get;               /* GET requests (and backend reads) */
  uint64_t n_put;               /* PUT and PUT_NEW requests */
  uint64_t n_put_new;           /* of which PUT_NEW (conditional) */
  uint64_t n_head;              /* HEAD requests */
  uint64_t n_delete;            /* DELETE requests (objects) */
  uint64_t n_list;              /* LIST requests (pages of a listing) */
  uint64_t n_retry;             /* retried attempts (backends add these) */
  uint64_t n_error;             /* operations that ended in an error */
  uint64_t bytes_in;            /* payload bytes received */
  uint64_t bytes_out;           /* payload bytes sent */
  uint64_t round_trips;         /* batches run: sequential waits */
} s3p_store_stats;

/* The largest object key may hold (the format's limit for its kind), or 0
** for "no particular limit" (S3P_STORE_GET_MAX then applies). */
typedef uint64_t (*s3p_max_len_fn)(const char *key);

/* Default and ceiling of a GET's size limit: 1.5 GiB, above the largest
** object the format has (a commit record of 2^26 changes, 1.25 GiB), far
** below what would exhaust memory by accident. */
#define S3P_STORE_GET_MAX ((uint64_t)3 << 29)

/* Called once per key by list; a non-zero return stops the listing. */
typedef int (*s3p_list_fn)(void *arg, const char *key, uint64_t size,
                           int64_t mtime_unix);

typedef struct s3p_store_vtab {
  const char *scheme;           /* "dir", "mem", "fault", "s3" */
  /* exec runs ops[0..n) (concurrently if it can) and sets every op's
  ** outputs. Returns S3P_OK once every op has an rc, or an error if the
  ** batch could not be attempted at all. */
  int (*exec)(s3p_store *st, s3p_op *ops, size_t n);
  /* list calls fn for every key starting with prefix, in no set order.
  ** Only gc and verify list; no hot path does. On error sets *errmsg. */
  int (*list)(s3p_store *st, const char *prefix, s3p_list_fn fn, void *arg,
              char **errmsg);
  /* close releases the store and everything it owns. */
  void (*close)(s3p_store *st);
} s3p_store_vtab;

struct s3p_store {
  const s3p_store_vtab *vt;     /* backend methods */
  char *desc;                   /* malloc'd, for messages: "dir:/abs/db",
                                ** "s3://bucket/prefix", never secrets */
  s3p_store_stats stats;        /* counters, updated by s3p_store_exec */
  int attempts;                 /* tries of an idempotent op failing with
                                ** S3P_EIO, by s3p_store_exec; set by
                                ** s3p_store_open (0 or 1: no retry) */
  unsigned retry_max_ms;        /* longest pause before such a retry, in
                                ** ms; 0 = the default (10 ms plus up to
                                ** 40 << attempt); fault.c's retry_ms= */
  s3p_max_len_fn max_len;       /* size limit of a GET whose op has none;
                                ** NULL = S3P_STORE_GET_MAX for every key */
};

/* Options for s3p_store_open. Zero-initialize, then set what you need. */
typedef struct s3p_store_opts {
  int create;                   /* dir: create the root if it is missing */
  int readonly;                 /* refuse PUT/DELETE with S3P_EINVAL */
  const char *fault;            /* fault spec (fault.c) or NULL */
  const char *endpoint;         /* s3: endpoint URL, NULL = environment */
  const char *region;           /* s3: region, NULL = environment */
  int concurrency;              /* s3: parallel requests, 0 = default */
  s3p_max_len_fn max_len;       /* largest object per key (GETs of bigger
                                ** ones fail with S3P_ECORRUPT), NULL =
                                ** S3P_STORE_GET_MAX for every key */
} s3p_store_opts;

/* s3p_store_open opens the store for a database name: "s3://BUCKET/PREFIX"
** for S3, "mem:NAME" for the in-memory store, anything else a directory
** path. Wraps it in the fault injector when opts->fault is set. On error
** returns an S3P_E* code and sets *errmsg (malloc'd). */
int s3p_store_open(s3p_store **out, const char *name,
                   const s3p_store_opts *opts, char **errmsg);

/* s3p_store_exec runs a batch (see above), counting it in st->stats, and
** retries ops that failed with S3P_EIO (except PUT_NEW) up to
** st->attempts times in all: each retry is one more round trip, and counts
** in stats.n_retry. */
int s3p_store_exec(s3p_store *st, s3p_op *ops, size_t n);

/* s3p_store_get is a one-op batch: GET key into a malloc'd *data. Returns
** the op's rc; on errors other than ENOTFOUND sets *errmsg. */
int s3p_store_get(s3p_store *st, const char *key, unsigned char **data,
                  size_t *len, char **errmsg);

/* s3p_store_put is a one-op batch of kind S3P_OP_PUT or S3P_OP_PUT_NEW. */
int s3p_store_put(s3p_store *st, int kind, const char *key,
                  const unsigned char *body, size_t len, char **errmsg);

/* s3p_store_list lists keys under prefix, counting the request. */
int s3p_store_list(s3p_store *st, const char *prefix, s3p_list_fn fn,
                   void *arg, char **errmsg);

/* s3p_store_close closes st (NULL is fine). */
void s3p_store_close(s3p_store *st);

/* s3p_op_reset frees an op's outputs and clears them for reuse. */
void s3p_op_reset(s3p_op *op);

/* Longest key, in bytes. */
#define S3P_STORE_KEY_MAX 1024

/* s3p_store_msg returns a malloc'd printf-formatted message (for op
** errmsg and the errmsg out-parameters), or NULL when out of memory. */
char *s3p_store_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* s3p_op_too_big fails the GET op as S3P_ECORRUPT because the object (or
** the range asked for) has size bytes, more than its limit op->max_len;
** size 0 means "unknown, but more". The message names desc/key, the size
** and the limit. Backends call it before reading the body. */
void s3p_op_too_big(s3p_op *op, const char *desc, uint64_t size);

/* s3p_wipe overwrites p[0..n) with zeros in a way the compiler may not
** optimize away (OPENSSL_cleanse): for secrets before they are freed.
** NULL is fine (wipe.c). */
void s3p_wipe(void *p, size_t n);

/* s3p_wipe_str wipes the whole NUL-terminated string s and frees it
** (NULL is fine). For secrets that are C strings. */
void s3p_wipe_str(char *s);

/* s3p_wipe_observe, if a program defines it (a weak symbol: tests do, the
** library never does), is called by s3p_wipe after each wipe with the
** wiped range, so a test can check what was wiped and how much. */
void s3p_wipe_observe(const void *p, size_t n) __attribute__((weak));

/* s3p_key_ok returns 1 if key follows the rules above (key.c). */
int s3p_key_ok(const char *key);

/* Backend constructors (used by s3p_store_open and by tests). */
int s3p_store_dir_open(s3p_store **out, const char *path,
                       const s3p_store_opts *opts, char **errmsg);
int s3p_store_mem_open(s3p_store **out, const char *name,
                       const s3p_store_opts *opts, char **errmsg);
/* Takes ownership of inner (closed with the wrapper). */
int s3p_store_fault_open(s3p_store **out, s3p_store *inner, const char *spec,
                         char **errmsg);
int s3p_store_s3_open(s3p_store **out, const char *url,
                      const s3p_store_opts *opts, char **errmsg);

#endif
