/*
** test_untrusted.c: what the store layer takes from outside, at the SQL
** level (issue 7: temporary credentials, object sizes, URI parameters).
**
** Cases on the fake S3 server (tests/fake-s3-nocond.py; skipped with a "#"
** line when python3 is missing):
**   - long_session_token: with a 4 KiB AWS_SESSION_TOKEN (STS, SSO, ECS and
**     Lambda hand out 600 to 1,300+ bytes) a database is created, written
**     and read; the server checks every request's SigV4 signature and that
**     the token was sent and signed. A client with a wrong secret is
**     refused by the same server (so the check is real).
**   - huge_head_s3: HEAD answers 256 MiB with a Content-Length. Opening and
**     using the database works (HEAD is only a hint), the log says the
**     object is over its 1120-byte limit, and the process did not grow by
**     the object's size (it was refused unread).
**   - huge_head_s3_chunked: the same without a Content-Length (chunked):
**     the transfer is cut at the limit.
** Cases on a local directory store (always):
**   - huge_head_dir: a 300 MB (sparse) HEAD file is refused from its size.
**   - oversized_page_dir: a page object longer than any page object can be
**     is SQLITE_CORRUPT, and the message names the object and the limit.
**   - fault_needs_optin: fault= and S3PAGE_FAULT are refused at open
**     without S3PAGE_ALLOW_FAULTS=1, and work with it.
*/
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/fakes3.h"
#include "../lib/testdb.h"

/* Size of the oversized HEAD objects. */
#define HUGE_HEAD (256u << 20)
/* Most the process may grow while refusing one (it must not read it). */
#define GROWTH_MAX_KB (64 << 10)

static int fake_seq;            /* makes fake database names unique */
static char *local_root;        /* mkdtemp directory for the dir cases */

/* max_rss_kb returns the peak resident size of this process in KiB. */
static long max_rss_kb(void){
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* fake_name returns a fresh database name (malloc'd) on the fake server. */
static char *fake_name(const char *tag){
  char *s = NULL;
  if(asprintf(&s, "s3://fakebucket/%s-%ld-%d", tag, (long)getpid(),
              ++fake_seq) < 0) abort();
  return s;
}

/* local_name returns a fresh directory-store name (malloc'd), local even
** when the suite runs on S3. */
static char *local_name(const char *tag){
  char *s = NULL;
  if(asprintf(&s, "%s/%s-%d", local_root, tag, ++fake_seq) < 0) abort();
  return s;
}

/* endpoint_params returns "endpoint=URL" (malloc'd). */
static char *endpoint_params(const fakes3 *f){
  char *s = NULL;
  if(asprintf(&s, "endpoint=%s", f->endpoint) < 0) abort();
  return s;
}

/* make_token fills a malloc'd token of n printable bytes, like STS's
** base64 (letters, digits, '+', '/', '='). */
static char *make_token(size_t n){
  static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                            "wxyz0123456789+/=";
  char *t = malloc(n + 1);
  if(t == NULL) abort();
  for(size_t i = 0; i < n; i++) t[i] = set[(i * 7 + i / 13) % (sizeof set - 1)];
  t[n] = 0;
  return t;
}

/* write_read_ok creates a table in name (params), inserts and reads back.
** Returns 1 if everything worked. */
static int write_read_ok(const char *name, const char *params){
  sqlite3 *db = tdb_open(name, params);
  int ok = db != NULL;
  if(ok) ok = tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(42), "
                           "(randomblob(5000))") == SQLITE_OK;
  if(ok) ok = tdb_int(db, "SELECT count(*) FROM t") == 2;
  sqlite3_close(db);
  if(ok){
    /* A second connection reads what the first committed. */
    db = tdb_open(name, params);
    ok = db != NULL && tdb_int(db, "SELECT a FROM t WHERE rowid = 1") == 42;
    sqlite3_close(db);
  }
  return ok;
}

/* long_session_token: see the top of the file. */
static void long_session_token(void){
  fakes3 f;
  char *token = make_token(4096);
  char *saved_secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
  setenv("AWS_SESSION_TOKEN", token, 1);
  if(fakes3_start(&f, "--cond", "--verify", NULL) != 0){
    CHECK(!"fake server did not start");
  }else{
    char *params = endpoint_params(&f);
    char *name = fake_name("token");
    tdb_log_clear();
    CHECK(write_read_ok(name, params));
    CHECK(!tdb_log_has("out of memory"));
    if(tdb_log_has("out of memory")) tdb_log_dump();

    /* The control: the server does check signatures. */
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    sqlite3 *db = tdb_open_ex(name, params, 0, 1, NULL);
    CHECK(db == NULL || tdb_exec_quiet(db, "SELECT count(*) FROM t")
                        != SQLITE_OK);
    sqlite3_close(db);
    setenv("AWS_SECRET_ACCESS_KEY", saved_secret, 1);
    free(name);
    free(params);
    fakes3_stop(&f);
  }
  unsetenv("AWS_SESSION_TOKEN");
  free(saved_secret);
  free(token);
}

/* huge_head_on checks a database whose HEAD is huge: usable, the log names
** the limit (want), and the process did not grow by the object's size. */
static void huge_head_on(const char *name, const char *params,
                         const char *want){
  long rss0 = max_rss_kb();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  tdb_log_clear();
  CHECK(write_read_ok(name, params));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  CHECK(tdb_log_has("HEAD"));
  CHECK(tdb_log_has(want));
  if(!tdb_log_has(want)) tdb_log_dump();
  long grown = max_rss_kb() - rss0;
  printf("# peak RSS grew by %ld KiB; %.0f ms\n", grown,
         (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  CHECK(grown < GROWTH_MAX_KB);
}

/* huge_head_s3: see the top of the file. */
static void huge_head_s3(void){
  fakes3 f;
  char size[32];
  snprintf(size, sizeof size, "%u", HUGE_HEAD);
  if(fakes3_start(&f, "--cond", "--huge", size, NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  char *params = endpoint_params(&f);
  char *name = fake_name("hugehead");
  huge_head_on(name, params, "object is 268435456 bytes, more than the limit "
                             "of 1120");
  free(name);
  free(params);
  fakes3_stop(&f);
}

/* huge_head_s3_chunked: see the top of the file. */
static void huge_head_s3_chunked(void){
  fakes3 f;
  char size[32];
  snprintf(size, sizeof size, "%u", HUGE_HEAD);
  if(fakes3_start(&f, "--cond", "--huge", size, "--chunked", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  char *params = endpoint_params(&f);
  char *name = fake_name("hugechunked");
  huge_head_on(name, params, "more than the limit of 1120 bytes");
  free(name);
  free(params);
  fakes3_stop(&f);
}

/* huge_head_dir: see the top of the file. */
static void huge_head_dir(void){
  char *name = local_name("hugehead");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db && tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(42)")
              == SQLITE_OK);
  sqlite3_close(db);
  char *head = NULL;
  if(asprintf(&head, "%s/HEAD", name) < 0) abort();
  int fd = open(head, O_WRONLY | O_TRUNC);
  CHECK(fd >= 0);
  if(fd >= 0){
    CHECK(ftruncate(fd, (off_t)300 << 20) == 0);    /* sparse: no disk */
    close(fd);
  }
  long rss0 = max_rss_kb();
  tdb_log_clear();
  db = tdb_open(name, NULL);
  CHECK(db && tdb_int(db, "SELECT a FROM t") == 42);
  sqlite3_close(db);
  CHECK(tdb_log_has("object is 314572800 bytes, more than the limit of 1120"));
  if(!tdb_log_has("limit of 1120")) tdb_log_dump();
  long grown = max_rss_kb() - rss0;
  printf("# peak RSS grew by %ld KiB\n", grown);
  CHECK(grown < GROWTH_MAX_KB);
  free(head);
  free(name);
}

/* oversized_page_dir: see the top of the file. */
static void oversized_page_dir(void){
  char *name = local_name("bigpage");
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db && tdb_exec(db, "PRAGMA page_size=4096; CREATE TABLE t(a); "
                           "INSERT INTO t VALUES(42)") == SQLITE_OK);
  sqlite3_close(db);
  /* Every page object of the database grows to 70000 bytes. */
  char *dir = NULL;
  if(asprintf(&dir, "%s/pages", name) < 0) abort();
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  CHECK(d != NULL);
  while(d && (de = readdir(d)) != NULL){
    char *path = NULL;
    if(strncmp(de->d_name, "xxh128-", 7) != 0) continue;
    if(asprintf(&path, "%s/%s", dir, de->d_name) < 0) abort();
    CHECK(truncate(path, 70000) == 0);
    free(path);
    n++;
  }
  if(d) closedir(d);
  CHECK(n > 0);
  /* SQL: corrupt (page 1 is read at open, so either step may fail). */
  int rc = SQLITE_OK;
  db = tdb_open_ex(name, NULL, 0, 1, &rc);
  if(db) rc = tdb_exec_quiet(db, "SELECT a FROM t");
  CHECK_EQ(rc & 0xff, SQLITE_CORRUPT);
  sqlite3_close(db);
  /* The whole message (sqlite3_log cuts long lines): export's. */
  char *out = NULL, *msg = NULL;
  if(asprintf(&out, "%s/bigpage.db", local_root) < 0) abort();
  rc = s3page_export(name, NULL, out, NULL, NULL, NULL, &msg);
  CHECK_EQ(rc, SQLITE_CORRUPT);
  CHECK(msg && strstr(msg, "/pages/xxh128-"));
  CHECK(msg && strstr(msg, "object is 70000 bytes, more than the limit of "
                           "65560"));
  if(msg) printf("# %s\n", msg);
  /* The store is named once, not once by the store and again above it. */
  const char *first = msg ? strstr(msg, name) : NULL;
  CHECK(first != NULL);
  CHECK(first && strstr(first + strlen(name), name) == NULL);
  sqlite3_free(msg);
  free(out);
  free(dir);
  free(name);
}

/* fault_needs_optin: see the top of the file. */
static void fault_needs_optin(void){
  char *name = local_name("optin");
  int rc = SQLITE_OK;
  unsetenv("S3PAGE_ALLOW_FAULTS");
  tdb_log_clear();
  sqlite3 *db = tdb_open_ex(name, "fault=fail=1", 0, 1, &rc);
  CHECK(db == NULL);
  CHECK_EQ(rc & 0xff, SQLITE_CANTOPEN);
  CHECK(tdb_log_has("set S3PAGE_ALLOW_FAULTS=1"));
  sqlite3_close(db);

  setenv("S3PAGE_FAULT", "rate=1", 1);
  tdb_log_clear();
  db = tdb_open_ex(name, NULL, 0, 1, &rc);
  CHECK(db == NULL);
  CHECK(tdb_log_has("set S3PAGE_ALLOW_FAULTS=1"));
  sqlite3_close(db);
  unsetenv("S3PAGE_FAULT");

  /* With the opt-in, the injected fault is what fails the first write. */
  setenv("S3PAGE_ALLOW_FAULTS", "1", 1);
  db = tdb_open(name, "fault=kinds=n,rate=1");
  CHECK(db != NULL);
  CHECK(tdb_exec_quiet(db, "CREATE TABLE t(a)") != SQLITE_OK);
  sqlite3_close(db);
  free(name);
}

/* main runs the cases. Returns 0 if all passed. */
int main(int argc, char **argv){
  (void)argc;
  int python = fakes3_find_script(argv[0]) == 0;
  /* The fake server wants keys; --verify checks them. */
  setenv("AWS_ACCESS_KEY_ID", "AKIDFAKESERVER", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "fake-server-secret", 1);
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("S3PAGE_TRUST_CONDITIONAL");
  signal(SIGPIPE, SIG_IGN);
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  const char *t = getenv("TMPDIR");
  if(asprintf(&local_root, "%s/s3p-untrusted-XXXXXX", t && *t ? t : "/tmp")
     < 0 || mkdtemp(local_root) == NULL){
    printf("not ok - mkdtemp\n");
    return 1;
  }
  if(python){
    RUN(long_session_token);
    RUN(huge_head_s3);
    RUN(huge_head_s3_chunked);
  }else{
    printf("# no python3: fake-server cases skipped\n");
  }
  RUN(huge_head_dir);
  RUN(oversized_page_dir);
  RUN(fault_needs_optin);
  tdb_rm_rf(local_root);
  free(local_root);
  return CHECK_DONE();
}
