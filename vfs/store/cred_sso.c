/*
** cred_sso.c: IAM Identity Center (SSO) profiles. "aws sso login" leaves
** an access token in ~/.aws/sso/cache/SHA1.json, where SHA1 is the hex
** SHA-1 of the sso_session name (or, for legacy profiles, of the
** sso_start_url); we trade it for role credentials with the portal's
** GetRoleCredentials (GET /federation/credentials at
** AWS_ENDPOINT_URL_SSO, else https://portal.sso.REGION.amazonaws.com).
**
** The access token lives a few hours. For sso_session profiles, whose
** login registered an OIDC client and left a refreshToken, clientId and
** clientSecret in the cache, a token that expires within 5 minutes is
** refreshed the way the AWS SDKs do: OIDC CreateToken (POST /token with
** grantType refresh_token at AWS_ENDPOINT_URL_SSO_OIDC, else
** https://oidc.SSO_REGION.amazonaws.com), and the cache file is rewritten
** (atomically, mode 0600) with the new accessToken, expiresAt and
** refreshToken. A token that has expired and cannot be refreshed (legacy
** sso_start_url profiles, no refresh token, the registration expired, the
** refresh refused) is an error asking the user to run "aws sso login".
*/
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "cred.h"
#include "sigv4.h"

/* Limit of the GetRoleCredentials and CreateToken calls, in ms. */
#define SSO_TIMEOUT_MS 10000
/* Largest cached token file we read. */
#define SSO_FILE_MAX (256u << 10)
/* Seconds before its expiry at which the access token is refreshed. */
#define SSO_REFRESH_AHEAD 300

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

/* sso_json_quote returns v as a malloc'd JSON string literal (quotes
** included), or NULL when out of memory. Wipe it if v is a secret. */
static char *sso_json_quote(const char *v){
  size_t n = strlen(v);
  char *q = malloc(6 * n + 3), *o = q;
  if(q == NULL) return NULL;
  *o++ = '"';
  for(const unsigned char *p = (const unsigned char *)v; *p; p++){
    if(*p == '"' || *p == '\\'){
      *o++ = '\\';
      *o++ = (char)*p;
    }else if(*p < 0x20){
      o += sprintf(o, "\\u%04x", *p);
    }else{
      *o++ = (char)*p;
    }
  }
  *o++ = '"';
  *o = 0;
  return q;
}

/* sso_json_add appends ,"name":VALUE to *doc (value a string, quoted here,
** or a Unix time written as ISO-8601 when v is NULL and t is not 0).
** Returns 0, or -1 when out of memory (*doc is then wiped and NULL). */
static int sso_json_add(char **doc, const char *name, const char *v,
                        int64_t t){
  char iso[32], *q, *next;
  if(*doc == NULL) return -1;
  if(v == NULL && t == 0) return 0;
  if(v == NULL){
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    v = iso;
  }
  q = sso_json_quote(v);
  next = q ? s3p_store_msg("%s%s\"%s\": %s", *doc, (*doc)[1] ? ", " : "",
                           name, q) : NULL;
  if(q) s3p_wipe_str(q);
  s3p_wipe_str(*doc);
  *doc = next;
  return next ? 0 : -1;
}

/* sso_cache_write replaces the cache file path with t, atomically (a
** temporary file in the same directory, renamed over it), mode 0600.
** Returns S3P_OK, S3P_ENOMEM or S3P_EIO. */
static int sso_cache_write(const char *path, const s3p_ssocache *t){
  char *doc = strdup("{"), *tmp;
  int fd, rc = S3P_OK;
  size_t n, off = 0;
  sso_json_add(&doc, "startUrl", t->start_url, 0);
  sso_json_add(&doc, "region", t->region, 0);
  sso_json_add(&doc, "accessToken", t->access_token, 0);
  sso_json_add(&doc, "expiresAt", NULL, t->expires);
  sso_json_add(&doc, "clientId", t->client_id, 0);
  sso_json_add(&doc, "clientSecret", t->client_secret, 0);
  sso_json_add(&doc, "registrationExpiresAt", NULL, t->reg_expires);
  sso_json_add(&doc, "refreshToken", t->refresh_token, 0);
  if(doc == NULL) return S3P_ENOMEM;
  {
    char *d = s3p_store_msg("%s}\n", doc);
    s3p_wipe_str(doc);
    doc = d;
  }
  tmp = s3p_store_msg("%s.s3page-%ld", path, (long)getpid());
  if(doc == NULL || tmp == NULL){
    s3p_wipe_str(doc);
    free(tmp);
    return S3P_ENOMEM;
  }
  n = strlen(doc);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if(fd < 0) rc = S3P_EIO;
  while(rc == S3P_OK && off < n){
    ssize_t w = write(fd, doc + off, n - off);
    if(w <= 0) rc = S3P_EIO; else off += (size_t)w;
  }
  if(fd >= 0){
    if(rc == S3P_OK && fsync(fd) != 0) rc = S3P_EIO;
    if(close(fd) != 0) rc = S3P_EIO;
    if(rc == S3P_OK && rename(tmp, path) != 0) rc = S3P_EIO;
    if(rc != S3P_OK) unlink(tmp);
  }
  s3p_wipe_str(doc);
  free(tmp);
  return rc;
}

/* sso_refresh trades t's refresh token for a new access token with OIDC
** CreateToken (region: the sso-session's sso_region) and puts the new
** access token, its expiry and any new refresh token into t. Returns
** S3P_OK, or an error with *msg a clause naming the cause. */
static int sso_refresh(const char *region, s3p_ssocache *t, char **msg){
  const char *ep = s3p_cred_env_get("AWS_ENDPOINT_URL_SSO_OIDC");
  const char *hdrs[] = { "Content-Type: application/json",
                         "Accept: application/json", NULL };
  const char *why = NULL;
  char *url, *body = NULL, *ans = NULL, *access = NULL, *refresh = NULL;
  char *cid = sso_json_quote(t->client_id);
  char *csec = sso_json_quote(t->client_secret);
  char *rtok = sso_json_quote(t->refresh_token);
  size_t alen = 0;
  long status = 0;
  int64_t life = 0;
  int rc;
  if(ep){
    size_t n = strlen(ep);
    while(n > 0 && ep[n - 1] == '/') n--;
    url = s3p_store_msg("%.*s/token", (int)n, ep);
  }else{
    url = s3p_store_msg("https://oidc.%s.amazonaws.com/token", region);
  }
  if(cid && csec && rtok){
    body = s3p_store_msg("{\"clientId\": %s, \"clientSecret\": %s, "
                         "\"grantType\": \"refresh_token\", "
                         "\"refreshToken\": %s}", cid, csec, rtok);
  }
  free(cid);
  if(csec) s3p_wipe_str(csec);
  if(rtok) s3p_wipe_str(rtok);
  if(url == NULL || body == NULL){
    free(url);
    if(body) s3p_wipe_str(body);
    return S3P_ENOMEM;
  }
  {
    s3p_credhttp r;
    memset(&r, 0, sizeof(r));
    r.method = "POST";
    r.url = url;
    r.headers = hdrs;
    r.body = body;
    r.body_len = strlen(body);
    r.timeout_ms = SSO_TIMEOUT_MS;
    rc = s3p_credhttp_run(&r, &status, &ans, &alen, msg);
  }
  s3p_wipe_str(body);
  if(rc == S3P_OK && status != 200){
    *msg = s3p_store_msg("OIDC CreateToken at %s: HTTP %ld", url, status);
    rc = S3P_EAUTH;
  }else if(rc == S3P_OK){
    rc = s3p_cred_parse_oidc(ans, alen, &access, &life, &refresh, &why);
    if(rc == S3P_ECORRUPT){
      *msg = s3p_store_msg("OIDC CreateToken at %s: %s", url, why);
      rc = S3P_EAUTH;
    }
  }else if(rc == S3P_EIO){
    char *m = s3p_store_msg("OIDC CreateToken at %s: %s", url, *msg);
    free(*msg);
    *msg = m;
    rc = S3P_EAUTH;
  }
  if(ans){
    s3p_wipe(ans, alen);
    free(ans);
  }
  free(url);
  if(rc != S3P_OK) return rc;
  s3p_wipe_str(t->access_token);
  t->access_token = access;
  t->expires = s3p_cred_now() + life;
  if(refresh){
    s3p_wipe_str(t->refresh_token);
    t->refresh_token = refresh;
  }
  return S3P_OK;
}

/* sso_get_token reads and checks the cached token for key into *token;
** with region set (an sso-session profile), refreshes it first when it
** is due and refreshable. Returns S3P_OK or an error with *msg set. */
static int sso_get_token(const s3p_ssoreq *q, const char *key,
                         const char *region, char **token, char **msg){
  char *path = sso_cache_path(key), *text = NULL, *why2 = NULL;
  const char *why = NULL;
  s3p_ssocache t;
  size_t len = 0;
  int64_t now;
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
  rc = s3p_cred_parse_sso_cache(text, len, &t, &why);
  s3p_wipe(text, len);
  free(text);
  if(rc != S3P_OK){
    if(rc == S3P_ECORRUPT){
      *msg = s3p_store_msg("profile %s: SSO token cache %s: %s", q->profile,
                           path, why);
      rc = S3P_EAUTH;
    }
    free(path);
    return rc;
  }
  now = s3p_cred_now();
  if(region && t.expires != 0 && t.expires - now < SSO_REFRESH_AHEAD
     && t.refresh_token && t.client_id && t.client_secret
     && (t.reg_expires == 0 || t.reg_expires > now)){
    rc = sso_refresh(region, &t, &why2);
    if(rc == S3P_OK){
      /* Best effort: if the cache cannot be rewritten, this process still
      ** has the new token, and the next one refreshes again. */
      rc = sso_cache_write(path, &t);
      if(rc == S3P_ENOMEM){
        s3p_ssocache_clear(&t);
        free(path);
        return rc;
      }
      rc = S3P_OK;
    }else if(rc == S3P_ENOMEM){
      s3p_ssocache_clear(&t);
      free(path);
      return rc;
    }
  }
  if(t.expires != 0 && t.expires <= now){
    *msg = s3p_store_msg("profile %s: the SSO token has expired%s%s%s (run "
                         "\"aws sso login --profile %s\")", q->profile,
                         why2 ? " and refreshing it failed: " : "",
                         why2 ? why2 : "",
                         why2 || region == NULL || t.refresh_token ? ""
                           : " and the cache has no refresh token",
                         q->profile);
    rc = S3P_EAUTH;
  }else{
    *token = t.access_token;
    t.access_token = NULL;
    rc = S3P_OK;
  }
  free(why2);
  s3p_ssocache_clear(&t);
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
    rc = sso_get_token(q, q->session ? q->session : q->start_url,
                       q->session ? region : NULL, &token, msg);
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
