/*
** test_sigv4.c: the SigV4 signer against AWS's published S3 examples
** ("Signature Calculations for the Authorization Header: Transferring
** Payload in a Single Chunk", examples GET Object, PUT Object, GET Bucket
** Lifecycle and Get Bucket (List Objects)), plus URI-encoding and
** canonicalization cases.
*/
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "../../vfs/store/sigv4.h"

#define EX_AKID "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_HOST "examplebucket.s3.amazonaws.com"
#define EX_DATE "20130524T000000Z"

/* ex_req fills r with the common parts of the AWS examples. */
static void ex_req(s3p_sigv4_req *r, const char *method, const char *uri,
                   const char *query, const s3p_sigv4_header *h, size_t n,
                   const char *payload){
  memset(r, 0, sizeof(*r));
  r->method = method;
  r->uri = uri;
  r->query = query;
  r->headers = h;
  r->n_headers = n;
  r->payload_sha256 = payload;
  r->amz_date = EX_DATE;
  r->region = "us-east-1";
  r->service = "s3";
  r->access_key = EX_AKID;
  r->secret_key = EX_SECRET;
}

/* GET Object with a Range header. */
static void test_get_object(void){
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"Range", "bytes=0-9"},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_req r;
  char sig[65], hex[65];
  char *auth, *creq;
  ex_req(&r, "GET", "/test.txt", "", h, 4, S3P_SIGV4_EMPTY_SHA256);
  creq = s3p_sigv4_canonical_request(&r, NULL);
  CHECK(creq != NULL);
  CHECK(strcmp(creq, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
               "range:bytes=0-9\nx-amz-content-sha256:" S3P_SIGV4_EMPTY_SHA256
               "\nx-amz-date:20130524T000000Z\n\n"
               "host;range;x-amz-content-sha256;x-amz-date\n"
               S3P_SIGV4_EMPTY_SHA256) == 0);
  s3p_sigv4_sha256_hex(creq, strlen(creq), hex);
  CHECK(strcmp(hex, "7344ae5b7ee6c3e7e6b0fe0640412a37"
                    "625d1fbfff95c48bbb2dc43964946972") == 0);
  free(creq);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(auth != NULL);
  CHECK(strcmp(sig, "f0e8bdb87c964420e857bd35b5d6ed31"
                    "0bd44f0170aba48dd91039c6036bdb41") == 0);
  CHECK(auth && strcmp(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE"
        "/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;"
        "x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5"
        "d6ed310bd44f0170aba48dd91039c6036bdb41") == 0);
  CHECK(auth && strstr(auth, EX_SECRET) == NULL);
  free(auth);
}

/* PUT Object: a key needing encoding, a body, extra headers. */
static void test_put_object(void){
  const char *body = "Welcome to Amazon S3.";
  char payload[65], sig[65], hex[65];
  char *auth, *uri, *creq;
  s3p_sigv4_req r;
  s3p_sigv4_sha256_hex(body, strlen(body), payload);
  CHECK(strcmp(payload, "44ce7dd67c959e0d3524ffac1771dfbb"
                        "a87d2b6b4b4e99e42034a8b803f8b072") == 0);
  {
    s3p_sigv4_header h[] = {
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", EX_DATE},
      {"Host", EX_HOST},
      {"x-amz-content-sha256", payload},
    };
    uri = s3p_sigv4_uri_encode("/test$file.text", 1);
    CHECK(uri && strcmp(uri, "/test%24file.text") == 0);
    ex_req(&r, "PUT", uri, "", h, 5, payload);
    creq = s3p_sigv4_canonical_request(&r, NULL);
    CHECK(creq != NULL);
    s3p_sigv4_sha256_hex(creq, strlen(creq), hex);
    CHECK(strcmp(hex, "9e0e90d9c76de8fa5b200d8c849cd5b8"
                      "dc7a3be3951ddb7f6a76b4158342019d") == 0);
    free(creq);
    auth = s3p_sigv4_sign(&r, sig);
    CHECK(strcmp(sig, "98ad721746da40c64f1a55b78f14c238"
                      "d841ea1380cd77a1b5971af0ece108bd") == 0);
    CHECK(auth && strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;"
                         "x-amz-date;x-amz-storage-class,") != NULL);
    free(auth);
    free(uri);
  }
}

/* GET Bucket Lifecycle: a query parameter without a value. */
static void test_get_lifecycle(void){
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_param q[] = {{"lifecycle", ""}};
  s3p_sigv4_req r;
  char sig[65];
  char *query = s3p_sigv4_query(q, 1), *auth;
  CHECK(query && strcmp(query, "lifecycle=") == 0);
  ex_req(&r, "GET", "/", query, h, 3, S3P_SIGV4_EMPTY_SHA256);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(strcmp(sig, "fea454ca298b7da1c68078a5d1bdbfbb"
                    "e0d65c699e0f91ac7a200a0136783543") == 0);
  free(auth);
  free(query);
}

/* Get Bucket (List Objects): query parameters given out of order. */
static void test_list_objects(void){
  s3p_sigv4_header h[] = {
    {"Host", EX_HOST},
    {"x-amz-content-sha256", S3P_SIGV4_EMPTY_SHA256},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_param q[] = {{"prefix", "J"}, {"max-keys", "2"}};
  s3p_sigv4_req r;
  char sig[65];
  char *query = s3p_sigv4_query(q, 2), *auth;
  CHECK(query && strcmp(query, "max-keys=2&prefix=J") == 0);
  ex_req(&r, "GET", "/", query, h, 3, S3P_SIGV4_EMPTY_SHA256);
  auth = s3p_sigv4_sign(&r, sig);
  CHECK(strcmp(sig, "34b48302e7b5fa45bde8084f4b7868a8"
                    "6f0a534bc59db6670ed5711ef69dc6f7") == 0);
  free(auth);
  free(query);
}

/* URI encoding per AWS rules. */
static void test_uri_encode(void){
  struct { const char *in; int slash; const char *out; } c[] = {
    {"", 1, ""},
    {"abcXYZ019-._~", 0, "abcXYZ019-._~"},
    {"a b/c", 0, "a%20b%2Fc"},
    {"a b/c", 1, "a%20b/c"},
    {"pages/xxh128-00ff", 1, "pages/xxh128-00ff"},
    {"a+b=c&d", 0, "a%2Bb%3Dc%26d"},
    {"\xc3\xb1", 0, "%C3%B1"},
    {"*%$!", 0, "%2A%25%24%21"},
    {"tok/en+1=", 0, "tok%2Fen%2B1%3D"},
  };
  size_t i;
  for(i = 0; i < sizeof(c) / sizeof(c[0]); i++){
    char *e = s3p_sigv4_uri_encode(c[i].in, c[i].slash);
    CHECK(e != NULL && strcmp(e, c[i].out) == 0);
    if(e && strcmp(e, c[i].out) != 0) printf("#   got %s\n", e);
    free(e);
  }
}

/* Query canonicalization: encoding, sorting, empty values. */
static void test_query(void){
  s3p_sigv4_param q[] = {
    {"prefix", "db/pages/"},
    {"list-type", "2"},
    {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="},
    {"encoding-type", NULL},
  };
  char *s = s3p_sigv4_query(q, 4);
  CHECK(s && strcmp(s, "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J"
                    "%2Fwm36Hy4vbOwM%3D&encoding-type=&list-type=2&"
                    "prefix=db%2Fpages%2F") == 0);
  free(s);
  s = s3p_sigv4_query(NULL, 0);
  CHECK(s && s[0] == 0);
  free(s);
}

/* Header values are trimmed and inner runs of spaces collapsed; names are
** lower-cased and sorted; the session token is signed like any header. */
static void test_canonical_headers(void){
  s3p_sigv4_header h[] = {
    {"X-Amz-Security-Token", "  tok  en "},
    {"HOST", "h:9000"},
    {"x-amz-date", EX_DATE},
  };
  s3p_sigv4_req r;
  char *sh = NULL, *creq;
  ex_req(&r, "HEAD", "/b/k", "", h, 3, S3P_SIGV4_EMPTY_SHA256);
  creq = s3p_sigv4_canonical_request(&r, &sh);
  CHECK(creq && strcmp(creq, "HEAD\n/b/k\n\nhost:h:9000\nx-amz-date:"
        EX_DATE "\nx-amz-security-token:tok en\n\n"
        "host;x-amz-date;x-amz-security-token\n" S3P_SIGV4_EMPTY_SHA256) == 0);
  CHECK(sh && strcmp(sh, "host;x-amz-date;x-amz-security-token") == 0);
  free(creq);
  free(sh);
}

/* The x-amz-date format. */
static void test_amz_date(void){
  char d[17];
  s3p_sigv4_amz_date((time_t)1369353600, d);
  CHECK(strcmp(d, EX_DATE) == 0);
}

int main(void){
  RUN(test_get_object);
  RUN(test_put_object);
  RUN(test_get_lifecycle);
  RUN(test_list_objects);
  RUN(test_uri_encode);
  RUN(test_query);
  RUN(test_canonical_headers);
  RUN(test_amz_date);
  return CHECK_DONE();
}
