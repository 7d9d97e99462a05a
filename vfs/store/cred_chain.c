/*
** cred_chain.c: the order of the providers, the "what was tried" message,
** and the process-wide cache that shares temporary credentials between
** every store (and so every connection and thread) of the process and
** refreshes them before they expire. Credentials without an expiry
** (environment, static keys in a profile, a credential_process that gives
** no Expiration) are not cached: every open reads them anew and the last
** store using them wipes them when it closes.
**
** Sources are keyed by a SHA-256 of everything the providers read from
** the environment and the profile settings, so stores opened with the
** same settings share one source and one refresh; a source's credentials
** stay in memory for the life of the process.
**
** Refresh: credentials are due s3p_cred_refresh_margin seconds before
** they expire. The first caller that finds them due starts a thread that
** fetches new ones from the same provider and goes on signing with the
** old ones, which are still valid, as every other caller does meanwhile:
** nobody waits for a refresh ahead of expiry (a commit in flight is not
** held up by a slow STS). Only a caller whose credentials have expired, or
** were refused as expired, fetches in its own thread (or waits for the
** fetch under way). When the thread cannot be created, the caller fetches
** itself. A failed refresh is not retried for 5 seconds while the old
** credentials still work. After fork() the child forgets a refresh its
** parent had under way (the thread doing it is not in the child).
*/
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cred.h"
#include "sigv4.h"

/* Seconds before expiry at which credentials are refreshed, at most. */
#define CHAIN_MARGIN 300
/* Seconds between failed refresh attempts while the old ones work. */
#define CHAIN_RETRY_SECS 5

/* A shared source of credentials. */
struct s3p_credsrc {
  char key[65];                 /* SHA-256 hex of the settings */
  s3p_cred_provider provider;   /* the provider that answered */
  char *profile;                /* profile name (copies of the settings,
                                ** for refreshing) */
  char *region;                 /* region, or NULL */
  char *config_path;            /* config file path, or NULL */
  char *creds_path;             /* credentials file path, or NULL */
  int explicit_profile;         /* the profile was named explicitly */
  s3p_cred *cur;                /* current credentials (one reference) */
  int refreshing;               /* a caller is fetching new ones */
  int64_t failed_at;            /* time of the last failed refresh */
  int retired;                  /* dropped by s3p_cred_cache_reset */
  s3p_credsrc *next;            /* next source of the process */
};

/* The process's sources, never freed (stores point to them, and so do
** refreshing threads). */
static pthread_mutex_t chain_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t chain_cond = PTHREAD_COND_INITIALIZER;
static s3p_credsrc *chain_sources;      /* under chain_mutex */
static pthread_once_t chain_once = PTHREAD_ONCE_INIT;

/* The providers after the environment, in chain order. */
static const s3p_cred_provider chain_providers[] = {
  s3p_cred_webid, s3p_cred_profile, s3p_cred_container, s3p_cred_imds,
};

/* Environment variables the providers read (part of a source's key). */
static const char *const chain_vars[] = {
  "HOME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN", "S3PAGE_CONTAINER_ENDPOINT",
  "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_METADATA_SERVICE_TIMEOUT",
  "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
};

/* s3p_cred_refresh_margin: see cred.h. */
int64_t s3p_cred_refresh_margin(const s3p_cred *c){
  int64_t life = c->expires - c->obtained;
  if(c->expires == 0 || life <= 0) return 0;
  return life / 2 < CHAIN_MARGIN ? life / 2 : CHAIN_MARGIN;
}

/* chain_new_cred moves *c into a new shared object with one reference.
** Returns it, or NULL when out of memory (c is then cleared). */
static s3p_cred *chain_new_cred(s3p_cred *c){
  s3p_cred *n = malloc(sizeof(*n));
  if(n == NULL){
    s3p_cred_clear(c);
    return NULL;
  }
  *n = *c;
  if(n->obtained == 0) n->obtained = s3p_cred_now();
  n->refs = 1;
  memset(c, 0, sizeof(*c));
  return n;
}

/* chain_unref drops a reference under chain_mutex. Returns c if that was
** the last one (the caller frees it after unlocking), else NULL. */
static s3p_cred *chain_unref(s3p_cred *c){
  if(c == NULL) return NULL;
  assert(c->refs > 0);
  return --c->refs == 0 ? c : NULL;
}

/* chain_free frees a credentials object nobody references. */
static void chain_free(s3p_cred *c){
  if(c == NULL) return;
  s3p_cred_clear(c);
  free(c);
}

/* s3p_cred_release: see cred.h. */
void s3p_cred_release(s3p_cred *c){
  s3p_cred *dead;
  if(c == NULL) return;
  pthread_mutex_lock(&chain_mutex);
  dead = chain_unref(c);
  pthread_mutex_unlock(&chain_mutex);
  chain_free(dead);
}

/* chain_key writes the key of e and the environment into key[65].
** Returns 0, or -1 when out of memory. */
static int chain_key(const s3p_credenv *e, char key[65]){
  char *s = s3p_store_msg("%s\n%d\n%s\n%s\n%s", e->profile,
                          e->explicit_profile, e->region ? e->region : "",
                          e->config_path ? e->config_path : "",
                          e->creds_path ? e->creds_path : "");
  for(size_t i = 0; s && i < sizeof(chain_vars) / sizeof(chain_vars[0]); i++){
    const char *v = s3p_cred_env_get(chain_vars[i]);
    char *t = s3p_store_msg("%s\n%s=%s", s, chain_vars[i], v ? v : "");
    s3p_wipe_str(s);          /* it may hold the container token */
    s = t;
  }
  if(s == NULL) return -1;
  s3p_sigv4_sha256_hex(s, strlen(s), key);
  s3p_wipe_str(s);
  return 0;
}

/* chain_src_env fills e with the settings src keeps. */
static void chain_src_env(const s3p_credsrc *src, s3p_credenv *e){
  e->profile = src->profile;
  e->explicit_profile = src->explicit_profile;
  e->region = src->region;
  e->config_path = src->config_path;
  e->creds_path = src->creds_path;
}

/* chain_src_free frees a source that was never published. */
static void chain_src_free(s3p_credsrc *s){
  if(s == NULL) return;
  free(s->profile);
  free(s->region);
  free(s->config_path);
  free(s->creds_path);
  chain_free(s->cur);
  free(s);
}

/* chain_fork_prepare holds chain_mutex across fork(), so that the child
** gets the sources in a consistent state. */
static void chain_fork_prepare(void){
  pthread_mutex_lock(&chain_mutex);
}

/* chain_fork_parent releases chain_mutex in the parent after fork(). */
static void chain_fork_parent(void){
  pthread_mutex_unlock(&chain_mutex);
}

/* chain_fork_child forgets, in the child, the refreshes under way in the
** parent: their threads are not in the child, and a caller waiting for
** them would wait forever. */
static void chain_fork_child(void){
  for(s3p_credsrc *s = chain_sources; s; s = s->next) s->refreshing = 0;
  pthread_mutex_unlock(&chain_mutex);
}

/* chain_init registers the fork handlers (once per process). */
static void chain_init(void){
  pthread_atfork(chain_fork_prepare, chain_fork_parent, chain_fork_child);
}

/* chain_fetch runs the provider of src for new credentials, outside
** chain_mutex, which the caller holds on entry and on return, having set
** src->refreshing. Installs the new ones as src->cur (the replaced ones go
** to *old, for the caller to free after unlocking) and wakes the waiters.
** Returns the new credentials, or NULL with *msg set (and src->failed_at
** now). */
static s3p_cred *chain_fetch(s3p_credsrc *src, s3p_cred **old, char **msg){
  s3p_credenv e;
  s3p_cred c, *n;
  int rc;
  assert(src->refreshing);
  chain_src_env(src, &e);         /* settings never change once published */
  pthread_mutex_unlock(&chain_mutex);
  *msg = NULL;
  rc = src->provider(&e, &c, msg);
  n = rc == S3P_OK ? chain_new_cred(&c) : NULL;
  if(rc == S3P_OK && n == NULL) rc = S3P_ENOMEM;
  pthread_mutex_lock(&chain_mutex);
  src->refreshing = 0;
  pthread_cond_broadcast(&chain_cond);
  if(n != NULL){
    *old = chain_unref(src->cur);
    src->cur = n;
    src->failed_at = 0;
    free(*msg);
    *msg = NULL;
  }else{
    src->failed_at = s3p_cred_now();
    if(*msg == NULL) *msg = s3p_store_msg("refreshing credentials: %s",
                                          s3p_errstr(rc));
  }
  return n;
}

/* chain_refresh_main is the thread refreshing src ahead of expiry; its
** result shows in src->cur (or src->failed_at). Returns NULL. */
static void *chain_refresh_main(void *arg){
  s3p_credsrc *src = arg;
  s3p_cred *old = NULL;
  char *msg = NULL;
  pthread_mutex_lock(&chain_mutex);
  chain_fetch(src, &old, &msg);
  pthread_mutex_unlock(&chain_mutex);
  chain_free(old);
  free(msg);          /* nobody to tell: the next due caller tries again */
  return NULL;
}

/* chain_refresh_start starts a detached thread refreshing src, with every
** signal blocked (they are the application's). The caller holds
** chain_mutex and has set src->refreshing. Returns 0, or -1 if no thread
** could be created. */
static int chain_refresh_start(s3p_credsrc *src){
  pthread_attr_t attr;
  pthread_t th;
  sigset_t all, saved;
  int rc;
  if(pthread_attr_init(&attr) != 0) return -1;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  rc = pthread_create(&th, &attr, chain_refresh_main, src);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0 ? 0 : -1;
}

/* chain_dup copies v (NULL stays NULL). Sets *nomem on failure. */
static char *chain_dup(const char *v, int *nomem){
  char *d;
  if(v == NULL) return NULL;
  d = strdup(v);
  if(d == NULL) *nomem = 1;
  return d;
}

/* s3p_cred_open: see cred.h. */
int s3p_cred_open(const s3p_credenv *e, s3p_credsrc **src, s3p_cred **cred,
                  char **errmsg){
  s3p_cred c;
  s3p_credsrc *s, *fresh = NULL;
  char key[65], *tried = NULL, *msg = NULL;
  int rc, nomem = 0;
  size_t i;

  *src = NULL;
  *cred = NULL;
  *errmsg = NULL;
  pthread_once(&chain_once, chain_init);
  rc = s3p_cred_env(e, &c, &msg);
  if(rc == S3P_OK){
    *cred = chain_new_cred(&c);
    return *cred ? S3P_OK : S3P_ENOMEM;
  }
  if(rc != S3P_ENOTFOUND){
    *errmsg = msg;
    return rc;
  }
  tried = msg;
  msg = NULL;
  if(chain_key(e, key) != 0){
    free(tried);
    return S3P_ENOMEM;
  }
  pthread_mutex_lock(&chain_mutex);
  for(s = chain_sources; s; s = s->next){
    if(!s->retired && strcmp(s->key, key) == 0) break;
  }
  pthread_mutex_unlock(&chain_mutex);
  if(s != NULL){
    free(tried);
    *src = s;
    *cred = s3p_cred_current(s, NULL, 0, errmsg);
    return *cred ? S3P_OK : S3P_EAUTH;
  }

  for(i = 0; i < sizeof(chain_providers) / sizeof(chain_providers[0]); i++){
    rc = chain_providers[i](e, &c, &msg);
    if(rc != S3P_ENOTFOUND) break;
    char *t = s3p_store_msg("%s; %s", tried ? tried : "", msg ? msg : "?");
    free(tried);
    free(msg);
    msg = NULL;
    tried = t;
    if(tried == NULL) return S3P_ENOMEM;
  }
  if(rc == S3P_ENOTFOUND){
    *errmsg = s3p_store_msg("no credentials: %s", tried);
    free(tried);
    return S3P_EAUTH;
  }
  free(tried);
  if(rc != S3P_OK){
    *errmsg = msg;
    return rc;
  }
  if(c.expires == 0){
    /* Long-term keys: read at every open like the environment's, and
    ** wiped when the last store using them closes. */
    *cred = chain_new_cred(&c);
    return *cred ? S3P_OK : S3P_ENOMEM;
  }
  fresh = calloc(1, sizeof(*fresh));
  if(fresh == NULL){
    s3p_cred_clear(&c);
    return S3P_ENOMEM;
  }
  memcpy(fresh->key, key, sizeof(key));
  fresh->provider = chain_providers[i];
  fresh->profile = chain_dup(e->profile, &nomem);
  fresh->region = chain_dup(e->region, &nomem);
  fresh->config_path = chain_dup(e->config_path, &nomem);
  fresh->creds_path = chain_dup(e->creds_path, &nomem);
  fresh->explicit_profile = e->explicit_profile;
  fresh->cur = chain_new_cred(&c);
  if(nomem || fresh->cur == NULL){
    chain_src_free(fresh);
    return S3P_ENOMEM;
  }
  pthread_mutex_lock(&chain_mutex);
  for(s = chain_sources; s; s = s->next){
    if(!s->retired && strcmp(s->key, key) == 0) break;
  }
  if(s == NULL){
    /* Ours is the source from now on. */
    fresh->next = chain_sources;
    chain_sources = fresh;
    s = fresh;
    fresh = NULL;
  }
  s->cur->refs++;
  *cred = s->cur;
  pthread_mutex_unlock(&chain_mutex);
  chain_src_free(fresh);       /* another thread won the race */
  *src = s;
  return S3P_OK;
}

/* s3p_cred_current: see cred.h. */
s3p_cred *s3p_cred_current(s3p_credsrc *src, s3p_cred *have, int failed,
                           char **errmsg){
  s3p_cred *res = NULL, *dead = NULL, *old = NULL;
  char *msg = NULL;
  if(src == NULL) return have;          /* environment: nothing to refresh */
  pthread_mutex_lock(&chain_mutex);
  for(;;){
    s3p_cred *cur = src->cur;
    int64_t now = s3p_cred_now();
    int refused = failed && cur == have;
    int valid = !refused && (cur->expires == 0 || now < cur->expires);
    int due = refused
              || (cur->expires != 0
                  && now >= cur->expires - s3p_cred_refresh_margin(cur));
    if(!due){
      res = cur;
      break;
    }
    if(src->refreshing){
      if(valid){
        res = cur;                      /* someone else is on it */
        break;
      }
      pthread_cond_wait(&chain_cond, &chain_mutex);
      continue;
    }
    if(valid && src->failed_at && now < src->failed_at + CHAIN_RETRY_SECS){
      res = cur;                        /* it failed a moment ago */
      break;
    }
    src->refreshing = 1;
    if(valid && chain_refresh_start(src) == 0){
      res = cur;                        /* the new ones come meanwhile */
      break;
    }
    /* Expired, refused, or no thread: ours to fetch, and wait for. */
    res = chain_fetch(src, &old, &msg);
    if(res == NULL && valid) res = cur;
    break;
  }
  if(res){
    res->refs++;
    dead = chain_unref(have);
  }
  pthread_mutex_unlock(&chain_mutex);
  chain_free(dead);
  chain_free(old);
  if(msg && errmsg) *errmsg = msg; else free(msg);
  return res;
}

/* s3p_cred_cache_reset: see cred.h. */
void s3p_cred_cache_reset(void){
  pthread_mutex_lock(&chain_mutex);
  for(s3p_credsrc *s = chain_sources; s; s = s->next) s->retired = 1;
  pthread_mutex_unlock(&chain_mutex);
}
