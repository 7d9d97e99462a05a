/*
** test_s3xml.c: S3's XML answers (s3xml.c) beyond what the fuzz target
** checks: a ListObjectsV2 page whose continuation token is long (the
** token is opaque; nothing bounds its length) is followed, entities
** decoded; a page without a usable token is an error.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../../vfs/store/s3xml.h"

/* count_key counts the keys a listing reports. Returns 0 (go on). */
static int count_key(void *arg, const char *key, uint64_t size,
                     int64_t mtime){
  (void)key; (void)size; (void)mtime;
  (*(int *)arg)++;
  return 0;
}

/* page_with_token returns a malloc'd truncated listing page of one key
** whose NextContinuationToken is tok (already XML-escaped). */
static char *page_with_token(const char *tok){
  char *s = NULL;
  if(asprintf(&s, "<?xml version=\"1.0\"?><ListBucketResult><Contents>"
              "<Key>db/wal/00000000000000000001</Key><Size>120</Size>"
              "<LastModified>2026-11-22T10:00:00.000Z</LastModified>"
              "</Contents><IsTruncated>true</IsTruncated>"
              "<NextContinuationToken>%s</NextContinuationToken>"
              "</ListBucketResult>", tok) < 0) abort();
  return s;
}

/* A 4000-byte token with entities in it comes back whole and decoded. */
static void test_long_token(void){
  size_t n = 4000;
  char *raw = malloc(n + 1), *esc = malloc(n + 16), *page, *token = NULL;
  const char *why = NULL;
  int keys = 0;
  s3p_xml_list lc;
  for(size_t i = 0; i < n; i++) raw[i] = "AbZ09+/="[i % 8];
  raw[n] = 0;
  memcpy(esc, raw, n + 1);
  memcpy(esc + n, "&amp;x", 7);          /* decodes to "&x" */
  page = page_with_token(esc);
  memset(&lc, 0, sizeof lc);
  lc.full = "db/";
  lc.strip = 3;
  lc.fn = count_key;
  lc.arg = &keys;
  CHECK_EQ(s3p_xml_list_page(&lc, page, strlen(page), &token, &why), S3P_OK);
  if(why) printf("# %s\n", why);
  CHECK_EQ(keys, 1);
  CHECK(token && strlen(token) == n + 2 && memcmp(token, raw, n) == 0
        && strcmp(token + n, "&x") == 0);
  free(token);
  free(page);
  free(esc);
  free(raw);
}

/* Truncated without a token, or with a malformed one: an error. */
static void test_bad_token(void){
  static const char *const toks[] = { "", "abc&bogus;" };
  for(size_t i = 0; i < sizeof toks / sizeof toks[0]; i++){
    char *page = page_with_token(toks[i]), *token = NULL;
    const char *why = NULL;
    int keys = 0;
    s3p_xml_list lc;
    memset(&lc, 0, sizeof lc);
    lc.full = "db/";
    lc.strip = 3;
    lc.fn = count_key;
    lc.arg = &keys;
    CHECK_EQ(s3p_xml_list_page(&lc, page, strlen(page), &token, &why),
             S3P_EIO);
    CHECK(token == NULL && why != NULL);
    free(page);
  }
}

int main(void){
  RUN(test_long_token);
  RUN(test_bad_token);
  return CHECK_DONE();
}
