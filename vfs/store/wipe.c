/*
** wipe.c: overwriting secrets before their memory is released.
**
** A plain memset before free is a dead store the compiler may remove, so
** secrets (the secret key, session tokens, signing keys, HMAC
** intermediates, the text of the AWS shared files, request headers that
** carry a token) are wiped with OPENSSL_cleanse, over their full length.
*/
#include <string.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include "store.h"

/* s3p_wipe zeroes p[0..n) for good and tells the test observer, if a
** program defines one. */
void s3p_wipe(void *p, size_t n){
  if(p == NULL || n == 0) return;
  OPENSSL_cleanse(p, n);
  if(s3p_wipe_observe) s3p_wipe_observe(p, n);
}

/* s3p_wipe_str wipes the string s up to its NUL and frees it. */
void s3p_wipe_str(char *s){
  if(s == NULL) return;
  s3p_wipe(s, strlen(s));
  free(s);
}
