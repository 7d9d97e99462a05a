/*
** fuzz_cred.c: libFuzzer target for the decoders of what credential
** providers answer (vfs/store/cred_parse.c): the JSON of
** credential_process, container / instance metadata and SSO, cached SSO
** tokens, STS XML, ISO-8601 times and INI values. Whatever is accepted
** must be a usable credential (an id and a secret without line breaks).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vfs/store/cred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check aborts unless c, accepted with rc, is usable. */
static void fuzz_check(int rc, s3p_cred *c, const char *why){
  if(rc == S3P_OK){
    if(!s3p_cred_check(c) || c->expires < 0 || why != NULL) abort();
  }else if(c->access_key || c->secret_key || c->session_token){
    abort();
  }
  s3p_cred_clear(c);
}

/* LLVMFuzzerTestOneInput decodes one input every way; aborts on a broken
** invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  char *text = malloc(size + 1), code[48];
  const char *why = NULL;
  s3p_cred c;
  int64_t t;
  if(text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  for(int kind = S3P_CREDJSON_PROCESS; kind <= S3P_CREDJSON_SSO; kind++){
    why = NULL;
    int rc = s3p_cred_parse_json(text, size, kind, &c, &why);
    fuzz_check(rc, &c, why);
  }
  why = NULL;
  int rc = s3p_cred_parse_sts(text, size, &c, code, sizeof code, &why);
  if(strlen(code) >= sizeof code) abort();
  fuzz_check(rc, &c, rc == S3P_OK ? NULL : why);
  char *tok = NULL;
  rc = s3p_cred_parse_sso_token(text, size, &tok, &t, &why);
  if(rc == S3P_OK && (tok == NULL || strpbrk(tok, "\r\n"))) abort();
  if(rc != S3P_OK && tok != NULL) abort();
  free(tok);
  s3p_ssocache sc;
  rc = s3p_cred_parse_sso_cache(text, size, &sc, &why);
  if(rc == S3P_OK && (sc.access_token == NULL
                      || strpbrk(sc.access_token, "\r\n")
                      || (sc.refresh_token
                          && strpbrk(sc.refresh_token, "\r\n")))) abort();
  if(rc != S3P_OK && (sc.access_token || sc.refresh_token)) abort();
  s3p_ssocache_clear(&sc);
  char *acc = NULL, *ref = NULL;
  rc = s3p_cred_parse_oidc(text, size, &acc, &t, &ref, &why);
  if(rc == S3P_OK && (acc == NULL || t <= 0 || strpbrk(acc, "\r\n"))) abort();
  if(rc != S3P_OK && (acc || ref)) abort();
  free(acc);
  free(ref);
  if(s3p_cred_parse_time(text, size, &t) == 0 && t < 0) abort();
  int found = 0, nomem = 0;
  char *v = s3p_cred_ini_get(text, size, "profile dev", "role_arn", &found,
                             &nomem);
  if(v && (!found || strchr(v, '\n'))) abort();
  free(v);
  free(text);
  return 0;
}
