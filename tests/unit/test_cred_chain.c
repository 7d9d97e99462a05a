/*
** test_cred_chain.c: the AWS credential providers end to end against
** tests/fake-aws.py on 127.0.0.1. For each provider, S3 requests are
** signed with the credentials it returned (the fake checks every
** signature and logs the key id); the provider order (an earlier one
** wins); the "what was tried" message and its time with an unreachable
** metadata endpoint; refresh before expiry with credentials that live a
** few seconds, shared by stores and threads; one refresh and retry on
** ExpiredToken; no secret in any message; a bucket in another region
** (301 / 400 with x-amz-bucket-region) followed once. Nothing but 127.0.0.1 is
** contacted: the metadata provider is disabled or pointed at the fake.
** S3PAGE_TEST_QUICK=1 shortens the refresh cases. The refresh cases, which
** mostly wait for short-lived credentials to come due, run side by side in
** child processes (bg_start) while the others run in the main one.
*/
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "../check.h"
#include "../lib/fakes3.h"
#include "../../vfs/store/store.h"
#include "../../vfs/store/cred.h"

/* Variables any provider reads: cleared before each case. */
static const char *const vars[] = {
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SSO",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "S3PAGE_CONTAINER_ENDPOINT",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION",
};

static char home[64];           /* the HOME of every case */
static int quick;               /* S3PAGE_TEST_QUICK=1 */

/* put_file writes text to HOME/rel (making .aws and .aws/sso/cache). */
static void put_file(const char *rel, const char *text){
  char path[256];
  snprintf(path, sizeof path, "%s/.aws", home);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/.aws/sso", home);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/.aws/sso/cache", home);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/%s", home, rel);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if(f){
    fputs(text, f);
    fclose(f);
  }
}

/* clean starts a case: no provider configured, metadata disabled, an
** empty HOME, nothing cached. */
static void clean(void){
  char cmd[128];
  for(size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  snprintf(cmd, sizeof cmd, "rm -rf '%s/.aws'", home);
  CHECK(system(cmd) == 0);
  setenv("HOME", home, 1);
  s3p_cred_cache_reset();
}

/* A growing buffer for curl. */
typedef struct buf { char *p; size_t n; } buf;

/* buf_write is curl's write callback. Returns the bytes taken. */
static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *arg){
  buf *b = arg;
  size_t add = size * nmemb;
  char *q = realloc(b->p, b->n + add + 1);
  if(q == NULL) return 0;
  memcpy(q + b->n, ptr, add);
  b->p = q;
  b->n += add;
  b->p[b->n] = 0;
  return add;
}

/* fake_log returns the fake's /__log (malloc'd), or NULL. */
static char *fake_log(const fakes3 *f){
  char url[128];
  buf b = { NULL, 0 };
  CURL *e = curl_easy_init();
  snprintf(url, sizeof url, "%s/__log", f->endpoint);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if(curl_easy_perform(e) != CURLE_OK){
    free(b.p);
    b.p = NULL;
  }
  curl_easy_cleanup(e);
  return b.p;
}

/* issued returns how many credentials the fake issued as provider. */
static int issued(const fakes3 *f, const char *provider){
  char *log = fake_log(f), key[64], *p;
  int n = 0;
  snprintf(key, sizeof key, "issued %s ", provider);
  if(log && (p = strstr(log, key)) != NULL) n = atoi(p + strlen(key));
  free(log);
  return n;
}

/* last_key copies the key id of the fake's last S3 request into out. */
static void last_key(const fakes3 *f, char out[64]){
  char *log = fake_log(f), *p, *q = NULL;
  out[0] = 0;
  for(p = log; p && (p = strstr(p, "\nreq ")) != NULL; p++) q = p + 5;
  if(q) sscanf(q, "%63s", out);
  free(log);
}

/* open_store opens s3://fakebucket/db on f. Returns it or NULL; *msg gets
** the error (malloc'd) if msg is not NULL. */
static s3p_store *open_store(const fakes3 *f, char **msg){
  s3p_store_opts o;
  s3p_store *st = NULL;
  char *m = NULL;
  memset(&o, 0, sizeof o);
  o.endpoint = f->endpoint;
  if(s3p_store_open(&st, "s3://fakebucket/db", &o, &m) != S3P_OK && !msg){
    printf("# open: %s\n", m ? m : "?");
  }
  if(msg) *msg = m; else free(m);
  return st;
}

/* get_rc GETs key and returns the rc; *msg gets the message if msg. */
static int get_rc(s3p_store *st, const char *key, char **msg){
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_GET;
  op.key = key;
  CHECK_EQ(s3p_store_exec(st, &op, 1), S3P_OK);
  if(msg){
    *msg = op.errmsg;
    op.errmsg = NULL;
  }else if(op.rc != S3P_OK && op.rc != S3P_ENOTFOUND && op.errmsg){
    printf("# %s\n", op.errmsg);
  }
  int rc = op.rc;
  s3p_op_reset(&op);
  return rc;
}

/* signed_by opens a store, writes and reads an object, and checks that
** the fake saw the requests signed with a key id starting with want. */
static void signed_by(const fakes3 *f, const char *want){
  char key[64];
  s3p_store *st = open_store(f, NULL);
  CHECK(st != NULL);
  if(st == NULL) return;
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", (const unsigned char *)"abc", 3, NULL), S3P_OK);
  CHECK_EQ(get_rc(st, "pages/a", NULL), S3P_OK);
  s3p_store_close(st);
  last_key(f, key);
  if(strncmp(key, want, strlen(want)) != 0){
    printf("#   signed by \"%s\", want \"%s...\"\n", key, want);
    CHECK(!"signed by the wrong credentials");
  }
}

/* sso_cache_rel writes into rel[128] the path (under HOME) of the cached
** SSO token of session name. */
static void sso_cache_rel(const char *session, char rel[128]){
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(session, strlen(session), md, &n, EVP_sha1(), NULL);
  int k = snprintf(rel, 128, ".aws/sso/cache/");
  for(unsigned i = 0; i < n; i++) k += snprintf(rel + k, 128 - k, "%02x",
                                                md[i]);
  snprintf(rel + k, 128 - k, ".json");
}

/* sso_cache writes the cached SSO token for session name. */
static void sso_cache(const char *session, const char *token){
  char rel[128], text[256];
  sso_cache_rel(session, rel);
  snprintf(text, sizeof text, "{\"startUrl\": \"https://x.awsapps.com/start\","
           " \"region\": \"us-east-1\", \"accessToken\": \"%s\", "
           "\"expiresAt\": \"2099-01-01T00:00:00Z\"}", token);
  put_file(rel, text);
}

/* configure_all sets up every provider (env keys AKIDENV, web identity,
** profile default with static AKIDPROFILE, container, metadata) on f. */
static void configure_all(const fakes3 *f){
  char path[160], url[160];
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  snprintf(path, sizeof path, "%s/.aws/webtoken", home);
  put_file(".aws/webtoken", "oidc-token-123\n");
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web", 1);
  setenv("AWS_ENDPOINT_URL_STS", f->endpoint, 1);
  put_file(".aws/credentials", "[default]\naws_access_key_id = AKIDPROFILE\n"
           "aws_secret_access_key = profilesecret\n");
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/creds", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f->endpoint, 1);
  snprintf(url, sizeof url, "%s", f->endpoint);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
}

/* start starts the fake with the usual static keys and extra options
** (at most 6, NULL-terminated). Returns 0 or -1. */
static int start(fakes3 *f, const char *a, const char *b, const char *c,
                 const char *d, const char *e, const char *g){
  int rc = fakes3_start_aws(f, "--static", "AKIDENV:envsecret", "--static",
                            "AKIDPROFILE:profilesecret", "--static",
                            "AKIDPROC:procsecret", "--static",
                            "AKIDBASE:basesecret", "--web-token",
                            "oidc-token-123", a, b, c, d, e, g, NULL);
  if(rc != 0) CHECK(!"fake-aws.py did not start");
  return rc;
}

/* Each provider alone signs the S3 requests with what it returned. */
static void test_each_provider(void){
  fakes3 f;
  char path[160];
  clean();
  if(start(&f, "--sso-token", "sso-access-token", "--auth", "pod-token",
           NULL, NULL) != 0) return;

  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  signed_by(&f, "AKIDENV");

  clean();                                  /* web identity (IRSA) */
  snprintf(path, sizeof path, "%s/.aws/webtoken", home);
  put_file(".aws/webtoken", "oidc-token-123\n");
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web", 1);
  setenv("AWS_ENDPOINT_URL_STS", f.endpoint, 1);
  signed_by(&f, "ASIAWEBID");

  clean();                                  /* static keys of a profile */
  put_file(".aws/credentials", "[default]\naws_access_key_id = AKIDPROFILE\n"
           "aws_secret_access_key = profilesecret\n");
  signed_by(&f, "AKIDPROFILE");

  clean();                                  /* credential_process */
  put_file(".aws/config", "[profile proc]\ncredential_process = printf "
           "'{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
           "\"SecretAccessKey\": \"procsecret\", \"Expiration\": "
           "\"2099-01-01T00:00:00Z\"}'\n");
  setenv("AWS_PROFILE", "proc", 1);
  signed_by(&f, "AKIDPROC");

  clean();                                  /* role_arn + source_profile */
  put_file(".aws/config", "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
           "source_profile = base\nrole_session_name = test\n");
  put_file(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\n"
           "aws_secret_access_key = basesecret\n");
  setenv("AWS_PROFILE", "role", 1);
  setenv("AWS_ENDPOINT_URL_STS", f.endpoint, 1);
  signed_by(&f, "ASIASTS");

  clean();                                  /* SSO with an sso-session */
  put_file(".aws/config", "[profile dev]\nsso_session = corp\n"
           "sso_account_id = 111122223333\nsso_role_name = ReadWrite\n\n"
           "[sso-session corp]\nsso_region = eu-west-1\n"
           "sso_start_url = https://corp.awsapps.com/start\n");
  sso_cache("corp", "sso-access-token");
  setenv("AWS_PROFILE", "dev", 1);
  setenv("AWS_ENDPOINT_URL_SSO", f.endpoint, 1);
  signed_by(&f, "ASIASSO");

  clean();                                  /* ECS / App Runner */
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f.endpoint, 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-for-ecs", 1);
  signed_by(&f, "ASIACONTAINE");            /* no token sent to the agent */

  clean();                                  /* Lambda SnapStart */
  snprintf(path, sizeof path, "%s/container/auth/snap", f.endpoint);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", path, 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-token", 1);
  signed_by(&f, "ASIACONTAINE");

  clean();                                  /* EKS Pod Identity */
  snprintf(path, sizeof path, "%s/container/auth/pod", f.endpoint);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", path, 1);
  snprintf(path, sizeof path, "%s/.aws/podtoken", home);
  put_file(".aws/podtoken", "pod-token\n");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
  signed_by(&f, "ASIACONTAINE");
  CHECK_EQ(issued(&f, "container"), 3);

  clean();                                  /* EC2 IMDSv2 */
  unsetenv("AWS_EC2_METADATA_DISABLED");
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.endpoint, 1);
  signed_by(&f, "ASIAIMDS");
  fakes3_stop(&f);
}

/* The chain's order: with every provider configured, the earliest wins;
** taking it away hands over to the next. */
static void test_order(void){
  fakes3 f;
  clean();
  if(start(&f, NULL, NULL, NULL, NULL, NULL, NULL) != 0) return;
  configure_all(&f);
  signed_by(&f, "AKIDENV");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  s3p_cred_cache_reset();
  signed_by(&f, "ASIAWEBID");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  s3p_cred_cache_reset();
  signed_by(&f, "AKIDPROFILE");
  put_file(".aws/credentials", "# none\n");
  s3p_cred_cache_reset();
  signed_by(&f, "ASIACONTAINE");
  unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  s3p_cred_cache_reset();
  signed_by(&f, "ASIAIMDS");
  fakes3_stop(&f);
}

/* No provider: one message listing the chain in order. With the metadata
** endpoint a listener that never answers, it takes about one second. */
static void test_none(void){
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  char url[64], *msg = NULL;
  fakes3 f;
  struct timespec t0, t1;
  int fd;
  clean();
  memset(&f, 0, sizeof f);
  snprintf(f.endpoint, sizeof f.endpoint, "http://127.0.0.1:9");
  CHECK(open_store(&f, &msg) == NULL);
  CHECK(msg && strcmp(msg, "no credentials: environment not set; no web "
                      "identity token; profile default not found in ~/.aws; "
                      "container credentials not set; instance metadata "
                      "disabled") == 0);
  if(msg) printf("# %s\n", msg);
  free(msg);

  fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK(listen(fd, 8) == 0);
  getsockname(fd, (struct sockaddr *)&a, &alen);
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
  unsetenv("AWS_EC2_METADATA_DISABLED");
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(open_store(&f, &msg) == NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  CHECK(msg && strstr(msg, "; instance metadata not reachable") != NULL);
  CHECK(secs < 2.0);
  printf("# %.2f s: %s\n", secs, msg ? msg : "?");
  free(msg);
  close(fd);
}

/* A configured provider that fails ends the chain with its own error,
** which names no secret. */
static void test_provider_errors(void){
  fakes3 f;
  char path[160], *msg = NULL;
  clean();
  if(start(&f, NULL, NULL, NULL, NULL, NULL, NULL) != 0) return;
  snprintf(path, sizeof path, "%s/.aws/webtoken", home);
  put_file(".aws/webtoken", "wrong-oidc-token-secret\n");
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/web", 1);
  setenv("AWS_ENDPOINT_URL_STS", f.endpoint, 1);
  CHECK(open_store(&f, &msg) == NULL);
  CHECK(msg && strstr(msg, "AssumeRoleWithWebIdentity") != NULL
        && strstr(msg, "HTTP 403 AccessDenied") != NULL);
  CHECK(msg && strstr(msg, "wrong-oidc-token-secret") == NULL);
  printf("# %s\n", msg ? msg : "?");
  free(msg);

  clean();
  put_file(".aws/config", "[default]\ncredential_process = printf "
           "'{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\"}'\n");
  CHECK(open_store(&f, &msg) == NULL);
  CHECK(msg && strcmp(msg, "profile default: credential_process output: no "
                      "access key id or secret") == 0);
  free(msg);
  put_file(".aws/config", "[default]\ncredential_process = "
           "echo top-secret-output; exit 3\n");
  CHECK(open_store(&f, &msg) == NULL);
  CHECK(msg && strcmp(msg, "profile default: credential_process exited with "
                      "status 3") == 0);
  free(msg);

  clean();
  static const char *const strangers[] = {
    "http://192.0.2.1/creds", "http://127.0.0.1.example.com/creds",
    "http://127.0.0.1@192.0.2.1/creds", "http://localhost.example/x",
    "ftp://127.0.0.1/creds",
  };
  for(size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++){
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", strangers[i], 1);
    CHECK(open_store(&f, &msg) == NULL);
    CHECK(msg && strstr(msg, "must be https or http to a loopback") != NULL);
    if(!msg || !strstr(msg, "loopback")) printf("#   for %s\n", strangers[i]);
    free(msg);
  }
  fakes3_stop(&f);
}

/* loop_gets GETs pages/a every 200 ms for secs seconds. Returns the
** failures. */
static int loop_gets(s3p_store *st, double secs){
  struct timespec t0, t;
  int bad = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do{
    if(get_rc(st, "pages/a", NULL) != S3P_OK) bad++;
    usleep(200000);
    clock_gettime(CLOCK_MONOTONIC, &t);
  }while((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
  return bad;
}

/* Credentials living 4 seconds are refreshed before they expire: every
** request of 6 seconds succeeds (the fake refuses expired ones), with new
** credentials, and a second store shares the first one's. */
static void test_refresh(void){
  fakes3 f;
  s3p_store *st, *st2;
  clean();
  if(start(&f, "--lifetime", "4", NULL, NULL, NULL, NULL) != 0) return;
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f.endpoint, 1);
  st = open_store(&f, NULL);
  st2 = open_store(&f, NULL);
  CHECK(st != NULL && st2 != NULL);
  CHECK_EQ(issued(&f, "container"), 1);    /* shared, not fetched twice */
  if(st && st2){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", (const unsigned char *)"x", 1, NULL), S3P_OK);
    CHECK_EQ(loop_gets(st, quick ? 4.5 : 6.5), 0);
    int n = issued(&f, "container");
    CHECK(n >= 3);                         /* every ~2 s (half of 4 s) */
    printf("# %d credentials in %s s\n", n, quick ? "4.5" : "6.5");
    CHECK_EQ(get_rc(st2, "pages/a", NULL), S3P_OK);
    CHECK_EQ(issued(&f, "container"), n);  /* the second store shares them */
  }
  if(st) s3p_store_close(st);
  if(st2) s3p_store_close(st2);
  fakes3_stop(&f);
}

/* An sso_session profile's role credentials living 4 seconds are
** refreshed before they expire like the others: every request of 4.5 s
** (2.5 s quick) succeeds, and GetRoleCredentials was called again with the
** cached token. */
static void test_refresh_sso(void){
  fakes3 f;
  s3p_store *st;
  clean();
  if(start(&f, "--lifetime", "4", "--sso-token", "sso-access-token", NULL,
           NULL) != 0) return;
  put_file(".aws/config", "[profile dev]\nsso_session = corp\n"
           "sso_account_id = 111122223333\nsso_role_name = ReadWrite\n\n"
           "[sso-session corp]\nsso_region = eu-west-1\n"
           "sso_start_url = https://corp.awsapps.com/start\n");
  sso_cache("corp", "sso-access-token");
  setenv("AWS_PROFILE", "dev", 1);
  setenv("AWS_ENDPOINT_URL_SSO", f.endpoint, 1);
  st = open_store(&f, NULL);
  CHECK(st != NULL);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a",
                           (const unsigned char *)"x", 1, NULL), S3P_OK);
    CHECK_EQ(loop_gets(st, quick ? 2.5 : 4.5), 0);
    int n = issued(&f, "sso");
    printf("# SSO: %d role credentials in %s s\n", n, quick ? "2.5" : "4.5");
    CHECK(n >= (quick ? 2 : 3));           /* at 0, ~2 and ~4 s */
    s3p_store_close(st);
  }
  fakes3_stop(&f);
}

/* sso_profile configures profile dev (sso_session corp) on f. */
static void sso_profile(const fakes3 *f){
  put_file(".aws/config", "[profile dev]\nsso_session = corp\n"
           "sso_account_id = 111122223333\nsso_role_name = ReadWrite\n\n"
           "[sso-session corp]\nsso_region = eu-west-1\n"
           "sso_start_url = https://corp.awsapps.com/start\n");
  setenv("AWS_PROFILE", "dev", 1);
  setenv("AWS_ENDPOINT_URL_SSO", f->endpoint, 1);
  setenv("AWS_ENDPOINT_URL_SSO_OIDC", f->endpoint, 1);
}

/* read_home returns HOME/rel's text (malloc'd), or NULL. */
static char *read_home(const char *rel){
  char path[256], *b = NULL;
  size_t n = 0;
  snprintf(path, sizeof path, "%s/%s", home, rel);
  FILE *fp = fopen(path, "r");
  if(fp == NULL) return NULL;
  b = calloc(1, 4096);
  if(b) n = fread(b, 1, 4095, fp);
  (void)n;
  fclose(fp);
  return b;
}

/* The cached SSO access token itself has expired: an sso_session login's
** refresh token gets a new one from OIDC CreateToken (once: it is written
** back to the cache, with the new refresh token, mode 0600); without a
** refresh token, or when OIDC refuses it, opening fails with a message
** asking for "aws sso login" that names no token. */
static void test_sso_token_refresh(void){
  fakes3 f;
  char rel[128], path[256], *msg = NULL, *text;
  struct stat sb;
  clean();
  if(start(&f, "--sso-token", "sso-access-token", "--oidc-refresh",
           "refresh-1", NULL, NULL) != 0) return;
  sso_profile(&f);
  sso_cache_rel("corp", rel);
  put_file(rel, "{\"startUrl\": \"https://corp.awsapps.com/start\", "
           "\"region\": \"eu-west-1\", \"accessToken\": \"stale-token\", "
           "\"expiresAt\": \"2020-01-01T00:00:00Z\", \"clientId\": "
           "\"client-1\", \"clientSecret\": \"client-secret-1\", "
           "\"registrationExpiresAt\": \"2099-01-01T00:00:00Z\", "
           "\"refreshToken\": \"refresh-1\"}");
  signed_by(&f, "ASIASSO");
  CHECK_EQ(issued(&f, "oidc"), 1);
  text = read_home(rel);
  CHECK(text && strstr(text, "\"accessToken\": \"sso-access-token\"")
        && strstr(text, "\"refreshToken\": \"refresh-2\"")
        && strstr(text, "\"clientSecret\": \"client-secret-1\"")
        && strstr(text, "\"registrationExpiresAt\": "
                        "\"2099-01-01T00:00:00Z\"")
        && strstr(text, "\"startUrl\": \"https://corp.awsapps.com/start\"")
        && !strstr(text, "stale-token"));
  if(text && !strstr(text, "refresh-2")) printf("# cache: %s\n", text);
  free(text);
  snprintf(path, sizeof path, "%s/%s", home, rel);
  CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
  s3p_cred_cache_reset();
  signed_by(&f, "ASIASSO");                 /* the new token, cached */
  CHECK_EQ(issued(&f, "oidc"), 1);

  /* Refused by OIDC (a refresh token it does not know). */
  s3p_cred_cache_reset();
  put_file(rel, "{\"accessToken\": \"stale-token\", \"expiresAt\": "
           "\"2020-01-01T00:00:00Z\", \"clientId\": \"client-1\", "
           "\"clientSecret\": \"client-secret-1\", \"refreshToken\": "
           "\"revoked-refresh\"}");
  CHECK(open_store(&f, &msg) == NULL);
  CHECK(msg && strstr(msg, "profile dev: the SSO token has expired and "
                           "refreshing it failed: OIDC CreateToken at ")
        && strstr(msg, "HTTP 400 (run \"aws sso login --profile dev\")"));
  CHECK(msg && !strstr(msg, "revoked-refresh") && !strstr(msg, "stale")
        && !strstr(msg, "client-secret"));
  printf("# %s\n", msg ? msg : "?");
  free(msg);

  /* No refresh token (a login without an sso-session). */
  s3p_cred_cache_reset();
  put_file(rel, "{\"accessToken\": \"stale-token\", \"expiresAt\": "
           "\"2020-01-01T00:00:00Z\"}");
  CHECK(open_store(&f, &msg) == NULL);
  CHECK(msg && strcmp(msg, "profile dev: the SSO token has expired and the "
                           "cache has no refresh token (run \"aws sso login "
                           "--profile dev\")") == 0);
  if(msg) printf("# %s\n", msg);
  free(msg);
  CHECK_EQ(issued(&f, "oidc"), 1);
  fakes3_stop(&f);
}

/* Arguments of a refreshing thread. */
typedef struct thr { const fakes3 *f; int bad; } thr;

/* thr_main opens its own store and GETs for a few seconds. */
static void *thr_main(void *arg){
  thr *t = arg;
  s3p_store *st = open_store(t->f, NULL);
  if(st == NULL){
    t->bad = 1000;
    return NULL;
  }
  t->bad = loop_gets(st, quick ? 3.5 : 5.0);
  s3p_store_close(st);
  return NULL;
}

/* Four threads with their own stores share one refresh: requests never
** fail, and credentials are fetched about as often as for one thread. */
static void test_refresh_threads(void){
  fakes3 f;
  pthread_t th[4];
  thr t[4];
  clean();
  if(start(&f, "--lifetime", "3", NULL, NULL, NULL, NULL) != 0) return;
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f.endpoint, 1);
  s3p_store *st = open_store(&f, NULL);
  CHECK(st != NULL);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", (const unsigned char *)"x", 1, NULL), S3P_OK);
    s3p_store_close(st);
  }
  for(int i = 0; i < 4; i++){
    t[i].f = &f;
    t[i].bad = 0;
    pthread_create(&th[i], NULL, thr_main, &t[i]);
  }
  for(int i = 0; i < 4; i++){
    pthread_join(th[i], NULL);
    CHECK_EQ(t[i].bad, 0);
  }
  int n = issued(&f, "container");
  printf("# 4 threads: %d credentials\n", n);
  CHECK(n >= 2 && n <= 6);      /* ~1 per 1.5 s, not 4 per 1.5 s */
  fakes3_stop(&f);
}

/* Arguments of a thread timing its requests. */
typedef struct timed {
  s3p_store *st;                /* its own store */
  double secs;                  /* how long to run */
  double worst;                 /* longest request, in seconds */
  int bad;                      /* failed requests */
  int n;                        /* requests made */
} timed;

/* timed_main GETs pages/a every 100 ms for t->secs seconds, keeping the
** longest request's time. */
static void *timed_main(void *arg){
  timed *t = arg;
  struct timespec t0, a, b;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do{
    clock_gettime(CLOCK_MONOTONIC, &a);
    if(get_rc(t->st, "pages/a", NULL) != S3P_OK) t->bad++;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double d = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    if(d > t->worst) t->worst = d;
    t->n++;
    usleep(100000);
  }while((b.tv_sec - t0.tv_sec) + (b.tv_nsec - t0.tv_nsec) / 1e9 < t->secs);
  return NULL;
}

/* Refresh ahead of expiry does not stall anybody: credentials live 6 s
** (due after 3 s) and STS (role_arn + source_profile) takes 2 s to answer
** a refresh (quick: 4 s, 1.5 s); two threads with their own stores GET
** every 100 ms across the refresh, and no request of either thread takes
** as long as a second (the one that finds them due must not wait for the
** provider either: its credentials are still valid). Every request
** succeeds and they were refreshed. */
static void test_refresh_no_stall(void){
  fakes3 f;
  pthread_t th[2];
  timed t[2];
  clean();
  if(start(&f, "--lifetime", quick ? "4" : "6", "--slow", quick ? "1.5" : "2",
           NULL, NULL) != 0) return;
  put_file(".aws/config", "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
           "source_profile = base\n");
  put_file(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\n"
           "aws_secret_access_key = basesecret\n");
  setenv("AWS_PROFILE", "role", 1);
  setenv("AWS_ENDPOINT_URL_STS", f.endpoint, 1);
  memset(t, 0, sizeof t);
  t[0].st = open_store(&f, NULL);
  t[1].st = open_store(&f, NULL);
  CHECK(t[0].st != NULL && t[1].st != NULL);
  if(t[0].st && t[1].st){
    CHECK_EQ(s3p_store_put(t[0].st, S3P_OP_PUT, "pages/a",
                           (const unsigned char *)"x", 1, NULL), S3P_OK);
    for(int i = 0; i < 2; i++){
      t[i].secs = quick ? 3.6 : 5.5;
      pthread_create(&th[i], NULL, timed_main, &t[i]);
    }
    for(int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for(int i = 0; i < 2; i++){
      printf("# thread %d: %d requests, %d failed, longest %.3f s\n", i,
             t[i].n, t[i].bad, t[i].worst);
      CHECK_EQ(t[i].bad, 0);
      CHECK(t[i].worst < 1.0);
    }
    CHECK_EQ(issued(&f, "sts"), 2);
  }
  for(int i = 0; i < 2; i++) if(t[i].st) s3p_store_close(t[i].st);
  fakes3_stop(&f);
}

/* A process that forks while a refresh is under way: the child does not
** have the refreshing thread, so once the credentials have expired it must
** fetch new ones itself rather than wait for that thread forever (a
** prefork server, Python's multiprocessing). Credentials live 4 s (due
** after 2 s), STS takes 2 s to answer a refresh (quick: 3 s, 1.5 s); the
** parent starts one and forks at once; the child opens its own store
** after the old credentials expired and must read within 8 s. The child
** reports through a pipe and ends with SIGKILL rather than exit: what the
** parent's refresh thread had allocated is lost in the child (the thread
** is not there to free it), and a leak checker at exit would count it. */
static void test_refresh_fork(void){
  fakes3 f;
  s3p_store *st;
  pid_t pid;
  int status = -1, waited = 0, fds[2];
  char verdict = 0;
  clean();
  if(start(&f, "--lifetime", quick ? "3" : "4", "--slow", quick ? "1.5" : "2",
           NULL, NULL) != 0) return;
  put_file(".aws/config", "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
           "source_profile = base\n");
  put_file(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\n"
           "aws_secret_access_key = basesecret\n");
  setenv("AWS_PROFILE", "role", 1);
  setenv("AWS_ENDPOINT_URL_STS", f.endpoint, 1);
  st = open_store(&f, NULL);
  CHECK(st != NULL);
  if(st == NULL){
    fakes3_stop(&f);
    return;
  }
  CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a",
                         (const unsigned char *)"x", 1, NULL), S3P_OK);
  usleep(quick ? 1700000 : 2200000);        /* due, not expired */
  CHECK_EQ(get_rc(st, "pages/a", NULL), S3P_OK);   /* starts the refresh */
  fflush(stdout);
  CHECK(pipe(fds) == 0);
  pid = fork();
  if(pid == 0){
    usleep(quick ? 1600000 : 2200000);      /* the old ones have expired */
    s3p_store *cst = open_store(&f, NULL);
    char v = cst != NULL && get_rc(cst, "pages/a", NULL) == S3P_OK ? 'y'
                                                                    : 'n';
    if(cst) s3p_store_close(cst);
    fflush(stdout);
    if(write(fds[1], &v, 1) != 1) v = 0;
    raise(SIGKILL);
  }
  CHECK(pid > 0);
  close(fds[1]);
  while(pid > 0 && waited < 80){
    if(waitpid(pid, &status, WNOHANG) == pid) break;
    usleep(100000);
    waited++;
  }
  if(pid > 0 && waited == 80){
    printf("#   the child still waits after 8 s: killed\n");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  if(read(fds[0], &verdict, 1) != 1) verdict = 0;
  close(fds[0]);
  CHECK_EQ(verdict, 'y');
  s3p_store_close(st);
  fakes3_stop(&f);
}

/* An ExpiredToken answer makes one refresh and one retry; a store that
** keeps answering it fails after exactly one refresh, naming no secret. */
static void test_expired_token(void){
  fakes3 f;
  char *msg = NULL, *log;
  clean();
  if(start(&f, "--expired-token", "1", NULL, NULL, NULL, NULL) != 0) return;
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f.endpoint, 1);
  s3p_store *st = open_store(&f, NULL);
  CHECK(st != NULL);
  if(st){
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a", (const unsigned char *)"x", 1, NULL), S3P_OK);
    CHECK_EQ(st->stats.n_retry, 1);
    CHECK_EQ(issued(&f, "container"), 2);
    log = fake_log(&f);
    CHECK(log && strstr(log, "req ASIACONTAINE0001 PUT /fakebucket/db/pages/a\n"
                             "req ASIACONTAINE0002 PUT /fakebucket/db/pages/a")
                 != NULL);
    free(log);
    s3p_store_close(st);
  }
  fakes3_stop(&f);

  clean();
  if(start(&f, "--expired-token", "1000", NULL, NULL, NULL, NULL) != 0) return;
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f.endpoint, 1);
  st = open_store(&f, NULL);
  CHECK(st != NULL);
  if(st){
    CHECK_EQ(get_rc(st, "pages/a", &msg), S3P_EAUTH);
    CHECK_EQ(issued(&f, "container"), 2);
    CHECK(msg && strstr(msg, "HTTP 400 ExpiredToken: the credentials (from "
                             "container credentials) have expired") != NULL);
    CHECK(msg && strstr(msg, "tokcontainer") == NULL
          && strstr(msg, "secret-container") == NULL);
    printf("# %s\n", msg ? msg : "?");
    free(msg);
    s3p_store_close(st);
  }
  fakes3_stop(&f);
}

/* A 4 KiB session token from a provider (container) works end to end. */
static void test_long_token(void){
  fakes3 f;
  clean();
  if(start(&f, "--token-len", "4096", NULL, NULL, NULL, NULL) != 0) return;
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f.endpoint, 1);
  signed_by(&f, "ASIACONTAINE");
  fakes3_stop(&f);
}

/* region_case runs two GETs on a store signing for us-east-1 when the
** fake's bucket is in eu-west-1 (answering with opt): the first follows
** the region once, the second goes there directly. */
static void region_case(const char *opt){
  fakes3 f;
  char *msg = NULL;
  clean();
  if(start(&f, "--bucket-region", "eu-west-1", opt, NULL, NULL, NULL) != 0){
    return;
  }
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  setenv("AWS_REGION", "us-east-1", 1);
  s3p_store *st = open_store(&f, NULL);
  CHECK(st != NULL);
  if(st){
    CHECK_EQ(get_rc(st, "pages/a", &msg), S3P_ENOTFOUND);
    if(msg) printf("# %s\n", msg);
    free(msg);
    CHECK_EQ(st->stats.n_retry, 1);
    CHECK_EQ(s3p_store_put(st, S3P_OP_PUT, "pages/a",
                           (const unsigned char *)"x", 1, NULL), S3P_OK);
    CHECK_EQ(get_rc(st, "pages/a", NULL), S3P_OK);
    CHECK_EQ(st->stats.n_retry, 1);          /* remembered */
    s3p_store_close(st);
  }
  fakes3_stop(&f);
}

/* A bucket in another region: 301 PermanentRedirect and 400
** AuthorizationHeaderMalformed with x-amz-bucket-region are followed once
** and remembered by the store. */
static void test_region_redirect(void){
  region_case(NULL);
  region_case("--redirect-400");
}

/* A case that runs in a child process of its own, beside the others. */
typedef struct bg_case {
  const char *name;             /* the case's name, for its verdict */
  void (*fn)(void);             /* the case */
  pid_t pid;                    /* its child, 0 if the fork failed */
  FILE *out;                    /* the child's stdout, a temporary file */
} bg_case;

/* bg_start forks one child per case, each with its own HOME (a directory
** under home) and its stdout in a temporary file, and returns at once.
** The refresh cases wait for credentials living a few seconds to come
** due, and wait in parallel as well as one after another: each has its own
** fake server, HOME, environment and credential cache (a process's). Call
** it before any thread exists. */
static void bg_start(bg_case *c, int n){
  char base[sizeof home];
  memcpy(base, home, sizeof base);
  for(int i = 0; i < n; i++){
    c[i].pid = 0;
    c[i].out = tmpfile();
    if(c[i].out == NULL) continue;
    fflush(stdout);
    pid_t pid = fork();
    if(pid == 0){
      snprintf(home, sizeof home, "%s/c%d", base, i);
      if(mkdir(home, 0700) != 0 || dup2(fileno(c[i].out), 1) < 0) _exit(2);
      check_case_failed = 0;
      c[i].fn();
      printf("%s - %s\n", check_case_failed ? "not ok" : "ok", c[i].name);
      fflush(stdout);
      exit(check_case_failed ? 1 : 0);
    }
    if(pid > 0) c[i].pid = pid;
  }
}

/* bg_finish waits for the children of bg_start and prints each one's
** output and verdict in case order, counting failed cases (a child that
** died or printed no verdict fails its case). */
static void bg_finish(bg_case *c, int n){
  for(int i = 0; i < n; i++){
    int status = -1, verdict = 0;
    char line[1024];
    if(c[i].pid > 0) waitpid(c[i].pid, &status, 0);
    if(c[i].out){
      rewind(c[i].out);
      while(fgets(line, sizeof line, c[i].out)){
        if(!strncmp(line, "ok - ", 5) || !strncmp(line, "not ok - ", 9)){
          verdict = 1;
        }
        fputs(line, stdout);
      }
      fclose(c[i].out);
    }
    int good = c[i].pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if(!verdict){
      printf("not ok - %s (child %s %d, no verdict)\n", c[i].name,
             c[i].pid > 0 && WIFSIGNALED(status) ? "killed by signal"
                                                 : "exit status",
             c[i].pid > 0 && WIFSIGNALED(status) ? WTERMSIG(status)
                                                 : WEXITSTATUS(status));
    }
    if(!good || !verdict) check_total_failed++;
  }
  fflush(stdout);
}

int main(int argc, char **argv){
  (void)argc;
  if(fakes3_find_script(argv[0]) != 0){
    printf("# no python3 or no tests/fake-aws.py: nothing to run\n");
    return 0;
  }
  const char *q = getenv("S3PAGE_TEST_QUICK");
  quick = q && strcmp(q, "1") == 0;
  snprintf(home, sizeof home, "/tmp/s3p-cred-XXXXXX");
  if(mkdtemp(home) == NULL) return 1;
  setenv("S3PAGE_TRUST_CONDITIONAL", "1", 1);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* The cases that wait for credentials to come due (5-7 s each) run in
  ** children while the others run here; their output follows. */
  bg_case bg[] = {
    { "test_refresh", test_refresh, 0, NULL },
    { "test_refresh_sso", test_refresh_sso, 0, NULL },
    { "test_refresh_threads", test_refresh_threads, 0, NULL },
    { "test_refresh_no_stall", test_refresh_no_stall, 0, NULL },
    { "test_refresh_fork", test_refresh_fork, 0, NULL },
  };
  int nbg = (int)(sizeof bg / sizeof bg[0]);
  bg_start(bg, nbg);
  RUN(test_each_provider);
  RUN(test_order);
  RUN(test_none);
  RUN(test_provider_errors);
  RUN(test_sso_token_refresh);
  RUN(test_expired_token);
  RUN(test_long_token);
  RUN(test_region_redirect);
  bg_finish(bg, nbg);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
  if(system(cmd) != 0) return 1;
  curl_global_cleanup();
  return CHECK_DONE();
}
