/*
** testdb.c: shared helpers of the SQL-level tests (see testdb.h).
*/
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testdb.h"

static char *tdb_root;              /* local mkdtemp root (also on S3) */
static const char *tdb_s3_base;     /* S3PAGE_TEST_STORE or NULL */
static pid_t tdb_owner;             /* process that removes the root */
static unsigned tdb_seq;            /* names handed out */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *log_buf;               /* captured log text */
static size_t log_len, log_cap;

/* log_callback appends one sqlite3_log message ("(code) msg\n") to the
** capture buffer. */
static void log_callback(void *arg, int code, const char *msg){
  (void)arg;
  char line[2048];
  int n = snprintf(line, sizeof line, "(%d) %s\n", code, msg ? msg : "");
  if(n < 0) return;
  if((size_t)n >= sizeof line) n = (int)sizeof line - 1;
  pthread_mutex_lock(&log_mu);
  if(log_len + (size_t)n + 1 > log_cap){
    size_t cap = (log_cap ? log_cap * 2 : 8192) + (size_t)n;
    char *b = realloc(log_buf, cap);
    if(!b){ pthread_mutex_unlock(&log_mu); return; }
    log_buf = b;
    log_cap = cap;
  }
  memcpy(log_buf + log_len, line, (size_t)n);
  log_len += (size_t)n;
  log_buf[log_len] = 0;
  pthread_mutex_unlock(&log_mu);
}

/* rm_one is the nftw callback of tdb_rm_rf: removes one entry. */
static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw){
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

/* tdb_rm_rf removes the tree at path (symlinks removed, not followed). */
void tdb_rm_rf(const char *path){
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* cleanup_root removes the temporary root at exit, only in the process
** that created it (forked children exit without touching it). */
static void cleanup_root(void){
  if(tdb_root && getpid() == tdb_owner) tdb_rm_rf(tdb_root);
  pthread_mutex_lock(&log_mu);
  free(log_buf);
  log_buf = NULL;
  log_len = log_cap = 0;
  pthread_mutex_unlock(&log_mu);
  if(getpid() == tdb_owner){ free(tdb_root); tdb_root = NULL; }
}

/* tdb_init: see testdb.h. Returns 0 or -1. */
int tdb_init(void){
  const char *s3 = getenv("S3PAGE_TEST_STORE");
  /* Tests use fault= (refused unless this opt-in is set). */
  setenv("S3PAGE_ALLOW_FAULTS", "1", 1);
  /* No test waits on a real EC2 metadata endpoint (one that needs it
  ** points AWS_EC2_METADATA_SERVICE_ENDPOINT at a fake). */
  setenv("AWS_EC2_METADATA_DISABLED", "true", 0);
  if(sqlite3_config(SQLITE_CONFIG_LOG, log_callback, (void *)0) != SQLITE_OK){
    printf("# sqlite3_config(SQLITE_CONFIG_LOG) failed (called too late?)\n");
    return -1;
  }
  if(sqlite3_initialize() != SQLITE_OK){
    printf("# sqlite3_initialize failed\n");
    return -1;
  }
  int rc = s3page_register(0);
  if(rc != SQLITE_OK){
    printf("# s3page_register: %s\n", sqlite3_errstr(rc));
    return -1;
  }
  tdb_owner = getpid();
  if(s3 && *s3) tdb_s3_base = s3;
  {
    /* Databases live here unless on S3; local files (lock directories)
    ** always do. */
    const char *t = getenv("TMPDIR");
    if(asprintf(&tdb_root, "%s/s3p-sql-XXXXXX", t && *t ? t : "/tmp") < 0){
      tdb_root = NULL;
      return -1;
    }
    if(!mkdtemp(tdb_root)){
      printf("# mkdtemp %s failed\n", tdb_root);
      free(tdb_root);
      tdb_root = NULL;
      return -1;
    }
  }
  if(tdb_s3_base && !getenv("S3PAGE_LOCK_DIR")){
    /* Lock files of s3:// test databases go with the root, not into the
    ** default lock directory, where they would stay after the run. */
    char *ld = NULL;
    if(asprintf(&ld, "%s/locks", tdb_root) < 0) return -1;
    setenv("S3PAGE_LOCK_DIR", ld, 1);
    free(ld);
  }
  atexit(cleanup_root);
  return 0;
}

/* tdb_on_s3: see testdb.h. */
int tdb_on_s3(void){
  return tdb_s3_base != NULL;
}

/* tdb_quick: see testdb.h. */
int tdb_quick(void){
  const char *q = getenv("S3PAGE_TEST_QUICK");
  return q && !strcmp(q, "1");
}

/* tdb_name: see testdb.h. Returns a malloc'd name. */
char *tdb_name(const char *tag){
  char *n = NULL;
  unsigned seq = ++tdb_seq;
  int r;
  if(tdb_s3_base){
    size_t l = strlen(tdb_s3_base);
    while(l > 0 && tdb_s3_base[l - 1] == '/') l--;
    r = asprintf(&n, "%.*s/%s-%ld-%ld-%u", (int)l, tdb_s3_base, tag,
                 (long)getpid(), (long)time(NULL), seq);
  }else{
    r = asprintf(&n, "%s/%s-%u", tdb_root, tag, seq);
  }
  if(r < 0) abort();
  return n;
}

/* tdb_elsewhere: see testdb.h. Returns malloc'd URI parameters. */
char *tdb_elsewhere(void){
  char *p = NULL;
  if(asprintf(&p, "lock_dir=%s/locks-%u", tdb_root, ++tdb_seq) < 0) abort();
  return p;
}

/* tdb_uri: see testdb.h. Returns a malloc'd URI. */
char *tdb_uri(const char *name, const char *params){
  char *u = NULL;
  if(asprintf(&u, "file:%s?vfs=s3page%s%s", name,
              params && *params ? "&" : "", params ? params : "") < 0) abort();
  return u;
}

/* tdb_open_ex: see testdb.h. Returns the handle or NULL. */
sqlite3 *tdb_open_ex(const char *name, const char *params, int flags,
                     int quiet, int *rc){
  char *uri = tdb_uri(name, params);
  sqlite3 *db = NULL;
  if(!flags) flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int r = sqlite3_open_v2(uri, &db, flags | SQLITE_OPEN_URI, NULL);
  if(r != SQLITE_OK){
    r = db ? sqlite3_extended_errcode(db) : r;
    if(!quiet){
      printf("# open %s: %s (%d)\n", uri, db ? sqlite3_errmsg(db) :
             sqlite3_errstr(r), r);
    }
    sqlite3_close(db);
    db = NULL;
  }else{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 0);
  }
  if(rc) *rc = r;
  free(uri);
  return db;
}

/* tdb_open: see testdb.h. Returns the handle or NULL. */
sqlite3 *tdb_open(const char *name, const char *params){
  return tdb_open_ex(name, params, 0, 0, NULL);
}

/* exec_impl runs sql, printing the error unless quiet. Returns the
** extended result code. */
static int exec_impl(sqlite3 *db, const char *sql, int quiet){
  char *err = NULL;
  if(!db) return SQLITE_MISUSE;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if(rc != SQLITE_OK){
    rc = sqlite3_extended_errcode(db);
    if(!quiet){
      printf("# exec \"%.200s\": %s (%d)\n", sql, err ? err :
             sqlite3_errstr(rc), rc);
    }
  }
  sqlite3_free(err);
  return rc;
}

/* tdb_exec: see testdb.h. Returns the extended result code. */
int tdb_exec(sqlite3 *db, const char *sql){
  return exec_impl(db, sql, 0);
}

/* tdb_exec_quiet: see testdb.h. Returns the extended result code. */
int tdb_exec_quiet(sqlite3 *db, const char *sql){
  return exec_impl(db, sql, 1);
}

/* tdb_execf: see testdb.h. Returns the extended result code. */
int tdb_execf(sqlite3 *db, const char *fmt, ...){
  va_list ap;
  va_start(ap, fmt);
  char *sql = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if(!sql) return SQLITE_NOMEM;
  int rc = exec_impl(db, sql, 0);
  sqlite3_free(sql);
  return rc;
}

/* step_first prepares sql and steps to its first row. Returns the
** statement positioned on a row, or NULL (with a diagnostic). */
static sqlite3_stmt *step_first(sqlite3 *db, const char *sql){
  sqlite3_stmt *st = NULL;
  if(!db) return NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if(rc == SQLITE_OK){
    rc = sqlite3_step(st);
    if(rc == SQLITE_ROW) return st;
  }
  printf("# query \"%.200s\": %s (%d)\n", sql,
         rc == SQLITE_DONE ? "no row" : sqlite3_errmsg(db),
         sqlite3_extended_errcode(db));
  sqlite3_finalize(st);
  return NULL;
}

/* tdb_int: see testdb.h. Returns the value or INT64_MIN. */
int64_t tdb_int(sqlite3 *db, const char *sql){
  sqlite3_stmt *st = step_first(db, sql);
  if(!st) return INT64_MIN;
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* tdb_text: see testdb.h. Returns a malloc'd string or NULL. */
char *tdb_text(sqlite3 *db, const char *sql){
  sqlite3_stmt *st = step_first(db, sql);
  if(!st) return NULL;
  const unsigned char *t = sqlite3_column_text(st, 0);
  char *out = strdup(t ? (const char *)t : "");
  sqlite3_finalize(st);
  return out;
}

/* tdb_text_is: see testdb.h. Returns 1 on a match, else 0. */
int tdb_text_is(sqlite3 *db, const char *sql, const char *want){
  char *t = tdb_text(db, sql);
  int ok = t && !strcmp(t, want);
  if(t && !ok) printf("# \"%.200s\" gave \"%.300s\", want \"%s\"\n", sql, t, want);
  free(t);
  return ok;
}

/* tdb_integrity_ok: see testdb.h. Returns 1 if the check says "ok". */
int tdb_integrity_ok(sqlite3 *db){
  return tdb_text_is(db, "PRAGMA integrity_check", "ok");
}

/* tdb_version: see testdb.h. Returns the version or INT64_MIN. */
int64_t tdb_version(sqlite3 *db){
  return tdb_int(db, "PRAGMA s3page_version");
}

/* stat_field finds "key=" in text and stores its number in *v. Returns 0
** or -1 if absent. */
static int stat_field(const char *text, const char *key, uint64_t *v){
  size_t kl = strlen(key);
  for(const char *p = text; (p = strstr(p, key)) != NULL; p += kl){
    if((p == text || p[-1] == ' ') && p[kl] == '='){
      char *end;
      *v = strtoull(p + kl + 1, &end, 10);
      return end == p + kl + 1 ? -1 : 0;
    }
  }
  return -1;
}

/* tdb_stats: see testdb.h. Returns 0 or -1. */
int tdb_stats(sqlite3 *db, s3page_stats *out){
  char *t = tdb_text(db, "PRAGMA s3page_stats");
  if(!t) return -1;
  int bad = 0;
  memset(out, 0, sizeof *out);
  bad |= stat_field(t, "version", &out->version);
  bad |= stat_field(t, "get", &out->n_get);
  bad |= stat_field(t, "put", &out->n_put);
  bad |= stat_field(t, "put_new", &out->n_put_new);
  bad |= stat_field(t, "head", &out->n_head);
  bad |= stat_field(t, "delete", &out->n_delete);
  bad |= stat_field(t, "list", &out->n_list);
  bad |= stat_field(t, "retries", &out->n_retry);
  bad |= stat_field(t, "errors", &out->n_error);
  bad |= stat_field(t, "bytes_in", &out->bytes_in);
  bad |= stat_field(t, "bytes_out", &out->bytes_out);
  bad |= stat_field(t, "round_trips", &out->round_trips);
  bad |= stat_field(t, "commits", &out->n_commit);
  bad |= stat_field(t, "conflicts", &out->n_conflict);
  bad |= stat_field(t, "rebases", &out->n_rebase);
  if(bad) printf("# cannot parse s3page_stats \"%s\"\n", t);
  free(t);
  return bad ? -1 : 0;
}

/* tdb_stats_reset: see testdb.h. Returns 0 or -1. */
int tdb_stats_reset(sqlite3 *db){
  char *t = tdb_text(db, "PRAGMA s3page_stats=reset");
  free(t);
  return t ? 0 : -1;
}

/* tdb_log_clear: see testdb.h. */
void tdb_log_clear(void){
  pthread_mutex_lock(&log_mu);
  log_len = 0;
  if(log_buf) log_buf[0] = 0;
  pthread_mutex_unlock(&log_mu);
}

/* tdb_log_has: see testdb.h. Returns 1 if found. */
int tdb_log_has(const char *needle){
  pthread_mutex_lock(&log_mu);
  int found = log_buf && strstr(log_buf, needle) != NULL;
  pthread_mutex_unlock(&log_mu);
  return found;
}

/* tdb_log_text: see testdb.h. Returns a malloc'd copy. */
char *tdb_log_text(void){
  pthread_mutex_lock(&log_mu);
  char *t = strdup(log_buf ? log_buf : "");
  pthread_mutex_unlock(&log_mu);
  return t;
}

/* tdb_log_dump: see testdb.h. */
void tdb_log_dump(void){
  char *t = tdb_log_text();
  char *save = NULL;
  for(char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)){
    printf("#   log: %s\n", l);
  }
  free(t);
}

/* tdb_now_ms: see testdb.h. Returns Unix ms. */
int64_t tdb_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* tdb_sleep_ms: see testdb.h. */
void tdb_sleep_ms(int ms){
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  while(nanosleep(&ts, &ts) != 0){}
}
