/*
** s3conf.h: where an S3 store is and how to reach it, gathered the way
** AWS tools do it.
**
**   bucket, prefix  from the name "s3://BUCKET/PREFIX" (PREFIX may be empty)
**   credentials     the AWS provider chain (cred.h): environment, web
**                   identity, the profile (AWS_PROFILE, else
**                   AWS_DEFAULT_PROFILE, else "default") of
**                   ~/.aws/credentials and ~/.aws/config
**                   (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE move
**                   them), container credentials, EC2 instance metadata
**   region          opts->region, AWS_REGION, AWS_DEFAULT_REGION, the
**                   profile's region, else us-east-1
**   endpoint        opts->endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
**                   the profile's "s3 = endpoint_url" then endpoint_url,
**                   else https://s3.REGION.amazonaws.com
**   addressing      S3PAGE_S3_ADDRESSING=path|virtual, else the profile's
**                   "s3 = addressing_style", else virtual-hosted for the
**                   AWS endpoint (path-style when the bucket name is not a
**                   DNS label) and path-style for custom endpoints
**   concurrency     opts->concurrency, S3PAGE_CONCURRENCY, else 64
**   timeout         S3PAGE_TIMEOUT_MS per attempt (default 30000)
**   attempts        S3PAGE_S3_ATTEMPTS (default 6)
**   listing         S3PAGE_S3_LIST_KEYS keys per LIST page (default 1000)
**   TLS             peer verification on; S3PAGE_S3_INSECURE=1 turns it off;
**                   AWS_CA_BUNDLE names a CA file
**   conditional     S3PAGE_TRUST_CONDITIONAL=1 skips the If-None-Match probe
**
** Nothing here prints; the secret key and session token never appear in a
** message.
*/
#ifndef S3P_S3CONF_H
#define S3P_S3CONF_H

#include "store.h"
#include "cred.h"

typedef struct s3p_s3conf {
  char *bucket;                 /* bucket name */
  char *prefix;                 /* key prefix without slashes at the ends,
                                ** "" for the bucket's root */
  s3p_credsrc *cred_src;        /* shared source to refresh from, NULL
                                ** for credentials that do not expire */
  s3p_cred *cred;               /* a reference to the credentials */
  char *region;                 /* signing region, e.g. "us-east-1" */
  char *scheme;                 /* "http" or "https" */
  char *authority;              /* endpoint host[:port], without bucket */
  char *endpoint;               /* scheme://authority, for messages */
  int path_style;               /* 1: /BUCKET/KEY, 0: BUCKET.host/KEY */
  int default_endpoint;         /* 1: https://s3.REGION.amazonaws.com, which
                                ** follows the region */
  int insecure;                 /* 1: do not verify the TLS peer */
  char *ca_file;                /* CA bundle path or NULL (system default) */
  int trust_conditional;        /* 1: skip the create-if-absent probe */
  int concurrency;              /* parallel requests per store handle */
  long timeout_ms;              /* limit of one attempt */
  int max_attempts;             /* attempts per operation, at least 1 */
  int list_keys;                /* keys per LIST page (max-keys), 1-1000 */
} s3p_s3conf;

/* s3p_s3conf_parse_name splits "s3://BUCKET/PREFIX" into malloc'd *bucket
** and *prefix (slashes at both ends of PREFIX removed). Returns S3P_OK, or
** S3P_EINVAL with *errmsg set when the name is malformed (bucket not 3-63
** of [a-z0-9.-], PREFIX not a valid key), or S3P_ENOMEM. */
int s3p_s3conf_parse_name(const char *name, char **bucket, char **prefix,
                          char **errmsg);

/* s3p_s3conf_load fills c for the store name with opts (NULL for none)
** and the environment. Returns S3P_OK, or an error (S3P_EINVAL for bad
** settings, S3P_EAUTH when no credentials are found, S3P_ENOMEM) with
** *errmsg set; c is then empty. */
int s3p_s3conf_load(s3p_s3conf *c, const char *name,
                    const s3p_store_opts *opts, char **errmsg);

/* s3p_s3conf_free frees what c owns (dropping its reference to the
** credentials, which are wiped with the last one) and zeroes it. */
void s3p_s3conf_free(s3p_s3conf *c);

#endif
