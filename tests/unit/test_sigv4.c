/*
** test_sigv4.c: the SigV4 signer against AWS's published S3 examples
** ("Signature Calculations for the Authorization Header: Transferring
** Payload in a Single Chunk", examples GET Object, PUT Object, GET Bucket
** Lifecycle and Get Bucket (List Objects)), plus URI-encoding and
** canonicalization cases; and the S3 configuration that feeds the signer
** (s3conf.c: names, environment, AWS profiles, precedence); a request
** with a 4 KiB session token (its signature computed independently, with
** Python's hmac and hashlib); and the wiping of secrets (wipe.c), watched
** through the s3p_wipe_observe hook.
*/
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include <sys/stat.h>
#include <unistd.h>
#include "../../vfs/store/sigv4.h"
#include "../../vfs/store/s3conf.h"

#define EX_AKID "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_HOST "examplebucket.s3.amazonaws.com"
#define EX_DATE "20130524T000000Z"

/* ex_token fills t[0..n) and a NUL with the test token: printable bytes
** like STS's base64 (the same generator as in tests/sql/test_untrusted.c). */
static void ex_token(char *t, size_t n){
  static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                            "wxyz0123456789+/=";
  for(size_t i = 0; i < n; i++) t[i] = set[(i * 7 + i / 13) % (sizeof set - 1)];
  t[n] = 0;
}

/* What the wipe observer saw (tests are single-threaded). */
#define WIPES_MAX 256
static struct {
  size_t len;                   /* bytes wiped */
  int zero;                     /* they were all zero when reported */
} wipes[WIPES_MAX];
static int n_wipes;             /* entries used in wipes (capped) */

/* s3p_wipe_observe records each wipe of the library (store.h): its length
** and whether the bytes really are zero now. */
void s3p_wipe_observe(const void *p, size_t n){
  const unsigned char *b = p;
  size_t i;
  int zero = 1;
  for(i = 0; i < n; i++) if(b[i] != 0) zero = 0;
  if(n_wipes < WIPES_MAX){
    wipes[n_wipes].len = n;
    wipes[n_wipes].zero = zero;
    n_wipes++;
  }
}

/* wiped returns how many recorded wipes of exactly n zeroed bytes there
** were. */
static int wiped(size_t n){
  int i, k = 0;
  for(i = 0; i < n_wipes; i++) k += wipes[i].len == n && wipes[i].zero;
  return k;
}

/* ex_req fills r with the common parts of the AWS examples. */
static void ex_req(s3p_sigv4_req *r, const char *method, const char *uri,
                   const char *query, const s3p_sigv4_header *h, size_t n,
                   const char *payload){
  memset(r, 0, sizeof(*r));
  r->method = method;
  r->uri = uri;
  r->query = query;
  r->headers = h;
  r->n_headers = n;
  r->payload_sha256 = payload;
  r->amz_date = EX_DATE;
  r->region = "us-east-1";
  r->service = "s3";
  r->access_key = EX_AKID;
  r->secret_key = EX_SECRET;
}

/* GET Object with a Range header. */
static void test_get_object(void){
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"Range", "bytes=0-9"},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_req r;
  char sig[65], hex[65];
  char *auth, *creq;
  ex_req(&r, "GET", "/test.txt", "", h, 4, S3P_SIGV4_EMPTY_SHA256);
  creq = s3p_sigv4_canonical_request(&r, NULL);
  CHECK(creq != NULL);
  CHECK(strcmp(creq, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
               "range:bytes=0-9\nx-amz-content-sha256:" S3P_SIGV4_EMPTY_SHA256
               "\nx-amz-date:20130524T000000Z\n\n"
               "host;range;x-amz-content-sha256;x-amz-date\n"
               S3P_SIGV4_EMPTY_SHA256) == 0);
  s3p_sigv4_sha256_hex(creq, strlen(creq), hex);
  CHECK(strcmp(hex, "7344ae5b7ee6c3e7e6b0fe0640412a37"
                    "625d1fbfff95c48bbb2dc43964946972") == 0);
  free(creq);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(auth != NULL);
  CHECK(strcmp(sig, "f0e8bdb87c964420e857bd35b5d6ed31"
                    "0bd44f0170aba48dd91039c6036bdb41") == 0);
  CHECK(auth && strcmp(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE"
        "/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;"
        "x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5"
        "d6ed310bd44f0170aba48dd91039c6036bdb41") == 0);
  CHECK(auth && strstr(auth, EX_SECRET) == NULL);
  free(auth);
}

/* PUT Object: a key needing encoding, a body, extra headers. */
static void test_put_object(void){
  const char *body = "Welcome to Amazon S3.";
  char payload[65], sig[65], hex[65];
  char *auth, *uri, *creq;
  s3p_sigv4_req r;
  s3p_sigv4_sha256_hex(body, strlen(body), payload);
  CHECK(strcmp(payload, "44ce7dd67c959e0d3524ffac1771dfbb"
                        "a87d2b6b4b4e99e42034a8b803f8b072") == 0);
  {
    s3p_sigv4_header h[] = {
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", EX_DATE},
      {"Host", EX_HOST},
      {"x-amz-content-sha256", payload},
    };
    uri = s3p_sigv4_uri_encode("/test$file.text", 1);
    CHECK(uri && strcmp(uri, "/test%24file.text") == 0);
    ex_req(&r, "PUT", uri, "", h, 5, payload);
    creq = s3p_sigv4_canonical_request(&r, NULL);
    CHECK(creq != NULL);
    s3p_sigv4_sha256_hex(creq, strlen(creq), hex);
    CHECK(strcmp(hex, "9e0e90d9c76de8fa5b200d8c849cd5b8"
                      "dc7a3be3951ddb7f6a76b4158342019d") == 0);
    free(creq);
    auth = s3p_sigv4_sign(&r, sig);
    CHECK(strcmp(sig, "98ad721746da40c64f1a55b78f14c238"
                      "d841ea1380cd77a1b5971af0ece108bd") == 0);
    CHECK(auth && strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;"
                         "x-amz-date;x-amz-storage-class,") != NULL);
    free(auth);
    free(uri);
  }
}

/* GET Bucket Lifecycle: a query parameter without a value. */
static void test_get_lifecycle(void){
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_param q[] = {{"lifecycle", ""}};
  s3p_sigv4_req r;
  char sig[65];
  char *query = s3p_sigv4_query(q, 1), *auth;
  CHECK(query && strcmp(query, "lifecycle=") == 0);
  ex_req(&r, "GET", "/", query, h, 3, S3P_SIGV4_EMPTY_SHA256);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(strcmp(sig, "fea454ca298b7da1c68078a5d1bdbfbb"
                    "e0d65c699e0f91ac7a200a0136783543") == 0);
  free(auth);
  free(query);
}

/* Get Bucket (List Objects): query parameters given out of order. */
static void test_list_objects(void){
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_param q[] = {{"prefix", "J"}, {"max-keys", "2"}};
  s3p_sigv4_req r;
  char sig[65];
  char *query = s3p_sigv4_query(q, 2), *auth;
  CHECK(query && strcmp(query, "max-keys=2&prefix=J") == 0);
  ex_req(&r, "GET", "/", query, h, 3, S3P_SIGV4_EMPTY_SHA256);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(strcmp(sig, "34b48302e7b5fa45bde8084f4b7868a8"
                    "6f0a534bc59db6670ed5711ef69dc6f7") == 0);
  free(auth);
  free(query);
}

/* URI encoding per AWS rules. */
static void test_uri_encode(void){
  struct { const char *in; int slash; const char *out; } c[] = {
    {"", 1, ""},
    {"abcXYZ019-._~", 0, "abcXYZ019-._~"},
    {"a b/c", 0, "a%20b%2Fc"},
    {"a b/c", 1, "a%20b/c"},
    {"pages/xxh128-00ff", 1, "pages/xxh128-00ff"},
    {"a+b=c&d", 0, "a%2Bb%3Dc%26d"},
    {"\xc3\xb1", 0, "%C3%B1"},
    {"*%$!", 0, "%2A%25%24%21"},
    {"tok/en+1=", 0, "tok%2Fen%2B1%3D"},
  };
  size_t i;
  for(i = 0; i < sizeof(c) / sizeof(c[0]); i++){
    char *e = s3p_sigv4_uri_encode(c[i].in, c[i].slash);
    CHECK(e != NULL && strcmp(e, c[i].out) == 0);
    if(e && strcmp(e, c[i].out) != 0) printf("#   got %s\n", e);
    free(e);
  }
}

/* Query canonicalization: encoding, sorting, empty values. */
static void test_query(void){
  s3p_sigv4_param q[] = {
    {"prefix", "db/pages/"},
    {"list-type", "2"},
    {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="},
    {"encoding-type", NULL},
  };
  char *s = s3p_sigv4_query(q, 4);
  CHECK(s && strcmp(s, "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J"
                    "%2Fwm36Hy4vbOwM%3D&encoding-type=&list-type=2&"
                    "prefix=db%2Fpages%2F") == 0);
  free(s);
  s = s3p_sigv4_query(NULL, 0);
  CHECK(s && s[0] == 0);
  free(s);
}

/* Header values are trimmed and inner runs of spaces collapsed; names are
** lower-cased and sorted; the session token is signed like any header. */
static void test_canonical_headers(void){
  s3p_sigv4_header h[] = {
    {"X-Amz-Security-Token", "  tok  en "},
    {"HOST", "h:9000"},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_req r;
  char *sh = NULL, *creq;
  ex_req(&r, "HEAD", "/b/k", "", h, 3, S3P_SIGV4_EMPTY_SHA256);
  creq = s3p_sigv4_canonical_request(&r, &sh);
  CHECK(creq && strcmp(creq, "HEAD\n/b/k\n\nhost:h:9000\nx-amz-date:"
        EX_DATE "\nx-amz-security-token:tok en\n\n"
        "host;x-amz-date;x-amz-security-token\n" S3P_SIGV4_EMPTY_SHA256) == 0);
  CHECK(sh && strcmp(sh, "host;x-amz-date;x-amz-security-token") == 0);
  free(creq);
  free(sh);
}

/* The x-amz-date format. */
static void test_amz_date(void){
  char d[17];
  s3p_sigv4_amz_date((time_t)1369353600, d);
  CHECK(strcmp(d, EX_DATE) == 0);
}

/* The AWS and s3page variables the configuration reads. */
static const char *conf_vars[] = {
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_CA_BUNDLE",
  "S3PAGE_S3_ADDRESSING", "S3PAGE_CONCURRENCY", "S3PAGE_TIMEOUT_MS",
  "S3PAGE_S3_ATTEMPTS", "S3PAGE_S3_INSECURE", "S3PAGE_TRUST_CONDITIONAL",
  "S3PAGE_S3_LIST_KEYS", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
};

/* conf_home makes a HOME with .aws/credentials and .aws/config, clears
** the variables above and points HOME there. Writes the directory into
** dir (64 bytes). */
static void conf_home(char *dir){
  char path[128];
  FILE *f;
  size_t i;
  for(i = 0; i < sizeof(conf_vars) / sizeof(conf_vars[0]); i++){
    unsetenv(conf_vars[i]);
  }
  snprintf(dir, 64, "/tmp/s3p-conf-XXXXXX");
  if(mkdtemp(dir) == NULL){ CHECK(!"mkdtemp"); return; }
  snprintf(path, sizeof(path), "%s/.aws", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof(path), "%s/.aws/credentials", dir);
  f = fopen(path, "w");
  if(f){
    fputs("# comment\n[default]\naws_access_key_id = DEFKEY\n"
          "aws_secret_access_key = defsecret\n\n"
          "[p2]\naws_access_key_id=P2KEY\naws_secret_access_key=p2secret\n"
          "aws_session_token = p2token\n", f);
    fclose(f);
  }
  snprintf(path, sizeof(path), "%s/.aws/config", dir);
  f = fopen(path, "w");
  if(f){
    fputs("[default]\nregion = us-west-2\n\n[profile p2]\nregion = eu-west-3\n"
          "s3 =\n  endpoint_url = http://localhost:9000\n"
          "  addressing_style = virtual\noutput = json\n"
          "[profile p3]\naws_access_key_id = P3KEY\n"
          "aws_secret_access_key = p3secret\nendpoint_url = https://r2.example:8443/\n"
          "[sso-session x]\nregion = ap-south-1\n", f);
    fclose(f);
  }
  setenv("HOME", dir, 1);
}

/* conf_home_rm removes what conf_home made. */
static void conf_home_rm(const char *dir){
  char path[128];
  snprintf(path, sizeof(path), "%s/.aws/credentials", dir); unlink(path);
  snprintf(path, sizeof(path), "%s/.aws/config", dir); unlink(path);
  snprintf(path, sizeof(path), "%s/.aws", dir); rmdir(path);
  rmdir(dir);
}

/* A 4 KiB session token (STS, SSO, ECS and Lambda tokens run to 1,300+
** bytes): the canonical request holds all of it and the signature is the
** one computed independently for the same request. */
static void test_long_token(void){
  static char token[4097];
  char sig[65], hex[65];
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
    {"x-amz-security-token", token},
  };
  s3p_sigv4_req r;
  char *creq, *auth, *signed_hdrs = NULL;
  ex_token(token, 4096);
  ex_req(&r, "GET", "/test.txt", "", h, 4, S3P_SIGV4_EMPTY_SHA256);
  creq = s3p_sigv4_canonical_request(&r, &signed_hdrs);
  CHECK(creq && strstr(creq, token) != NULL);
  CHECK(signed_hdrs && strcmp(signed_hdrs, "host;x-amz-content-sha256;"
                              "x-amz-date;x-amz-security-token") == 0);
  if(creq) s3p_sigv4_sha256_hex(creq, strlen(creq), hex);
  CHECK(creq && strcmp(hex, "6a2b1015927b9fe8aa31c6aa41b03cfa"
                            "5dd53c16c13e9495bcd9bff09f1ba7b4") == 0);
  free(creq);
  free(signed_hdrs);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(auth != NULL);
  CHECK(strcmp(sig, "d4250ec4f88d827e63fc1359f56852ac"
                    "3877d3bce519b676df823a23da5e9415") == 0);
  CHECK(auth && strstr(auth, token) == NULL);
  free(auth);
}

/* write_file writes data[0..n) (NULs allowed) to path. Returns 0 or -1. */
static int write_file(const char *path, const char *data, size_t n){
  FILE *f = fopen(path, "wb");
  if(f == NULL) return -1;
  size_t w = fwrite(data, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Secrets are wiped over their full length before they are freed: the
** text of the shared credentials file (NULs inside it included, and the
** NULs the parser writes), the secret key and the session token. */
static void test_wipe_secrets(void){
  static const char creds[] =
    "[default]\n"
    "aws_access_key_id = WIPEKEY\n"
    "aws_secret_access_key = wipe-secret-0123456789\n"
    "aws_session_token = wipe-token-abcdefghijklmnopqrstuvwxyz\n"
    "\0\0after a NUL: aws_secret_access_key = hidden-secret\n";
  const size_t n = sizeof(creds) - 1;      /* embedded NULs included */
  char dir[] = "/tmp/s3p-wipe-XXXXXX", path[64], *msg = NULL;
  char sig[65];
  s3p_s3conf c;
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof(path), "%s/credentials", dir);
  CHECK(write_file(path, creds, n) == 0);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_PROFILE");
  unsetenv("AWS_DEFAULT_PROFILE");
  setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
  setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);

  n_wipes = 0;
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_OK);
  CHECK(c.cred && c.cred->secret_key && strcmp(c.cred->secret_key, "wipe-secret-0123456789") == 0);
  /* the file's whole text and its NUL, not just up to the first NUL */
  CHECK(wiped(n + 1) >= 1);
  /* (the profile's secret and token are moved, not copied: they are
  ** wiped when the last reference goes, below) */

  /* signing wipes the "AWS4"+secret key and the signing keys */
  if(c.cred && c.cred->secret_key){
    s3p_sigv4_header h[] = {{"host", "h"}, {"x-amz-date", EX_DATE}};
    s3p_sigv4_req r;
    char *auth;
    ex_req(&r, "GET", "/", "", h, 2, S3P_SIGV4_EMPTY_SHA256);
    r.secret_key = c.cred->secret_key;
    n_wipes = 0;
    auth = s3p_sigv4_sign(&r, sig);
    CHECK(auth != NULL);
    CHECK(wiped(strlen(c.cred->secret_key) + 5) >= 1);   /* "AWS4" + secret + NUL */
    CHECK(wiped(32) >= 2);                          /* key and HMAC temp */
    free(auth);
  }

  n_wipes = 0;
  s3p_s3conf_free(&c);
  CHECK(wiped(strlen("wipe-secret-0123456789")) >= 1);
  CHECK(wiped(strlen("wipe-token-abcdefghijklmnopqrstuvwxyz")) >= 1);
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  unsetenv("AWS_CONFIG_FILE");
  unlink(path);
  rmdir(dir);
}

/* Store names. */
static void test_conf_names(void){
  struct { const char *name; int rc; const char *bucket, *prefix; } c[] = {
    {"s3://bucket/a/b/", S3P_OK, "bucket", "a/b"},
    {"s3://bucket", S3P_OK, "bucket", ""},
    {"s3://my.bucket-1/db", S3P_OK, "my.bucket-1", "db"},
    {"s3://b/x", S3P_EINVAL, NULL, NULL},
    {"s3://bucket/../x", S3P_EINVAL, NULL, NULL},
    {"s3://bucket/a//b", S3P_EINVAL, NULL, NULL},
    {"s3://bucket/a?x=1", S3P_EINVAL, NULL, NULL},
    {"s3://bu cket/a", S3P_EINVAL, NULL, NULL},
    {"http://bucket/a", S3P_EINVAL, NULL, NULL},
  };
  size_t i;
  for(i = 0; i < sizeof(c) / sizeof(c[0]); i++){
    char *b = NULL, *p = NULL, *msg = NULL;
    int rc = s3p_s3conf_parse_name(c[i].name, &b, &p, &msg);
    CHECK_EQ(rc, c[i].rc);
    if(rc == S3P_OK){
      CHECK(strcmp(b, c[i].bucket) == 0 && strcmp(p, c[i].prefix) == 0);
    }else{
      CHECK(msg != NULL && b == NULL && p == NULL);
    }
    free(b);
    free(p);
    free(msg);
  }
}

/* Profiles, environment and options, in AWS's order of precedence. */
static void test_conf_precedence(void){
  char dir[64], *msg = NULL;
  s3p_s3conf c;
  s3p_store_opts o;
  conf_home(dir);
  memset(&o, 0, sizeof(o));

  /* default profile: credentials file + config region, AWS endpoint */
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_OK);
  CHECK(c.cred && c.cred->access_key && strcmp(c.cred->access_key, "DEFKEY") == 0);
  CHECK(c.cred && c.cred->session_token == NULL);
  CHECK(c.region && strcmp(c.region, "us-west-2") == 0);
  CHECK(c.endpoint && strcmp(c.endpoint, "https://s3.us-west-2.amazonaws.com") == 0);
  CHECK_EQ(c.path_style, 0);
  CHECK_EQ(c.insecure, 0);
  CHECK_EQ(c.concurrency, 64);
  CHECK_EQ(c.max_attempts, 6);
  s3p_s3conf_free(&c);

  /* a dotted bucket on AWS goes path-style (TLS wildcard) */
  CHECK_EQ(s3p_s3conf_load(&c, "s3://my.bucket/db", NULL, &msg), S3P_OK);
  CHECK_EQ(c.path_style, 1);
  s3p_s3conf_free(&c);

  /* AWS_PROFILE: keys, token, region, nested s3 endpoint and addressing */
  setenv("AWS_PROFILE", "p2", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_OK);
  CHECK(c.cred && c.cred->access_key && strcmp(c.cred->access_key, "P2KEY") == 0);
  CHECK(c.cred && c.cred->session_token && strcmp(c.cred->session_token, "p2token") == 0);
  CHECK(c.region && strcmp(c.region, "eu-west-3") == 0);
  CHECK(c.endpoint && strcmp(c.endpoint, "http://localhost:9000") == 0);
  CHECK(c.authority && strcmp(c.authority, "localhost:9000") == 0);
  CHECK_EQ(c.path_style, 0);
  s3p_s3conf_free(&c);

  /* keys only in config; endpoint_url at the profile's top level */
  setenv("AWS_PROFILE", "p3", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_OK);
  CHECK(c.cred && c.cred->access_key && strcmp(c.cred->access_key, "P3KEY") == 0);
  CHECK(c.endpoint && strcmp(c.endpoint, "https://r2.example:8443") == 0);
  CHECK_EQ(c.path_style, 1);
  s3p_s3conf_free(&c);

  /* the environment beats the profile; options beat the environment */
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  setenv("AWS_SESSION_TOKEN", "envtoken", 1);
  setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
  setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2", 1);
  setenv("S3PAGE_S3_ADDRESSING", "virtual", 1);
  setenv("S3PAGE_CONCURRENCY", "8", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_OK);
  CHECK(c.cred && c.cred->access_key && strcmp(c.cred->access_key, "ENVKEY") == 0);
  CHECK(c.cred && c.cred->session_token && strcmp(c.cred->session_token, "envtoken") == 0);
  CHECK(c.region && strcmp(c.region, "ca-central-1") == 0);
  CHECK(c.endpoint && strcmp(c.endpoint, "http://127.0.0.1:2") == 0);
  CHECK_EQ(c.path_style, 0);
  CHECK_EQ(c.concurrency, 8);
  s3p_s3conf_free(&c);
  setenv("AWS_REGION", "sa-east-1", 1);
  o.region = "eu-north-1";
  o.endpoint = "https://minio.local";
  o.concurrency = 3;
  unsetenv("S3PAGE_S3_ADDRESSING");
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", &o, &msg), S3P_OK);
  CHECK(c.region && strcmp(c.region, "eu-north-1") == 0);
  CHECK(c.endpoint && strcmp(c.endpoint, "https://minio.local") == 0);
  CHECK_EQ(c.path_style, 1);
  CHECK_EQ(c.concurrency, 3);
  s3p_s3conf_free(&c);

  /* bad settings are errors that name the setting */
  setenv("S3PAGE_CONCURRENCY", "lots", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_EINVAL);
  CHECK(msg && strstr(msg, "S3PAGE_CONCURRENCY") != NULL);
  free(msg); msg = NULL;
  unsetenv("S3PAGE_CONCURRENCY");
  o.endpoint = "http://user:hunter2@minio.local";
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", &o, &msg), S3P_EINVAL);
  CHECK(msg && strstr(msg, "hunter2") == NULL);
  free(msg); msg = NULL;
  o.endpoint = "ftp://minio.local";
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", &o, &msg), S3P_EINVAL);
  free(msg); msg = NULL;
  setenv("AWS_PROFILE", "nope", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_EINVAL);
  CHECK(msg && strstr(msg, "nope") != NULL);
  free(msg); msg = NULL;

  /* no credentials anywhere */
  conf_home_rm(dir);
  conf_home(dir);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_EAUTH);
  /* one message: what the chain tried, in order */
  CHECK(msg && strcmp(msg, "no credentials: environment not set; no web "
                      "identity token; profile default not found in ~/.aws; "
                      "container credentials not set; instance metadata "
                      "disabled") == 0);
  free(msg); msg = NULL;
  CHECK(c.bucket == NULL);
  setenv("AWS_ACCESS_KEY_ID", "K", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
  setenv("S3PAGE_S3_INSECURE", "1", 1);
  CHECK_EQ(s3p_s3conf_load(&c, "s3://bucket/db", NULL, &msg), S3P_OK);
  CHECK(c.region && strcmp(c.region, "us-east-1") == 0);
  CHECK_EQ(c.insecure, 1);
  s3p_s3conf_free(&c);
  conf_home_rm(dir);
}

int main(void){
  /* Never wait on a real metadata endpoint. */
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  RUN(test_get_object);
  RUN(test_put_object);
  RUN(test_get_lifecycle);
  RUN(test_list_objects);
  RUN(test_uri_encode);
  RUN(test_query);
  RUN(test_canonical_headers);
  RUN(test_amz_date);
  RUN(test_long_token);
  RUN(test_wipe_secrets);
  RUN(test_conf_names);
  RUN(test_conf_precedence);
  return CHECK_DONE();
}
