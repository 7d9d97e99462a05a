/*
** cred_imds.c: the EC2 instance metadata provider, IMDSv2: PUT
** /latest/api/token for a session token, then GET
** /latest/meta-data/iam/security-credentials/ for the role name and GET
** .../ROLE for its credentials (JSON: Code, AccessKeyId, SecretAccessKey,
** Token, Expiration). A token answer of 404 or 405 (IMDSv1 only) falls
** back to requests without the token.
**
** The endpoint is AWS_EC2_METADATA_SERVICE_ENDPOINT, else
** http://[fd00:ec2::254] when AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is
** IPv6, else http://169.254.169.254; AWS_EC2_METADATA_DISABLED=true skips
** the provider. Each request has AWS_METADATA_SERVICE_TIMEOUT seconds
** (default 1) and AWS_METADATA_SERVICE_NUM_ATTEMPTS attempts (default 1),
** and an unreachable endpoint ends the provider at its first request, so
** off EC2 the whole chain costs about one second.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cred.h"

/* Session token lifetime we ask for, in seconds. */
#define IMDS_TTL "21600"

/* The state of one provider call. */
typedef struct imds {
  const char *base;             /* endpoint without trailing '/' */
  size_t base_len;              /* its length */
  long timeout_ms;              /* per attempt */
  int attempts;                 /* attempts per request */
  char *tokhdr;                 /* "X-aws-ec2-metadata-token: ..." or NULL */
} imds;

/* imds_num reads environment variable name as an integer in [lo, hi],
** else returns def. */
static long imds_num(const char *name, long lo, long hi, long def){
  const char *v = s3p_cred_env_get(name);
  char *end;
  long x;
  if(v == NULL) return def;
  x = strtol(v, &end, 10);
  return (*end || x < lo || x > hi) ? def : x;
}

/* imds_req performs method path with the session token (if any) and hdr
** (if not NULL). Returns S3P_OK with *status and *body (wipe it), or
** S3P_EIO with *msg set. */
static int imds_req(imds *m, const char *method, const char *path,
                    const char *hdr, long *status, char **body, size_t *len,
                    char **msg){
  const char *hdrs[3];
  size_t nh = 0;
  char *url = s3p_store_msg("%.*s%s", (int)m->base_len, m->base, path);
  int rc = S3P_EIO;
  if(url == NULL) return S3P_ENOMEM;
  if(m->tokhdr) hdrs[nh++] = m->tokhdr;
  if(hdr) hdrs[nh++] = hdr;
  hdrs[nh] = NULL;
  for(int a = 0; a < m->attempts; a++){
    s3p_credhttp r;
    memset(&r, 0, sizeof(r));
    r.method = method;
    r.url = url;
    r.headers = hdrs;
    r.timeout_ms = m->timeout_ms;
    r.no_proxy = 1;
    free(*msg);
    *msg = NULL;
    rc = s3p_credhttp_run(&r, status, body, len, msg);
    if(rc == S3P_OK && *status >= 500 && a + 1 < m->attempts){
      s3p_wipe(*body, *len);
      free(*body);
      *body = NULL;
      continue;
    }
    if(rc != S3P_EIO) break;
  }
  free(url);
  return rc;
}

/* imds_drop wipes and frees *body. */
static void imds_drop(char **body, size_t len){
  if(*body){
    s3p_wipe(*body, len);
    free(*body);
  }
  *body = NULL;
}

/* s3p_cred_imds is the instance metadata provider. Returns S3P_OK,
** S3P_ENOTFOUND ("instance metadata not reachable", "... disabled", "...
** has no IAM role") or an error, with *msg set unless S3P_OK. */
int s3p_cred_imds(const s3p_credenv *e, s3p_cred *out, char **msg){
  const char *dis = s3p_cred_env_get("AWS_EC2_METADATA_DISABLED");
  const char *ep = s3p_cred_env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  const char *mode = s3p_cred_env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  const char *why = NULL;
  char *body = NULL, *role = NULL, *path = NULL;
  size_t len = 0;
  long status = 0;
  imds m;
  int rc;

  (void)e;
  memset(out, 0, sizeof(*out));
  if(dis && strcasecmp(dis, "true") == 0){
    *msg = s3p_store_msg("instance metadata disabled");
    return S3P_ENOTFOUND;
  }
  memset(&m, 0, sizeof(m));
  m.base = ep ? ep : (mode && strcasecmp(mode, "IPv6") == 0)
                       ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
  m.base_len = strlen(m.base);
  while(m.base_len > 0 && m.base[m.base_len - 1] == '/') m.base_len--;
  m.timeout_ms = 1000 * imds_num("AWS_METADATA_SERVICE_TIMEOUT", 1, 3600, 1);
  m.attempts = (int)imds_num("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 10, 1);

  rc = imds_req(&m, "PUT", "/latest/api/token",
                "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TTL, &status,
                &body, &len, msg);
  if(rc == S3P_EIO){
    free(*msg);
    *msg = s3p_store_msg("instance metadata not reachable");
    return S3P_ENOTFOUND;
  }
  if(rc != S3P_OK) return rc;
  if(status == 200 && len > 0 && !strpbrk(body, "\r\n")){
    m.tokhdr = s3p_store_msg("X-aws-ec2-metadata-token: %s", body);
    if(m.tokhdr == NULL) rc = S3P_ENOMEM;
  }else if(status != 404 && status != 405){
    *msg = s3p_store_msg("instance metadata at %.*s: HTTP %ld for a session "
                         "token", (int)m.base_len, m.base, status);
    rc = S3P_EAUTH;
  }
  imds_drop(&body, len);

  if(rc == S3P_OK){
    rc = imds_req(&m, "GET", "/latest/meta-data/iam/security-credentials/",
                  NULL, &status, &body, &len, msg);
    if(rc == S3P_OK && status == 404){
      *msg = s3p_store_msg("instance metadata has no IAM role");
      rc = S3P_ENOTFOUND;
    }else if(rc == S3P_OK && status == 200){
      size_t n = strcspn(body, "\r\n");
      role = strndup(body, n);
      if(role == NULL){
        rc = S3P_ENOMEM;
      }else if(n == 0 || n > 128 || strspn(role, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") != n){
        *msg = s3p_store_msg("instance metadata: malformed role name");
        rc = S3P_EAUTH;
      }
    }else if(rc == S3P_OK){
      *msg = s3p_store_msg("instance metadata: HTTP %ld for the role name",
                           status);
      rc = S3P_EAUTH;
    }
    imds_drop(&body, len);
  }
  if(rc == S3P_OK){
    path = s3p_store_msg("/latest/meta-data/iam/security-credentials/%s",
                         role);
    rc = path ? imds_req(&m, "GET", path, NULL, &status, &body, &len, msg)
              : S3P_ENOMEM;
    if(rc == S3P_OK && status != 200){
      *msg = s3p_store_msg("instance metadata: HTTP %ld for the credentials "
                           "of role %s", status, role);
      rc = S3P_EAUTH;
    }else if(rc == S3P_OK){
      rc = s3p_cred_parse_json(body, len, S3P_CREDJSON_CONTAINER, out, &why);
      if(rc == S3P_ECORRUPT){
        *msg = s3p_store_msg("instance metadata credentials of role %s: %s",
                             role, why);
        rc = S3P_EAUTH;
      }
    }
    imds_drop(&body, len);
  }
  if(rc == S3P_EIO){
    char *x = s3p_store_msg("instance metadata: %s", *msg ? *msg : "failed");
    free(*msg);
    *msg = x;
    rc = S3P_EAUTH;
  }
  s3p_wipe_str(m.tokhdr);
  free(role);
  free(path);
  if(rc == S3P_OK){
    out->obtained = s3p_cred_now();
    out->source = "instance metadata";
  }
  return rc;
}
