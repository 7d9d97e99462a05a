/*
** test_s3_fake.c: the S3 backend (s3.c) at the store interface against
** tests/fake-s3-nocond.py, for what needs no real server: requests
** carrying a 4 KiB session token (the fake server checks every SigV4
** signature, and that the token was sent and signed), and the size limit
** of GETs (op.max_len) from Content-Length, for ranges, and without a
** Content-Length (chunked). Skipped with a "#" line without python3.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "../check.h"
#include "../lib/fakes3.h"
#include "../../vfs/store/store.h"

/* open_fake opens s3://fakebucket/db on f. Returns the store or NULL. */
static s3p_store *open_fake(const fakes3 *f){
  s3p_store_opts o;
  s3p_store *st = NULL;
  char *msg = NULL;
  memset(&o, 0, sizeof o);
  o.endpoint = f->endpoint;
  if(s3p_store_open(&st, "s3://fakebucket/db", &o, &msg) != S3P_OK){
    printf("# open: %s\n", msg ? msg : "?");
  }
  free(msg);
  return st;
}

/* run_one runs op alone and returns its rc (printing unexpected
** messages). */
static int run_one(s3p_store *st, s3p_op *op){
  CHECK_EQ(s3p_store_exec(st, op, 1), S3P_OK);
  return op->rc;
}

/* Every kind of request works with a 4 KiB token; a wrong secret is
** refused by the same server. */
static void test_long_token_ops(void){
  static unsigned char body[3000];
  char *token = malloc(4097);
  fakes3 f;
  s3p_op op;
  for(int i = 0; i < 4096; i++) token[i] = "Zz09+/=a"[i % 8];
  token[4096] = 0;
  setenv("AWS_SESSION_TOKEN", token, 1);
  memset(body, 'q', sizeof body);
  if(fakes3_start(&f, "--cond", "--verify", NULL) != 0){
    CHECK(!"fake server did not start");
  }else{
    s3p_store *st = open_fake(&f);
    CHECK(st != NULL);
    if(st){
      CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", body, sizeof body,
                             NULL), S3P_OK);
      CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", body, 10, NULL),
               S3P_OK);                      /* after the probe */
      memset(&op, 0, sizeof op);
      op.kind = S3P_OP_GET;
      op.key = "pages/a";
      CHECK_EQ(run_one(st, &op), S3P_OK);
      CHECK(op.len == sizeof body && memcmp(op.data, body, op.len) == 0);
      s3p_op_reset(&op);
      op.kind = S3P_OP_HEAD;
      CHECK_EQ(run_one(st, &op), S3P_OK);
      CHECK_EQ(op.len, sizeof body);
      s3p_op_reset(&op);
      op.kind = S3P_OP_DELETE;
      CHECK_EQ(run_one(st, &op), S3P_OK);
      if(op.errmsg) printf("# %s\n", op.errmsg);
      s3p_op_reset(&op);
      op.kind = S3P_OP_GET;
      CHECK_EQ(run_one(st, &op), S3P_ENOTFOUND);
      s3p_op_reset(&op);
      s3p_store_close(st);
    }
    /* The control: a wrong secret fails the signature check. */
    char *secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
    setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
    st = open_fake(&f);
    if(st){
      memset(&op, 0, sizeof op);
      op.kind = S3P_OP_GET;
      op.key = "wal/1";
      CHECK_EQ(run_one(st, &op), S3P_EAUTH);
      CHECK(op.errmsg && strstr(op.errmsg, token) == NULL);
      s3p_op_reset(&op);
      s3p_store_close(st);
    }
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    free(secret);
    fakes3_stop(&f);
  }
  unsetenv("AWS_SESSION_TOKEN");
  free(token);
}

/* get_rc GETs key (range off/want, limit max) and returns the rc; *len
** gets the bytes and *msg the message (malloc'd or NULL). */
static int get_rc(s3p_store *st, const char *key, uint64_t off,
                  uint64_t want, uint64_t max, size_t *len, char **msg){
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_GET;
  op.key = key;
  op.range_off = off;
  op.range_len = want;
  op.max_len = max;
  int rc = run_one(st, &op);
  *len = op.len;
  *msg = op.errmsg;
  op.errmsg = NULL;
  s3p_op_reset(&op);
  return rc;
}

/* limits_on checks op.max_len on the fake server f; chunked says the
** server sends no Content-Length. */
static void limits_on(const fakes3 *f, int chunked){
  static unsigned char body[5000];
  s3p_store *st = open_fake(f);
  size_t len = 0;
  char *msg = NULL;
  CHECK(st != NULL);
  if(st == NULL) return;
  memset(body, 'z', sizeof body);
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "wal/big", body, sizeof body, NULL),
           S3P_OK);
  uint64_t in0 = st->stats.bytes_in;
  CHECK_EQ(get_rc(st, "wal/big", 0, 0, 4999, &len, &msg), S3P_ECORRUPT);
  CHECK_EQ(len, 0);
  CHECK(msg && strstr(msg, chunked ? "wal/big: GET: object is more than the "
                                     "limit of 4999 bytes"
                                   : "wal/big: GET: object is 5000 bytes, "
                                     "more than the limit of 4999") != NULL);
  if(msg) printf("# %s\n", msg);
  free(msg);
  CHECK_EQ(st->stats.n_retry, 0);           /* not worth another try */
  CHECK_EQ(st->stats.bytes_in, in0);
  CHECK_EQ(get_rc(st, "wal/big", 0, 0, 5000, &len, &msg), S3P_OK);
  CHECK_EQ(len, 5000);
  free(msg);
  if(!chunked){
    /* A range is held to the limit by what it returns (206). */
    CHECK_EQ(get_rc(st, "wal/big", 1000, 200, 200, &len, &msg), S3P_OK);
    CHECK_EQ(len, 200);
    free(msg);
    CHECK_EQ(get_rc(st, "wal/big", 10, 300, 100, &len, &msg), S3P_ECORRUPT);
    CHECK(msg && strstr(msg, "object is 300 bytes") != NULL);
    free(msg);
  }
  s3p_store_close(st);
}

/* The limit from Content-Length, and without one. */
static void test_get_limits(void){
  fakes3 f;
  if(fakes3_start(&f, "--cond", NULL) != 0){
    CHECK(!"fake server did not start");
  }else{
    limits_on(&f, 0);
    fakes3_stop(&f);
  }
  if(fakes3_start(&f, "--cond", "--chunked", NULL) != 0){
    CHECK(!"fake server did not start");
  }else{
    limits_on(&f, 1);
    fakes3_stop(&f);
  }
}

/* AWS answers a create that lost the race with 409
** ConditionalRequestConflict, not 412: the loser learns it all the same,
** also after an ambiguous first attempt whose write did land (read back,
** found to be ours). */
static void test_conflict_409(void){
  static const unsigned char a[] = "record a", b[] = "record b";
  fakes3 f;
  if(fakes3_start(&f, "--cond", "--cond-status", "409", "--ambiguous", "1",
                  NULL) != 0){
    CHECK(!"fake server did not start");
    return;
  }
  s3p_store *st = open_fake(&f);
  CHECK(st != NULL);
  if(st){
    /* the first create lands but answers 500; the retry gets 409 */
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", a, sizeof a, NULL),
             S3P_OK);
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/1", b, sizeof b, NULL),
             S3P_EEXISTS);
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT_NEW, "wal/2", b, sizeof b, NULL),
             S3P_OK);
    s3p_store_close(st);
  }
  fakes3_stop(&f);
}

int main(int argc, char **argv){
  (void)argc;
  if(fakes3_find_script(argv[0]) != 0){
    printf("# no python3 or no tests/fake-s3-nocond.py: nothing to run\n");
    return 0;
  }
  setenv("AWS_ACCESS_KEY_ID", "AKIDFAKESERVER", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "fake-server-secret", 1);
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_PROFILE");
  unsetenv("S3PAGE_TRUST_CONDITIONAL");
  signal(SIGPIPE, SIG_IGN);
  RUN(test_long_token_ops);
  RUN(test_get_limits);
  RUN(test_conflict_409);
  curl_global_cleanup();
  return CHECK_DONE();
}
