/*
** test_store.c: the object-store contract, run against the directory and
** memory backends, plus directory-specific cases (confinement, races
** between processes, missing root) and the fault injector; and the size
** limit of GETs (op.max_len, s3p_store_opts.max_len) on both backends.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../check.h"
#include "../../vfs/store/store.h"
#include "../../index/objlen.h"

/* ---- helpers ---------------------------------------------------------- */

/* rm_one is the nftw callback of rm_rf: removes one entry. */
static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw){
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

/* rm_rf removes the tree at path (symlinks are removed, not followed). */
static void rm_rf(const char *path){
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* make_tmpdir returns a malloc'd new empty directory path. */
static char *make_tmpdir(void){
  const char *t = getenv("TMPDIR");
  char *p;
  if(asprintf(&p, "%s/s3p-store-XXXXXX", t && *t ? t : "/tmp") < 0) abort();
  if(mkdtemp(p) == NULL) abort();
  return p;
}

/* open_dir opens a directory store at path with create set. */
static s3p_store *open_dir(const char *path){
  s3p_store_opts o;
  s3p_store *st = NULL;
  char *msg = NULL;
  memset(&o, 0, sizeof(o));
  o.create = 1;
  if(s3p_store_dir_open(&st, path, &o, &msg) != S3P_OK){
    printf("# open %s: %s\n", path, msg ? msg : "?");
    free(msg);
    return NULL;
  }
  return st;
}

/* open_mem opens a handle on the in-memory store name. */
static s3p_store *open_mem(const char *name){
  s3p_store *st = NULL;
  char *msg = NULL;
  if(s3p_store_mem_open(&st, name, NULL, &msg) != S3P_OK){
    free(msg);
    return NULL;
  }
  return st;
}

/* put_str PUTs (kind) a NUL-terminated string and returns the rc. */
static int put_str(s3p_store *st, int kind, const char *key, const char *s){
  char *msg = NULL;
  int rc = s3p_store_put(st, kind, key, (const unsigned char *)s, strlen(s),
                         &msg);
  if(rc == S3P_EIO) printf("# put %s: %s\n", key, msg);
  free(msg);
  return rc;
}

/* get_is returns 1 if key holds exactly the string want. */
static int get_is(s3p_store *st, const char *key, const char *want){
  unsigned char *d = NULL;
  size_t n = 0;
  char *msg = NULL;
  int ok, rc = s3p_store_get(st, key, &d, &n, &msg);
  ok = rc == S3P_OK && n == strlen(want) && memcmp(d, want, n) == 0;
  free(d);
  free(msg);
  return ok;
}

/* op_init zeroes op and sets its kind and key. */
static void op_init(s3p_op *op, int kind, const char *key){
  memset(op, 0, sizeof(*op));
  op->kind = kind;
  op->key = key;
}

/* Listing collector. */
typedef struct lst {
  int n;                 /* keys seen */
  uint64_t bytes;        /* sum of sizes */
  int stop_after;        /* stop when n reaches this (0 = never) */
  int bad_mtime;         /* mtimes that look wrong */
  char seen[8][64];      /* first keys seen */
} lst;

/* lst_fn records one key of a listing. */
static int lst_fn(void *arg, const char *key, uint64_t size, int64_t mtime){
  lst *l = arg;
  if(l->n < 8) snprintf(l->seen[l->n], sizeof(l->seen[0]), "%s", key);
  l->n++;
  l->bytes += size;
  if(mtime < 1000000000) l->bad_mtime++;
  return l->stop_after && l->n >= l->stop_after;
}

/* list_count lists prefix and returns the number of keys, or -1. */
static int list_count(s3p_store *st, const char *prefix, lst *l){
  char *msg = NULL;
  memset(l, 0, sizeof(*l));
  if(s3p_store_list(st, prefix, lst_fn, l, &msg) != S3P_OK){
    printf("# list: %s\n", msg);
    free(msg);
    return -1;
  }
  return l->n;
}

/* ---- the contract ----------------------------------------------------- */

/* contract runs the backend-independent checks on an empty store st. */
static void contract(s3p_store *st){
  s3p_op ops[4];
  lst l;
  unsigned char *d = NULL;
  size_t n = 0;
  char *msg = NULL;
  s3p_store_stats s0;
  int i;

  /* put / get / replace */
  CHECK_EQ(put_str(st, S3P_OP_PUT, "a/b/c", "hello"), S3P_OK);
  CHECK(get_is(st, "a/b/c", "hello"));
  CHECK_EQ(put_str(st, S3P_OP_PUT, "a/b/c", "world!"), S3P_OK);
  CHECK(get_is(st, "a/b/c", "world!"));
  CHECK_EQ(put_str(st, S3P_OP_PUT, "empty", ""), S3P_OK);
  CHECK(get_is(st, "empty", ""));

  /* range gets */
  op_init(&ops[0], S3P_OP_GET, "a/b/c");
  ops[0].range_off = 1; ops[0].range_len = 3;
  op_init(&ops[1], S3P_OP_GET, "a/b/c");
  ops[1].range_off = 3;
  op_init(&ops[2], S3P_OP_GET, "a/b/c");
  ops[2].range_off = 100;
  op_init(&ops[3], S3P_OP_GET, "a/b/c");
  ops[3].range_off = 4; ops[3].range_len = 100;
  CHECK_EQ(s3p_store_exec(st, ops, 4), S3P_OK);
  CHECK_EQ(ops[0].rc, S3P_OK);
  CHECK(ops[0].len == 3 && memcmp(ops[0].data, "orl", 3) == 0);
  CHECK(ops[1].len == 3 && memcmp(ops[1].data, "ld!", 3) == 0);
  CHECK_EQ(ops[2].rc, S3P_OK);
  CHECK_EQ(ops[2].len, 0);
  CHECK(ops[3].len == 2 && memcmp(ops[3].data, "d!", 2) == 0);
  for(i = 0; i < 4; i++) s3p_op_reset(&ops[i]);

  /* head */
  op_init(&ops[0], S3P_OP_HEAD, "a/b/c");
  op_init(&ops[1], S3P_OP_HEAD, "a/b/nope");
  op_init(&ops[2], S3P_OP_HEAD, "a/b");       /* a "directory" */
  CHECK_EQ(s3p_store_exec(st, ops, 3), S3P_OK);
  CHECK_EQ(ops[0].rc, S3P_OK);
  CHECK_EQ(ops[0].len, 6);
  CHECK_EQ(ops[1].rc, S3P_ENOTFOUND);
  CHECK(ops[1].errmsg == NULL);
  CHECK_EQ(ops[2].rc, S3P_ENOTFOUND);
  for(i = 0; i < 3; i++) s3p_op_reset(&ops[i]);

  /* missing */
  CHECK_EQ(s3p_store_get(st, "nope/x", &d, &n, &msg), S3P_ENOTFOUND);
  CHECK(d == NULL && n == 0 && msg == NULL);
  CHECK_EQ(s3p_store_get(st, "a/b/c/d", &d, &n, &msg), S3P_ENOTFOUND);
  CHECK(msg == NULL);
  free(msg);

  /* put-if-absent */
  CHECK_EQ(put_str(st, S3P_OP_PUT_NEW, "wal/00000000000000000001", "v1"),
           S3P_OK);
  CHECK_EQ(put_str(st, S3P_OP_PUT_NEW, "wal/00000000000000000001", "v1b"),
           S3P_EEXISTS);
  CHECK(get_is(st, "wal/00000000000000000001", "v1"));
  CHECK_EQ(put_str(st, S3P_OP_PUT_NEW, "wal/00000000000000000002", "v2"),
           S3P_OK);

  /* list */
  CHECK_EQ(list_count(st, "wal/", &l), 2);
  CHECK_EQ(l.bytes, 4);
  CHECK_EQ(l.bad_mtime, 0);
  CHECK_EQ(list_count(st, "wal/0000000000000000000", &l), 2);
  CHECK_EQ(list_count(st, "wal/00000000000000000002", &l), 1);
  CHECK(strcmp(l.seen[0], "wal/00000000000000000002") == 0);
  CHECK_EQ(list_count(st, "", &l), 4);
  CHECK_EQ(list_count(st, "a/", &l), 1);
  CHECK(strcmp(l.seen[0], "a/b/c") == 0);
  CHECK_EQ(list_count(st, "a/b/c", &l), 1);
  CHECK_EQ(list_count(st, "zzz", &l), 0);
  memset(&l, 0, sizeof(l));
  l.stop_after = 1;
  CHECK_EQ(s3p_store_list(st, "", lst_fn, &l, NULL), S3P_OK);
  CHECK_EQ(l.n, 1);

  /* delete */
  op_init(&ops[0], S3P_OP_DELETE, "a/b/c");
  op_init(&ops[1], S3P_OP_DELETE, "a/b/c");     /* twice: still fine */
  op_init(&ops[2], S3P_OP_DELETE, "never/was");
  CHECK_EQ(s3p_store_exec(st, ops, 3), S3P_OK);
  CHECK_EQ(ops[0].rc, S3P_OK);
  CHECK_EQ(ops[1].rc, S3P_OK);
  CHECK_EQ(ops[2].rc, S3P_OK);
  for(i = 0; i < 3; i++) s3p_op_reset(&ops[i]);
  CHECK_EQ(s3p_store_get(st, "a/b/c", &d, &n, NULL), S3P_ENOTFOUND);
  CHECK_EQ(list_count(st, "a/", &l), 0);

  /* invalid keys never reach the backend */
  {
    static const char *bad[] = {
      "", "/abs", "a//b", "a/", "../x", "a/../../x", "./a", "a/./b", "..",
      "a b", "x\n", "k\\y", "ü", "a/%2e%2e"
    };
    size_t j;
    for(j = 0; j < sizeof(bad) / sizeof(bad[0]); j++){
      CHECK(!s3p_key_ok(bad[j]));
      CHECK_EQ(put_str(st, S3P_OP_PUT, bad[j], "x"), S3P_EINVAL);
    }
    op_init(&ops[0], S3P_OP_GET, NULL);
    op_init(&ops[1], S3P_OP_PUT, "ok/key");
    ops[1].body = (const unsigned char *)"zz";
    ops[1].body_len = 2;
    op_init(&ops[2], 99, "ok/key");
    CHECK_EQ(s3p_store_exec(st, ops, 3), S3P_OK);
    CHECK_EQ(ops[0].rc, S3P_EINVAL);
    CHECK(ops[0].errmsg != NULL);
    CHECK_EQ(ops[1].rc, S3P_OK);
    CHECK_EQ(ops[2].rc, S3P_EINVAL);
    for(i = 0; i < 3; i++) s3p_op_reset(&ops[i]);
    CHECK(get_is(st, "ok/key", "zz"));
  }

  /* stats: one round trip per non-empty batch */
  s0 = st->stats;
  op_init(&ops[0], S3P_OP_PUT, "s/1");
  ops[0].body = (const unsigned char *)"12345"; ops[0].body_len = 5;
  op_init(&ops[1], S3P_OP_PUT_NEW, "s/2");
  ops[1].body = (const unsigned char *)"123"; ops[1].body_len = 3;
  op_init(&ops[2], S3P_OP_HEAD, "s/3");
  CHECK_EQ(s3p_store_exec(st, ops, 3), S3P_OK);
  for(i = 0; i < 3; i++) s3p_op_reset(&ops[i]);
  op_init(&ops[0], S3P_OP_GET, "s/1");
  op_init(&ops[1], S3P_OP_GET, "s/missing");
  op_init(&ops[2], S3P_OP_DELETE, "s/2");
  op_init(&ops[3], S3P_OP_GET, "../bad");
  CHECK_EQ(s3p_store_exec(st, ops, 4), S3P_OK);
  for(i = 0; i < 4; i++) s3p_op_reset(&ops[i]);
  CHECK_EQ(s3p_store_exec(st, ops, 0), S3P_OK);
  CHECK_EQ(st->stats.round_trips - s0.round_trips, 2);
  CHECK_EQ(st->stats.n_put - s0.n_put, 2);
  CHECK_EQ(st->stats.n_get - s0.n_get, 2);
  CHECK_EQ(st->stats.n_head - s0.n_head, 1);
  CHECK_EQ(st->stats.n_delete - s0.n_delete, 1);
  CHECK_EQ(st->stats.bytes_out - s0.bytes_out, 8);
  CHECK_EQ(st->stats.bytes_in - s0.bytes_in, 5);
  CHECK_EQ(st->stats.n_error - s0.n_error, 1);   /* the bad key only */
  s0 = st->stats;
  CHECK_EQ(list_count(st, "s/", &l), 1);
  CHECK_EQ(st->stats.n_list - s0.n_list, 1);
  CHECK_EQ(st->stats.round_trips - s0.round_trips, 1);

  /* a batch of 100 puts, then 100 gets: two round trips */
  {
    s3p_op big[100];
    char keys[100][32], bodies[100][32];
    int ok = 1;
    s0 = st->stats;
    for(i = 0; i < 100; i++){
      snprintf(keys[i], sizeof(keys[i]), "pages/p%03d", i);
      snprintf(bodies[i], sizeof(bodies[i]), "body of page %d", i);
      op_init(&big[i], i % 2 ? S3P_OP_PUT : S3P_OP_PUT_NEW, keys[i]);
      big[i].body = (const unsigned char *)bodies[i];
      big[i].body_len = strlen(bodies[i]);
    }
    CHECK_EQ(s3p_store_exec(st, big, 100), S3P_OK);
    for(i = 0; i < 100; i++){
      if(big[i].rc != S3P_OK) ok = 0;
      s3p_op_reset(&big[i]);
      op_init(&big[i], S3P_OP_GET, keys[i]);
    }
    CHECK(ok);
    CHECK_EQ(s3p_store_exec(st, big, 100), S3P_OK);
    for(i = 0; i < 100; i++){
      if(big[i].rc != S3P_OK || big[i].len != strlen(bodies[i])
         || memcmp(big[i].data, bodies[i], big[i].len) != 0) ok = 0;
      s3p_op_reset(&big[i]);
    }
    CHECK(ok);
    CHECK_EQ(st->stats.round_trips - s0.round_trips, 2);
    CHECK_EQ(st->stats.n_put - s0.n_put, 100);
    CHECK_EQ(st->stats.n_get - s0.n_get, 100);
    CHECK_EQ(list_count(st, "pages/", &l), 100);
  }
}

/* test_key_rules: s3p_key_ok accepts format keys and rejects the rest. */
static void test_key_rules(void){
  char longkey[1100];
  CHECK(s3p_key_ok("HEAD"));
  CHECK(s3p_key_ok("wal/00000000000000000001"));
  CHECK(s3p_key_ok("pages/xxh128-0123456789abcdef"));
  CHECK(s3p_key_ok("a.b/c_d/e-f/...x"));
  CHECK(s3p_key_ok("..."));
  CHECK(!s3p_key_ok(NULL));
  CHECK(!s3p_key_ok(""));
  CHECK(!s3p_key_ok("/"));
  CHECK(!s3p_key_ok("a/.."));
  CHECK(!s3p_key_ok("a/."));
  memset(longkey, 'k', sizeof(longkey) - 1);
  longkey[sizeof(longkey) - 1] = 0;
  CHECK(!s3p_key_ok(longkey));
  longkey[1024] = 0;
  CHECK(s3p_key_ok(longkey));
}

/* test_dir_contract: the contract on a fresh directory store. */
static void test_dir_contract(void){
  char *tmp = make_tmpdir(), *root;
  s3p_store *st;
  if(asprintf(&root, "%s/db", tmp) < 0) abort();
  st = open_dir(root);
  CHECK(st != NULL);
  if(st){
    CHECK(strncmp(st->desc, "dir:/", 5) == 0);
    CHECK(strcmp(st->vt->scheme, "dir") == 0);
    contract(st);
    s3p_store_close(st);
  }
  rm_rf(tmp);
  free(root);
  free(tmp);
}

/* test_mem_contract: the contract on a fresh memory store, then sharing
** between handles and persistence across close. */
static void test_mem_contract(void){
  s3p_store *st = open_mem("contract"), *st2;
  CHECK(st != NULL);
  if(st == NULL) return;
  CHECK(strcmp(st->desc, "mem:contract") == 0);
  contract(st);
  st2 = open_mem("mem:contract");
  CHECK(st2 != NULL);
  CHECK(get_is(st2, "wal/00000000000000000001", "v1"));
  CHECK_EQ(st2->stats.n_get, 1);            /* stats are per handle */
  s3p_store_close(st);
  s3p_store_close(st2);
  st = open_mem("contract");
  CHECK(st && get_is(st, "wal/00000000000000000002", "v2"));
  s3p_store_close(st);
  st = open_mem("another");
  CHECK(st && !get_is(st, "wal/00000000000000000002", "v2"));
  s3p_store_close(st);
}

/* get_limited GETs key with op.max_len max (and the given range) and
** returns the op's rc; *len gets the bytes returned, and *msg the
** message (malloc'd, or NULL). */
static int get_limited(s3p_store *st, const char *key, uint64_t max,
                       uint64_t off, uint64_t want, size_t *len, char **msg){
  s3p_op op;
  op_init(&op, S3P_OP_GET, key);
  op.max_len = max;
  op.range_off = off;
  op.range_len = want;
  CHECK_EQ(s3p_store_exec(st, &op, 1), S3P_OK);
  *len = op.len;
  *msg = op.errmsg;
  op.errmsg = NULL;
  int rc = op.rc;
  CHECK(rc != S3P_OK || op.data != NULL);
  CHECK(rc == S3P_OK || op.data == NULL);
  s3p_op_reset(&op);
  return rc;
}

/* limits_on checks op.max_len on st: over the limit is S3P_ECORRUPT with a
** message naming the object, its size and the limit; at the limit is fine;
** a range is held to the limit by what it returns. */
static void limits_on(s3p_store *st){
  static unsigned char blob[5000];
  size_t len = 0;
  char *msg = NULL;
  uint64_t in0;
  memset(blob, 'b', sizeof(blob));
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "wal/blob", blob, sizeof(blob),
                         NULL), S3P_OK);
  in0 = st->stats.bytes_in;
  CHECK_EQ(get_limited(st, "wal/blob", 4999, 0, 0, &len, &msg), S3P_ECORRUPT);
  CHECK(msg && strstr(msg, "/wal/blob: GET: object is 5000 bytes, more than "
                           "the limit of 4999") != NULL);
  if(msg) printf("# %s\n", msg);
  CHECK_EQ(len, 0);
  CHECK_EQ(st->stats.bytes_in, in0);
  free(msg);
  CHECK_EQ(get_limited(st, "wal/blob", 5000, 0, 0, &len, &msg), S3P_OK);
  CHECK_EQ(len, 5000);
  free(msg);
  CHECK_EQ(get_limited(st, "wal/blob", 4000, 1000, 0, &len, &msg), S3P_OK);
  CHECK_EQ(len, 4000);
  free(msg);
  CHECK_EQ(get_limited(st, "wal/blob", 100, 10, 200, &len, &msg),
           S3P_ECORRUPT);
  free(msg);
  /* 0 means the store's limit for the key: here the default cap */
  CHECK_EQ(get_limited(st, "wal/blob", 0, 0, 0, &len, &msg), S3P_OK);
  CHECK_EQ(len, 5000);
  free(msg);
}

/* test_get_limits: op.max_len on the memory and directory backends. */
static void test_get_limits(void){
  char *tmp = make_tmpdir(), *root;
  s3p_store *st = open_mem("limits");
  CHECK(st != NULL);
  if(st){ limits_on(st); s3p_store_close(st); }
  if(asprintf(&root, "%s/db", tmp) < 0) abort();
  st = open_dir(root);
  CHECK(st != NULL);
  if(st){ limits_on(st); s3p_store_close(st); }
  rm_rf(tmp);
  free(root);
  free(tmp);
}

/* test_get_limit_policy: a store opened with the format's limits
** (s3p_obj_max_len) refuses a HEAD over 1120 bytes and a page object
** over 65560 bytes, and takes keys the format does not name up to the
** default cap. A 300 MB (sparse) file is refused from its size, unread. */
static void test_get_limit_policy(void){
  char *tmp = make_tmpdir(), *root, *path;
  static unsigned char big[70000];
  s3p_store_opts o;
  s3p_store *st = NULL;
  unsigned char *d = NULL;
  size_t n = 0;
  char *msg = NULL;
  if(asprintf(&root, "%s/db", tmp) < 0) abort();
  memset(&o, 0, sizeof(o));
  o.create = 1;
  o.max_len = s3p_obj_max_len;
  CHECK_EQ(s3p_store_open(&st, root, &o, &msg), S3P_OK);
  if(st == NULL){ free(msg); rm_rf(tmp); free(root); free(tmp); return; }
  CHECK(st->max_len == s3p_obj_max_len);
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "HEAD", big, 1120, NULL), S3P_OK);
  CHECK_EQ(s3p_store_get(st, "HEAD", &d, &n, &msg), S3P_OK);
  CHECK_EQ(n, 1120);
  free(d);
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "HEAD", big, 1121, NULL), S3P_OK);
  CHECK_EQ(s3p_store_get(st, "HEAD", &d, &n, &msg), S3P_ECORRUPT);
  CHECK(d == NULL && n == 0);
  CHECK(msg && strstr(msg, "/HEAD: GET: object is 1121 bytes, more than the "
                           "limit of 1120") != NULL);
  free(msg);
  msg = NULL;
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/xxh128-0", big, 65561, NULL),
           S3P_OK);
  CHECK_EQ(s3p_store_get(st, "pages/xxh128-0", &d, &n, &msg), S3P_ECORRUPT);
  CHECK(msg && strstr(msg, "limit of 65560") != NULL);
  free(msg);
  msg = NULL;
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "other", big, sizeof(big), NULL),
           S3P_OK);
  CHECK_EQ(s3p_store_get(st, "other", &d, &n, &msg), S3P_OK);
  CHECK_EQ(n, sizeof(big));
  free(d);

  /* A HEAD of 300 MB: refused from fstat, nothing allocated or read. */
  if(asprintf(&path, "%s/HEAD", root) < 0) abort();
  CHECK(truncate(path, (off_t)300 << 20) == 0);
  CHECK_EQ(s3p_store_get(st, "HEAD", &d, &n, &msg), S3P_ECORRUPT);
  CHECK(msg && strstr(msg, "object is 314572800 bytes") != NULL);
  free(msg);
  free(path);
  s3p_store_close(st);

  /* The memory store, the same way. */
  CHECK_EQ(s3p_store_open(&st, "mem:policy", &o, &msg), S3P_OK);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "TAIL", big, 30, NULL), S3P_OK);
    CHECK_EQ(s3p_store_get(st, "TAIL", &d, &n, &msg), S3P_ECORRUPT);
    CHECK(msg && strstr(msg, "limit of 24") != NULL);
    free(msg);
    s3p_store_close(st);
  }
  rm_rf(tmp);
  free(root);
  free(tmp);
}

/* test_open_dispatch: s3p_store_open picks the backend by name. */
static void test_open_dispatch(void){
  char *tmp = make_tmpdir(), *msg = NULL;
  s3p_store_opts o;
  s3p_store *st = NULL;
  memset(&o, 0, sizeof(o));
  CHECK_EQ(s3p_store_open(&st, "mem:dispatch", &o, &msg), S3P_OK);
  CHECK(st && strcmp(st->vt->scheme, "mem") == 0);
  s3p_store_close(st);
  CHECK_EQ(s3p_store_open(&st, tmp, NULL, &msg), S3P_OK);
  CHECK(st && strcmp(st->vt->scheme, "dir") == 0);
  s3p_store_close(st);
  o.fault = "seed=3,rate=0";
  CHECK_EQ(s3p_store_open(&st, "mem:dispatch", &o, &msg), S3P_OK);
  CHECK(st && strcmp(st->vt->scheme, "fault") == 0);
  CHECK(st && strcmp(st->desc, "fault:mem:dispatch") == 0);
  s3p_store_close(st);
  o.fault = "bogus=1";
  CHECK_EQ(s3p_store_open(&st, tmp, &o, &msg), S3P_EINVAL);
  CHECK(st == NULL);
  CHECK(msg && strstr(msg, "bogus"));
  free(msg);
  msg = NULL;
  CHECK_EQ(s3p_store_open(&st, "", NULL, &msg), S3P_EINVAL);
  free(msg);
  rm_rf(tmp);
  free(tmp);
}

/* readonly_check: writes on a read-only handle are refused, reads work. */
static void readonly_check(s3p_store *st){
  s3p_op op;
  char *msg = NULL;
  CHECK(get_is(st, "k", "v"));
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "k", (const unsigned char *)"w",
                         1, &msg), S3P_EINVAL);
  CHECK(msg && strstr(msg, "read-only"));
  free(msg);
  CHECK_EQ(put_str(st, S3P_OP_PUT_NEW, "k2", "w"), S3P_EINVAL);
  op_init(&op, S3P_OP_DELETE, "k");
  s3p_store_exec(st, &op, 1);
  CHECK_EQ(op.rc, S3P_EINVAL);
  s3p_op_reset(&op);
  CHECK(get_is(st, "k", "v"));
}

/* test_readonly: read-only handles of both backends refuse writes. */
static void test_readonly(void){
  char *tmp = make_tmpdir(), *msg = NULL;
  s3p_store_opts o;
  s3p_store *st = open_dir(tmp);
  struct stat sb;
  char *tmpdir;
  memset(&o, 0, sizeof(o));
  o.readonly = 1;
  CHECK_EQ(put_str(st, S3P_OP_PUT, "k", "v"), S3P_OK);
  s3p_store_close(st);
  if(asprintf(&tmpdir, "%s/tmp", tmp) < 0) abort();
  rm_rf(tmpdir);
  CHECK_EQ(s3p_store_dir_open(&st, tmp, &o, &msg), S3P_OK);
  if(st){
    readonly_check(st);
    s3p_store_close(st);
  }
  CHECK(stat(tmpdir, &sb) != 0);              /* nothing written */
  free(tmpdir);

  st = open_mem("ro");
  CHECK_EQ(put_str(st, S3P_OP_PUT, "k", "v"), S3P_OK);
  s3p_store_close(st);
  CHECK_EQ(s3p_store_mem_open(&st, "ro", &o, &msg), S3P_OK);
  if(st){
    readonly_check(st);
    s3p_store_close(st);
  }
  rm_rf(tmp);
  free(tmp);
}

/* test_dir_missing_root: no create means ENOTFOUND with a clear message;
** create makes only the last component. */
static void test_dir_missing_root(void){
  char *tmp = make_tmpdir(), *root, *deep, *msg = NULL;
  s3p_store_opts o;
  s3p_store *st = NULL;
  if(asprintf(&root, "%s/db", tmp) < 0) abort();
  if(asprintf(&deep, "%s/no/such/db", tmp) < 0) abort();
  memset(&o, 0, sizeof(o));
  CHECK_EQ(s3p_store_dir_open(&st, root, &o, &msg), S3P_ENOTFOUND);
  CHECK(st == NULL);
  CHECK(msg && strstr(msg, root) && strstr(msg, "no such directory"));
  free(msg);
  msg = NULL;
  o.create = 1;
  CHECK_EQ(s3p_store_dir_open(&st, deep, &o, &msg), S3P_ENOTFOUND);
  CHECK(msg != NULL);
  free(msg);
  msg = NULL;
  CHECK_EQ(s3p_store_dir_open(&st, root, &o, &msg), S3P_OK);
  s3p_store_close(st);
  o.create = 0;
  CHECK_EQ(s3p_store_dir_open(&st, root, &o, &msg), S3P_OK);
  s3p_store_close(st);
  /* a file is not a root */
  {
    char *file;
    int fd;
    if(asprintf(&file, "%s/file", tmp) < 0) abort();
    fd = open(file, O_CREAT | O_WRONLY, 0644);
    close(fd);
    CHECK_EQ(s3p_store_dir_open(&st, file, &o, &msg), S3P_EINVAL);
    free(msg);
    free(file);
  }
  rm_rf(tmp);
  free(root);
  free(deep);
  free(tmp);
}

/* test_dir_confinement: nothing reaches outside the root, whether by key
** or by symlinks planted inside the root. */
static void test_dir_confinement(void){
  char *tmp = make_tmpdir(), *root, *out, *p;
  s3p_store *st;
  s3p_op op;
  lst l;
  struct stat sb;
  int fd;

  if(asprintf(&root, "%s/root", tmp) < 0) abort();
  if(asprintf(&out, "%s/outside", tmp) < 0) abort();
  CHECK_EQ(mkdir(out, 0777), 0);
  if(asprintf(&p, "%s/secret", out) < 0) abort();
  fd = open(p, O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0 && write(fd, "secret", 6) == 6);
  close(fd);
  free(p);
  st = open_dir(root);
  CHECK(st != NULL);
  if(st == NULL) goto done;

  /* keys that try to climb out */
  CHECK_EQ(put_str(st, S3P_OP_PUT, "../escape", "x"), S3P_EINVAL);
  CHECK_EQ(put_str(st, S3P_OP_PUT, "a/../../escape", "x"), S3P_EINVAL);
  CHECK_EQ(put_str(st, S3P_OP_PUT, "/tmp/escape", "x"), S3P_EINVAL);
  CHECK_EQ(put_str(st, S3P_OP_PUT, "tmp/x", "x"), S3P_EINVAL);   /* reserved */
  if(asprintf(&p, "%s/escape", tmp) < 0) abort();
  CHECK(stat(p, &sb) != 0);
  free(p);

  /* a symlinked directory inside the root */
  if(asprintf(&p, "%s/pages", root) < 0) abort();
  CHECK_EQ(symlink(out, p), 0);
  free(p);
  op_init(&op, S3P_OP_GET, "pages/secret");
  s3p_store_exec(st, &op, 1);
  CHECK_EQ(op.rc, S3P_EIO);
  CHECK(op.data == NULL);
  CHECK(op.errmsg && strstr(op.errmsg, "not followed"));
  s3p_op_reset(&op);
  CHECK(put_str(st, S3P_OP_PUT, "pages/new", "x") != S3P_OK);
  CHECK(put_str(st, S3P_OP_PUT_NEW, "pages/new2", "x") != S3P_OK);
  if(asprintf(&p, "%s/new", out) < 0) abort();
  CHECK(stat(p, &sb) != 0);
  free(p);
  if(asprintf(&p, "%s/new2", out) < 0) abort();
  CHECK(stat(p, &sb) != 0);
  free(p);

  /* a symlinked file inside the root */
  CHECK_EQ(put_str(st, S3P_OP_PUT, "wal/real", "r"), S3P_OK);
  if(asprintf(&p, "%s/wal/evil", root) < 0) abort();
  {
    char *target;
    if(asprintf(&target, "%s/secret", out) < 0) abort();
    CHECK_EQ(symlink(target, p), 0);
    free(target);
  }
  free(p);
  op_init(&op, S3P_OP_GET, "wal/evil");
  s3p_store_exec(st, &op, 1);
  CHECK(op.rc != S3P_OK);
  CHECK(op.errmsg && strstr(op.errmsg, "wal/evil"));
  s3p_op_reset(&op);
  op_init(&op, S3P_OP_HEAD, "wal/evil");
  s3p_store_exec(st, &op, 1);
  CHECK(op.rc != S3P_OK);
  s3p_op_reset(&op);
  CHECK_EQ(list_count(st, "", &l), 1);        /* only wal/real */
  CHECK(strcmp(l.seen[0], "wal/real") == 0);
  CHECK_EQ(put_str(st, S3P_OP_PUT_NEW, "wal/evil", "x"), S3P_EEXISTS);
  /* PUT replaces the link itself; DELETE removes a link, not its target */
  CHECK_EQ(put_str(st, S3P_OP_PUT, "wal/evil", "mine"), S3P_OK);
  CHECK(get_is(st, "wal/evil", "mine"));
  if(asprintf(&p, "%s/wal/evil2", root) < 0) abort();
  CHECK_EQ(symlink("../../outside/secret", p), 0);
  free(p);
  op_init(&op, S3P_OP_DELETE, "wal/evil2");
  s3p_store_exec(st, &op, 1);
  CHECK_EQ(op.rc, S3P_OK);
  s3p_op_reset(&op);
  if(asprintf(&p, "%s/secret", out) < 0) abort();
  CHECK(stat(p, &sb) == 0 && sb.st_size == 6);
  free(p);
  s3p_store_close(st);
done:
  rm_rf(tmp);
  free(root);
  free(out);
  free(tmp);
}

/* race_child opens its own handle on root and tries to create every key
** race/K (K < 50) with PUT_NEW, then writes the number of keys it won (-1
** on an unexpected error) to fd and exits. The count goes through a pipe,
** not the exit status, which tools like valgrind may replace. */
static void race_child(const char *root, int id, int fd){
  s3p_store *st = NULL;
  char key[32], body[64];
  int k, won = 0;
  if(s3p_store_dir_open(&st, root, NULL, NULL) != S3P_OK) won = -1;
  for(k = 0; k < 50 && won >= 0; k++){
    int rc;
    snprintf(key, sizeof(key), "race/%02d", k);
    snprintf(body, sizeof(body), "child %d won key %02d", id, k);
    rc = s3p_store_put(st, S3P_OP_PUT_NEW, key, (const unsigned char *)body,
                       strlen(body), NULL);
    if(rc == S3P_OK) won++;
    else if(rc != S3P_EEXISTS) won = -1;
  }
  s3p_store_close(st);
  if(write(fd, &won, sizeof(won)) != (ssize_t)sizeof(won)) _exit(1);
  _exit(0);
}

/* test_dir_race: 8 processes race to create the same 50 keys: exactly one
** winner per key, and every winner's object is whole. */
static void test_dir_race(void){
  char *tmp = make_tmpdir();
  s3p_store *st = open_dir(tmp);
  pid_t pids[8];
  int i, total = 0, whole = 0, fds[2];
  lst l;
  CHECK_EQ(pipe(fds), 0);
  fflush(stdout);
  for(i = 0; i < 8; i++){
    pids[i] = fork();
    if(pids[i] == 0){
      close(fds[0]);
      race_child(tmp, i, fds[1]);
    }
    CHECK(pids[i] > 0);
  }
  close(fds[1]);
  for(i = 0; i < 8; i++){
    int status = 0, won = -1;
    if(pids[i] <= 0) continue;
    CHECK_EQ(read(fds[0], &won, sizeof(won)), sizeof(won));
    CHECK(won >= 0);
    total += won;
    CHECK_EQ(waitpid(pids[i], &status, 0), pids[i]);
    CHECK(WIFEXITED(status));
  }
  close(fds[0]);
  CHECK_EQ(total, 50);
  for(i = 0; i < 50; i++){
    char key[32];
    unsigned char *d = NULL;
    size_t n = 0;
    int child = -1, k = -1;
    snprintf(key, sizeof(key), "race/%02d", i);
    if(s3p_store_get(st, key, &d, &n, NULL) == S3P_OK){
      char buf[64];
      snprintf(buf, sizeof(buf), "%.*s", (int)n, (const char *)d);
      if(sscanf(buf, "child %d won key %d", &child, &k) == 2 && k == i
         && child >= 0 && child < 8) whole++;
    }
    free(d);
  }
  CHECK_EQ(whole, 50);
  CHECK_EQ(list_count(st, "", &l), 50);    /* no temp files listed */
  {
    char *tdir;
    DIR *d;
    int left = 0;
    struct dirent *de;
    if(asprintf(&tdir, "%s/tmp", tmp) < 0) abort();
    d = opendir(tdir);
    while(d && (de = readdir(d)) != NULL) if(de->d_name[0] != '.') left++;
    if(d) closedir(d);
    CHECK_EQ(left, 0);                     /* temp files cleaned up */
    free(tdir);
  }
  s3p_store_close(st);
  rm_rf(tmp);
  free(tmp);
}

/* ---- fault injector ---------------------------------------------------- */

/* open_fault wraps a handle on mem store name with spec. */
static s3p_store *open_fault(const char *name, const char *spec){
  s3p_store *inner = open_mem(name), *st = NULL;
  char *msg = NULL;
  if(inner == NULL) return NULL;
  if(s3p_store_fault_open(&st, inner, spec, &msg) != S3P_OK){
    printf("# fault %s: %s\n", spec, msg);
    free(msg);
    return NULL;
  }
  return st;
}

/* put_batch PUTs keys f/0..f/(n-1) in one batch; rcs[i] gets each rc. */
static void put_batch(s3p_store *st, int n, int *rcs){
  s3p_op ops[16];
  char keys[16][16];
  int i;
  for(i = 0; i < n; i++){
    snprintf(keys[i], sizeof(keys[i]), "f/%d", i);
    op_init(&ops[i], S3P_OP_PUT, keys[i]);
    ops[i].body = (const unsigned char *)keys[i];
    ops[i].body_len = strlen(keys[i]);
  }
  s3p_store_exec(st, ops, (size_t)n);
  for(i = 0; i < n; i++){
    rcs[i] = ops[i].rc;
    if(ops[i].rc == S3P_EIO && (ops[i].errmsg == NULL
                                || !strstr(ops[i].errmsg, "injected fault"))){
      rcs[i] = -100;
    }
    s3p_op_reset(&ops[i]);
  }
}

/* test_fault_fail_n: fail=3 hits exactly the third operation, which never
** reaches the store. */
static void test_fault_fail_n(void){
  s3p_store *st = open_fault("fault-fail", "fail=3");
  s3p_store *raw = open_mem("fault-fail");
  int rcs[5], i;
  lst l;
  if(st == NULL || raw == NULL) return;
  put_batch(st, 5, rcs);
  for(i = 0; i < 5; i++) CHECK_EQ(rcs[i], i == 2 ? S3P_EIO : S3P_OK);
  CHECK_EQ(st->stats.n_error, 1);
  CHECK_EQ(list_count(raw, "f/", &l), 4);
  CHECK(!get_is(raw, "f/2", "f/2"));
  put_batch(st, 5, rcs);                     /* ops 6..10: no faults */
  for(i = 0; i < 5; i++) CHECK_EQ(rcs[i], S3P_OK);
  s3p_store_close(st);
  s3p_store_close(raw);

  /* kinds: only GETs are numbered */
  st = open_fault("fault-kinds", "kinds=g,fail=1");
  if(st == NULL) return;
  CHECK_EQ(put_str(st, S3P_OP_PUT, "k", "v"), S3P_OK);
  CHECK(!get_is(st, "k", "v"));
  CHECK(get_is(st, "k", "v"));
  s3p_store_close(st);
}

/* fault_pattern runs 200 HEADs through a rate=0.5 injector with seed and
** writes the outcomes into pat (1 = failed). Returns the failure count. */
static int fault_pattern(const char *seed, char *pat){
  char spec[64];
  s3p_store *st;
  s3p_op ops[200];
  int i, n = 0;
  snprintf(spec, sizeof(spec), "seed=%s,rate=0.5", seed);
  st = open_fault("fault-rate", spec);
  if(st == NULL) return -1;
  for(i = 0; i < 200; i++) op_init(&ops[i], S3P_OP_HEAD, "h");
  s3p_store_exec(st, ops, 200);
  for(i = 0; i < 200; i++){
    pat[i] = ops[i].rc == S3P_EIO;
    n += pat[i];
    s3p_op_reset(&ops[i]);
  }
  s3p_store_close(st);
  return n;
}

/* test_fault_rate: a seeded rate is deterministic, about right, and
** depends on the seed. */
static void test_fault_rate(void){
  char a[200], b[200], c[200];
  int na, nb, nc;
  s3p_store *raw = open_mem("fault-rate");
  /* make sure "h" exists even if the first PUT of a run is failed */
  CHECK_EQ(put_str(raw, S3P_OP_PUT, "h", "x"), S3P_OK);
  na = fault_pattern("7", a);
  nb = fault_pattern("7", b);
  nc = fault_pattern("8", c);
  s3p_store_close(raw);
  CHECK_EQ(na, nb);
  CHECK(memcmp(a, b, sizeof(a)) == 0);
  CHECK(na > 60 && na < 140);
  CHECK(nc > 60 && nc < 140);
  CHECK(memcmp(a, c, sizeof(a)) != 0);
}

/* test_fault_lost: lost=1 performs writes but reports S3P_EIO. */
static void test_fault_lost(void){
  s3p_store *st = open_fault("fault-lost", "lost=1");
  s3p_store *raw = open_mem("fault-lost");
  s3p_op op;
  if(st == NULL || raw == NULL) return;
  CHECK_EQ(put_str(st, S3P_OP_PUT_NEW, "wal/1", "done"), S3P_EIO);
  CHECK(get_is(raw, "wal/1", "done"));
  op_init(&op, S3P_OP_GET, "wal/1");
  s3p_store_exec(st, &op, 1);
  CHECK_EQ(op.rc, S3P_EIO);
  CHECK(op.data == NULL && op.len == 0);
  CHECK(op.errmsg && strstr(op.errmsg, "injected fault"));
  s3p_op_reset(&op);
  s3p_store_close(st);
  s3p_store_close(raw);
}

/* test_fault_crash: crash=3 kills a child with SIGKILL right after the
** third operation; its effect is on disk, later ones are not. */
static void test_fault_crash(void){
  char *tmp = make_tmpdir();
  pid_t pid;
  int status = 0, rcs[5];
  s3p_store *st;
  fflush(stdout);
  pid = fork();
  if(pid == 0){
    s3p_store_opts o;
    s3p_store *cst = NULL;
    memset(&o, 0, sizeof(o));
    o.fault = "crash=3";
    if(s3p_store_open(&cst, tmp, &o, NULL) != S3P_OK) _exit(1);
    put_batch(cst, 5, rcs);
    _exit(2);                 /* should not get here */
  }
  CHECK(pid > 0);
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  st = open_dir(tmp);
  if(st){
    CHECK(get_is(st, "f/0", "f/0"));
    CHECK(get_is(st, "f/1", "f/1"));
    CHECK(get_is(st, "f/2", "f/2"));
    CHECK(!get_is(st, "f/3", "f/3"));
    CHECK(!get_is(st, "f/4", "f/4"));
    s3p_store_close(st);
  }
  rm_rf(tmp);
  free(tmp);
}

/* test_fault_bad_spec: malformed specs are refused, naming the setting. */
static void test_fault_bad_spec(void){
  static const struct { const char *spec, *word; } bad[] = {
    { "foo=1", "foo" }, { "rate=2", "rate" }, { "rate=-0.1", "rate" },
    { "fail=x", "fail" }, { "fail=0", "fail" }, { "kinds=gz", "kinds" },
    { "kinds=", "kinds" }, { "seed", "seed" }, { "lost=abc", "lost" },
    { "crash=1.5", "crash" }, { "seed=-1", "seed" }, { "delay_ms=", "delay_ms" }
  };
  size_t i;
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
    s3p_store *inner = open_mem("fault-spec"), *st = NULL;
    char *msg = NULL;
    CHECK_EQ(s3p_store_fault_open(&st, inner, bad[i].spec, &msg), S3P_EINVAL);
    CHECK(st == NULL);
    CHECK(msg && strstr(msg, bad[i].word));
    if(!(msg && strstr(msg, bad[i].word))) printf("# %s: %s\n", bad[i].spec, msg);
    free(msg);
  }
  {
    s3p_store *st = open_fault("fault-spec",
                               "seed=5,fail=2,rate=0,lost=0,crash=1000,"
                               "kinds=gpnhdl,delay_ms=1");
    CHECK(st != NULL);
    s3p_store_close(st);
    st = open_fault("fault-spec", "");
    CHECK(st != NULL);
    s3p_store_close(st);
  }
}

int main(void){
  RUN(test_key_rules);
  RUN(test_mem_contract);
  RUN(test_dir_contract);
  RUN(test_open_dispatch);
  RUN(test_get_limits);
  RUN(test_get_limit_policy);
  RUN(test_readonly);
  RUN(test_dir_missing_root);
  RUN(test_dir_confinement);
  RUN(test_dir_race);
  RUN(test_fault_fail_n);
  RUN(test_fault_rate);
  RUN(test_fault_lost);
  RUN(test_fault_crash);
  RUN(test_fault_bad_spec);
  return CHECK_DONE();
}
