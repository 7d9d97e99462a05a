/*
** fault.c: a store wrapper that injects failures and crashes, for tests.
**
** It owns an inner store and passes batches through, except for the
** operations the spec picks. The spec is a comma-separated list of
** KEY=VALUE settings, each at most once in effect (a later one wins):
**
**   spec     := "" | setting ("," setting)*
**   setting  := "seed=" N        PRNG seed (default 1)
**             | "fail=" N        the Nth subject operation fails (N >= 1)
**             | "rate=" F        each subject operation fails with
**                                probability F
**             | "lost=" F        with probability F a subject operation is
**                                performed on the inner store but reported
**                                as S3P_EIO (a reply lost after the server
**                                applied the request)
**             | "crash=" N       once subject operation N is done, the
**                                process kills itself with SIGKILL
**             | "kinds=" LETTERS which operation kinds are subject:
**                                g=GET p=PUT n=PUT_NEW h=HEAD d=DELETE,
**                                l=LIST (default "gpnhd": LIST is subject
**                                only when asked for)
**             | "delay_ms=" N    sleep N ms before each batch and list
**             | "retry_ms=" N    the retries s3p_store_exec makes of this
**                                store's failed ops pause at most N ms
**                                (N >= 1; default: 10 ms plus up to
**                                40 << attempt ms), so that a test
**                                injecting thousands of faults does not
**                                spend its time waiting
**   N        := decimal integer; F := decimal fraction in [0, 1]
**
** Subject operations are numbered from 1 in the order they arrive: batch
** order within a batch, one number per LIST call. Operations that are not
** subject pass through untouched and are not numbered. A failed operation
** ("fail", "rate") never reaches the inner store and ends with S3P_EIO and
** a message saying "injected fault". "lost" and "crash" apply only to
** GET/PUT/PUT_NEW/HEAD/DELETE.
**
** For "crash=N" the batch holding operation N is cut after it: the
** operations up to N run on the inner store as one batch, then the process
** dies (kill -9) before the rest is attempted or any result is returned.
** If operation N was itself failed by injection, the process still dies
** right after it.
**
** Randomness comes from a xorshift64* generator in the handle (no global
** state): for each subject operation one number is drawn when rate > 0 and
** then one when lost > 0, so a given seed and sequence of operations
** always gives the same faults.
*/
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store.h"

/* Bits of fault_store.kinds. */
#define FAULT_K_GET     0x01
#define FAULT_K_PUT     0x02
#define FAULT_K_PUT_NEW 0x04
#define FAULT_K_HEAD    0x08
#define FAULT_K_DELETE  0x10
#define FAULT_K_LIST    0x20
#define FAULT_K_DEFAULT 0x1f

/* What happens to one operation. */
#define FAULT_PASS 0    /* performed, real result */
#define FAULT_FAIL 1    /* not performed, S3P_EIO */
#define FAULT_LOST 2    /* performed, reported as S3P_EIO */

typedef struct fault_store {
  s3p_store base;               /* must be first */
  s3p_store *inner;             /* wrapped store, owned */
  uint64_t rng;                 /* xorshift64* state, never 0 */
  uint64_t fail_at;             /* fail=, 0 = off */
  double rate;                  /* rate= */
  double lost;                  /* lost= */
  uint64_t crash_at;            /* crash=, 0 = off */
  unsigned kinds;               /* FAULT_K_* mask of subject kinds */
  unsigned delay_ms;            /* delay_ms= */
  uint64_t n_ops;               /* subject operations numbered so far */
} fault_store;

/* fault_seed returns a non-zero generator state mixed from seed
** (splitmix64, so nearby seeds give unrelated streams). */
static uint64_t fault_seed(uint64_t seed){
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return z ? z : 0x9E3779B97F4A7C15ULL;
}

/* fault_rand returns a uniform double in [0, 1) from the handle's
** generator (xorshift64*). */
static double fault_rand(fault_store *fs){
  uint64_t x = fs->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  fs->rng = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* fault_kind_bit returns the FAULT_K_* bit of an operation kind. */
static unsigned fault_kind_bit(int kind){
  switch(kind){
    case S3P_OP_GET: return FAULT_K_GET;
    case S3P_OP_PUT: return FAULT_K_PUT;
    case S3P_OP_PUT_NEW: return FAULT_K_PUT_NEW;
    case S3P_OP_HEAD: return FAULT_K_HEAD;
    case S3P_OP_DELETE: return FAULT_K_DELETE;
    default: return 0;
  }
}

/* fault_parse_u64 parses a whole decimal string into *v. Returns 1 if the
** string is a valid unsigned integer, 0 otherwise. */
static int fault_parse_u64(const char *s, uint64_t *v){
  char *end;
  unsigned long long x;
  if(*s < '0' || *s > '9') return 0;
  errno = 0;
  x = strtoull(s, &end, 10);
  if(errno || *end) return 0;
  *v = x;
  return 1;
}

/* fault_parse_prob parses a whole decimal fraction in [0, 1] into *v.
** Returns 1 on success, 0 otherwise. */
static int fault_parse_prob(const char *s, double *v){
  char *end;
  double x;
  if((*s < '0' || *s > '9') && *s != '.') return 0;
  errno = 0;
  x = strtod(s, &end);
  if(errno || *end || !(x >= 0.0 && x <= 1.0)) return 0;
  *v = x;
  return 1;
}

/* fault_parse applies spec to fs. Returns S3P_OK, or S3P_EINVAL with
** *errmsg naming the bad setting, or S3P_ENOMEM. */
static int fault_parse(fault_store *fs, const char *spec, char **errmsg){
  char *copy = strdup(spec), *save = NULL, *tok;
  uint64_t seed = 1;
  int rc = S3P_OK;

  if(copy == NULL){
    *errmsg = s3p_store_msg("fault: out of memory");
    return S3P_ENOMEM;
  }
  fs->kinds = FAULT_K_DEFAULT;
  for(tok = strtok_r(copy, ",", &save); tok && rc == S3P_OK;
      tok = strtok_r(NULL, ",", &save)){
    char *eq = strchr(tok, '=');
    const char *val;
    uint64_t u = 0;
    int ok = 0;
    if(eq == NULL){
      *errmsg = s3p_store_msg("fault spec: '%s' is not KEY=VALUE", tok);
      rc = S3P_EINVAL;
      break;
    }
    *eq = 0;
    val = eq + 1;
    if(strcmp(tok, "seed") == 0){
      ok = fault_parse_u64(val, &seed);
    }else if(strcmp(tok, "fail") == 0){
      ok = fault_parse_u64(val, &fs->fail_at) && fs->fail_at > 0;
    }else if(strcmp(tok, "crash") == 0){
      ok = fault_parse_u64(val, &fs->crash_at) && fs->crash_at > 0;
    }else if(strcmp(tok, "rate") == 0){
      ok = fault_parse_prob(val, &fs->rate);
    }else if(strcmp(tok, "lost") == 0){
      ok = fault_parse_prob(val, &fs->lost);
    }else if(strcmp(tok, "delay_ms") == 0){
      ok = fault_parse_u64(val, &u) && u <= 3600000;
      fs->delay_ms = (unsigned)u;
    }else if(strcmp(tok, "retry_ms") == 0){
      ok = fault_parse_u64(val, &u) && u >= 1 && u <= 60000;
      fs->base.retry_max_ms = (unsigned)u;
    }else if(strcmp(tok, "kinds") == 0){
      const char *p;
      fs->kinds = 0;
      ok = val[0] != 0;
      for(p = val; *p && ok; p++){
        switch(*p){
          case 'g': fs->kinds |= FAULT_K_GET; break;
          case 'p': fs->kinds |= FAULT_K_PUT; break;
          case 'n': fs->kinds |= FAULT_K_PUT_NEW; break;
          case 'h': fs->kinds |= FAULT_K_HEAD; break;
          case 'd': fs->kinds |= FAULT_K_DELETE; break;
          case 'l': fs->kinds |= FAULT_K_LIST; break;
          default: ok = 0; break;
        }
      }
    }else{
      *errmsg = s3p_store_msg("fault spec: unknown key '%s'", tok);
      rc = S3P_EINVAL;
      break;
    }
    if(!ok){
      *errmsg = s3p_store_msg("fault spec: bad value for %s: '%s'", tok, val);
      rc = S3P_EINVAL;
    }
  }
  free(copy);
  fs->rng = fault_seed(seed);
  return rc;
}

/* fault_delay sleeps delay_ms milliseconds, if set. */
static void fault_delay(fault_store *fs){
  struct timespec ts;
  if(fs->delay_ms == 0) return;
  ts.tv_sec = fs->delay_ms / 1000;
  ts.tv_nsec = (long)(fs->delay_ms % 1000) * 1000000L;
  while(nanosleep(&ts, &ts) != 0 && errno == EINTR){}
}

/* fault_die kills the process the way kill -9 would. Never returns. */
static void fault_die(void){
  kill(getpid(), SIGKILL);
  for(;;) pause();
}

/* fault_inject sets op to an injected failure: S3P_EIO with a message
** naming the store, the key and the operation number. */
static void fault_inject(fault_store *fs, s3p_op *op, const char *how,
                         uint64_t num){
  op->rc = S3P_EIO;
  op->errmsg = s3p_store_msg("%s: %s: injected fault (%s, operation %llu)",
                         fs->base.desc, op->key, how,
                         (unsigned long long)num);
}

/* fault_exec decides each op's fate, runs the performed ones on the inner
** store as one batch (cut after the crash point, if it falls in this
** batch), then applies the injected results. Returns S3P_OK, or the inner
** batch error, or S3P_ENOMEM. */
static int fault_exec(s3p_store *st, s3p_op *ops, size_t n){
  fault_store *fs = (fault_store *)st;
  unsigned char *fate;
  uint64_t *num;
  s3p_op *sub = NULL;
  size_t *where = NULL;
  size_t i, m = 0, end = n;
  int crash = 0, rc = S3P_OK;
  uint64_t retry0;

  fault_delay(fs);
  fate = calloc(n, 1);
  num = calloc(n, sizeof(*num));
  if(fate == NULL || num == NULL){
    free(fate);
    free(num);
    return S3P_ENOMEM;
  }
  for(i = 0; i < n; i++){
    int f = FAULT_PASS;
    if(!(fs->kinds & fault_kind_bit(ops[i].kind))) continue;
    num[i] = ++fs->n_ops;
    if(num[i] == fs->fail_at) f = FAULT_FAIL;
    if(fs->rate > 0 && fault_rand(fs) < fs->rate) f = FAULT_FAIL;
    if(fs->lost > 0 && fault_rand(fs) < fs->lost && f == FAULT_PASS){
      f = FAULT_LOST;
    }
    fate[i] = (unsigned char)f;
    if(num[i] == fs->crash_at){
      crash = 1;
      end = i + 1;
      break;
    }
  }

  /* Run ops[0..end) that are not failed as one inner batch. */
  sub = calloc(end ? end : 1, sizeof(*sub));
  where = calloc(end ? end : 1, sizeof(*where));
  if(sub == NULL || where == NULL){
    rc = S3P_ENOMEM;
    goto done;
  }
  for(i = 0; i < end; i++){
    if(fate[i] == FAULT_FAIL) continue;
    sub[m] = ops[i];
    sub[m].rc = S3P_OK;
    sub[m].data = NULL;
    sub[m].errmsg = NULL;
    sub[m].len = 0;
    where[m++] = i;
  }
  retry0 = fs->inner->stats.n_retry;
  if(m > 0) rc = s3p_store_exec(fs->inner, sub, m);
  st->stats.n_retry += fs->inner->stats.n_retry - retry0;
  if(crash) fault_die();
  for(i = 0; i < m; i++) ops[where[i]] = sub[i];
  for(i = 0; i < n; i++){
    if(fate[i] == FAULT_FAIL){
      fault_inject(fs, &ops[i], "failed", num[i]);
    }else if(fate[i] == FAULT_LOST){
      s3p_op_reset(&ops[i]);
      fault_inject(fs, &ops[i], "reply lost", num[i]);
    }
  }

done:
  free(sub);
  free(where);
  free(fate);
  free(num);
  return rc;
}

/* fault_list passes a listing through, failing it when LIST is subject
** and its number is picked by fail= or rate=. Returns the result. */
static int fault_list(s3p_store *st, const char *prefix, s3p_list_fn fn,
                      void *arg, char **errmsg){
  fault_store *fs = (fault_store *)st;
  fault_delay(fs);
  if(fs->kinds & FAULT_K_LIST){
    uint64_t k = ++fs->n_ops;
    int fail = k == fs->fail_at;
    if(fs->rate > 0 && fault_rand(fs) < fs->rate) fail = 1;
    if(fail){
      *errmsg = s3p_store_msg("%s: list %s: injected fault (failed, operation "
                          "%llu)", st->desc, prefix, (unsigned long long)k);
      return S3P_EIO;
    }
  }
  return s3p_store_list(fs->inner, prefix, fn, arg, errmsg);
}

/* fault_close closes the inner store and frees the wrapper. */
static void fault_close(s3p_store *st){
  fault_store *fs = (fault_store *)st;
  s3p_store_close(fs->inner);
  free(st->desc);
  free(fs);
}

static const s3p_store_vtab fault_vtab = {
  "fault", fault_exec, fault_list, fault_close
};

/* s3p_store_fault_open wraps inner in a fault injector configured by spec
** (see the top comment). Takes ownership of inner in every case: on error
** inner is closed. Returns S3P_OK, S3P_EINVAL (bad spec, *errmsg names the
** setting) or S3P_ENOMEM. */
int s3p_store_fault_open(s3p_store **out, s3p_store *inner, const char *spec,
                         char **errmsg){
  fault_store *fs;
  char *msg = NULL;
  int rc;

  *out = NULL;
  assert(inner != NULL);
  fs = calloc(1, sizeof(*fs));
  if(fs == NULL || (fs->base.desc = s3p_store_msg("fault:%s", inner->desc))
                   == NULL){
    free(fs);
    s3p_store_close(inner);
    if(errmsg) *errmsg = s3p_store_msg("fault: out of memory");
    return S3P_ENOMEM;
  }
  fs->base.vt = &fault_vtab;
  fs->inner = inner;
  rc = fault_parse(fs, spec ? spec : "", &msg);
  if(rc != S3P_OK){
    fault_close(&fs->base);
    if(errmsg) *errmsg = msg; else free(msg);
    return rc;
  }
  *out = &fs->base;
  return S3P_OK;
}
