/*
** s3conf.c: configuration of the S3 backend from the store name, the
** open options, the environment and the AWS shared files. See s3conf.h
** for the order of precedence.
*/
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>
#include "s3conf.h"

/* Default parallel requests per store handle. */
#define S3CONF_CONCURRENCY 64
/* Largest accepted concurrency. */
#define S3CONF_CONCURRENCY_MAX 1024
/* Default limit of one attempt, in milliseconds. */
#define S3CONF_TIMEOUT_MS 30000
/* Default attempts per operation. */
#define S3CONF_ATTEMPTS 6
/* Largest AWS shared file we read. */
#define S3CONF_FILE_MAX (1 << 20)

/* What a profile of the shared files gives us (all malloc'd or NULL). */
typedef struct s3conf_profile {
  char *region;                 /* region */
  char *endpoint_url;           /* endpoint_url */
  char *s3_endpoint_url;        /* endpoint_url under "s3 =" */
  char *addressing_style;       /* addressing_style under "s3 =" */
  int found;                    /* the profile's section exists */
} s3conf_profile;

/* s3conf_env returns the value of environment variable name, or NULL if it
** is unset or empty. */
static const char *s3conf_env(const char *name){
  const char *v = getenv(name);
  return (v && v[0]) ? v : NULL;
}

/* s3conf_profile_free frees what p owns and zeroes it. */
static void s3conf_profile_free(s3conf_profile *p){
  free(p->region);
  free(p->endpoint_url);
  free(p->s3_endpoint_url);
  free(p->addressing_style);
  memset(p, 0, sizeof(*p));
}

/* s3conf_trim returns s without leading and trailing blanks (modifies s). */
static char *s3conf_trim(char *s){
  char *e;
  while(*s == ' ' || *s == '\t') s++;
  e = s + strlen(s);
  while(e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
  *e = 0;
  return s;
}

/* s3conf_set replaces *slot with a copy of v unless *slot is already set
** (the first value in a file wins). Returns S3P_OK or S3P_ENOMEM. */
static int s3conf_set(char **slot, const char *v){
  if(*slot != NULL) return S3P_OK;
  *slot = strdup(v);
  return *slot ? S3P_OK : S3P_ENOMEM;
}

/* s3conf_read_file reads the whole file at path into a malloc'd string
** of *len bytes (plus a NUL; the text may hold NULs of its own). It uses
** read(2), not stdio, so that no copy of the secrets stays behind in a
** stdio buffer; everything it frees is wiped first. Returns S3P_OK (with
** *out NULL if the file does not exist or is too big to be a config
** file), or S3P_ENOMEM. */
static int s3conf_read_file(const char *path, char **out, size_t *len){
  char *buf;
  size_t n = 0;
  int fd;
  *out = NULL;
  *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0) return S3P_OK;
  buf = malloc(S3CONF_FILE_MAX + 1);
  if(buf == NULL){
    close(fd);
    return S3P_ENOMEM;
  }
  while(n < S3CONF_FILE_MAX + 1){
    ssize_t r = read(fd, buf + n, S3CONF_FILE_MAX + 1 - n);
    if(r < 0 && errno == EINTR) continue;
    if(r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  if(n > S3CONF_FILE_MAX){
    s3p_wipe(buf, n);
    free(buf);
    return S3P_OK;
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return S3P_OK;
}

/* s3conf_parse_ini collects the keys of profile from the INI text (NUL
** bytes end it early). In the config file (is_config) a profile's section
** is "[profile NAME]" ("[default]" for the default one); in the credentials
** file it is "[NAME]". An "s3 =" line with no value opens a sub-section of
** indented lines. Returns S3P_OK or S3P_ENOMEM. */
static int s3conf_parse_ini(char *text, const char *profile, int is_config,
                            s3conf_profile *p){
  char *line = text, *next;
  int in_profile = 0, in_s3 = 0, rc = S3P_OK;
  for(; line && *line && rc == S3P_OK; line = next){
    char *eq, *k, *v;
    int indented = (*line == ' ' || *line == '\t');
    next = strchr(line, '\n');
    if(next) *next++ = 0;
    line = s3conf_trim(line);
    if(line[0] == 0 || line[0] == '#' || line[0] == ';') continue;
    if(line[0] == '['){
      char *end = strchr(line, ']'), *name;
      in_s3 = 0;
      in_profile = 0;
      if(end == NULL) continue;
      *end = 0;
      name = s3conf_trim(line + 1);
      if(is_config && strncmp(name, "profile ", 8) == 0){
        name = s3conf_trim(name + 8);
      }else if(is_config && strcmp(name, "default") != 0){
        continue;   /* sso-session, services ...: not a profile */
      }
      in_profile = strcmp(name, profile) == 0;
      if(in_profile) p->found = 1;
      continue;
    }
    if(!in_profile) continue;
    eq = strchr(line, '=');
    if(eq == NULL) continue;
    *eq = 0;
    k = s3conf_trim(line);
    v = s3conf_trim(eq + 1);
    if(!indented) in_s3 = 0;
    if(in_s3){
      if(strcmp(k, "endpoint_url") == 0){
        rc = s3conf_set(&p->s3_endpoint_url, v);
      }else if(strcmp(k, "addressing_style") == 0){
        rc = s3conf_set(&p->addressing_style, v);
      }
      continue;
    }
    if(v[0] == 0){
      in_s3 = strcmp(k, "s3") == 0;
      continue;
    }
    if(strcmp(k, "region") == 0){
      rc = s3conf_set(&p->region, v);
    }else if(strcmp(k, "endpoint_url") == 0){
      rc = s3conf_set(&p->endpoint_url, v);
    }
  }
  return rc;
}

/* s3conf_path returns the malloc'd path of a shared file: environment
** variable env_name, else $HOME/.aws/leaf; NULL when neither is set (or
** out of memory, with *nomem set). */
static char *s3conf_path(const char *env_name, const char *leaf, int *nomem){
  const char *path = s3conf_env(env_name), *home = s3conf_env("HOME");
  char *p;
  if(path == NULL && home == NULL) return NULL;
  p = path ? strdup(path) : s3p_store_msg("%s/.aws/%s", home, leaf);
  if(p == NULL) *nomem = 1;
  return p;
}

/* s3conf_load_file parses the shared file at path (NULL: none) into p.
** Returns S3P_OK or S3P_ENOMEM. */
static int s3conf_load_file(const char *path, const char *profile,
                            int is_config, s3conf_profile *p){
  char *text = NULL;
  size_t len = 0;
  int rc;
  if(path == NULL) return S3P_OK;
  rc = s3conf_read_file(path, &text, &len);
  if(rc != S3P_OK || text == NULL) return rc;
  rc = s3conf_parse_ini(text, profile, is_config, p);
  /* The text holds secrets, and parsing put NULs into it: wipe it all. */
  s3p_wipe(text, len + 1);
  free(text);
  return rc;
}

/* s3conf_bucket_ok returns 1 if b is a plausible S3 bucket name: 3 to 63
** bytes of [a-z0-9.-] (we also allow '_' and upper case, which old buckets
** and some S3 look-alikes use). */
static int s3conf_bucket_ok(const char *b){
  size_t n = strlen(b), i;
  if(n < 3 || n > 63) return 0;
  for(i = 0; i < n; i++){
    char c = b[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')){
      return 0;
    }
  }
  return 1;
}

/* s3conf_dns_label returns 1 if bucket can be a host name label of its
** own: [a-z0-9-] only (a '.' would break the TLS wildcard certificate). */
static int s3conf_dns_label(const char *b){
  for(; *b; b++){
    if(!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') || *b == '-')){
      return 0;
    }
  }
  return 1;
}

/* s3p_s3conf_parse_name splits "s3://BUCKET/PREFIX". */
int s3p_s3conf_parse_name(const char *name, char **bucket, char **prefix,
                          char **errmsg){
  const char *b, *slash;
  char *pfx;
  size_t n;
  *bucket = *prefix = NULL;
  if(name == NULL || strncmp(name, "s3://", 5) != 0){
    *errmsg = s3p_store_msg("%s: not an s3://BUCKET/PREFIX name",
                         name ? name : "(null)");
    return S3P_EINVAL;
  }
  b = name + 5;
  slash = strchr(b, '/');
  n = slash ? (size_t)(slash - b) : strlen(b);
  *bucket = strndup(b, n);
  if(*bucket == NULL) return S3P_ENOMEM;
  if(!s3conf_bucket_ok(*bucket)){
    *errmsg = s3p_store_msg("%s: bad bucket name (want 3 to 63 of a-z 0-9 . -)",
                         name);
    free(*bucket);
    *bucket = NULL;
    return S3P_EINVAL;
  }
  pfx = strdup(slash ? slash + 1 : "");
  if(pfx == NULL){
    free(*bucket);
    *bucket = NULL;
    return S3P_ENOMEM;
  }
  n = strlen(pfx);
  while(n > 0 && pfx[n - 1] == '/') pfx[--n] = 0;
  if(n > 0 && !s3p_key_ok(pfx)){
    *errmsg = s3p_store_msg("%s: bad prefix (use [A-Za-z0-9._-] and '/', no "
                         "empty, '.' or '..' parts)", name);
    free(pfx);
    free(*bucket);
    *bucket = NULL;
    return S3P_EINVAL;
  }
  *prefix = pfx;
  return S3P_OK;
}

/* s3conf_int reads environment variable name as an integer in [lo, hi]
** into *out (left alone when unset). Returns S3P_OK, or S3P_EINVAL with
** *errmsg set. */
static int s3conf_int(const char *name, long lo, long hi, long *out,
                      char **errmsg){
  const char *v = s3conf_env(name);
  char *end;
  long x;
  if(v == NULL) return S3P_OK;
  errno = 0;
  x = strtol(v, &end, 10);
  if(errno || end == v || *end || x < lo || x > hi){
    *errmsg = s3p_store_msg("%s=%s: want an integer from %ld to %ld", name, v,
                         lo, hi);
    return S3P_EINVAL;
  }
  *out = x;
  return S3P_OK;
}

/* s3conf_flag returns 1 if environment variable name is set to a true
** value ("1", "true", "yes", "on"). */
static int s3conf_flag(const char *name){
  const char *v = s3conf_env(name);
  if(v == NULL) return 0;
  return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0
      || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0;
}

/* s3conf_endpoint parses url ("http[s]://host[:port][/]") into c->scheme,
** c->authority and c->endpoint. Returns S3P_OK, S3P_EINVAL with *errmsg
** set, or S3P_ENOMEM. */
static int s3conf_endpoint(s3p_s3conf *c, const char *url, const char *src,
                           char **errmsg){
  const char *p, *end;
  size_t n;
  if(strncasecmp(url, "https://", 8) == 0){
    c->scheme = strdup("https");
    p = url + 8;
  }else if(strncasecmp(url, "http://", 7) == 0){
    c->scheme = strdup("http");
    p = url + 7;
  }else{
    *errmsg = s3p_store_msg("endpoint must start with http:// or https:// "
                         "(from %s)", src);
    return S3P_EINVAL;
  }
  if(c->scheme == NULL) return S3P_ENOMEM;
  end = p + strcspn(p, "/?#");
  n = (size_t)(end - p);
  if(n == 0 || memchr(p, '@', n) || strspn(end, "/") != strlen(end)){
    /* Not echoed: a user:password part would end up in logs. */
    *errmsg = s3p_store_msg("endpoint must be http[s]://host[:port] with no "
                         "user, path or query (from %s)", src);
    return S3P_EINVAL;
  }
  for(; p < end && strchr(" \t\r\n", *p) == NULL; p++){}
  if(p != end){
    *errmsg = s3p_store_msg("endpoint has blanks in its host (from %s)", src);
    return S3P_EINVAL;
  }
  p = end - n;
  c->authority = strndup(p, n);
  if(c->authority == NULL) return S3P_ENOMEM;
  c->endpoint = s3p_store_msg("%s://%s", c->scheme, c->authority);
  return c->endpoint ? S3P_OK : S3P_ENOMEM;
}

/* s3conf_resolve fills c from name, opts, the environment and prof (the
** loaded profile). Returns S3P_OK or an error with *errmsg set. */
static int s3conf_resolve(s3p_s3conf *c, const char *name,
                          const s3p_store_opts *opts,
                          const s3conf_profile *prof, char **errmsg){
  const char *v, *src;
  long x;
  int rc;

  rc = s3p_s3conf_parse_name(name, &c->bucket, &c->prefix, errmsg);
  if(rc != S3P_OK) return rc;

  /* Region. */
  v = opts && opts->region && opts->region[0] ? opts->region : NULL;
  if(v == NULL) v = s3conf_env("AWS_REGION");
  if(v == NULL) v = s3conf_env("AWS_DEFAULT_REGION");
  if(v == NULL) v = prof->region;
  if(v == NULL) v = "us-east-1";
  if(strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
                       != strlen(v)){
    *errmsg = s3p_store_msg("%s: bad region \"%.64s\"", name, v);
    return S3P_EINVAL;
  }
  if((c->region = strdup(v)) == NULL) return S3P_ENOMEM;

  /* Endpoint and addressing. */
  src = "the endpoint option";
  v = opts && opts->endpoint && opts->endpoint[0] ? opts->endpoint : NULL;
  if(v == NULL && (v = s3conf_env("AWS_ENDPOINT_URL_S3")) != NULL){
    src = "AWS_ENDPOINT_URL_S3";
  }
  if(v == NULL && (v = s3conf_env("AWS_ENDPOINT_URL")) != NULL){
    src = "AWS_ENDPOINT_URL";
  }
  if(v == NULL && (v = prof->s3_endpoint_url) != NULL){
    src = "the profile's s3 endpoint_url";
  }
  if(v == NULL && (v = prof->endpoint_url) != NULL){
    src = "the profile's endpoint_url";
  }
  if(v != NULL){
    rc = s3conf_endpoint(c, v, src, errmsg);
    c->path_style = 1;
  }else{
    char *def = s3p_store_msg("https://s3.%s.amazonaws.com", c->region);
    if(def == NULL) return S3P_ENOMEM;
    rc = s3conf_endpoint(c, def, "the default", errmsg);
    free(def);
    c->default_endpoint = 1;
    c->path_style = !s3conf_dns_label(c->bucket);
  }
  if(rc != S3P_OK) return rc;
  v = s3conf_env("S3PAGE_S3_ADDRESSING");
  src = "S3PAGE_S3_ADDRESSING";
  if(v == NULL){
    v = prof->addressing_style;
    src = "the profile's addressing_style";
  }
  if(v != NULL){
    if(strcmp(v, "path") == 0){
      c->path_style = 1;
    }else if(strcmp(v, "virtual") == 0){
      c->path_style = 0;
    }else if(strcmp(v, "auto") != 0){
      *errmsg = s3p_store_msg("%s=%s: want path or virtual", src, v);
      return S3P_EINVAL;
    }
  }

  /* TLS. */
  c->insecure = s3conf_flag("S3PAGE_S3_INSECURE");
  v = s3conf_env("AWS_CA_BUNDLE");
  if(v && (c->ca_file = strdup(v)) == NULL) return S3P_ENOMEM;
  c->trust_conditional = s3conf_flag("S3PAGE_TRUST_CONDITIONAL");

  /* Limits. */
  x = S3CONF_CONCURRENCY;
  rc = s3conf_int("S3PAGE_CONCURRENCY", 1, S3CONF_CONCURRENCY_MAX, &x, errmsg);
  if(rc != S3P_OK) return rc;
  if(opts && opts->concurrency > 0){
    x = opts->concurrency > S3CONF_CONCURRENCY_MAX ? S3CONF_CONCURRENCY_MAX
                                                   : opts->concurrency;
  }
  c->concurrency = (int)x;
  x = S3CONF_TIMEOUT_MS;
  rc = s3conf_int("S3PAGE_TIMEOUT_MS", 100, 3600000L, &x, errmsg);
  if(rc != S3P_OK) return rc;
  c->timeout_ms = x;
  x = S3CONF_ATTEMPTS;
  rc = s3conf_int("S3PAGE_S3_ATTEMPTS", 1, 100, &x, errmsg);
  if(rc != S3P_OK) return rc;
  c->max_attempts = (int)x;
  x = 1000;
  rc = s3conf_int("S3PAGE_S3_LIST_KEYS", 1, 1000, &x, errmsg);
  if(rc != S3P_OK) return rc;
  c->list_keys = (int)x;
  return S3P_OK;
}

/* s3p_s3conf_load fills c from name, opts and the environment. */
int s3p_s3conf_load(s3p_s3conf *c, const char *name,
                    const s3p_store_opts *opts, char **errmsg){
  s3conf_profile prof;
  const char *profile;
  char *creds_path, *config_path, *msg = NULL;
  int explicit_profile, rc, nomem = 0;

  memset(c, 0, sizeof(*c));
  memset(&prof, 0, sizeof(prof));
  *errmsg = NULL;
  profile = s3conf_env("AWS_PROFILE");
  if(profile == NULL) profile = s3conf_env("AWS_DEFAULT_PROFILE");
  explicit_profile = profile != NULL;
  if(profile == NULL) profile = "default";

  creds_path = s3conf_path("AWS_SHARED_CREDENTIALS_FILE", "credentials",
                           &nomem);
  config_path = s3conf_path("AWS_CONFIG_FILE", "config", &nomem);
  rc = nomem ? S3P_ENOMEM : s3conf_load_file(creds_path, profile, 0, &prof);
  if(rc == S3P_OK) rc = s3conf_load_file(config_path, profile, 1, &prof);
  if(rc == S3P_OK && explicit_profile && !prof.found){
    *errmsg = s3p_store_msg("%s: AWS profile \"%s\" is in neither "
                         "~/.aws/credentials nor ~/.aws/config", name,
                         profile);
    rc = S3P_EINVAL;
  }
  if(rc == S3P_OK) rc = s3conf_resolve(c, name, opts, &prof, errmsg);
  if(rc == S3P_OK){
    s3p_credenv e;
    e.profile = profile;
    e.explicit_profile = explicit_profile;
    e.region = c->region;
    e.config_path = config_path;
    e.creds_path = creds_path;
    rc = s3p_cred_open(&e, &c->cred_src, &c->cred, &msg);
    /* Not prefixed with the name: whoever reports the failed open names
    ** it, and SQLite's log cuts messages at about 200 bytes. */
    if(rc != S3P_OK) *errmsg = msg;
    else free(msg);
  }
  s3conf_profile_free(&prof);
  free(creds_path);
  free(config_path);
  if(rc != S3P_OK){
    s3p_s3conf_free(c);
    if(*errmsg == NULL){
      *errmsg = s3p_store_msg("%s: %s", name ? name : "(null)",
                           rc == S3P_ENOMEM ? "out of memory"
                                            : "bad S3 configuration");
    }
  }
  return rc;
}

/* s3p_s3conf_free frees what c owns and zeroes it. */
void s3p_s3conf_free(s3p_s3conf *c){
  if(c == NULL) return;
  free(c->bucket);
  free(c->prefix);
  s3p_cred_release(c->cred);
  free(c->region);
  free(c->scheme);
  free(c->authority);
  free(c->endpoint);
  free(c->ca_file);
  memset(c, 0, sizeof(*c));
}
