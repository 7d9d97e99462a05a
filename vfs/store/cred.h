/*
** cred.h: AWS credentials for the S3 backend: the provider chain, the
** decoders of what providers answer, and the process-wide cache that
** refreshes temporary credentials before they expire.
**
** The chain, in the AWS SDKs' order (cred_chain.c); the first provider
** that is configured gives the credentials, and a configured provider that
** fails ends the search with its error:
**   1. environment   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
**                    (+ AWS_SESSION_TOKEN)                  cred_env.c
**   2. web identity  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
**                    (+ AWS_ROLE_SESSION_NAME) through STS
**                    AssumeRoleWithWebIdentity               cred_sts.c
**   3. profile       of AWS_PROFILE (else AWS_DEFAULT_PROFILE, else
**                    "default") in ~/.aws/config and ~/.aws/credentials:
**                    role_arn + source_profile (STS AssumeRole), sso_*
**                    (SSO GetRoleCredentials, cred_sso.c), static keys,
**                    credential_process                  cred_profile.c
**   4. container     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI
**                    (+ AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE])
**                                                      cred_container.c
**   5. EC2 metadata  IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT (else
**                    169.254.169.254) unless AWS_EC2_METADATA_DISABLED
**                                                           cred_imds.c
** When none is configured the error lists, in order, what was tried.
**
** Secrets (secret key, session token, web identity and SSO tokens,
** container authorization token) never appear in a message; everything
** that held one is wiped before it is freed.
*/
#ifndef S3P_CRED_H
#define S3P_CRED_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

/* One set of credentials. Shared (refcounted) once in the cache. */
typedef struct s3p_cred {
  char *access_key;             /* access key id */
  char *secret_key;             /* secret access key (never in messages) */
  char *session_token;          /* session token or NULL */
  int64_t expires;              /* Unix seconds it expires at, 0: never */
  int64_t obtained;             /* Unix seconds it was obtained at */
  const char *source;           /* static name of the provider, e.g.
                                ** "container credentials" */
  int refs;                     /* references, under the cache's lock */
} s3p_cred;

/* What the providers look at besides the environment. */
typedef struct s3p_credenv {
  const char *profile;          /* profile name */
  int explicit_profile;         /* 1: named by AWS_PROFILE or
                                ** AWS_DEFAULT_PROFILE */
  const char *region;           /* region for STS and the scope of
                                ** AssumeRole signatures */
  const char *config_path;      /* path of the config file */
  const char *creds_path;       /* path of the credentials file */
} s3p_credenv;

/* A provider: fills *out and returns S3P_OK; or returns S3P_ENOTFOUND
** with *msg a clause saying what it looked for ("no web identity token");
** or another error with *msg the message. */
typedef int (*s3p_cred_provider)(const s3p_credenv *e, s3p_cred *out,
                                 char **msg);

/* The providers, in chain order (each in its own file). */
int s3p_cred_env(const s3p_credenv *e, s3p_cred *out, char **msg);
int s3p_cred_webid(const s3p_credenv *e, s3p_cred *out, char **msg);
int s3p_cred_profile(const s3p_credenv *e, s3p_cred *out, char **msg);
int s3p_cred_container(const s3p_credenv *e, s3p_cred *out, char **msg);
int s3p_cred_imds(const s3p_credenv *e, s3p_cred *out, char **msg);

/* ---- STS and SSO calls the providers share ---- */

/* s3p_sts_assume_role calls STS AssumeRole for role_arn (session name
** session, external_id or NULL) signed with src (cred_sts.c). Returns
** S3P_OK with *out, or an error with *msg set. */
int s3p_sts_assume_role(const s3p_credenv *e, const s3p_cred *src,
                        const char *role_arn, const char *session,
                        const char *external_id, s3p_cred *out, char **msg);

/* s3p_sts_web_identity calls STS AssumeRoleWithWebIdentity for role_arn
** with the token read from token_file (read anew on every call: it
** rotates). Returns S3P_OK with *out, or an error with *msg set. */
int s3p_sts_web_identity(const s3p_credenv *e, const char *role_arn,
                         const char *session, const char *token_file,
                         s3p_cred *out, char **msg);

/* What an SSO profile names (strings borrowed, NULL when unset). */
typedef struct s3p_ssoreq {
  const char *profile;          /* profile name, for messages */
  const char *session;          /* sso_session: [sso-session NAME] */
  const char *start_url;        /* sso_start_url (legacy profiles) */
  const char *region;           /* sso_region */
  const char *account;          /* sso_account_id */
  const char *role;             /* sso_role_name */
} s3p_ssoreq;

/* s3p_sso_role_credentials calls SSO GetRoleCredentials for q, with the
** token cached under ~/.aws/sso/cache by "aws sso login"; the
** [sso-session NAME] section of the config text supplies what q lacks
** (cred_sso.c). Returns S3P_OK with *out, or an error with *msg set. */
int s3p_sso_role_credentials(const char *config, size_t len,
                             const s3p_ssoreq *q, s3p_cred *out, char **msg);

/* ---- Process-wide cache and refresh (cred_chain.c) ---- */

/* A source of credentials shared by every store of the process with the
** same settings: the provider that answered and what it was asked. */
typedef struct s3p_credsrc s3p_credsrc;

/* s3p_cred_open walks the chain for e (or finds the source a store with
** the same settings opened before) and returns the source in *src and a
** reference to current credentials in *cred. Returns S3P_OK, or an error
** (S3P_EAUTH when no provider is configured) with *errmsg set. */
int s3p_cred_open(const s3p_credenv *e, s3p_credsrc **src, s3p_cred **cred,
                  char **errmsg);

/* s3p_cred_current returns the credentials a request should be signed
** with now, given that the caller holds have (which it gives up; the
** result is a new reference). Due credentials (within the refresh margin
** of their expiry) are refreshed by a thread started for it while every
** caller, the one that started it included, keeps using the old ones;
** callers wait (or fetch themselves) only when what they hold has
** expired.
** With failed set, have was refused by the store as expired: it is
** replaced unless another caller replaced it already. A failed refresh
** returns have unchanged (and sets *errmsg if errmsg is not NULL) while
** it is not expired, else NULL with *errmsg set (the caller then keeps
** its reference to have). */
s3p_cred *s3p_cred_current(s3p_credsrc *src, s3p_cred *have, int failed,
                           char **errmsg);

/* s3p_cred_release drops a reference to c (NULL is fine). */
void s3p_cred_release(s3p_cred *c);

/* s3p_cred_cache_reset forgets every cached source (tests use it between
** cases that change the environment or the shared files). Stores still
** open keep their own references. */
void s3p_cred_cache_reset(void);

/* s3p_cred_refresh_margin returns how many seconds before its expiry c
** is refreshed: 5 minutes, or half its lifetime when that is shorter. */
int64_t s3p_cred_refresh_margin(const s3p_cred *c);

/* ---- Pure decoders of provider answers (cred_parse.c) ---- */

/* JSON formats s3p_cred_parse_json understands. */
#define S3P_CREDJSON_PROCESS 1  /* credential_process: Version 1,
                                ** AccessKeyId, SecretAccessKey,
                                ** SessionToken, Expiration */
#define S3P_CREDJSON_CONTAINER 2  /* ECS/EKS/IMDS: AccessKeyId,
                                ** SecretAccessKey, Token, Expiration
                                ** (and Code, "Success" if present) */
#define S3P_CREDJSON_SSO 3      /* SSO GetRoleCredentials: roleCredentials
                                ** {accessKeyId, secretAccessKey,
                                ** sessionToken, expiration in ms} */

/* s3p_cred_parse_json decodes text[0..len) of kind into *out (fields
** malloc'd; expires 0 when the answer has no expiry). Returns S3P_OK,
** S3P_ENOMEM, or S3P_ECORRUPT with *why a static reason (out is then
** empty). */
int s3p_cred_parse_json(const char *text, size_t len, int kind,
                        s3p_cred *out, const char **why);

/* s3p_cred_parse_sso_token decodes a cached SSO token file: *token gets
** the malloc'd accessToken, *expires its expiresAt (0 if absent). Returns
** S3P_OK, S3P_ENOMEM or S3P_ECORRUPT with *why set. */
int s3p_cred_parse_sso_token(const char *text, size_t len, char **token,
                             int64_t *expires, const char **why);

/* A cached SSO token file (~/.aws/sso/cache/SHA1.json), decoded. Strings
** malloc'd, NULL when absent; the secrets are wiped by
** s3p_ssocache_clear. */
typedef struct s3p_ssocache {
  char *access_token;           /* accessToken */
  int64_t expires;              /* expiresAt, Unix seconds, 0 if absent */
  char *refresh_token;          /* refreshToken (sso-session logins) */
  char *client_id;              /* clientId of the OIDC registration */
  char *client_secret;          /* clientSecret of the registration */
  int64_t reg_expires;          /* registrationExpiresAt, 0 if absent */
  char *start_url;              /* startUrl, kept when rewriting */
  char *region;                 /* region, kept when rewriting */
} s3p_ssocache;

/* s3p_cred_parse_sso_cache decodes a cached SSO token file into *out.
** Returns S3P_OK, S3P_ENOMEM or S3P_ECORRUPT with *why set (out is then
** empty). */
int s3p_cred_parse_sso_cache(const char *text, size_t len, s3p_ssocache *out,
                             const char **why);

/* s3p_ssocache_clear wipes and frees the fields of t and zeroes it. */
void s3p_ssocache_clear(s3p_ssocache *t);

/* s3p_cred_parse_oidc decodes an SSO OIDC CreateToken answer (JSON):
** *access the new accessToken, *expires_in its lifetime in seconds,
** *refresh the new refreshToken or NULL (all malloc'd). Returns S3P_OK,
** S3P_ENOMEM or S3P_ECORRUPT with *why set. */
int s3p_cred_parse_oidc(const char *text, size_t len, char **access,
                        int64_t *expires_in, char **refresh,
                        const char **why);

/* s3p_cred_parse_sts decodes an STS AssumeRole* answer (XML) into *out.
** On an STS error body, copies its <Code> into code[cap] (else leaves it
** ""). Returns S3P_OK, S3P_ENOMEM, or S3P_ECORRUPT with *why set. */
int s3p_cred_parse_sts(const char *text, size_t len, s3p_cred *out,
                       char *code, size_t cap, const char **why);

/* s3p_cred_parse_time parses an ISO-8601 UTC time s[0..n)
** ("2026-12-01T10:00:00Z", fractions and "+00:00" or "UTC" allowed) into
** Unix seconds. Returns 0, or -1 if malformed. */
int s3p_cred_parse_time(const char *s, size_t n, int64_t *out);

/* s3p_cred_ini_get returns the malloc'd value of key in section sect (the
** trimmed text between the brackets, e.g. "profile dev") of the INI text
** [0..len) (first occurrence wins; a NUL ends the text), or NULL; sets
** *found to 1 if the section exists (found may be NULL). Sets *nomem on
** allocation failure. */
char *s3p_cred_ini_get(const char *text, size_t len, const char *sect,
                       const char *key, int *found, int *nomem);

/* s3p_cred_clear wipes and frees the strings of c and zeroes it (not the
** struct itself: see s3p_cred_release for shared ones). */
void s3p_cred_clear(s3p_cred *c);

/* s3p_cred_check returns 1 if c has an id and a secret and nothing that
** would break a header (line breaks; separators in the id). */
int s3p_cred_check(const s3p_cred *c);

/* ---- I/O helpers of the providers (cred_io.c) ---- */

/* One HTTP request of a provider. */
typedef struct s3p_credhttp {
  const char *method;           /* "GET", "PUT", "POST" */
  const char *url;              /* full URL */
  const char *const *headers;   /* "Name: value" lines, NULL-terminated,
                                ** or NULL */
  const char *body;             /* request body or NULL */
  size_t body_len;              /* its length */
  long timeout_ms;              /* whole request, connection included */
  int no_proxy;                 /* 1: never through a proxy (metadata) */
} s3p_credhttp;

/* s3p_credhttp_run performs r: *status gets the HTTP status (0 when no
** answer came), *body the malloc'd answer (at most 1 MiB, NUL-terminated,
** *len bytes; wipe it with s3p_wipe before freeing). Returns S3P_OK, or
** S3P_EIO with *errmsg naming the cause (never the headers or body). */
int s3p_credhttp_run(const s3p_credhttp *r, long *status, char **body,
                     size_t *len, char **errmsg);

/* s3p_cred_read_file reads a small file (at most max bytes) into a
** malloc'd NUL-terminated *out of *len bytes, without stdio buffers.
** Returns S3P_OK, S3P_ENOTFOUND (no such file), S3P_ENOMEM, or S3P_EIO
** (unreadable or too big). Wipe *out before freeing. */
int s3p_cred_read_file(const char *path, size_t max, char **out,
                       size_t *len);

/* s3p_cred_env_get returns environment variable name, or NULL if it is
** unset or empty. */
const char *s3p_cred_env_get(const char *name);

/* s3p_cred_now returns the current Unix time in seconds. */
int64_t s3p_cred_now(void);

#endif
