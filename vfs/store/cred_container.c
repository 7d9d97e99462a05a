/*
** cred_container.c: the container credentials provider (ECS tasks, App
** Runner, EKS Pod Identity, Lambda SnapStart).
**
** AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is a path on the ECS agent at
** http://169.254.170.2 (S3PAGE_CONTAINER_ENDPOINT replaces that host, for
** tests); AWS_CONTAINER_CREDENTIALS_FULL_URI is a whole URL, which must be
** https or point to a loopback address or to the ECS / EKS agents
** (169.254.170.2, 169.254.170.23, fd00:ec2::23) so that no token goes to
** a stranger in clear. With FULL_URI, the Authorization header is the
** content of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read anew each time:
** it rotates), else AWS_CONTAINER_AUTHORIZATION_TOKEN. The answer is JSON:
** AccessKeyId, SecretAccessKey, Token, Expiration. Two attempts of 2 s.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cred.h"

/* Limit of one attempt, in milliseconds. */
#define CONT_TIMEOUT_MS 2000
/* Attempts. */
#define CONT_ATTEMPTS 2
/* Largest authorization token file we read. */
#define CONT_TOKEN_MAX (16u << 10)

/* cont_host_ok returns 1 if url may receive a token: https, or http to a
** loopback address or an AWS agent. */
static int cont_host_ok(const char *url){
  static const char *const ok[] = { "127.", "localhost", "[::1]",
                                    "169.254.170.2", "169.254.170.23",
                                    "[fd00:ec2::23]" };
  const char *h;
  size_t n;
  if(strncasecmp(url, "https://", 8) == 0) return 1;
  if(strncasecmp(url, "http://", 7) != 0) return 0;
  h = url + 7;
  if(memchr(h, '@', strcspn(h, "/?#"))) return 0;   /* no user part */
  n = h[0] == '[' ? strcspn(h, "]/?#") + (h[strcspn(h, "]/?#")] == ']')
                  : strcspn(h, ":/?#");
  for(size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++){
    size_t m = strlen(ok[i]);
    if(ok[i][m - 1] == '.'){
      /* 127.0.0.0/8, written as an address, not a name that starts so */
      if(n > m && strncmp(h, ok[i], m) == 0
         && strspn(h, "0123456789.") == n){
        return 1;
      }
    }else if(n == m && strncmp(h, ok[i], m) == 0){
      return 1;
    }
  }
  return 0;
}

/* s3p_cred_container is the container provider. Returns S3P_OK,
** S3P_ENOTFOUND ("container credentials not set") or an error, with *msg
** set unless S3P_OK. */
int s3p_cred_container(const s3p_credenv *e, s3p_cred *out, char **msg){
  const char *rel = s3p_cred_env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = s3p_cred_env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  const char *tokfile = s3p_cred_env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *tokenv = s3p_cred_env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  const char *hdrs[3], *why = NULL;
  char *url = NULL, *token = NULL, *hdr = NULL, *body = NULL;
  size_t len = 0, nh = 0;
  long status = 0;
  int rc = S3P_OK;

  (void)e;
  memset(out, 0, sizeof(*out));
  if(rel == NULL && full == NULL){
    *msg = s3p_store_msg("container credentials not set");
    return S3P_ENOTFOUND;
  }
  if(rel){
    const char *host = s3p_cred_env_get("S3PAGE_CONTAINER_ENDPOINT");
    url = s3p_store_msg("%s%s%s", host ? host : "http://169.254.170.2",
                        rel[0] == '/' ? "" : "/", rel);
  }else{
    if(!cont_host_ok(full)){
      *msg = s3p_store_msg("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https "
                           "or http to a loopback address or an AWS "
                           "container agent");
      return S3P_EAUTH;
    }
    url = strdup(full);
  }
  if(url == NULL) return S3P_ENOMEM;
  if(rel){
    /* The ECS agent wants no token (the SDKs send one only with
    ** FULL_URI). */
    tokfile = tokenv = NULL;
  }
  if(tokfile){
    size_t tl = 0;
    rc = s3p_cred_read_file(tokfile, CONT_TOKEN_MAX, &token, &tl);
    if(rc == S3P_OK){
      while(tl > 0 && strchr(" \t\r\n", token[tl - 1])) token[--tl] = 0;
    }else if(rc != S3P_ENOMEM){
      *msg = s3p_store_msg("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                           tokfile, rc == S3P_ENOTFOUND ? "no such file"
                                                        : "unreadable");
      rc = S3P_EAUTH;
    }
  }else if(tokenv){
    token = strdup(tokenv);
    if(token == NULL) rc = S3P_ENOMEM;
  }
  if(rc == S3P_OK && token){
    if(strpbrk(token, "\r\n")){
      *msg = s3p_store_msg("the container authorization token has a line "
                           "break");
      rc = S3P_EAUTH;
    }else if((hdr = s3p_store_msg("Authorization: %s", token)) == NULL){
      rc = S3P_ENOMEM;
    }else{
      hdrs[nh++] = hdr;
    }
  }
  hdrs[nh++] = "Accept: application/json";
  hdrs[nh] = NULL;
  for(int a = 0; rc == S3P_OK && a < CONT_ATTEMPTS; a++){
    s3p_credhttp r;
    memset(&r, 0, sizeof(r));
    r.method = "GET";
    r.url = url;
    r.headers = hdrs;
    r.timeout_ms = CONT_TIMEOUT_MS;
    r.no_proxy = 1;
    free(*msg);
    *msg = NULL;
    if(body){ s3p_wipe(body, len); free(body); body = NULL; }
    rc = s3p_credhttp_run(&r, &status, &body, &len, msg);
    if(rc == S3P_OK && status >= 500) rc = S3P_EIO;
    if(rc != S3P_EIO || a + 1 == CONT_ATTEMPTS) break;
    rc = S3P_OK;
  }
  if(rc == S3P_EIO){
    char *m = *msg ? s3p_store_msg("container credentials: %s", *msg)
                   : s3p_store_msg("container credentials: HTTP %ld", status);
    free(*msg);
    *msg = m;
    rc = S3P_EAUTH;
  }else if(rc == S3P_OK && status != 200){
    *msg = s3p_store_msg("container credentials: HTTP %ld", status);
    rc = S3P_EAUTH;
  }else if(rc == S3P_OK){
    rc = s3p_cred_parse_json(body, len, S3P_CREDJSON_CONTAINER, out, &why);
    if(rc == S3P_ECORRUPT){
      *msg = s3p_store_msg("container credentials answer: %s", why);
      rc = S3P_EAUTH;
    }
  }
  if(body){
    s3p_wipe(body, len);
    free(body);
  }
  s3p_wipe_str(hdr);
  s3p_wipe_str(token);
  free(url);
  if(rc == S3P_OK){
    out->obtained = s3p_cred_now();
    out->source = "container credentials";
  }
  return rc;
}
