/*
** store.c: the generic half of the object-store layer.
**
** s3p_store_open picks a backend from the database name, s3p_store_exec
** validates a batch, hands it to the backend and counts it, and the small
** helpers (get, put, list, close) are one-op conveniences on top.
**
** Counting rules (st->stats):
**   - one request per operation sent to the backend, by kind;
**   - bytes_out is the body length of every PUT/PUT_NEW sent, bytes_in the
**     length of every successful GET's data;
**   - n_error counts operations that ended in an error other than
**     S3P_ENOTFOUND and S3P_EEXISTS (those are answers, not failures: the
**     read path probes for absent commit records on every transaction) and
**     also operations refused here for an invalid key;
**   - round_trips grows by one per batch that sent at least one operation,
**     and by one per list call;
**   - n_list grows by one per list call; backends that fetch a listing in
**     several pages add the pages beyond the first (and their round trips).
** Backends only add n_retry themselves.
*/
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "store.h"

/* Placeholder rc while a batch runs: an op still holding it afterwards was
** not given a result by the backend. */
#define STORE_RC_UNSET INT_MIN

/* Attempts at an op that fails with S3P_EIO (see store_run_retrying). */
#define STORE_ATTEMPTS 3

char *s3p_store_msg(const char *fmt, ...){
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if(vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return s;
}

/* s3p_op_reset frees an op's outputs (data, errmsg) and zeroes them, so the
** op can be put in another batch. The inputs are left alone. */
void s3p_op_reset(s3p_op *op){
  if(op == NULL) return;
  free(op->data);
  free(op->errmsg);
  op->data = NULL;
  op->errmsg = NULL;
  op->len = 0;
  op->rc = S3P_OK;
}

/* store_kind_ok returns 1 if kind is one of S3P_OP_*. */
static int store_kind_ok(int kind){
  return kind >= S3P_OP_GET && kind <= S3P_OP_DELETE;
}

/* store_op_check returns S3P_OK if op may be sent to a backend; otherwise
** sets op->rc and op->errmsg and returns S3P_EINVAL. */
static int store_op_check(s3p_store *st, s3p_op *op){
  const char *why = NULL;
  if(!store_kind_ok(op->kind)) why = "invalid operation kind";
  else if(!s3p_key_ok(op->key)) why = "invalid key";
  else if((op->kind == S3P_OP_PUT || op->kind == S3P_OP_PUT_NEW)
          && op->body == NULL && op->body_len > 0){
    why = "body is NULL";
  }
  if(why == NULL) return S3P_OK;
  op->rc = S3P_EINVAL;
  op->errmsg = s3p_store_msg("%s: %s: %s", st->desc ? st->desc : "store",
                         op->key ? op->key : "(null)", why);
  return S3P_EINVAL;
}

/* store_limit gives a GET op without a size limit the store's limit for
** its key, or S3P_STORE_GET_MAX. */
static void store_limit(s3p_store *st, s3p_op *op){
  if(op->max_len == 0 && st->max_len != NULL){
    op->max_len = st->max_len(op->key);
  }
  if(op->max_len == 0) op->max_len = S3P_STORE_GET_MAX;
}

/* s3p_op_too_big sets op's rc to S3P_ECORRUPT and its message: the object
** is bigger than its kind allows, so its bytes cannot be what was stored,
** and reading them could exhaust memory. */
void s3p_op_too_big(s3p_op *op, const char *desc, uint64_t size){
  free(op->errmsg);
  free(op->data);
  op->data = NULL;
  op->len = 0;
  if(size > 0){
    op->errmsg = s3p_store_msg("%s/%s: GET: object is %llu bytes, more than "
                               "the limit of %llu bytes for this object: "
                               "corrupt, not read", desc, op->key,
                               (unsigned long long)size,
                               (unsigned long long)op->max_len);
  }else{
    op->errmsg = s3p_store_msg("%s/%s: GET: object is more than the limit of "
                               "%llu bytes for this object: corrupt, not read",
                               desc, op->key, (unsigned long long)op->max_len);
  }
  op->rc = S3P_ECORRUPT;
}

/* store_count adds the finished ops[0..n) to st->stats. */
static void store_count(s3p_store *st, const s3p_op *ops, size_t n){
  size_t i;
  for(i = 0; i < n; i++){
    const s3p_op *op = &ops[i];
    switch(op->kind){
      case S3P_OP_GET:
        st->stats.n_get++;
        if(op->rc == S3P_OK) st->stats.bytes_in += op->len;
        break;
      case S3P_OP_PUT:
      case S3P_OP_PUT_NEW:
        st->stats.n_put++;
        if(op->kind == S3P_OP_PUT_NEW) st->stats.n_put_new++;
        st->stats.bytes_out += op->body_len;
        break;
      case S3P_OP_HEAD: st->stats.n_head++; break;
      case S3P_OP_DELETE: st->stats.n_delete++; break;
      default: break;
    }
    if(op->rc != S3P_OK && op->rc != S3P_ENOTFOUND && op->rc != S3P_EEXISTS){
      st->stats.n_error++;
    }
  }
}

/* store_run sends ops[0..n) (all valid, n > 0) to the backend, makes sure
** each op ends with an rc, and counts the batch. Returns the backend's
** batch-level result. */
static int store_run(s3p_store *st, s3p_op *ops, size_t n){
  size_t i;
  int rc;
  assert(n > 0);
  for(i = 0; i < n; i++) ops[i].rc = STORE_RC_UNSET;
  rc = st->vt->exec(st, ops, n);
  for(i = 0; i < n; i++){
    if(ops[i].rc == STORE_RC_UNSET){
      /* Only allowed when the whole batch could not be attempted. */
      assert(rc != S3P_OK);
      ops[i].rc = rc != S3P_OK ? rc : S3P_EIO;
      if(ops[i].errmsg == NULL){
        ops[i].errmsg = s3p_store_msg("%s: %s: batch failed: %s", st->desc,
                                  ops[i].key, s3p_errstr(ops[i].rc));
      }
    }
  }
  st->stats.round_trips++;
  store_count(st, ops, n);
  return rc;
}

/* store_retryable returns 1 for an op worth another attempt: an I/O
** failure of an idempotent operation. Create-if-absent is not retried here:
** after an ambiguous failure only the committer can tell whether the
** object it finds is its own (vfs/commit.c does). */
static int store_retryable(const s3p_op *op){
  return op->rc == S3P_EIO && op->kind != S3P_OP_PUT_NEW;
}

/* store_run_retrying runs the batch and then, up to st->attempts times in
** all (STORE_ATTEMPTS for stores from s3p_store_open, 1 for a backend
** opened directly, as unit tests do), re-runs the ops that failed retryably, after a short randomized
** pause (at most st->retry_max_ms when that is set). Backends such as S3 retry on their own; this layer catches what
** is left, including failures injected by the fault wrapper. Returns the
** first run's batch-level result. */
static int store_run_retrying(s3p_store *st, s3p_op *ops, size_t n){
  int rc = store_run(st, ops, n);
  if(rc != S3P_OK) return rc;
  unsigned seed = (unsigned)(uintptr_t)ops ^ (unsigned)time(NULL);
  for(int attempt = 1; attempt < st->attempts; attempt++){
    size_t m = 0;
    for(size_t i = 0; i < n; i++) m += store_retryable(&ops[i]);
    if(m == 0) break;
    s3p_op *again = calloc(m, sizeof *again);
    size_t *where = calloc(m, sizeof *where);
    if(!again || !where){ free(again); free(where); break; }
    for(size_t i = 0, k = 0; i < n; i++){
      if(!store_retryable(&ops[i])) continue;
      s3p_op_reset(&ops[i]);
      again[k] = ops[i];
      where[k++] = i;
    }
    unsigned pause = st->retry_max_ms
                     ? rand_r(&seed) % (st->retry_max_ms + 1)
                     : 10 + rand_r(&seed) % (40u << attempt);
    struct timespec ts = { (time_t)(pause / 1000),
                           (long)(pause % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    st->stats.n_retry += m;
    int rc2 = store_run(st, again, m);
    for(size_t k = 0; k < m; k++) ops[where[k]] = again[k];
    free(again);
    free(where);
    if(rc2 != S3P_OK) break;
  }
  return rc;
}

/* s3p_store_exec runs the batch ops[0..n): operations with an invalid key
** or kind get S3P_EINVAL here and never reach the backend; the others run
** as one backend batch. Every op ends with an rc. Ops must come in with
** cleared outputs (fresh or s3p_op_reset). Returns S3P_OK, or the batch
** error of the backend when it could not attempt the batch at all. */
int s3p_store_exec(s3p_store *st, s3p_op *ops, size_t n){
  size_t i, n_bad = 0;
  s3p_op *valid;
  size_t *where;
  size_t m;
  int rc;

  assert(st != NULL && st->vt != NULL);
  if(n == 0) return S3P_OK;
  assert(ops != NULL);
  for(i = 0; i < n; i++){
    assert(ops[i].data == NULL && ops[i].errmsg == NULL);
    ops[i].len = 0;
    ops[i].rc = S3P_OK;
    if(store_op_check(st, &ops[i]) != S3P_OK) n_bad++;
    else if(ops[i].kind == S3P_OP_GET) store_limit(st, &ops[i]);
  }
  if(n_bad == 0) return store_run_retrying(st, ops, n);

  /* Some ops are invalid: count them as errors and run the rest. */
  st->stats.n_error += n_bad;
  if(n_bad == n) return S3P_OK;
  valid = calloc(n - n_bad, sizeof(*valid));
  where = calloc(n - n_bad, sizeof(*where));
  if(valid == NULL || where == NULL){
    free(valid);
    free(where);
    for(i = 0; i < n; i++){
      if(ops[i].rc == S3P_OK){
        ops[i].rc = S3P_ENOMEM;
        st->stats.n_error++;
      }
    }
    return S3P_ENOMEM;
  }
  for(i = 0, m = 0; i < n; i++){
    if(ops[i].rc == S3P_EINVAL) continue;
    valid[m] = ops[i];
    where[m++] = i;
  }
  assert(m == n - n_bad);
  rc = store_run_retrying(st, valid, m);
  for(i = 0; i < m; i++) ops[where[i]] = valid[i];
  free(valid);
  free(where);
  return rc;
}

/* store_take_err moves op->errmsg into *errmsg (or frees it when errmsg is
** NULL), making up a message from rc if the backend gave none. */
static void store_take_err(s3p_store *st, s3p_op *op, char **errmsg){
  if(errmsg){
    if(op->errmsg == NULL){
      op->errmsg = s3p_store_msg("%s: %s: %s", st->desc, op->key,
                             s3p_errstr(op->rc));
    }
    *errmsg = op->errmsg;
  }else{
    free(op->errmsg);
  }
  op->errmsg = NULL;
}

/* s3p_store_get GETs the whole object at key into a malloc'd *data of
** *len bytes. Returns the op's rc; on errors other than ENOTFOUND sets
** *errmsg (if errmsg is not NULL). On error *data is NULL and *len 0. */
int s3p_store_get(s3p_store *st, const char *key, unsigned char **data,
                  size_t *len, char **errmsg){
  s3p_op op;
  int rc;
  memset(&op, 0, sizeof(op));
  op.kind = S3P_OP_GET;
  op.key = key;
  *data = NULL;
  *len = 0;
  s3p_store_exec(st, &op, 1);
  if(op.rc == S3P_OK){
    *data = op.data;
    *len = op.len;
    op.data = NULL;
  }else if(op.rc != S3P_ENOTFOUND){
    store_take_err(st, &op, errmsg);
  }
  rc = op.rc;
  s3p_op_reset(&op);
  return rc;
}

/* s3p_store_put runs one PUT or PUT_NEW of body[0..len) at key. Returns
** the op's rc; on errors other than EEXISTS sets *errmsg (if not NULL). */
int s3p_store_put(s3p_store *st, int kind, const char *key,
                  const unsigned char *body, size_t len, char **errmsg){
  s3p_op op;
  int rc;
  memset(&op, 0, sizeof(op));
  op.kind = kind;
  op.key = key;
  op.body = body;
  op.body_len = len;
  if(kind != S3P_OP_PUT && kind != S3P_OP_PUT_NEW){
    if(errmsg) *errmsg = s3p_store_msg("%s: %s: not a put", st->desc, key);
    return S3P_EINVAL;
  }
  s3p_store_exec(st, &op, 1);
  rc = op.rc;
  if(rc != S3P_OK && rc != S3P_EEXISTS) store_take_err(st, &op, errmsg);
  s3p_op_reset(&op);
  return rc;
}

/* s3p_store_list calls fn for every key starting with prefix (which may be
** "" for all keys, and need not end at a '/'). Counts one LIST and one
** round trip. Returns S3P_OK (also when fn stopped the listing) or an
** error with *errmsg set (if errmsg is not NULL). */
int s3p_store_list(s3p_store *st, const char *prefix, s3p_list_fn fn,
                   void *arg, char **errmsg){
  char *msg = NULL;
  int rc;
  assert(st != NULL && fn != NULL);
  if(prefix == NULL) prefix = "";
  st->stats.n_list++;
  st->stats.round_trips++;
  rc = st->vt->list(st, prefix, fn, arg, &msg);
  if(rc != S3P_OK){
    st->stats.n_error++;
    if(msg == NULL) msg = s3p_store_msg("%s: list %s: %s", st->desc, prefix,
                                    s3p_errstr(rc));
    if(errmsg) *errmsg = msg; else free(msg);
  }else{
    free(msg);
  }
  return rc;
}

/* s3p_store_close closes st and frees everything it owns; NULL is fine. */
void s3p_store_close(s3p_store *st){
  if(st == NULL) return;
  st->vt->close(st);
}

/* s3p_store_open opens the store named by name: "s3://BUCKET/PREFIX" is S3,
** "mem:NAME" the in-memory store NAME, anything else a directory path.
** With opts->fault set, the store is wrapped in the fault injector. opts
** may be NULL for defaults. Returns S3P_OK and sets *out, or an error with
** *errmsg set (if errmsg is not NULL) and *out NULL. */
int s3p_store_open(s3p_store **out, const char *name,
                   const s3p_store_opts *opts, char **errmsg){
  s3p_store_opts zero;
  s3p_store *st = NULL;
  char *msg = NULL;
  int rc;

  *out = NULL;
  if(opts == NULL){
    memset(&zero, 0, sizeof(zero));
    opts = &zero;
  }
  if(name == NULL || name[0] == 0){
    rc = S3P_EINVAL;
    msg = s3p_store_msg("store name is empty");
  }else if(strncmp(name, "s3://", 5) == 0){
    rc = s3p_store_s3_open(&st, name, opts, &msg);
  }else if(strncmp(name, "mem:", 4) == 0){
    rc = s3p_store_mem_open(&st, name + 4, opts, &msg);
  }else{
    rc = s3p_store_dir_open(&st, name, opts, &msg);
  }
  if(rc == S3P_OK && opts->fault != NULL){
    s3p_store *inner = st;
    st = NULL;
    rc = s3p_store_fault_open(&st, inner, opts->fault, &msg);
  }
  if(rc != S3P_OK){
    assert(st == NULL);
    if(msg == NULL) msg = s3p_store_msg("%s: %s", name ? name : "(null)",
                                    s3p_errstr(rc));
    if(errmsg) *errmsg = msg; else free(msg);
    return rc;
  }
  free(msg);
  /* The S3 backend retries with backoff itself; more attempts on top would
  ** only multiply its bounded ones. Other stores (and the fault wrapper,
  ** even over S3) get this layer's few retries. */
  st->attempts = strcmp(st->vt->scheme, "s3") == 0 ? 1 : STORE_ATTEMPTS;
  st->max_len = opts->max_len;
  *out = st;
  return S3P_OK;
}
