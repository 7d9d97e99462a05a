/*
** test_cred_sql.c: credentials from a provider at the SQL level, against
** tests/fake-aws.py on 127.0.0.1: a database on S3 written and read
** through the VFS with container credentials carrying a 2 KiB token, and
** the failures (expired credentials that a refresh does not cure, a web
** identity token STS refuses) reported through sqlite3_log without a
** secret, a token or a signature in any captured line.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/fakes3.h"
#include "../lib/testdb.h"

/* no_secrets checks that the captured log holds none of the fake's
** issued secrets or tokens, the web token, or a signature. */
static void no_secrets(void){
  CHECK(!tdb_log_has("secret-container"));
  CHECK(!tdb_log_has("tokcontainer"));
  CHECK(!tdb_log_has("refused-web-token"));
  CHECK(!tdb_log_has("Signature="));
  CHECK(!tdb_log_has("envsecret"));
}

/* container_env points the container provider at f. */
static void container_env(const fakes3 *f){
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x", 1);
  setenv("S3PAGE_CONTAINER_ENDPOINT", f->endpoint, 1);
}

/* A table written and read with container credentials. */
static void test_sql_container(void){
  fakes3 f;
  char params[128];
  if(fakes3_start_aws(&f, "--token-len", "2048", NULL) != 0){
    CHECK(!"fake-aws.py did not start");
    return;
  }
  container_env(&f);
  snprintf(params, sizeof params, "endpoint=%s", f.endpoint);
  sqlite3 *db = tdb_open("s3://fakebucket/sqlcred", params);
  CHECK(db != NULL);
  if(db){
    CHECK_EQ(tdb_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (42)"),
             SQLITE_OK);
    CHECK_EQ(tdb_int(db, "SELECT x FROM t"), 42);
    sqlite3_close(db);
  }
  db = tdb_open("s3://fakebucket/sqlcred", params);
  CHECK(db && tdb_int(db, "SELECT count(*) FROM t") == 1);
  sqlite3_close(db);
  no_secrets();
  fakes3_stop(&f);
}

/* Failures name the cause, never a secret. */
static void test_sql_failures(void){
  fakes3 f;
  char params[128], path[128];
  int rc = 0;
  if(fakes3_start_aws(&f, "--expired-token", "1000", "--web-token",
                      "accepted-web-token", NULL) != 0){
    CHECK(!"fake-aws.py did not start");
    return;
  }
  tdb_log_clear();
  container_env(&f);
  snprintf(params, sizeof params, "endpoint=%s", f.endpoint);
  sqlite3 *db = tdb_open_ex("s3://fakebucket/sqlfail", params, 0, 1, &rc);
  if(db){
    rc = tdb_exec_quiet(db, "SELECT * FROM sqlite_schema");
    sqlite3_close(db);
  }
  CHECK(rc != SQLITE_OK);
  CHECK(tdb_log_has("ExpiredToken"));
  CHECK(tdb_log_has("(from container credentials) have expired"));
  no_secrets();

  unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  snprintf(path, sizeof path, "/tmp/s3p-webtok-%d", (int)getpid());
  FILE *t = fopen(path, "w");
  CHECK(t != NULL);
  if(t){
    fputs("refused-web-token", t);
    fclose(t);
  }
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
  setenv("AWS_ENDPOINT_URL_STS", f.endpoint, 1);
  tdb_log_clear();
  db = tdb_open_ex("s3://fakebucket/sqlfail", params, 0, 1, &rc);
  CHECK(db == NULL);
  CHECK(tdb_log_has("AssumeRoleWithWebIdentity"));
  no_secrets();
  if(!tdb_log_has("AssumeRoleWithWebIdentity")) tdb_log_dump();
  unlink(path);
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_ROLE_ARN");
  fakes3_stop(&f);
}

int main(int argc, char **argv){
  (void)argc;
  if(tdb_init() != 0) return 1;
  if(fakes3_find_script(argv[0]) != 0){
    printf("# no python3 or no tests/fake-aws.py: nothing to run\n");
    return 0;
  }
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_PROFILE");
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("S3PAGE_TRUST_CONDITIONAL", "1", 1);
  signal(SIGPIPE, SIG_IGN);
  RUN(test_sql_container);
  RUN(test_sql_failures);
  return CHECK_DONE();
}
