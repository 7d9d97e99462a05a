/*
** options.c: URI parameters and environment defaults of an open database.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "options.h"
#include "../index/err.h"

/* opt_param returns URI parameter key of zName, else the environment
** variable env (may be NULL), else NULL. */
static const char *opt_param(const char *zName, const char *key,
                             const char *env){
  const char *v = zName ? sqlite3_uri_parameter(zName, key) : NULL;
  if(v) return v;
  return env ? getenv(env) : NULL;
}

/* opt_uint parses a decimal in [lo, hi] into *out. Returns S3P_OK or
** S3P_EINVAL with *errmsg set. */
static int opt_uint(uint64_t *out, const char *s, uint64_t lo, uint64_t hi,
                    const char *what, char **errmsg){
  char *end;
  errno = 0;
  if(!s || !*s || *s == '-') goto bad;
  unsigned long long v = strtoull(s, &end, 10);
  if(errno || *end || v < lo || v > hi) goto bad;
  *out = v;
  return S3P_OK;
bad:
  *errmsg = sqlite3_mprintf("s3page: bad value for option %s: '%s' (want an "
                            "integer from %llu to %llu)", what, s ? s : "",
                            (unsigned long long)lo, (unsigned long long)hi);
  return S3P_EINVAL;
}

/* opt_strdup copies s (or returns NULL for NULL). */
static char *opt_strdup(const char *s){
  return s ? strdup(s) : NULL;
}

/* opt_faults_allowed returns 1 if the environment opts in to fault
** injection (S3PAGE_ALLOW_FAULTS=1, as the test suite sets it). */
static int opt_faults_allowed(void){
  const char *v = getenv("S3PAGE_ALLOW_FAULTS");
  return v != NULL && strcmp(v, "1") == 0;
}

int s3p_options_parse(s3p_options *o, const char *zName, char **errmsg){
  memset(o, 0, sizeof *o);
  *errmsg = NULL;
  uint64_t v;
  const char *s;
  if((s = opt_param(zName, "version", NULL))){
    if(opt_uint(&v, s, 1, UINT64_MAX / 2, "version", errmsg)) return S3P_EINVAL;
    o->version = v;
    o->readonly = 1;
  }
  if((s = opt_param(zName, "asof", NULL))){
    if(o->version){
      *errmsg = sqlite3_mprintf("s3page: give version= or asof=, not both");
      return S3P_EINVAL;
    }
    if(s3p_time_parse(&o->asof_ms, s)){
      *errmsg = sqlite3_mprintf("s3page: bad value for option asof: '%s' "
                                "(want ISO-8601 UTC like 2026-11-22T10:00:00Z "
                                "or Unix seconds)", s);
      return S3P_EINVAL;
    }
    o->has_asof = 1;
    o->readonly = 1;
  }
  v = 0;
  if((s = opt_param(zName, "staleness", "S3PAGE_STALENESS_MS")) &&
     opt_uint(&v, s, 0, 86400000, "staleness", errmsg)) return S3P_EINVAL;
  o->staleness_ms = (uint32_t)v;
  v = 1;
  if((s = opt_param(zName, "rebase", "S3PAGE_REBASE")) &&
     opt_uint(&v, s, 0, 1, "rebase", errmsg)) return S3P_EINVAL;
  o->no_rebase = v == 0;
  v = 32;
  if((s = opt_param(zName, "checkpoint", "S3PAGE_CHECKPOINT_INTERVAL")) &&
     opt_uint(&v, s, 1, 100000, "checkpoint", errmsg)) return S3P_EINVAL;
  o->ckpt_interval = (uint32_t)v;
  v = 64;
  if((s = opt_param(zName, "cache_mb", "S3PAGE_CACHE_MB")) &&
     opt_uint(&v, s, 1, 1 << 20, "cache_mb", errmsg)) return S3P_EINVAL;
  o->cache_bytes = (size_t)v << 20;
  v = 64;
  if((s = opt_param(zName, "txbuf_mb", "S3PAGE_TXBUF_MB")) &&
     opt_uint(&v, s, 1, 1 << 20, "txbuf_mb", errmsg)) return S3P_EINVAL;
  o->txbuf_bytes = (size_t)v << 20;
  v = 0;
  if((s = opt_param(zName, "concurrency", "S3PAGE_CONCURRENCY")) &&
     opt_uint(&v, s, 1, 1024, "concurrency", errmsg)) return S3P_EINVAL;
  o->concurrency = (int)v;
  v = 1024;
  if((s = opt_param(zName, "cache_max_mb", "S3PAGE_CACHE_MAX_MB")) &&
     opt_uint(&v, s, 1, 1 << 24, "cache_max_mb", errmsg)) return S3P_EINVAL;
  o->cache_max_bytes = v << 20;
  s = opt_param(zName, "cache_dir", "S3PAGE_CACHE_DIR");
  o->cache_dir = s && *s ? strdup(s) : NULL;
  s = opt_param(zName, "fault", "S3PAGE_FAULT");
  if(s && *s && !opt_faults_allowed()){
    /* A URI is not always the program's own: it must not be able to make
    ** the store fail or kill the process unless tests asked for that. */
    *errmsg = sqlite3_mprintf("s3page: fault injection (option fault= or "
                              "S3PAGE_FAULT) is for tests and is refused: "
                              "set S3PAGE_ALLOW_FAULTS=1 to allow it");
    s3p_options_free(o);      /* cache_dir is already set */
    return S3P_EINVAL;
  }
  o->fault = opt_strdup(s);
  s = opt_param(zName, "lock_dir", "S3PAGE_LOCK_DIR");
  o->lock_dir = s && *s ? strdup(s) : NULL;
  s = opt_param(zName, "prefetch", "S3PAGE_PREFETCH");
  if(s && *s && strcmp(s, "all") && strcmp(s, "auto")){
    *errmsg = sqlite3_mprintf("s3page: bad value for option prefetch: '%s' "
                              "(want all or auto)", s);
    s3p_options_free(o);
    return S3P_EINVAL;
  }
  o->prefetch_all = s && !strcmp(s, "all");
  o->endpoint = opt_strdup(opt_param(zName, "endpoint", NULL));
  o->region = opt_strdup(opt_param(zName, "region", NULL));
  return S3P_OK;
}

/* opt_dup_str copies s into *out (NULL stays NULL). Returns 0, or -1 when
** out of memory. */
static int opt_dup_str(char **out, const char *s){
  *out = s ? strdup(s) : NULL;
  return s && !*out ? -1 : 0;
}

int s3p_options_dup(s3p_options *out, const s3p_options *in){
  *out = *in;
  int bad = opt_dup_str(&out->cache_dir, in->cache_dir);
  bad |= opt_dup_str(&out->fault, in->fault);
  bad |= opt_dup_str(&out->lock_dir, in->lock_dir);
  bad |= opt_dup_str(&out->endpoint, in->endpoint);
  bad |= opt_dup_str(&out->region, in->region);
  if(bad){
    s3p_options_free(out);
    return S3P_ENOMEM;
  }
  return S3P_OK;
}

void s3p_options_free(s3p_options *o){
  free(o->fault);
  free(o->lock_dir);
  free(o->cache_dir);
  free(o->endpoint);
  free(o->region);
  memset(o, 0, sizeof *o);
}

/* time_digits parses exactly n digits at *p into *out, advancing *p.
** Returns 0 on success. */
static int time_digits(const char **p, int n, int *out){
  int v = 0;
  for(int i = 0; i < n; i++){
    if((*p)[i] < '0' || (*p)[i] > '9') return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int s3p_time_parse(int64_t *ms, const char *s){
  if(!s || !*s) return S3P_EINVAL;
  /* Unix seconds: digits with an optional fraction. */
  const char *p = s;
  while(*p >= '0' && *p <= '9') p++;
  if(p != s && (p - s) != 4 && (*p == 0 || *p == '.')){
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if(errno || *end || d < 0 || d > 1e13) return S3P_EINVAL;
    *ms = (int64_t)(d * 1000.0 + 0.5);
    return S3P_OK;
  }
  int Y, M, D, h = 0, m = 0, sec = 0, frac = 0;
  p = s;
  if(time_digits(&p, 4, &Y) || *p++ != '-' || time_digits(&p, 2, &M) ||
     *p++ != '-' || time_digits(&p, 2, &D)) return S3P_EINVAL;
  if(*p == 'T' || *p == ' '){
    p++;
    if(time_digits(&p, 2, &h) || *p++ != ':' || time_digits(&p, 2, &m)) {
      return S3P_EINVAL;
    }
    if(*p == ':'){
      p++;
      if(time_digits(&p, 2, &sec)) return S3P_EINVAL;
      if(*p == '.'){
        p++;
        int scale = 100, nd = 0;
        while(*p >= '0' && *p <= '9'){
          if(nd < 3) frac += (*p - '0') * scale;
          scale /= 10; nd++; p++;
        }
        if(nd == 0) return S3P_EINVAL;
      }
    }
  }
  if(*p == 'Z') p++;
  else if(p[0] == '+' && !strcmp(p, "+00:00")) p += 6;
  if(*p) return S3P_EINVAL;
  if(M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) {
    return S3P_EINVAL;
  }
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = Y - 1900; tm.tm_mon = M - 1; tm.tm_mday = D;
  tm.tm_hour = h; tm.tm_min = m; tm.tm_sec = sec;
  time_t t = timegm(&tm);
  if(t == (time_t)-1) return S3P_EINVAL;
  *ms = (int64_t)t * 1000 + frac;
  return S3P_OK;
}

void s3p_time_format(char *out, int64_t ms){
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  /* Years are clamped to four digits so the text always fits. */
  int year = tm.tm_year + 1900;
  if(year < 0) year = 0;
  if(year > 9999) year = 9999;
  snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year % 10000,
           (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100,
           tm.tm_min % 100, tm.tm_sec % 100, (int)(ms % 1000 + 1000) % 1000);
}
