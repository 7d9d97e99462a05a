/*
** s3xml.c: the little XML that S3 sends back, parsed by hand: the <Code>
** of an error body and the pages of a ListObjectsV2 listing. Every byte
** comes from the network and is untrusted: lengths are bounded, text is
** copied only into fixed buffers, entities are decoded strictly, and keys
** outside the listed prefix or outside s3page's key syntax are refused or
** skipped. Pure functions, fuzzed by fuzz/fuzz_s3xml.c.
*/
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "s3xml.h"

/* s3p_xml_find looks for <tag>...</tag> in [p, end). Returns a pointer to
** the element's text and sets *n to its length, or returns NULL. */
const char *s3p_xml_find(const char *p, const char *end,
                               const char *tag, size_t *n){
  char open[64], close[64];
  const char *a, *b;
  int lo = snprintf(open, sizeof(open), "<%s>", tag);
  int lc = snprintf(close, sizeof(close), "</%s>", tag);
  assert(lo > 0 && lo < (int)sizeof(open) && lc > 0 && lc < (int)sizeof(close));
  if(p >= end) return NULL;
  a = memmem(p, (size_t)(end - p), open, (size_t)lo);
  if(a == NULL) return NULL;
  a += lo;
  b = memmem(a, (size_t)(end - a), close, (size_t)lc);
  if(b == NULL) return NULL;
  *n = (size_t)(b - a);
  return a;
}

/* s3p_xml_text copies the XML text t[0..n) into out (cap bytes, NUL
** terminated), decoding the five predefined entities and numeric
** character references below 128. Returns 0, or -1 if it does not fit or
** holds a malformed or non-ASCII reference, or a NUL byte. */
int s3p_xml_text(const char *t, size_t n, char *out, size_t cap){
  size_t i = 0, o = 0;
  while(i < n){
    char c = t[i];
    if(c == 0) return -1;
    if(c == '&'){
      static const struct { const char *ent; char ch; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
        {"&apos;", '\''},
      };
      size_t k, el = 0;
      for(k = 0; k < sizeof(ents) / sizeof(ents[0]); k++){
        el = strlen(ents[k].ent);
        if(n - i >= el && memcmp(t + i, ents[k].ent, el) == 0){
          c = ents[k].ch;
          break;
        }
      }
      if(k == sizeof(ents) / sizeof(ents[0])){
        unsigned v = 0;
        size_t j = i + 1;
        int hex = 0, digits = 0;
        if(j >= n || t[j] != '#') return -1;
        j++;
        if(j < n && (t[j] == 'x' || t[j] == 'X')){ hex = 1; j++; }
        for(; j < n && t[j] != ';' && digits < 4; j++, digits++){
          char d = t[j];
          if(d >= '0' && d <= '9') v = v * (hex ? 16 : 10) + (unsigned)(d - '0');
          else if(hex && d >= 'a' && d <= 'f') v = v * 16 + (unsigned)(d - 'a' + 10);
          else if(hex && d >= 'A' && d <= 'F') v = v * 16 + (unsigned)(d - 'A' + 10);
          else return -1;
        }
        if(j >= n || t[j] != ';' || digits == 0 || v == 0 || v >= 128) return -1;
        c = (char)v;
        el = j + 1 - i;
      }
      i += el;
    }else{
      i++;
    }
    if(o + 1 >= cap) return -1;
    out[o++] = c;
  }
  if(o >= cap) return -1;
  out[o] = 0;
  return 0;
}

/* s3p_xml_error_code copies the <Code> of an S3 error body into out (letters
** and digits only, at most cap-1), or leaves it empty. */
void s3p_xml_error_code(const unsigned char *body, size_t len, char *out,
                          size_t cap){
  size_t n, i, o = 0;
  const char *t;
  out[0] = 0;
  if(body == NULL || len == 0) return;
  t = s3p_xml_find((const char *)body, (const char *)body + len, "Code", &n);
  if(t == NULL) return;
  for(i = 0; i < n && o + 1 < cap; i++){
    char c = t[i];
    if((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')){
      out[o++] = c;
    }
  }
  out[o] = 0;
}

/* xml_parse_time turns "YYYY-MM-DDTHH:MM:SS[.fff]Z" into Unix seconds, or
** returns 0 when malformed. */
static int64_t xml_parse_time(const char *t){
  struct tm tm;
  const char *e;
  memset(&tm, 0, sizeof(tm));
  e = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
  if(e == NULL) return 0;
  return (int64_t)timegm(&tm);
}

/* s3p_xml_list_page: see s3xml.h. */
int s3p_xml_list_page(s3p_xml_list *lc, const char *body, size_t len,
                      char **token, const char **why){
  const char *p = body, *end = body + len, *t, *truncated;
  size_t n, tn;
  char key[1100], num[32], when[64];

  *token = NULL;
  if(memmem(body, len, "<ListBucketResult", 17) == NULL){
    *why = "not a ListBucketResult";
    return S3P_EIO;
  }
  while(!lc->stopped && (t = s3p_xml_find(p, end, "Contents", &n)) != NULL){
    const char *ce = t + n, *v;
    uint64_t size = 0;
    int64_t mtime = 0;
    char *e;
    p = ce;
    v = s3p_xml_find(t, ce, "Key", &tn);
    if(v == NULL || s3p_xml_text(v, tn, key, sizeof(key)) != 0){
      *why = "malformed or oversized <Key>";
      return S3P_EIO;
    }
    if(strncmp(key, lc->full, strlen(lc->full)) != 0){
      *why = "the store returned a key outside the prefix";
      return S3P_EIO;
    }
    v = s3p_xml_find(t, ce, "Size", &tn);
    if(v == NULL || tn == 0 || tn >= sizeof(num) || strspn(v, "0123456789") < tn){
      *why = "malformed <Size>";
      return S3P_EIO;
    }
    memcpy(num, v, tn);
    num[tn] = 0;
    errno = 0;
    size = strtoull(num, &e, 10);
    if(errno || *e){
      *why = "malformed <Size>";
      return S3P_EIO;
    }
    v = s3p_xml_find(t, ce, "LastModified", &tn);
    if(v && s3p_xml_text(v, tn, when, sizeof(when)) == 0){
      mtime = xml_parse_time(when);
    }
    /* Keys we could never have written (not our key syntax) are not ours. */
    if(!s3p_key_ok(key + lc->strip)) continue;
    if(lc->fn(lc->arg, key + lc->strip, size, mtime)) lc->stopped = 1;
  }
  if(lc->stopped) return S3P_OK;
  truncated = s3p_xml_find(body, end, "IsTruncated", &n);
  if(truncated && n == 4 && memcmp(truncated, "true", 4) == 0){
    /* The token is opaque and of any length: decoded, it is no longer
    ** than its text. */
    char *tok;
    t = s3p_xml_find(body, end, "NextContinuationToken", &tn);
    if(t == NULL || tn == 0){
      *why = "truncated listing without a usable continuation token";
      return S3P_EIO;
    }
    tok = malloc(tn + 1);
    if(tok == NULL) return S3P_ENOMEM;
    if(s3p_xml_text(t, tn, tok, tn + 1) != 0){
      free(tok);
      *why = "truncated listing without a usable continuation token";
      return S3P_EIO;
    }
    *token = tok;
  }
  return S3P_OK;
}

