/*
** cred_sso.c: IAM Identity Center (SSO) profiles. "aws sso login" leaves
** an access token in ~/.aws/sso/cache/SHA1.json, where SHA1 is the hex
** SHA-1 of the sso_session name (or, for legacy profiles, of the
** sso_start_url); we trade it for role credentials with the portal's
** GetRoleCredentials (GET /federation/credentials at
** AWS_ENDPOINT_URL_SSO, else https://portal.sso.REGION.amazonaws.com).
** An expired token is an error telling the user to log in again: we do
** not run the OIDC token refresh.
*/
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "cred.h"
#include "sigv4.h"

/* Limit of the GetRoleCredentials call, in milliseconds. */
#define SSO_TIMEOUT_MS 10000
/* Largest cached token file we read. */
#define SSO_FILE_MAX (256u << 10)

/* sso_cache_path returns the malloc'd path of the cached token for key,
** or NULL (no HOME, or out of memory). */
static char *sso_cache_path(const char *key){
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  const char *home = s3p_cred_env_get("HOME");
  if(home == NULL) return NULL;
  if(!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL)) return NULL;
  for(unsigned int i = 0; i < mdlen; i++){
    hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
    hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
  }
  hex[2 * mdlen] = 0;
  return s3p_store_msg("%s/.aws/sso/cache/%s.json", home, hex);
}

/* sso_get_token reads and checks the cached token for key into *token.
** Returns S3P_OK or an error with *msg set. */
static int sso_get_token(const s3p_ssoreq *q, const char *key, char **token,
                         char **msg){
  char *path = sso_cache_path(key), *text = NULL;
  const char *why = NULL;
  size_t len = 0;
  int64_t exp = 0;
  int rc;
  *token = NULL;
  if(path == NULL){
    *msg = s3p_store_msg("profile %s: no SSO token cache (HOME not set)",
                         q->profile);
    return S3P_EAUTH;
  }
  rc = s3p_cred_read_file(path, SSO_FILE_MAX, &text, &len);
  if(rc != S3P_OK){
    if(rc != S3P_ENOMEM){
      *msg = s3p_store_msg("profile %s: no SSO token in %s (run \"aws sso "
                           "login --profile %s\")", q->profile, path,
                           q->profile);
      rc = S3P_EAUTH;
    }
    free(path);
    return rc;
  }
  rc = s3p_cred_parse_sso_token(text, len, token, &exp, &why);
  s3p_wipe(text, len);
  free(text);
  if(rc == S3P_ECORRUPT){
    *msg = s3p_store_msg("profile %s: SSO token cache %s: %s", q->profile,
                         path, why);
    rc = S3P_EAUTH;
  }else if(rc == S3P_OK && exp != 0 && exp <= s3p_cred_now()){
    s3p_wipe_str(*token);
    *token = NULL;
    *msg = s3p_store_msg("profile %s: the SSO token has expired (run \"aws "
                         "sso login --profile %s\")", q->profile, q->profile);
    rc = S3P_EAUTH;
  }
  free(path);
  return rc;
}

/* s3p_sso_role_credentials: see cred.h. */
int s3p_sso_role_credentials(const char *config, size_t len,
                             const s3p_ssoreq *q, s3p_cred *out, char **msg){
  char *sreg = NULL, *surl = NULL, *sect = NULL, *token = NULL, *url = NULL;
  char *hdr = NULL, *acct = NULL, *role = NULL, *body = NULL;
  const char *region = q->region, *hdrs[3], *ep, *why = NULL;
  size_t blen = 0;
  long status = 0;
  int rc = S3P_OK, nomem = 0;

  memset(out, 0, sizeof(*out));
  if(q->session){
    sect = s3p_store_msg("sso-session %s", q->session);
    if(sect == NULL) return S3P_ENOMEM;
    if(config){
      sreg = s3p_cred_ini_get(config, len, sect, "sso_region", NULL, &nomem);
      surl = s3p_cred_ini_get(config, len, sect, "sso_start_url", NULL,
                              &nomem);
    }
    if(region == NULL) region = sreg;
    if(nomem) rc = S3P_ENOMEM;
    else if(surl == NULL){
      *msg = s3p_store_msg("profile %s: no [sso-session %s] with an "
                           "sso_start_url in ~/.aws/config", q->profile,
                           q->session);
      rc = S3P_EAUTH;
    }
  }
  if(rc == S3P_OK && (region == NULL || q->account == NULL
                      || q->role == NULL)){
    *msg = s3p_store_msg("profile %s: SSO needs sso_region, sso_account_id "
                         "and sso_role_name", q->profile);
    rc = S3P_EAUTH;
  }
  if(rc == S3P_OK){
    rc = sso_get_token(q, q->session ? q->session : q->start_url, &token,
                       msg);
  }
  if(rc == S3P_OK){
    ep = s3p_cred_env_get("AWS_ENDPOINT_URL_SSO");
    acct = s3p_sigv4_uri_encode(q->account, 0);
    role = s3p_sigv4_uri_encode(q->role, 0);
    if(ep){
      size_t n = strlen(ep);
      while(n > 0 && ep[n - 1] == '/') n--;
      url = s3p_store_msg("%.*s/federation/credentials?account_id=%s&"
                          "role_name=%s", (int)n, ep, acct ? acct : "",
                          role ? role : "");
    }else{
      url = s3p_store_msg("https://portal.sso.%s.amazonaws.com/federation/"
                          "credentials?account_id=%s&role_name=%s", region,
                          acct ? acct : "", role ? role : "");
    }
    hdr = s3p_store_msg("x-amz-sso_bearer_token: %s", token);
    if(url == NULL || hdr == NULL || acct == NULL || role == NULL){
      rc = S3P_ENOMEM;
    }
  }
  if(rc == S3P_OK){
    s3p_credhttp r;
    hdrs[0] = hdr;
    hdrs[1] = "Accept: application/json";
    hdrs[2] = NULL;
    memset(&r, 0, sizeof(r));
    r.method = "GET";
    r.url = url;
    r.headers = hdrs;
    r.timeout_ms = SSO_TIMEOUT_MS;
    rc = s3p_credhttp_run(&r, &status, &body, &blen, msg);
    if(rc == S3P_EIO){
      char *m = s3p_store_msg("profile %s: SSO GetRoleCredentials: %s",
                              q->profile, *msg);
      free(*msg);
      *msg = m;
      rc = S3P_EAUTH;
    }
  }
  if(rc == S3P_OK){
    if(status != 200){
      *msg = s3p_store_msg("profile %s: SSO GetRoleCredentials for account "
                           "%s role %s: HTTP %ld%s", q->profile, q->account,
                           q->role, status,
                           status == 401 || status == 403
                             ? " (run \"aws sso login\")" : "");
      rc = S3P_EAUTH;
    }else{
      rc = s3p_cred_parse_json(body, blen, S3P_CREDJSON_SSO, out, &why);
      if(rc == S3P_ECORRUPT){
        *msg = s3p_store_msg("profile %s: SSO GetRoleCredentials answer: %s",
                             q->profile, why);
        rc = S3P_EAUTH;
      }
    }
  }
  if(body){
    s3p_wipe(body, blen);
    free(body);
  }
  s3p_wipe_str(hdr);
  s3p_wipe_str(token);
  free(url);
  free(acct);
  free(role);
  free(sect);
  free(sreg);
  free(surl);
  if(rc == S3P_OK) out->obtained = s3p_cred_now();
  return rc;
}
