/*
** fuzz_s3xml.c: libFuzzer target for the parsers of S3's XML answers
** (vfs/store/s3xml.c): the <Code> of an error body, entity decoding, and
** ListObjectsV2 pages. Every key a listing reports must be a valid store
** key of the right length; a truncated page must give a token.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vfs/store/s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_key checks one listed key. Returns 0 to go on. */
static int fuzz_key(void *arg, const char *key, uint64_t size, int64_t mtime){
  (void)size; (void)mtime;
  if(!s3p_key_ok(key) || strlen(key) > S3P_STORE_KEY_MAX) abort();
  (*(int *)arg)++;
  return 0;
}

/* LLVMFuzzerTestOneInput parses one input as each kind of answer; aborts
** on a broken invariant. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  char *body = malloc(size + 1);
  if(body == 0) return 0;
  memcpy(body, data, size);
  body[size] = 0;

  char code[64];
  s3p_xml_error_code((const unsigned char *)body, size, code, sizeof code);
  if(strlen(code) >= sizeof code) abort();

  char text[32];
  if(s3p_xml_text(body, size, text, sizeof text) == 0 &&
     strlen(text) >= sizeof text) abort();

  int keys = 0;
  s3p_xml_list lc = { "db/pages/", 3, fuzz_key, &keys, 0 };
  char *token = NULL;
  const char *why = NULL;
  int rc = s3p_xml_list_page(&lc, body, size, &token, &why);
  if(rc == S3P_EIO && why == NULL) abort();
  if(rc != S3P_OK && token != NULL) abort();
  free(token);
  free(body);
  return 0;
}
