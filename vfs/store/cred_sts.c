/*
** cred_sts.c: the AWS Security Token Service calls (AssumeRole, signed
** with the source profile's credentials; AssumeRoleWithWebIdentity,
** unsigned, with an OIDC token from a file) and the web identity
** provider of the chain (EKS IRSA, GitHub Actions OIDC).
**
** The STS endpoint is AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
** the regional https://sts.REGION.amazonaws.com. Calls are one POST of a
** form (Version 2011-06-15) with a 10 s limit.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cred.h"
#include "sigv4.h"

/* Limit of one STS call, in milliseconds. */
#define STS_TIMEOUT_MS 10000
/* Largest web identity token file we read. */
#define STS_TOKEN_MAX (64u << 10)

/* sts_endpoint returns the malloc'd STS endpoint URL (no trailing '/'),
** or NULL when out of memory. */
static char *sts_endpoint(const s3p_credenv *e){
  const char *v = s3p_cred_env_get("AWS_ENDPOINT_URL_STS");
  char *u;
  size_t n;
  if(v == NULL) v = s3p_cred_env_get("AWS_ENDPOINT_URL");
  if(v == NULL){
    return s3p_store_msg("https://sts.%s.amazonaws.com",
                         e->region ? e->region : "us-east-1");
  }
  u = strdup(v);
  if(u == NULL) return NULL;
  n = strlen(u);
  while(n > 0 && u[n - 1] == '/') u[--n] = 0;
  return u;
}

/* sts_form_add appends "&name=value" (value form-encoded) to *form.
** Returns S3P_OK or S3P_ENOMEM (then *form is wiped and NULL). */
static int sts_form_add(char **form, const char *name, const char *value){
  char *enc = s3p_sigv4_uri_encode(value, 0);
  char *next = enc ? s3p_store_msg("%s&%s=%s", *form, name, enc) : NULL;
  if(enc) s3p_wipe_str(enc);
  s3p_wipe_str(*form);
  *form = next;
  return next ? S3P_OK : S3P_ENOMEM;
}

/* sts_call POSTs form to STS (signed with src unless src is NULL) and
** decodes the answer into *out. what names the call in messages. Returns
** S3P_OK, or an error with *msg set. */
static int sts_call(const s3p_credenv *e, const char *what,
                    const s3p_cred *src, const char *form, s3p_cred *out,
                    char **msg){
  char *url = sts_endpoint(e), *body = NULL, *auth = NULL, *tokhdr = NULL;
  char *hosthdr = NULL, date[17], sig[65], payload[65], code[64];
  char datehdr[40], shahdr[100];
  const char *hdrs[8], *why = NULL, *host;
  size_t len = 0, nh = 0;
  long status = 0;
  int rc;

  memset(out, 0, sizeof(*out));
  if(url == NULL) return S3P_ENOMEM;
  hdrs[nh++] = "Content-Type: application/x-www-form-urlencoded; "
               "charset=utf-8";
  hdrs[nh++] = "Accept: application/xml";
  if(src){
    s3p_sigv4_header sh[5];
    s3p_sigv4_req r;
    size_t ns = 0, hn;
    host = strstr(url, "://");
    host = host ? host + 3 : url;
    hn = strcspn(host, "/");
    hosthdr = s3p_store_msg("%.*s", (int)hn, host);
    if(hosthdr == NULL){
      free(url);
      return S3P_ENOMEM;
    }
    s3p_sigv4_amz_date((time_t)s3p_cred_now(), date);
    s3p_sigv4_sha256_hex(form, strlen(form), payload);
    sh[ns].name = "host"; sh[ns++].value = hosthdr;
    sh[ns].name = "content-type";
    sh[ns++].value = "application/x-www-form-urlencoded; charset=utf-8";
    sh[ns].name = "x-amz-content-sha256"; sh[ns++].value = payload;
    sh[ns].name = "x-amz-date"; sh[ns++].value = date;
    if(src->session_token){
      sh[ns].name = "x-amz-security-token"; sh[ns++].value = src->session_token;
    }
    memset(&r, 0, sizeof(r));
    r.method = "POST";
    r.uri = "/";
    r.query = "";
    r.headers = sh;
    r.n_headers = ns;
    r.payload_sha256 = payload;
    r.amz_date = date;
    r.region = e->region ? e->region : "us-east-1";
    r.service = "sts";
    r.access_key = src->access_key;
    r.secret_key = src->secret_key;
    auth = s3p_sigv4_sign(&r, sig);
    char *authhdr = auth ? s3p_store_msg("Authorization: %s", auth) : NULL;
    s3p_wipe_str(auth);
    auth = authhdr;
    if(src->session_token){
      tokhdr = s3p_store_msg("x-amz-security-token: %s", src->session_token);
    }
    snprintf(datehdr, sizeof(datehdr), "x-amz-date: %s", date);
    snprintf(shahdr, sizeof(shahdr), "x-amz-content-sha256: %s", payload);
    if(auth == NULL || (src->session_token && tokhdr == NULL)){
      s3p_wipe_str(auth);
      s3p_wipe_str(tokhdr);
      free(hosthdr);
      free(url);
      return S3P_ENOMEM;
    }
    hdrs[nh++] = datehdr;
    hdrs[nh++] = shahdr;
    hdrs[nh++] = auth;
    if(tokhdr) hdrs[nh++] = tokhdr;
  }
  hdrs[nh] = NULL;
  {
    s3p_credhttp r = { "POST", url, hdrs, form, strlen(form), STS_TIMEOUT_MS,
                       0 };
    rc = s3p_credhttp_run(&r, &status, &body, &len, msg);
  }
  s3p_wipe_str(auth);
  s3p_wipe_str(tokhdr);
  free(hosthdr);
  if(rc != S3P_OK){
    char *m = s3p_store_msg("STS %s at %s: %s", what, url,
                            *msg ? *msg : s3p_errstr(rc));
    free(*msg);
    *msg = m;
    free(url);
    return rc == S3P_ENOMEM ? rc : S3P_EAUTH;
  }
  rc = s3p_cred_parse_sts(body, len, out, code, sizeof(code), &why);
  s3p_wipe(body, len);
  free(body);
  if(rc == S3P_OK && status != 200) rc = S3P_ECORRUPT;
  if(rc != S3P_OK){
    s3p_cred_clear(out);
    if(rc != S3P_ENOMEM){
      *msg = s3p_store_msg("STS %s at %s: HTTP %ld%s%s%s%s", what, url, status,
                           code[0] ? " " : "", code,
                           code[0] || why == NULL ? "" : ": ",
                           code[0] || why == NULL ? "" : why);
      rc = S3P_EAUTH;
    }
  }
  free(url);
  return rc;
}

/* sts_session returns the malloc'd role session name: session if given,
** else AWS_ROLE_SESSION_NAME, else "s3page-<unix time>". */
static char *sts_session(const char *session){
  const char *v = session ? session : s3p_cred_env_get("AWS_ROLE_SESSION_NAME");
  if(v) return strdup(v);
  return s3p_store_msg("s3page-%lld", (long long)s3p_cred_now());
}

/* s3p_sts_assume_role: see cred.h. */
int s3p_sts_assume_role(const s3p_credenv *e, const s3p_cred *src,
                        const char *role_arn, const char *session,
                        const char *external_id, s3p_cred *out, char **msg){
  char *form = strdup("Action=AssumeRole&Version=2011-06-15");
  char *name = sts_session(session);
  int rc = form && name ? S3P_OK : S3P_ENOMEM;
  if(rc == S3P_OK) rc = sts_form_add(&form, "RoleArn", role_arn);
  if(rc == S3P_OK) rc = sts_form_add(&form, "RoleSessionName", name);
  if(rc == S3P_OK && external_id){
    rc = sts_form_add(&form, "ExternalId", external_id);
  }
  free(name);
  if(rc == S3P_OK) rc = sts_call(e, "AssumeRole", src, form, out, msg);
  s3p_wipe_str(form);
  if(rc == S3P_OK) out->obtained = s3p_cred_now();
  return rc;
}

/* s3p_sts_web_identity: see cred.h. */
int s3p_sts_web_identity(const s3p_credenv *e, const char *role_arn,
                         const char *session, const char *token_file,
                         s3p_cred *out, char **msg){
  char *token = NULL, *form = NULL, *name = NULL;
  size_t len = 0;
  int rc = s3p_cred_read_file(token_file, STS_TOKEN_MAX, &token, &len);
  memset(out, 0, sizeof(*out));
  if(rc != S3P_OK){
    if(rc == S3P_ENOMEM) return rc;
    *msg = s3p_store_msg("web identity token file %s: %s", token_file,
                         rc == S3P_ENOTFOUND ? "no such file"
                                             : "unreadable or too big");
    return S3P_EAUTH;
  }
  while(len > 0 && strchr(" \t\r\n", token[len - 1])) token[--len] = 0;
  if(len == 0){
    s3p_wipe_str(token);
    *msg = s3p_store_msg("web identity token file %s is empty", token_file);
    return S3P_EAUTH;
  }
  form = strdup("Action=AssumeRoleWithWebIdentity&Version=2011-06-15");
  name = sts_session(session);
  rc = form && name ? S3P_OK : S3P_ENOMEM;
  if(rc == S3P_OK) rc = sts_form_add(&form, "RoleArn", role_arn);
  if(rc == S3P_OK) rc = sts_form_add(&form, "RoleSessionName", name);
  if(rc == S3P_OK) rc = sts_form_add(&form, "WebIdentityToken", token);
  s3p_wipe_str(token);
  free(name);
  if(rc == S3P_OK){
    rc = sts_call(e, "AssumeRoleWithWebIdentity", NULL, form, out, msg);
  }
  s3p_wipe_str(form);
  if(rc == S3P_OK) out->obtained = s3p_cred_now();
  return rc;
}

/* s3p_cred_webid is the web identity provider: AWS_WEB_IDENTITY_TOKEN_FILE
** and AWS_ROLE_ARN. Returns S3P_OK, S3P_ENOTFOUND ("no web identity
** token") or an error, with *msg set unless S3P_OK. */
int s3p_cred_webid(const s3p_credenv *e, s3p_cred *out, char **msg){
  const char *file = s3p_cred_env_get("AWS_WEB_IDENTITY_TOKEN_FILE");
  const char *role = s3p_cred_env_get("AWS_ROLE_ARN");
  int rc;
  memset(out, 0, sizeof(*out));
  if(file == NULL){
    /* AWS_ROLE_ARN alone configures nothing, as in the SDKs. */
    *msg = s3p_store_msg("no web identity token");
    return S3P_ENOTFOUND;
  }
  if(role == NULL){
    *msg = s3p_store_msg("AWS_WEB_IDENTITY_TOKEN_FILE is set but "
                         "AWS_ROLE_ARN is not");
    return S3P_EAUTH;
  }
  rc = s3p_sts_web_identity(e, role, NULL, file, out, msg);
  if(rc == S3P_OK) out->source = "web identity";
  return rc;
}
