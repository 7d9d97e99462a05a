/*
** test_cred_parse.c: the pure decoders of credential answers
** (vfs/store/cred_parse.c): credential_process, container / IMDS and SSO
** JSON, cached SSO tokens, STS XML, ISO-8601 times and INI values, with
** the malformed inputs each must refuse.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../../vfs/store/cred.h"

/* json returns the rc of decoding text as kind into *c. */
static int json(const char *text, int kind, s3p_cred *c){
  const char *why = NULL;
  int rc = s3p_cred_parse_json(text, strlen(text), kind, c, &why);
  CHECK(rc == S3P_OK ? why == NULL : why != NULL);
  return rc;
}

/* credential_process output, container and SSO answers. */
static void test_json(void){
  s3p_cred c;
  CHECK_EQ(json("{\"Version\": 1, \"AccessKeyId\": \"AKID\", "
                "\"SecretAccessKey\": \"s\\/x\\u00e9\", \"SessionToken\": "
                "\"tok\", \"Expiration\": \"2026-12-01T10:00:00Z\"}",
                S3P_CREDJSON_PROCESS, &c), S3P_OK);
  CHECK(strcmp(c.access_key, "AKID") == 0);
  CHECK(strcmp(c.secret_key, "s/x\xc3\xa9") == 0);
  CHECK(strcmp(c.session_token, "tok") == 0);
  CHECK_EQ(c.expires, 1796119200);
  s3p_cred_clear(&c);
  /* no Expiration: long-term */
  CHECK_EQ(json("{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":"
                "\"s\",\"Extra\":[1,{\"x\":null},true]}",
                S3P_CREDJSON_PROCESS, &c), S3P_OK);
  CHECK_EQ(c.expires, 0);
  CHECK(c.session_token == NULL);
  s3p_cred_clear(&c);
  CHECK_EQ(json("{\"Code\": \"Success\", \"AccessKeyId\": \"ASIA\", "
                "\"SecretAccessKey\": \"s\", \"Token\": \"t\", "
                "\"Expiration\": \"2026-12-01T10:00:00.123+00:00\"}",
                S3P_CREDJSON_CONTAINER, &c), S3P_OK);
  CHECK(strcmp(c.session_token, "t") == 0);
  CHECK_EQ(c.expires, 1796119200);
  s3p_cred_clear(&c);
  CHECK_EQ(json("{\"roleCredentials\": {\"accessKeyId\": \"ASIA\", "
                "\"secretAccessKey\": \"s\", \"sessionToken\": \"t\", "
                "\"expiration\": 1796119200000}}", S3P_CREDJSON_SSO, &c),
           S3P_OK);
  CHECK_EQ(c.expires, 1796119200);
  s3p_cred_clear(&c);

  /* refused */
  static const char *const bad[] = {
    "", "[]", "{", "{\"Version\": 1}", "{\"Version\": 2, \"AccessKeyId\": "
    "\"A\", \"SecretAccessKey\": \"s\"}",
    "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"} x",
    "{\"Version\":1,\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\","
    "\"SecretAccessKey\":\"s\"}",
    "{\"Version\":1,\"AccessKeyId\":\"A B\",\"SecretAccessKey\":\"s\"}",
    "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\\nx\"}",
    "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\\u0000\"}",
    "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
    "\"Expiration\":\"tomorrow\"}",
    "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
    "\"SessionToken\":\"\\ud800\"}",
    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]}",
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++){
    int rc = json(bad[i], S3P_CREDJSON_PROCESS, &c);
    if(rc != S3P_ECORRUPT) printf("#   accepted: %s\n", bad[i]);
    CHECK_EQ(rc, S3P_ECORRUPT);
    CHECK(c.access_key == NULL && c.secret_key == NULL);
  }
  CHECK_EQ(json("{\"Code\": \"Failure\", \"AccessKeyId\": \"A\", "
                "\"SecretAccessKey\": \"s\"}", S3P_CREDJSON_CONTAINER, &c),
           S3P_ECORRUPT);
}

/* Cached SSO tokens. */
static void test_sso_token(void){
  const char *why;
  char *tok = NULL;
  int64_t exp = 0;
  const char *t = "{\"startUrl\": \"u\", \"accessToken\": \"abc\", "
                  "\"expiresAt\": \"2026-12-01T10:00:00UTC\"}";
  CHECK_EQ(s3p_cred_parse_sso_token(t, strlen(t), &tok, &exp, &why), S3P_OK);
  CHECK(tok && strcmp(tok, "abc") == 0);
  CHECK_EQ(exp, 1796119200);
  free(tok);
  t = "{\"expiresAt\": \"2026-12-01T10:00:00Z\"}";
  CHECK_EQ(s3p_cred_parse_sso_token(t, strlen(t), &tok, &exp, &why),
           S3P_ECORRUPT);
  CHECK(tok == NULL);
}

/* The refresh fields of a cached SSO token, and OIDC CreateToken answers
** (untrusted: a line break in a token, a duplicate field, a missing or
** absurd expiresIn are refused). */
static void test_sso_refresh_parse(void){
  const char *why;
  s3p_ssocache c;
  char *a = NULL, *r = NULL;
  int64_t life = 0;
  const char *t = "{\"accessToken\": \"abc\", \"expiresAt\": "
                  "\"2026-12-01T10:00:00Z\", \"refreshToken\": \"rt\", "
                  "\"clientId\": \"cid\", \"clientSecret\": \"cs\", "
                  "\"registrationExpiresAt\": \"2026-12-02T10:00:00Z\", "
                  "\"region\": null, \"other\": [1, {\"x\": 2}]}";
  CHECK_EQ(s3p_cred_parse_sso_cache(t, strlen(t), &c, &why), S3P_OK);
  CHECK(c.refresh_token && strcmp(c.refresh_token, "rt") == 0);
  CHECK(c.client_id && strcmp(c.client_id, "cid") == 0);
  CHECK(c.client_secret && strcmp(c.client_secret, "cs") == 0);
  CHECK_EQ(c.reg_expires, 1796119200 + 86400);
  CHECK(c.region == NULL && c.start_url == NULL);
  s3p_ssocache_clear(&c);
  t = "{\"accessToken\": \"abc\", \"refreshToken\": \"r\\nt\"}";
  CHECK_EQ(s3p_cred_parse_sso_cache(t, strlen(t), &c, &why), S3P_ECORRUPT);

  t = "{\"accessToken\": \"new\", \"expiresIn\": 28800, "
      "\"refreshToken\": \"rt2\", \"tokenType\": \"Bearer\"}";
  CHECK_EQ(s3p_cred_parse_oidc(t, strlen(t), &a, &life, &r, &why), S3P_OK);
  CHECK(a && strcmp(a, "new") == 0 && r && strcmp(r, "rt2") == 0);
  CHECK_EQ(life, 28800);
  free(a);
  free(r);
  t = "{\"accessToken\": \"new\", \"expiresIn\": 60}";
  CHECK_EQ(s3p_cred_parse_oidc(t, strlen(t), &a, &life, &r, &why), S3P_OK);
  CHECK(r == NULL);
  free(a);
  static const char *const bad[] = {
    "{\"accessToken\": \"new\"}",
    "{\"accessToken\": \"new\", \"expiresIn\": 0}",
    "{\"accessToken\": \"new\", \"expiresIn\": 99999999999}",
    "{\"accessToken\": \"a\\r\", \"expiresIn\": 60}",
    "{\"accessToken\": \"a\", \"accessToken\": \"b\", \"expiresIn\": 60}",
    "{\"expiresIn\": 60}", "[]", "",
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++){
    CHECK_EQ(s3p_cred_parse_oidc(bad[i], strlen(bad[i]), &a, &life, &r,
                                 &why), S3P_ECORRUPT);
    CHECK(a == NULL && r == NULL && why != NULL);
  }
}

/* STS answers and errors. */
static void test_sts(void){
  s3p_cred c;
  char code[32];
  const char *why;
  const char *ok = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
    "<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s&amp;k"
    "</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>"
    "2026-12-01T10:00:00Z</Expiration></Credentials></AssumeRoleResult>"
    "</AssumeRoleResponse>";
  CHECK_EQ(s3p_cred_parse_sts(ok, strlen(ok), &c, code, sizeof code, &why),
           S3P_OK);
  CHECK(strcmp(c.secret_key, "s&k") == 0 && c.expires == 1796119200);
  s3p_cred_clear(&c);
  const char *err = "<ErrorResponse><Error><Type>Sender</Type><Code>"
                    "AccessDenied</Code></Error></ErrorResponse>";
  CHECK_EQ(s3p_cred_parse_sts(err, strlen(err), &c, code, sizeof code, &why),
           S3P_ECORRUPT);
  CHECK(strcmp(code, "AccessDenied") == 0);
  const char *part = "<Credentials><AccessKeyId>A</AccessKeyId>"
                     "</Credentials>";
  CHECK_EQ(s3p_cred_parse_sts(part, strlen(part), &c, code, sizeof code,
                              &why), S3P_ECORRUPT);
  CHECK(c.access_key == NULL);
}

/* ISO-8601 times. */
static void test_time(void){
  int64_t t = 0;
  CHECK_EQ(s3p_cred_parse_time("1970-01-01T00:00:00Z", 20, &t), 0);
  CHECK_EQ(t, 0);
  CHECK_EQ(s3p_cred_parse_time("2000-03-01T00:00:00Z", 20, &t), 0);
  CHECK_EQ(t, 951868800);
  CHECK_EQ(s3p_cred_parse_time("2100-03-01T00:00:00Z", 20, &t), 0);
  CHECK_EQ(t, 4107542400LL);
  CHECK_EQ(s3p_cred_parse_time("2024-02-29T23:59:59.5Z", 22, &t), 0);
  CHECK_EQ(t, 1709251199);
  CHECK_EQ(s3p_cred_parse_time("2024-02-29T23:59:59+01:00", 25, &t), -1);
  CHECK_EQ(s3p_cred_parse_time("2024-13-01T00:00:00Z", 20, &t), -1);
  CHECK_EQ(s3p_cred_parse_time("2024-01-01", 10, &t), -1);
}

/* INI values. */
static void test_ini(void){
  const char *t = "[default]\nregion = x\n[profile dev]\n"
                  "role_arn = arn:aws:iam::1:role/r\ns3 =\n"
                  "  role_arn = nested\n[sso-session corp]\n"
                  "sso_region=eu-west-1\n";
  int found = 0, nomem = 0;
  char *v = s3p_cred_ini_get(t, strlen(t), "profile dev", "role_arn", &found,
                             &nomem);
  CHECK(found && v && strcmp(v, "arn:aws:iam::1:role/r") == 0);
  free(v);
  v = s3p_cred_ini_get(t, strlen(t), "sso-session corp", "sso_region",
                       &found, &nomem);
  CHECK(v && strcmp(v, "eu-west-1") == 0);
  free(v);
  v = s3p_cred_ini_get(t, strlen(t), "profile nope", "region", &found,
                       &nomem);
  CHECK(v == NULL && !found && !nomem);
}

int main(void){
  RUN(test_json);
  RUN(test_sso_token);
  RUN(test_sso_refresh_parse);
  RUN(test_sts);
  RUN(test_time);
  RUN(test_ini);
  return CHECK_DONE();
}
