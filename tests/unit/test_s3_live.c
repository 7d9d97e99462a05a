/*
** test_s3_live.c: the S3 backend against a real S3 server, and against
** tests/fake-s3-nocond.py for the failures a real server will not produce
** on demand (503s, lost acknowledgements, stores ignoring If-None-Match).
**
** Runs only when S3PAGE_TEST_STORE is "s3://BUCKET/PREFIX" and
** AWS_ACCESS_KEY_ID is set (tests/run.sh does that after starting
** tests/s3-server.sh); otherwise it runs no case and exits 0.
** S3PAGE_TEST_DELAYPROXY=path/to/delayproxy.py adds a latency case against
** the real server through that proxy.
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "../check.h"
#include "../../vfs/store/store.h"

static const char *live_store;  /* S3PAGE_TEST_STORE */
static char live_top[4096];     /* the source tree (for the fake server) */
static int live_seq;            /* makes sub-prefixes unique */

/* now_ms returns a monotonic clock in milliseconds. */
static double now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* fresh_name writes a store name under S3PAGE_TEST_STORE unique to this
** run and case into out. */
static void fresh_name(char *out, size_t cap, const char *what){
  snprintf(out, cap, "%s/live-%ld-%d-%s", live_store, (long)getpid(),
           ++live_seq, what);
}

/* open_store opens name with an optional endpoint; CHECKs success. */
static s3p_store *open_store(const char *name, const char *endpoint,
                             int concurrency){
  s3p_store_opts o;
  s3p_store *st = NULL;
  char *msg = NULL;
  int rc;
  memset(&o, 0, sizeof(o));
  o.endpoint = endpoint;
  o.concurrency = concurrency;
  rc = s3p_store_open(&st, name, &o, &msg);
  CHECK_EQ(rc, S3P_OK);
  if(rc != S3P_OK) printf("#   open %s: %s\n", name, msg ? msg : "?");
  free(msg);
  return st;
}

/* A fake S3 server child process. */
typedef struct fake {
  pid_t pid;                    /* the python process, 0 if none */
  char endpoint[64];            /* http://127.0.0.1:PORT */
} fake;

/* fake_start runs tests/fake-s3-nocond.py with args (NULL-terminated) and
** reads its port. Returns 0, or -1 (no python3 or script). */
static int fake_start(fake *f, ...){
  char script[4200], line[32];
  const char *argv[16];
  int pfd[2], n = 0;
  va_list ap;
  FILE *in;
  memset(f, 0, sizeof(*f));
  snprintf(script, sizeof(script), "%s/tests/fake-s3-nocond.py", live_top);
  if(access(script, R_OK) != 0) return -1;
  argv[n++] = "python3";
  argv[n++] = script;
  va_start(ap, f);
  while(n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL) n++;
  va_end(ap);
  argv[n] = NULL;
  if(pipe(pfd) != 0) return -1;
  f->pid = fork();
  if(f->pid < 0) return -1;
  if(f->pid == 0){
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execvp("python3", (char *const *)argv);
    _exit(127);
  }
  close(pfd[1]);
  in = fdopen(pfd[0], "r");
  if(in == NULL || fgets(line, sizeof(line), in) == NULL){
    if(in) fclose(in); else close(pfd[0]);
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
    return -1;
  }
  fclose(in);
  snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%d",
           atoi(line));
  return 0;
}

/* fake_stop ends the fake server we started. */
static void fake_stop(fake *f){
  if(f->pid > 0){
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
  }
  f->pid = 0;
}

/* Plain operations on the real server. */
static void test_put_get_head_delete(void){
  char name[512], *msg = NULL;
  s3p_store *st;
  s3p_op ops[12];
  const unsigned char body[] = "0123456789abcdef";
  unsigned char *data = NULL;
  size_t len = 0;
  int i;
  fresh_name(name, sizeof(name), "basic");
  st = open_store(name, NULL, 0);
  if(st == NULL) return;
  CHECK(strncmp(st->desc, "s3://", 5) == 0);
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "a/obj", body, 16, &msg), S3P_OK);
  if(msg){ printf("#   %s\n", msg); free(msg); msg = NULL; }
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "a/empty", body, 0, &msg), S3P_OK);
  CHECK_EQ(s3p_store_get(st, "a/obj", &data, &len, &msg), S3P_OK);
  CHECK(len == 16 && data && memcmp(data, body, 16) == 0);
  free(data);

  memset(ops, 0, sizeof(ops));
  ops[0].kind = S3P_OP_GET; ops[0].key = "a/obj";
  ops[0].range_off = 3; ops[0].range_len = 5;           /* middle */
  ops[1].kind = S3P_OP_GET; ops[1].key = "a/obj";
  ops[1].range_off = 10;                                /* to the end */
  ops[2].kind = S3P_OP_GET; ops[2].key = "a/obj";
  ops[2].range_off = 12; ops[2].range_len = 100;        /* clipped */
  ops[3].kind = S3P_OP_GET; ops[3].key = "a/obj";
  ops[3].range_off = 16; ops[3].range_len = 4;          /* past the end */
  ops[4].kind = S3P_OP_HEAD; ops[4].key = "a/obj";
  ops[5].kind = S3P_OP_GET; ops[5].key = "a/missing";
  ops[6].kind = S3P_OP_HEAD; ops[6].key = "a/missing";
  ops[7].kind = S3P_OP_DELETE; ops[7].key = "a/missing";
  ops[8].kind = S3P_OP_GET; ops[8].key = "a/empty";
  ops[9].kind = S3P_OP_GET; ops[9].key = "../bad";
  CHECK_EQ(s3p_store_exec(st, ops, 10), S3P_OK);
  CHECK_EQ(ops[0].rc, S3P_OK);
  CHECK(ops[0].len == 5 && memcmp(ops[0].data, "34567", 5) == 0);
  CHECK_EQ(ops[1].rc, S3P_OK);
  CHECK(ops[1].len == 6 && memcmp(ops[1].data, "abcdef", 6) == 0);
  CHECK_EQ(ops[2].rc, S3P_OK);
  CHECK(ops[2].len == 4 && memcmp(ops[2].data, "cdef", 4) == 0);
  CHECK_EQ(ops[3].rc, S3P_OK);
  CHECK_EQ(ops[3].len, 0);
  CHECK_EQ(ops[4].rc, S3P_OK);
  CHECK_EQ(ops[4].len, 16);
  CHECK_EQ(ops[5].rc, S3P_ENOTFOUND);
  CHECK_EQ(ops[6].rc, S3P_ENOTFOUND);
  CHECK_EQ(ops[7].rc, S3P_OK);
  CHECK_EQ(ops[8].rc, S3P_OK);
  CHECK_EQ(ops[8].len, 0);
  CHECK_EQ(ops[9].rc, S3P_EINVAL);
  for(i = 0; i < 10; i++) s3p_op_reset(&ops[i]);

  memset(ops, 0, sizeof(ops));
  ops[0].kind = S3P_OP_DELETE; ops[0].key = "a/obj";
  ops[1].kind = S3P_OP_DELETE; ops[1].key = "a/empty";
  CHECK_EQ(s3p_store_exec(st, ops, 2), S3P_OK);
  CHECK_EQ(ops[0].rc, S3P_OK);
  CHECK_EQ(ops[1].rc, S3P_OK);
  CHECK_EQ(s3p_store_get(st, "a/obj", &data, &len, &msg), S3P_ENOTFOUND);
  CHECK(st->stats.n_retry == 0);
  s3p_store_close(st);
}

/* Create-if-absent on the real server. */
static void test_put_new(void){
  char name[512], *msg = NULL;
  s3p_store *st;
  unsigned char *data = NULL;
  size_t len = 0;
  fresh_name(name, sizeof(name), "putnew");
  st = open_store(name, NULL, 0);
  if(st == NULL) return;
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"one",
                         3, &msg), S3P_OK);
  if(msg){ printf("#   %s\n", msg); free(msg); msg = NULL; }
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"two",
                         3, &msg), S3P_EEXISTS);
  CHECK_EQ(s3p_store_get(st, "wal/1", &data, &len, &msg), S3P_OK);
  CHECK(len == 3 && memcmp(data, "one", 3) == 0);
  free(data);
  CHECK_EQ(st->stats.n_put, 2);   /* the probe is not counted */
  s3p_store_close(st);
}

/* One racer: a batch of 4 PUT_NEW of the same key on its own handle. */
typedef struct racer {
  s3p_store *st;                /* its handle */
  const char *key;              /* the contested key */
  int id;                       /* distinguishes bodies */
  int n_ok, n_exists, n_other;  /* outcomes */
} racer;

/* race_main runs one racer's batch (thread body). */
static void *race_main(void *arg){
  racer *r = arg;
  s3p_op ops[4];
  char bodies[4][32];
  int i;
  memset(ops, 0, sizeof(ops));
  for(i = 0; i < 4; i++){
    snprintf(bodies[i], sizeof(bodies[i]), "writer %d.%d", r->id, i);
    ops[i].kind = S3P_OP_PUT_NEW;
    ops[i].key = r->key;
    ops[i].body = (const unsigned char *)bodies[i];
    ops[i].body_len = strlen(bodies[i]);
  }
  s3p_store_exec(r->st, ops, 4);
  for(i = 0; i < 4; i++){
    if(ops[i].rc == S3P_OK) r->n_ok++;
    else if(ops[i].rc == S3P_EEXISTS) r->n_exists++;
    else{
      r->n_other++;
      printf("#   racer: %s\n", ops[i].errmsg ? ops[i].errmsg : "?");
    }
    s3p_op_reset(&ops[i]);
  }
  return NULL;
}

/* 8 concurrent PUT_NEW of one key over two handles: exactly one wins. */
static void test_put_new_race(void){
  char name[512], key[32];
  s3p_store *a, *b;
  int round;
  fresh_name(name, sizeof(name), "race");
  a = open_store(name, NULL, 0);
  b = open_store(name, NULL, 0);
  if(a == NULL || b == NULL){
    s3p_store_close(a);
    s3p_store_close(b);
    return;
  }
  for(round = 0; round < 10; round++){
    racer ra, rb;
    pthread_t ta, tb;
    snprintf(key, sizeof(key), "wal/%020d", round);
    memset(&ra, 0, sizeof(ra));
    memset(&rb, 0, sizeof(rb));
    ra.st = a; ra.key = key; ra.id = 1;
    rb.st = b; rb.key = key; rb.id = 2;
    pthread_create(&ta, NULL, race_main, &ra);
    pthread_create(&tb, NULL, race_main, &rb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ(ra.n_ok + rb.n_ok, 1);
    CHECK_EQ(ra.n_exists + rb.n_exists, 7);
    CHECK_EQ(ra.n_other + rb.n_other, 0);
  }
  s3p_store_close(a);
  s3p_store_close(b);
}

/* list callback: counts keys and bytes; stops at *stop_after if set. */
typedef struct lister {
  int n;                        /* keys seen */
  uint64_t bytes;               /* sizes added up */
  int stop_after;               /* stop after this many (0 = never) */
  int bad;                      /* a key did not look like ours */
  int64_t min_mtime;            /* smallest mtime seen */
} lister;

static int list_cb(void *arg, const char *key, uint64_t size, int64_t mtime){
  lister *l = arg;
  if(strncmp(key, "l/k", 3) != 0) l->bad++;
  l->n++;
  l->bytes += size;
  if(l->min_mtime == 0 || mtime < l->min_mtime) l->min_mtime = mtime;
  return l->stop_after && l->n >= l->stop_after;
}

/* ListObjectsV2 with continuation tokens (7 keys per page). */
static void test_list(void){
  char name[512], keys[25][16], *msg = NULL;
  s3p_op ops[26];
  s3p_store *st;
  lister l;
  int i;
  fresh_name(name, sizeof(name), "list");
  setenv("S3PAGE_S3_LIST_KEYS", "7", 1);
  st = open_store(name, NULL, 0);
  unsetenv("S3PAGE_S3_LIST_KEYS");
  if(st == NULL) return;
  memset(ops, 0, sizeof(ops));
  for(i = 0; i < 25; i++){
    snprintf(keys[i], sizeof(keys[i]), "l/k%02d", i);
    ops[i].kind = S3P_OP_PUT;
    ops[i].key = keys[i];
    ops[i].body = (const unsigned char *)"xxxxxxxxxxxxxxxxxxxxxxxxx";
    ops[i].body_len = (size_t)i;
  }
  ops[25].kind = S3P_OP_PUT;
  ops[25].key = "other/x";
  CHECK_EQ(s3p_store_exec(st, ops, 26), S3P_OK);
  for(i = 0; i < 26; i++){ CHECK_EQ(ops[i].rc, S3P_OK); s3p_op_reset(&ops[i]); }

  memset(&l, 0, sizeof(l));
  CHECK_EQ(s3p_store_list(st, "l/", list_cb, &l, &msg), S3P_OK);
  if(msg){ printf("#   %s\n", msg); free(msg); msg = NULL; }
  CHECK_EQ(l.n, 25);
  CHECK_EQ(l.bytes, 300);
  CHECK_EQ(l.bad, 0);
  CHECK(l.min_mtime > 1600000000 && l.min_mtime < (int64_t)time(NULL) + 86400);
  CHECK_EQ(st->stats.n_list, 4);   /* ceil(25 / 7) pages */

  memset(&l, 0, sizeof(l));
  l.stop_after = 3;
  CHECK_EQ(s3p_store_list(st, "l/k", list_cb, &l, &msg), S3P_OK);
  CHECK_EQ(l.n, 3);

  memset(&l, 0, sizeof(l));
  CHECK_EQ(s3p_store_list(st, "nothing/", list_cb, &l, &msg), S3P_OK);
  CHECK_EQ(l.n, 0);
  s3p_store_close(st);
}

/* A batch of 200 PUTs then 200 GETs, each one round trip. */
static void test_big_batch(void){
  char name[512], keys[200][24];
  unsigned char page[4096];
  s3p_op *ops = calloc(200, sizeof(*ops));
  s3p_store *st;
  double t0, t_put, t_get;
  int i, ok = 0;
  if(ops == NULL) return;
  fresh_name(name, sizeof(name), "batch");
  st = open_store(name, NULL, 0);
  if(st == NULL){ free(ops); return; }
  for(i = 0; i < 200; i++){
    snprintf(keys[i], sizeof(keys[i]), "pages/p%03d", i);
    memset(page, i, sizeof(page));
    ops[i].kind = S3P_OP_PUT;
    ops[i].key = keys[i];
    ops[i].body = malloc(sizeof(page));
    if(ops[i].body) memcpy((void *)ops[i].body, page, sizeof(page));
    ops[i].body_len = ops[i].body ? sizeof(page) : 0;
  }
  t0 = now_ms();
  CHECK_EQ(s3p_store_exec(st, ops, 200), S3P_OK);
  t_put = now_ms() - t0;
  for(i = 0; i < 200; i++){
    CHECK_EQ(ops[i].rc, S3P_OK);
    free((void *)ops[i].body);
    s3p_op_reset(&ops[i]);
    memset(&ops[i], 0, sizeof(ops[i]));
    ops[i].kind = S3P_OP_GET;
    ops[i].key = keys[i];
  }
  t0 = now_ms();
  CHECK_EQ(s3p_store_exec(st, ops, 200), S3P_OK);
  t_get = now_ms() - t0;
  for(i = 0; i < 200; i++){
    if(ops[i].rc == S3P_OK && ops[i].len == 4096 && ops[i].data[0] == (unsigned char)i
       && ops[i].data[4095] == (unsigned char)i) ok++;
    s3p_op_reset(&ops[i]);
  }
  CHECK_EQ(ok, 200);
  CHECK_EQ(st->stats.round_trips, 2);
  CHECK_EQ(st->stats.n_put, 200);
  CHECK_EQ(st->stats.n_get, 200);
  printf("# 200 x 4 KiB: PUT batch %.1f ms, GET batch %.1f ms\n", t_put, t_get);
  s3p_store_close(st);
  free(ops);
}

/* Errors from the real server: wrong secret, missing bucket. */
static void test_server_errors(void){
  char name[512], *msg = NULL, *secret;
  const char *old = getenv("AWS_SECRET_ACCESS_KEY");
  s3p_store *st;
  unsigned char *data = NULL;
  size_t len;
  if(old == NULL) return;
  secret = strdup(old);
  setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-wrong-secret-wrong", 1);
  fresh_name(name, sizeof(name), "auth");
  st = open_store(name, NULL, 0);
  setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
  if(st){
    CHECK_EQ(s3p_store_get(st, "x", &data, &len, &msg), S3P_EAUTH);
    CHECK(msg && strstr(msg, "403") != NULL);
    CHECK(msg && strstr(msg, "wrong-secret") == NULL);
    CHECK(msg && strstr(msg, "Authorization") == NULL);
    free(msg);
    msg = NULL;
    s3p_store_close(st);
  }
  st = open_store("s3://no-such-bucket-s3page/x", NULL, 0);
  if(st){
    CHECK_EQ(s3p_store_get(st, "k", &data, &len, &msg), S3P_EIO);
    CHECK(msg && strstr(msg, "NoSuchBucket") != NULL);
    CHECK(msg && strstr(msg, "s3://no-such-bucket-s3page/x/k") != NULL);
    CHECK(msg && strstr(msg, secret) == NULL);
    free(msg);
    s3p_store_close(st);
  }
  free(secret);
}

/* A store that ignores If-None-Match is refused on the first PUT_NEW;
** S3PAGE_TRUST_CONDITIONAL=1 overrides. */
static void test_nocond_refused(void){
  fake f;
  s3p_store *st;
  char *msg = NULL;
  if(fake_start(&f, NULL) != 0){ CHECK(!"fake server did not start"); return; }
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", (const unsigned char *)"a",
                           1, &msg), S3P_OK);
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"a",
                           1, &msg), S3P_EUNSUPPORTED);
    CHECK(msg && strstr(msg, "s3://fakebucket/db: this store ignores "
                        "If-None-Match") != NULL);
    CHECK(msg && strstr(msg, "S3PAGE_TRUST_CONDITIONAL=1") != NULL);
    free(msg);
    msg = NULL;
    /* cached: a second handle is refused without probing again */
    s3p_store_close(st);
  }
  st = open_store("s3://fakebucket/db2", f.endpoint, 0);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"a",
                           1, &msg), S3P_EUNSUPPORTED);
    free(msg);
    msg = NULL;
    s3p_store_close(st);
  }
  setenv("S3PAGE_TRUST_CONDITIONAL", "1", 1);
  st = open_store("s3://fakebucket/db3", f.endpoint, 0);
  unsetenv("S3PAGE_TRUST_CONDITIONAL");
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"a",
                           1, &msg), S3P_OK);
    free(msg);
    s3p_store_close(st);
  }
  fake_stop(&f);
}

/* 503 SlowDown three times, then success: retried and counted. */
static void test_retry_then_ok(void){
  fake f;
  s3p_store *st;
  char *msg = NULL;
  unsigned char *data = NULL;
  size_t len = 0;
  if(fake_start(&f, "--cond", "--fail", "3", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", (const unsigned char *)"abc",
                           3, &msg), S3P_OK);
    if(msg){ printf("#   %s\n", msg); free(msg); msg = NULL; }
    CHECK_EQ(st->stats.n_retry, 3);
    CHECK_EQ(s3p_store_get(st, "pages/a", &data, &len, &msg), S3P_OK);
    CHECK(len == 3 && data && memcmp(data, "abc", 3) == 0);
    free(data);
    /* the probe works against a store that honours the condition */
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"a",
                           1, &msg), S3P_OK);
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"b",
                           1, &msg), S3P_EEXISTS);
    CHECK_EQ(st->stats.n_retry, 3);
    s3p_store_close(st);
  }
  fake_stop(&f);
}

/* Always 503: gives up after 6 attempts with a clear message. */
static void test_retry_exhausted(void){
  fake f;
  s3p_store *st;
  char *msg = NULL;
  double t0;
  if(fake_start(&f, "--status", "503", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  if(st){
    t0 = now_ms();
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "wal/00000000000000000001",
                           (const unsigned char *)"abc", 3, &msg), S3P_EIO);
    CHECK(msg && strcmp(msg, "s3://fakebucket/db/wal/00000000000000000001: "
                        "PUT: HTTP 503 SlowDown after 6 attempts") == 0);
    if(msg) printf("# %s (%.0f ms)\n", msg, now_ms() - t0);
    CHECK(now_ms() - t0 < 5000);
    CHECK_EQ(st->stats.n_retry, 5);
    CHECK_EQ(st->stats.n_error, 1);
    free(msg);
    s3p_store_close(st);
  }
  fake_stop(&f);
}

/* 403 from the store: S3P_EAUTH, no retry, no secret in the message. */
static void test_auth_error(void){
  fake f;
  s3p_store *st;
  char *msg = NULL;
  unsigned char *data = NULL;
  size_t len;
  if(fake_start(&f, "--status", "403", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  if(st){
    CHECK_EQ(s3p_store_get(st, "k", &data, &len, &msg), S3P_EAUTH);
    CHECK(msg && strstr(msg, "HTTP 403 AccessDenied") != NULL);
    CHECK(msg && getenv("AWS_SECRET_ACCESS_KEY")
          && strstr(msg, getenv("AWS_SECRET_ACCESS_KEY")) == NULL);
    CHECK_EQ(st->stats.n_retry, 0);
    free(msg);
    s3p_store_close(st);
  }
  fake_stop(&f);
}

/* A PUT_NEW that landed although we saw a 500 is recognized as ours; one
** that did not land while another writer's object is there is EEXISTS. */
static void test_ambiguous_create(void){
  fake f;
  s3p_store *st;
  char *msg = NULL;
  if(fake_start(&f, "--cond", "--ambiguous", "1", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"mine",
                           4, &msg), S3P_OK);
    if(msg){ printf("#   %s\n", msg); free(msg); msg = NULL; }
    CHECK_EQ(st->stats.n_retry, 1);
    CHECK_EQ(st->stats.n_get, 1);    /* the read-back */
    s3p_store_close(st);
  }
  fake_stop(&f);

  if(fake_start(&f, "--cond", "--fail-cond", "1", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "wal/1", (const unsigned char *)"theirs",
                           6, &msg), S3P_OK);
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", (const unsigned char *)"mine",
                           4, &msg), S3P_EEXISTS);
    if(msg){ printf("#   %s\n", msg); free(msg); msg = NULL; }
    CHECK_EQ(st->stats.n_retry, 1);
    s3p_store_close(st);
  }
  fake_stop(&f);
}

/* A server that never answers in time: timeouts, bounded. */
static void test_timeout(void){
  fake f;
  s3p_store *st;
  char *msg = NULL;
  unsigned char *data = NULL;
  size_t len;
  double t0;
  if(fake_start(&f, "--delay", "3000", NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  setenv("S3PAGE_TIMEOUT_MS", "300", 1);
  setenv("S3PAGE_S3_ATTEMPTS", "2", 1);
  st = open_store("s3://fakebucket/db", f.endpoint, 0);
  unsetenv("S3PAGE_TIMEOUT_MS");
  unsetenv("S3PAGE_S3_ATTEMPTS");
  if(st){
    t0 = now_ms();
    CHECK_EQ(s3p_store_get(st, "k", &data, &len, &msg), S3P_EIO);
    CHECK(msg && strstr(msg, "after 2 attempts") != NULL);
    if(msg) printf("# %s (%.0f ms)\n", msg, now_ms() - t0);
    CHECK(now_ms() - t0 < 2000);
    CHECK_EQ(st->stats.n_retry, 1);
    free(msg);
    s3p_store_close(st);
  }
  fake_stop(&f);
}

/* time_batch returns the milliseconds one batch of n 4 KiB PUTs takes. */
static double time_batch(s3p_store *st, int n, int round){
  s3p_op ops[64];
  char keys[64][32];
  static unsigned char page[4096];
  double t0;
  int i;
  memset(ops, 0, sizeof(ops));
  for(i = 0; i < n; i++){
    snprintf(keys[i], sizeof(keys[i]), "pages/r%d-%d", round, i);
    ops[i].kind = S3P_OP_PUT;
    ops[i].key = keys[i];
    ops[i].body = page;
    ops[i].body_len = sizeof(page);
  }
  t0 = now_ms();
  s3p_store_exec(st, ops, (size_t)n);
  t0 = now_ms() - t0;
  for(i = 0; i < n; i++){
    CHECK_EQ(ops[i].rc, S3P_OK);
    s3p_op_reset(&ops[i]);
  }
  return t0;
}

/* measure_parallel checks that a 64-op batch runs concurrently against
** endpoint (whose requests take a while): warm connections, then compare
** one request with 64. */
static void measure_parallel(const char *name, const char *endpoint,
                             const char *what){
  s3p_store *st = open_store(name, endpoint, 64);
  double t1 = 1e9, t64;
  int i;
  if(st == NULL) return;
  (void)time_batch(st, 64, 0);                  /* open 64 connections */
  for(i = 1; i <= 3; i++){
    double t = time_batch(st, 1, i);
    if(t < t1) t1 = t;
  }
  t64 = time_batch(st, 64, 9);
  printf("# %s: 1 PUT %.1f ms, 64 PUTs in one batch %.1f ms (%.1fx)\n",
         what, t1, t64, t64 / t1);
  CHECK(t64 < 10 * t1);
  s3p_store_close(st);
}

/* Parallel I/O: against a fake server holding each request 50 ms, and
** against the real server through delayproxy.py (if given). */
static void test_parallel(void){
  fake f;
  const char *proxy = getenv("S3PAGE_TEST_DELAYPROXY");
  if(fake_start(&f, "--cond", "--delay", "50", NULL) == 0){
    measure_parallel("s3://fakebucket/db", f.endpoint, "fake server, 50 ms/request");
    fake_stop(&f);
  }else{
    CHECK(!"fake server did not start");
  }
  if(proxy && proxy[0]){
    const char *ep = getenv("AWS_ENDPOINT_URL");
    const char *colon = ep ? strrchr(ep, ':') : NULL;
    char port[16], up[16], endpoint[64], name[512];
    pid_t pid;
    int p = 20000 + (int)(getpid() % 20000);
    if(colon == NULL) return;
    snprintf(up, sizeof(up), "%s", colon + 1);
    snprintf(port, sizeof(port), "%d", p);
    pid = fork();
    if(pid == 0){
      execlp("python3", "python3", proxy, port, up, "20", (char *)NULL);
      _exit(127);
    }
    if(pid < 0) return;
    usleep(500000);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", p);
    fresh_name(name, sizeof(name), "latency");
    measure_parallel(name, endpoint, "RGW via delayproxy 20 ms one-way");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
}

int main(int argc, char **argv){
  const char *slash;
  live_store = getenv("S3PAGE_TEST_STORE");
  if(live_store == NULL || strncmp(live_store, "s3://", 5) != 0
     || getenv("AWS_ACCESS_KEY_ID") == NULL){
    return 0;   /* no S3 server configured: nothing to run */
  }
  /* The source tree: the current directory, or three levels above the
  ** binary (build/tests/unit/test_s3_live). */
  snprintf(live_top, sizeof(live_top), ".");
  if(access("tests/fake-s3-nocond.py", R_OK) != 0
     && (slash = strrchr(argv[0], '/')) != NULL){
    snprintf(live_top, sizeof(live_top), "%.*s/../../..",
             (int)(slash - argv[0]), argv[0]);
  }
  (void)argc;
  signal(SIGPIPE, SIG_IGN);
  RUN(test_put_get_head_delete);
  RUN(test_put_new);
  RUN(test_put_new_race);
  RUN(test_list);
  RUN(test_big_batch);
  RUN(test_server_errors);
  RUN(test_nocond_refused);
  RUN(test_retry_then_ok);
  RUN(test_retry_exhausted);
  RUN(test_auth_error);
  RUN(test_ambiguous_create);
  RUN(test_timeout);
  RUN(test_parallel);
  curl_global_cleanup();   /* so that valgrind sees nothing left */
  return CHECK_DONE();
}
