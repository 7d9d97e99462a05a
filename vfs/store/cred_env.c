/*
** cred_env.c: the first provider of the chain: AWS_ACCESS_KEY_ID,
** AWS_SECRET_ACCESS_KEY and the optional AWS_SESSION_TOKEN (of any
** length). These never expire as far as we know, so they are read anew
** by every store that is opened and never refreshed.
*/
#include <stdlib.h>
#include <string.h>
#include "cred.h"

/* s3p_cred_env fills *out from the environment. Returns S3P_OK,
** S3P_ENOTFOUND ("environment not set"), S3P_EAUTH (only one of the pair,
** or malformed) or S3P_ENOMEM, with *msg set on errors. */
int s3p_cred_env(const s3p_credenv *e, s3p_cred *out, char **msg){
  const char *ak = s3p_cred_env_get("AWS_ACCESS_KEY_ID");
  const char *sk = s3p_cred_env_get("AWS_SECRET_ACCESS_KEY");
  const char *tok = s3p_cred_env_get("AWS_SESSION_TOKEN");
  (void)e;
  memset(out, 0, sizeof(*out));
  if(ak == NULL && sk == NULL){
    *msg = s3p_store_msg("environment not set");
    return S3P_ENOTFOUND;
  }
  if(ak == NULL || sk == NULL){
    *msg = s3p_store_msg("%s is set but %s is not",
                         ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                         ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return S3P_EAUTH;
  }
  out->access_key = strdup(ak);
  out->secret_key = strdup(sk);
  if(tok) out->session_token = strdup(tok);
  if(out->access_key == NULL || out->secret_key == NULL
     || (tok && out->session_token == NULL)){
    s3p_cred_clear(out);
    return S3P_ENOMEM;
  }
  if(!s3p_cred_check(out)){
    s3p_cred_clear(out);
    *msg = s3p_store_msg("malformed AWS credentials in the environment (line "
                         "breaks or separators in the key id or secret)");
    return S3P_EAUTH;
  }
  out->source = "environment";
  return S3P_OK;
}
