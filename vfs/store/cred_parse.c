/*
** cred_parse.c: pure decoders of what credential providers answer: the
** JSON of credential_process, container and instance-metadata endpoints,
** SSO GetRoleCredentials and the SSO token cache; the XML of STS; ISO-8601
** times; values of the AWS INI files. No I/O; every byte is untrusted
** (fuzz/fuzz_cred.c). Secrets decoded here are wiped when dropped.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "cred.h"
#include "s3xml.h"

/* Deepest nesting of JSON we follow. */
#define CJ_DEPTH 16
/* Longest credential string we accept (tokens run to a few KB). */
#define CJ_STR_MAX 65536

/* A JSON cursor. */
typedef struct cj {
  const char *p;                /* next byte */
  const char *end;              /* end of the text */
  int depth;                    /* nesting of the value being read */
  int nomem;                    /* an allocation failed */
} cj;

/* cj_ws skips JSON white space. */
static void cj_ws(cj *c){
  while(c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'
                          || *c->p == '\r')){
    c->p++;
  }
}

/* cj_hex4 reads 4 hex digits at p into *v. Returns 0 or -1. */
static int cj_hex4(const char *p, unsigned *v){
  *v = 0;
  for(int i = 0; i < 4; i++){
    char h = p[i];
    *v <<= 4;
    if(h >= '0' && h <= '9') *v |= (unsigned)(h - '0');
    else if(h >= 'a' && h <= 'f') *v |= (unsigned)(h - 'a' + 10);
    else if(h >= 'A' && h <= 'F') *v |= (unsigned)(h - 'A' + 10);
    else return -1;
  }
  return 0;
}

/* cj_string reads a JSON string; with out set, *out gets it decoded and
** malloc'd (a NUL inside is refused). Returns 0, or -1 if malformed or too
** long (or out of memory, with c->nomem set). */
static int cj_string(cj *c, char **out){
  const char *s;
  char *buf = NULL;
  size_t n = 0;
  if(out) *out = NULL;
  cj_ws(c);
  if(c->p >= c->end || *c->p != '"') return -1;
  s = ++c->p;
  while(c->p < c->end && *c->p != '"'){
    if((unsigned char)*c->p < 0x20) return -1;
    if(*c->p == '\\') c->p++;
    c->p++;
  }
  if(c->p >= c->end) return -1;
  if((size_t)(c->p - s) > CJ_STR_MAX) return -1;
  c->p++;
  if(out == NULL) return 0;
  buf = malloc((size_t)(c->p - s));
  if(buf == NULL){
    c->nomem = 1;
    return -1;
  }
  for(const char *q = s; q < c->p - 1; q++){
    unsigned u;
    if(*q != '\\'){
      buf[n++] = *q;
      continue;
    }
    q++;
    switch(*q){
      case '"': case '\\': case '/': buf[n++] = *q; break;
      case 'b': buf[n++] = '\b'; break;
      case 'f': buf[n++] = '\f'; break;
      case 'n': buf[n++] = '\n'; break;
      case 'r': buf[n++] = '\r'; break;
      case 't': buf[n++] = '\t'; break;
      case 'u':
        /* Six source bytes give at most three of UTF-8: it fits. */
        if(c->p - 1 - q < 5 || cj_hex4(q + 1, &u) || u == 0
           || (u >= 0xD800 && u <= 0xDFFF)){
          goto bad;       /* no NULs; surrogates are not credentials */
        }
        q += 4;
        if(u < 0x80){
          buf[n++] = (char)u;
        }else if(u < 0x800){
          buf[n++] = (char)(0xC0 | (u >> 6));
          buf[n++] = (char)(0x80 | (u & 0x3F));
        }else{
          buf[n++] = (char)(0xE0 | (u >> 12));
          buf[n++] = (char)(0x80 | ((u >> 6) & 0x3F));
          buf[n++] = (char)(0x80 | (u & 0x3F));
        }
        break;
      default:
        goto bad;
    }
  }
  assert(n < (size_t)(c->p - s));
  buf[n] = 0;
  *out = buf;
  return 0;
bad:
  s3p_wipe(buf, (size_t)(c->p - s));
  free(buf);
  return -1;
}

/* cj_number reads a JSON number; *out gets its integer part (saturated).
** Returns 0 or -1. */
static int cj_number(cj *c, int64_t *out){
  int neg = 0, digits = 0;
  int64_t v = 0;
  cj_ws(c);
  if(c->p < c->end && *c->p == '-'){ neg = 1; c->p++; }
  while(c->p < c->end && *c->p >= '0' && *c->p <= '9'){
    if(v < INT64_MAX / 10 - 10) v = v * 10 + (*c->p - '0');
    c->p++;
    digits++;
  }
  if(digits == 0) return -1;
  if(c->p < c->end && *c->p == '.'){
    c->p++;
    while(c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  }
  if(c->p < c->end && (*c->p == 'e' || *c->p == 'E')){
    return -1;          /* no exponents where we want a number */
  }
  *out = neg ? -v : v;
  return 0;
}

static int cj_skip(cj *c);

/* A member callback: consumes the value of member key. Returns 0 or -1. */
typedef int (*cj_member_fn)(cj *c, const char *key, void *arg);

/* cj_object reads an object, calling fn for each member (fn NULL skips
** them). Returns 0 or -1. */
static int cj_object(cj *c, cj_member_fn fn, void *arg){
  cj_ws(c);
  if(c->p >= c->end || *c->p != '{' || c->depth >= CJ_DEPTH) return -1;
  c->p++;
  c->depth++;
  cj_ws(c);
  if(c->p < c->end && *c->p == '}'){
    c->p++;
    c->depth--;
    return 0;
  }
  for(;;){
    char *key = NULL;
    int rc;
    if(cj_string(c, &key)) return -1;
    cj_ws(c);
    if(c->p >= c->end || *c->p != ':'){
      free(key);
      return -1;
    }
    c->p++;
    rc = fn ? fn(c, key, arg) : cj_skip(c);
    free(key);
    if(rc) return -1;
    cj_ws(c);
    if(c->p < c->end && *c->p == ','){
      c->p++;
      continue;
    }
    if(c->p < c->end && *c->p == '}'){
      c->p++;
      c->depth--;
      return 0;
    }
    return -1;
  }
}

/* cj_skip reads and drops any JSON value. Returns 0 or -1. */
static int cj_skip(cj *c){
  static const char *const words[] = { "true", "false", "null" };
  cj_ws(c);
  if(c->p >= c->end) return -1;
  if(*c->p == '"') return cj_string(c, NULL);
  if(*c->p == '{') return cj_object(c, NULL, NULL);
  if(*c->p == '['){
    if(c->depth >= CJ_DEPTH) return -1;
    c->p++;
    c->depth++;
    cj_ws(c);
    if(c->p < c->end && *c->p == ']'){
      c->p++;
      c->depth--;
      return 0;
    }
    for(;;){
      if(cj_skip(c)) return -1;
      cj_ws(c);
      if(c->p < c->end && *c->p == ','){ c->p++; continue; }
      if(c->p < c->end && *c->p == ']'){ c->p++; c->depth--; return 0; }
      return -1;
    }
  }
  for(size_t i = 0; i < 3; i++){
    size_t n = strlen(words[i]);
    if((size_t)(c->end - c->p) >= n && memcmp(c->p, words[i], n) == 0){
      c->p += n;
      return 0;
    }
  }
  if(*c->p == '-' || (*c->p >= '0' && *c->p <= '9')){
    if(*c->p == '-') c->p++;
    while(c->p < c->end && *c->p && strchr("0123456789.eE+-", *c->p)){
      c->p++;
    }
    return 0;
  }
  return -1;
}

/* What a credentials answer holds while it is decoded. */
typedef struct cj_cred {
  int kind;                     /* S3P_CREDJSON_* */
  s3p_cred *out;                /* fields go here */
  char *expiration;             /* Expiration text, malloc'd */
  int64_t expiration_ms;        /* SSO: expiration in ms, -1 if absent */
  char *code;                   /* Code, malloc'd */
  int64_t version;              /* Version, -1 if absent */
  int dup;                      /* a field appeared twice */
} cj_cred;

/* cj_take stores a string value into *slot (a second one is an error).
** Returns 0 or -1. */
static int cj_take(cj *c, char **slot, cj_cred *k){
  char *v = NULL;
  if(cj_string(c, &v)) return -1;
  if(*slot){
    k->dup = 1;
    s3p_wipe_str(v);
    return -1;
  }
  *slot = v;
  return 0;
}

/* cj_role_member reads a member of SSO's roleCredentials. Returns 0/-1. */
static int cj_role_member(cj *c, const char *key, void *arg){
  cj_cred *k = arg;
  if(strcmp(key, "accessKeyId") == 0) return cj_take(c, &k->out->access_key, k);
  if(strcmp(key, "secretAccessKey") == 0){
    return cj_take(c, &k->out->secret_key, k);
  }
  if(strcmp(key, "sessionToken") == 0){
    return cj_take(c, &k->out->session_token, k);
  }
  if(strcmp(key, "expiration") == 0){
    cj_ws(c);
    if(c->p < c->end && *c->p == 'n') return cj_skip(c);
    return cj_number(c, &k->expiration_ms);
  }
  return cj_skip(c);
}

/* cj_cred_member reads a top-level member of a credentials answer.
** Returns 0 or -1. */
static int cj_cred_member(cj *c, const char *key, void *arg){
  cj_cred *k = arg;
  if(k->kind == S3P_CREDJSON_SSO){
    if(strcmp(key, "roleCredentials") == 0){
      return cj_object(c, cj_role_member, k);
    }
    return cj_skip(c);
  }
  if(strcmp(key, "AccessKeyId") == 0) return cj_take(c, &k->out->access_key, k);
  if(strcmp(key, "SecretAccessKey") == 0){
    return cj_take(c, &k->out->secret_key, k);
  }
  if(strcmp(key, k->kind == S3P_CREDJSON_PROCESS ? "SessionToken" : "Token")
     == 0){
    return cj_take(c, &k->out->session_token, k);
  }
  if(strcmp(key, "Expiration") == 0){
    cj_ws(c);
    if(c->p < c->end && *c->p == 'n') return cj_skip(c);
    return cj_take(c, &k->expiration, k);
  }
  if(k->kind == S3P_CREDJSON_CONTAINER && strcmp(key, "Code") == 0){
    return cj_take(c, &k->code, k);
  }
  if(k->kind == S3P_CREDJSON_PROCESS && strcmp(key, "Version") == 0){
    return cj_number(c, &k->version);
  }
  return cj_skip(c);
}

/* s3p_cred_parse_json: see cred.h. */
int s3p_cred_parse_json(const char *text, size_t len, int kind,
                        s3p_cred *out, const char **why){
  cj c = { text, text + len, 0, 0 };
  cj_cred k;
  int rc = S3P_OK;
  memset(out, 0, sizeof(*out));
  memset(&k, 0, sizeof(k));
  k.kind = kind;
  k.out = out;
  k.expiration_ms = -1;
  k.version = -1;
  *why = NULL;
  if(cj_object(&c, cj_cred_member, &k)){
    *why = k.dup ? "a field appears twice" : "not a JSON object";
    rc = c.nomem ? S3P_ENOMEM : S3P_ECORRUPT;
  }else{
    cj_ws(&c);
    if(c.p != c.end) *why = "bytes after the JSON object";
  }
  if(*why == NULL && k.code && strcmp(k.code, "Success") != 0){
    *why = "Code is not Success";
  }
  if(*why == NULL && kind == S3P_CREDJSON_PROCESS && k.version != 1){
    *why = "Version is not 1";
  }
  if(*why == NULL && (out->access_key == NULL || out->secret_key == NULL)){
    *why = "no access key id or secret";
  }
  if(*why == NULL && k.expiration
     && s3p_cred_parse_time(k.expiration, strlen(k.expiration),
                            &out->expires)){
    *why = "Expiration is not an ISO-8601 time";
  }
  if(*why == NULL && k.expiration_ms >= 0){
    out->expires = k.expiration_ms / 1000;
  }
  if(*why == NULL && out->expires < 0) *why = "Expiration before 1970";
  if(*why == NULL && !s3p_cred_check(out)){
    *why = "malformed key id, secret or token";
  }
  free(k.expiration);
  free(k.code);
  if(*why != NULL){
    s3p_cred_clear(out);
    if(rc == S3P_OK) rc = S3P_ECORRUPT;
    if(rc == S3P_ENOMEM) *why = "out of memory";
  }
  return rc;
}

/* What an SSO token file holds while it is decoded. */
typedef struct cj_sso {
  s3p_ssocache *out;            /* strings go here */
  char *expires;                /* expiresAt text */
  char *reg_expires;            /* registrationExpiresAt text */
} cj_sso;

/* cj_sso_member reads a member of a cached SSO token. Returns 0 or -1. */
static int cj_sso_member(cj *c, const char *key, void *arg){
  cj_sso *t = arg;
  char **slot = NULL;
  if(strcmp(key, "accessToken") == 0) slot = &t->out->access_token;
  if(strcmp(key, "expiresAt") == 0) slot = &t->expires;
  if(strcmp(key, "refreshToken") == 0) slot = &t->out->refresh_token;
  if(strcmp(key, "clientId") == 0) slot = &t->out->client_id;
  if(strcmp(key, "clientSecret") == 0) slot = &t->out->client_secret;
  if(strcmp(key, "registrationExpiresAt") == 0) slot = &t->reg_expires;
  if(strcmp(key, "startUrl") == 0) slot = &t->out->start_url;
  if(strcmp(key, "region") == 0) slot = &t->out->region;
  if(slot == NULL) return cj_skip(c);
  if(*slot) return -1;
  cj_ws(c);
  if(c->p < c->end && *c->p == 'n') return cj_skip(c);    /* null */
  return cj_string(c, slot);
}

/* cj_line_ok returns 1 if s (NULL allowed) could go into a header. */
static int cj_line_ok(const char *s){
  return s == NULL || strpbrk(s, "\r\n") == NULL;
}

/* s3p_ssocache_clear: see cred.h. */
void s3p_ssocache_clear(s3p_ssocache *t){
  s3p_wipe_str(t->access_token);
  s3p_wipe_str(t->refresh_token);
  s3p_wipe_str(t->client_secret);
  free(t->client_id);
  free(t->start_url);
  free(t->region);
  memset(t, 0, sizeof(*t));
}

/* s3p_cred_parse_sso_cache: see cred.h. */
int s3p_cred_parse_sso_cache(const char *text, size_t len, s3p_ssocache *out,
                             const char **why){
  cj c = { text, text + len, 0, 0 };
  cj_sso t;
  memset(out, 0, sizeof(*out));
  memset(&t, 0, sizeof(t));
  t.out = out;
  *why = NULL;
  if(cj_object(&c, cj_sso_member, &t)){
    *why = c.nomem ? "out of memory" : "not a JSON object";
  }else if(out->access_token == NULL || out->access_token[0] == 0
           || !cj_line_ok(out->access_token)){
    *why = "no accessToken";
  }else if(!cj_line_ok(out->refresh_token) || !cj_line_ok(out->client_id)
           || !cj_line_ok(out->client_secret)){
    *why = "a line break in refreshToken, clientId or clientSecret";
  }else if(t.expires && s3p_cred_parse_time(t.expires, strlen(t.expires),
                                             &out->expires)){
    *why = "expiresAt is not an ISO-8601 time";
  }else if(t.reg_expires
           && s3p_cred_parse_time(t.reg_expires, strlen(t.reg_expires),
                                  &out->reg_expires)){
    *why = "registrationExpiresAt is not an ISO-8601 time";
  }
  free(t.expires);
  free(t.reg_expires);
  if(*why){
    s3p_ssocache_clear(out);
    return c.nomem ? S3P_ENOMEM : S3P_ECORRUPT;
  }
  return S3P_OK;
}

/* s3p_cred_parse_sso_token: see cred.h. */
int s3p_cred_parse_sso_token(const char *text, size_t len, char **token,
                             int64_t *expires, const char **why){
  s3p_ssocache t;
  int rc = s3p_cred_parse_sso_cache(text, len, &t, why);
  *token = NULL;
  *expires = 0;
  if(rc != S3P_OK) return rc;
  *token = t.access_token;
  *expires = t.expires;
  t.access_token = NULL;
  s3p_ssocache_clear(&t);
  return S3P_OK;
}

/* What an OIDC CreateToken answer holds while it is decoded. */
typedef struct cj_oidc {
  char *access;                 /* accessToken */
  char *refresh;                /* refreshToken */
  int64_t expires_in;           /* expiresIn, -1 if absent */
  int dup;                      /* a field appeared twice */
} cj_oidc;

/* cj_oidc_member reads a member of a CreateToken answer. Returns 0/-1. */
static int cj_oidc_member(cj *c, const char *key, void *arg){
  cj_oidc *o = arg;
  char **slot = NULL;
  if(strcmp(key, "accessToken") == 0) slot = &o->access;
  if(strcmp(key, "refreshToken") == 0) slot = &o->refresh;
  if(strcmp(key, "expiresIn") == 0){
    if(o->expires_in >= 0){
      o->dup = 1;
      return -1;
    }
    return cj_number(c, &o->expires_in);
  }
  if(slot == NULL) return cj_skip(c);
  if(*slot){
    o->dup = 1;
    return -1;
  }
  cj_ws(c);
  if(c->p < c->end && *c->p == 'n') return cj_skip(c);    /* null */
  return cj_string(c, slot);
}

/* s3p_cred_parse_oidc: see cred.h. */
int s3p_cred_parse_oidc(const char *text, size_t len, char **access,
                        int64_t *expires_in, char **refresh,
                        const char **why){
  cj c = { text, text + len, 0, 0 };
  cj_oidc o = { NULL, NULL, -1, 0 };
  *access = NULL;
  *refresh = NULL;
  *expires_in = 0;
  *why = NULL;
  if(cj_object(&c, cj_oidc_member, &o)){
    *why = o.dup ? "a field appears twice"
         : c.nomem ? "out of memory" : "not a JSON object";
  }else if(o.access == NULL || o.access[0] == 0 || !cj_line_ok(o.access)
           || !cj_line_ok(o.refresh)){
    *why = "no accessToken";
  }else if(o.expires_in <= 0 || o.expires_in > 366 * 86400){
    *why = "expiresIn missing or out of range";
  }
  if(*why){
    s3p_wipe_str(o.access);
    s3p_wipe_str(o.refresh);
    return c.nomem ? S3P_ENOMEM : S3P_ECORRUPT;
  }
  *access = o.access;
  *refresh = o.refresh;
  *expires_in = o.expires_in;
  return S3P_OK;
}

/* sts_field copies the text of <tag> within [p, end) into a malloc'd
** *out (entities decoded). Returns S3P_OK, S3P_ENOTFOUND, S3P_ECORRUPT or
** S3P_ENOMEM. */
static int sts_field(const char *p, const char *end, const char *tag,
                     char **out){
  size_t n;
  const char *t = s3p_xml_find(p, end, tag, &n);
  *out = NULL;
  if(t == NULL) return S3P_ENOTFOUND;
  if(n > CJ_STR_MAX) return S3P_ECORRUPT;
  *out = malloc(n + 1);
  if(*out == NULL) return S3P_ENOMEM;
  if(s3p_xml_text(t, n, *out, n + 1) != 0){
    s3p_wipe(*out, n + 1);
    free(*out);
    *out = NULL;
    return S3P_ECORRUPT;
  }
  return S3P_OK;
}

/* s3p_cred_parse_sts: see cred.h. */
int s3p_cred_parse_sts(const char *text, size_t len, s3p_cred *out,
                       char *code, size_t cap, const char **why){
  const char *end = text + len, *cr;
  char *exp = NULL;
  size_t n;
  int rc;
  memset(out, 0, sizeof(*out));
  if(cap) code[0] = 0;
  *why = NULL;
  if(s3p_xml_find(text, end, "Error", &n) != NULL){
    s3p_xml_error_code((const unsigned char *)text, len, code, cap);
    *why = "STS answered an error";
    return S3P_ECORRUPT;
  }
  cr = s3p_xml_find(text, end, "Credentials", &n);
  if(cr == NULL){
    *why = "no <Credentials> in the answer";
    return S3P_ECORRUPT;
  }
  rc = sts_field(cr, cr + n, "AccessKeyId", &out->access_key);
  if(rc == S3P_OK) rc = sts_field(cr, cr + n, "SecretAccessKey",
                                  &out->secret_key);
  if(rc == S3P_OK) rc = sts_field(cr, cr + n, "SessionToken",
                                  &out->session_token);
  if(rc == S3P_OK) rc = sts_field(cr, cr + n, "Expiration", &exp);
  if(rc == S3P_OK && s3p_cred_parse_time(exp, strlen(exp), &out->expires)){
    rc = S3P_ECORRUPT;
  }
  free(exp);
  if(rc == S3P_OK && !s3p_cred_check(out)) rc = S3P_ECORRUPT;
  if(rc != S3P_OK){
    s3p_cred_clear(out);
    *why = rc == S3P_ENOMEM ? "out of memory"
         : "missing or malformed AccessKeyId, SecretAccessKey, SessionToken "
           "or Expiration";
    if(rc == S3P_ENOTFOUND) rc = S3P_ECORRUPT;
  }
  return rc;
}

/* time_num reads exactly n decimal digits at s into *v. Returns 0/-1. */
static int time_num(const char *s, int n, int *v){
  *v = 0;
  for(int i = 0; i < n; i++){
    if(s[i] < '0' || s[i] > '9') return -1;
    *v = *v * 10 + (s[i] - '0');
  }
  return 0;
}

/* s3p_cred_parse_time: see cred.h. */
int s3p_cred_parse_time(const char *s, size_t n, int64_t *out){
  int y, mo, d, h, mi, se;
  size_t i = 19;
  int64_t days;
  static const int cum[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273,
                               304, 334 };
  if(n < 19 || time_num(s, 4, &y) || s[4] != '-' || time_num(s + 5, 2, &mo)
     || s[7] != '-' || time_num(s + 8, 2, &d)
     || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
     || time_num(s + 11, 2, &h) || s[13] != ':' || time_num(s + 14, 2, &mi)
     || s[16] != ':' || time_num(s + 17, 2, &se)){
    return -1;
  }
  if(y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59
     || se > 60){
    return -1;
  }
  if(i < n && s[i] == '.'){
    i++;
    while(i < n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if(!((i == n - 1 && (s[i] == 'Z' || s[i] == 'z'))
       || (n - i == 6 && memcmp(s + i, "+00:00", 6) == 0)
       || (n - i == 3 && memcmp(s + i, "UTC", 3) == 0))){
    return -1;
  }
  /* Days since 1970-01-01, proleptic Gregorian. */
  days = (int64_t)(y - 1970) * 365 + ((y - 1969) / 4) - ((y - 1901) / 100)
       + ((y - 1601) / 400) + cum[mo - 1] + (d - 1);
  if(mo > 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) days++;
  *out = days * 86400 + h * 3600 + mi * 60 + se;
  return 0;
}

/* ini_trim returns [*b, *e) without blanks at the ends. */
static void ini_trim(const char **b, const char **e){
  while(*b < *e && (**b == ' ' || **b == '\t')) (*b)++;
  while(*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r')){
    (*e)--;
  }
}

/* s3p_cred_ini_get: see cred.h. */
char *s3p_cred_ini_get(const char *text, size_t len, const char *sect,
                       const char *key, int *found, int *nomem){
  const char *p = text, *end = text + len;
  const char *nul = memchr(text, 0, len);
  int in = 0;
  if(nul) end = nul;
  if(found) *found = 0;
  while(p < end){
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *b = p, *e = eol ? eol : end, *eq;
    int indented = (*b == ' ' || *b == '\t');
    p = eol ? eol + 1 : end;
    ini_trim(&b, &e);
    if(b == e || *b == '#' || *b == ';') continue;
    if(*b == '['){
      const char *close = memchr(b, ']', (size_t)(e - b));
      const char *nb = b + 1, *ne = close ? close : b + 1;
      ini_trim(&nb, &ne);
      in = close && (size_t)(ne - nb) == strlen(sect)
           && memcmp(nb, sect, (size_t)(ne - nb)) == 0;
      if(in && found) *found = 1;
      continue;
    }
    if(!in || indented) continue;     /* indented: a sub-section's line */
    eq = memchr(b, '=', (size_t)(e - b));
    if(eq == NULL) continue;
    {
      const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
      char *v;
      ini_trim(&kb, &ke);
      ini_trim(&vb, &ve);
      if((size_t)(ke - kb) != strlen(key) || memcmp(kb, key, strlen(key))){
        continue;
      }
      v = malloc((size_t)(ve - vb) + 1);
      if(v == NULL){
        if(nomem) *nomem = 1;
        return NULL;
      }
      memcpy(v, vb, (size_t)(ve - vb));
      v[ve - vb] = 0;
      return v;
    }
  }
  return NULL;
}

/* s3p_cred_clear: see cred.h. */
void s3p_cred_clear(s3p_cred *c){
  if(c == NULL) return;
  free(c->access_key);
  s3p_wipe_str(c->secret_key);
  s3p_wipe_str(c->session_token);
  c->access_key = c->secret_key = c->session_token = NULL;
  c->expires = c->obtained = 0;
  c->source = NULL;
}

/* s3p_cred_check: see cred.h. */
int s3p_cred_check(const s3p_cred *c){
  return c->access_key && c->secret_key && c->access_key[0]
      && c->secret_key[0] && !strpbrk(c->access_key, "\r\n/ ,")
      && !strpbrk(c->secret_key, "\r\n")
      && (c->session_token == NULL || !strpbrk(c->session_token, "\r\n"));
}
