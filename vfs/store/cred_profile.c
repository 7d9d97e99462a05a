/*
** cred_profile.c: the shared config and credentials files provider. For
** the profile, in the order the AWS SDKs use:
**   role_arn            STS AssumeRole signed with the credentials of
**                       source_profile (resolved the same way, at most 4
**                       deep) or credential_source (Environment,
**                       Ec2InstanceMetadata, EcsContainer); with
**                       web_identity_token_file instead, STS
**                       AssumeRoleWithWebIdentity
**   sso_session or sso_start_url   SSO GetRoleCredentials (cred_sso.c)
**   aws_access_key_id + aws_secret_access_key (+ aws_session_token)
**   credential_process  run through /bin/sh; its standard output is the
**                       JSON of Version 1 (AccessKeyId, SecretAccessKey,
**                       SessionToken, Expiration)
** A key is looked up in the credentials file's [NAME] first, then in the
** config file's [profile NAME] ([default] for the default profile).
*/
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cred.h"

/* Largest shared file we read. */
#define PROF_FILE_MAX (1u << 20)
/* Largest credential_process output we accept. */
#define PROF_PROCESS_MAX (64u << 10)
/* Deepest chain of source_profile we follow. */
#define PROF_DEPTH 4

extern char **environ;

/* The two shared files' text. */
typedef struct prof_files {
  char *config;                 /* config file text or NULL */
  size_t config_len;            /* its length */
  char *creds;                  /* credentials file text or NULL */
  size_t creds_len;             /* its length */
} prof_files;

/* prof_get returns the malloc'd value of key for profile name (credentials
** file first, then config), or NULL; *found |= the profile's section
** exists; *nomem set when out of memory. */
static char *prof_get(const prof_files *f, const char *name, const char *key,
                      int *found, int *nomem){
  char *v = NULL, *sect;
  int fnd = 0;
  if(f->creds){
    v = s3p_cred_ini_get(f->creds, f->creds_len, name, key, &fnd, nomem);
    if(fnd) *found = 1;
  }
  if(v == NULL && f->config){
    sect = s3p_store_msg("profile %s", name);
    if(sect == NULL){
      *nomem = 1;
      return NULL;
    }
    v = s3p_cred_ini_get(f->config, f->config_len, sect, key, &fnd, nomem);
    if(fnd) *found = 1;
    if(v == NULL && strcmp(name, "default") == 0){
      v = s3p_cred_ini_get(f->config, f->config_len, "default", key, &fnd,
                           nomem);
      if(fnd) *found = 1;
    }
    free(sect);
  }
  if(v && v[0] == 0){
    free(v);
    v = NULL;
  }
  return v;
}

/* prof_process runs command through /bin/sh and decodes its output into
** *out. Returns S3P_OK or an error with *msg set. */
static int prof_process(const char *name, const char *command, s3p_cred *out,
                        char **msg){
  posix_spawn_file_actions_t fa;
  char *argv[4], *buf;
  int pfd[2], st = 0, rc;
  size_t n = 0;
  pid_t pid;
  const char *why = NULL;

  memset(out, 0, sizeof(*out));
  if(pipe2(pfd, O_CLOEXEC) != 0){
    *msg = s3p_store_msg("profile %s: credential_process: pipe: %s", name,
                         strerror(errno));
    return S3P_EAUTH;
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  argv[0] = "sh";
  argv[1] = "-c";
  argv[2] = (char *)command;
  argv[3] = NULL;
  rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if(rc != 0){
    close(pfd[0]);
    *msg = s3p_store_msg("profile %s: credential_process: cannot run "
                         "/bin/sh: %s", name, strerror(rc));
    return S3P_EAUTH;
  }
  buf = malloc(PROF_PROCESS_MAX + 1);
  while(buf){
    ssize_t r = read(pfd[0], buf + n, PROF_PROCESS_MAX + 1 - n);
    if(r < 0 && errno == EINTR) continue;
    if(r <= 0) break;
    n += (size_t)r;
    if(n > PROF_PROCESS_MAX) break;
  }
  close(pfd[0]);
  while(waitpid(pid, &st, 0) < 0 && errno == EINTR){}
  if(buf == NULL) return S3P_ENOMEM;
  if(n > PROF_PROCESS_MAX){
    *msg = s3p_store_msg("profile %s: credential_process wrote more than %u "
                         "bytes", name, PROF_PROCESS_MAX);
    rc = S3P_EAUTH;
  }else if(!WIFEXITED(st) || WEXITSTATUS(st) != 0){
    *msg = s3p_store_msg("profile %s: credential_process %s %d", name,
                         WIFEXITED(st) ? "exited with status"
                                       : "was killed by signal",
                         WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    rc = S3P_EAUTH;
  }else{
    buf[n] = 0;
    rc = s3p_cred_parse_json(buf, n, S3P_CREDJSON_PROCESS, out, &why);
    if(rc == S3P_ECORRUPT){
      *msg = s3p_store_msg("profile %s: credential_process output: %s", name,
                           why);
      rc = S3P_EAUTH;
    }
  }
  s3p_wipe(buf, n < PROF_PROCESS_MAX ? n + 1 : PROF_PROCESS_MAX + 1);
  free(buf);
  if(rc == S3P_OK) out->obtained = s3p_cred_now();
  return rc;
}

static int prof_resolve(const s3p_credenv *e, const prof_files *f,
                        const char *name, int depth, s3p_cred *out,
                        char **msg);

/* prof_role assumes role_arn of profile name with the credentials of its
** source. Returns S3P_OK or an error with *msg set. */
static int prof_role(const s3p_credenv *e, const prof_files *f,
                     const char *name, const char *role, int depth,
                     s3p_cred *out, char **msg){
  int found = 0, nomem = 0, rc;
  char *srcp = prof_get(f, name, "source_profile", &found, &nomem);
  char *csrc = prof_get(f, name, "credential_source", &found, &nomem);
  char *webf = prof_get(f, name, "web_identity_token_file", &found, &nomem);
  char *sess = prof_get(f, name, "role_session_name", &found, &nomem);
  char *ext = prof_get(f, name, "external_id", &found, &nomem);
  s3p_cred src;
  memset(&src, 0, sizeof(src));
  if(nomem){
    rc = S3P_ENOMEM;
  }else if(webf){
    rc = s3p_sts_web_identity(e, role, sess, webf, out, msg);
  }else if(srcp && depth >= PROF_DEPTH){
    *msg = s3p_store_msg("profile %s: source_profile chain longer than %d "
                         "(a loop?)", name, PROF_DEPTH);
    rc = S3P_EAUTH;
  }else if(srcp){
    if(strcmp(srcp, name) == 0){
      /* A profile may be its own source: its static keys. */
      char *ak = prof_get(f, name, "aws_access_key_id", &found, &nomem);
      char *sk = prof_get(f, name, "aws_secret_access_key", &found, &nomem);
      char *tk = prof_get(f, name, "aws_session_token", &found, &nomem);
      src.access_key = ak;
      src.secret_key = sk;
      src.session_token = tk;
      rc = nomem ? S3P_ENOMEM : s3p_cred_check(&src) ? S3P_OK : S3P_EAUTH;
      if(rc == S3P_EAUTH){
        *msg = s3p_store_msg("profile %s: its own source_profile but no "
                             "static keys", name);
      }
    }else{
      rc = prof_resolve(e, f, srcp, depth + 1, &src, msg);
    }
    if(rc == S3P_OK){
      rc = s3p_sts_assume_role(e, &src, role, sess, ext, out, msg);
    }
  }else if(csrc){
    s3p_cred_provider p = strcmp(csrc, "Environment") == 0 ? s3p_cred_env
        : strcmp(csrc, "Ec2InstanceMetadata") == 0 ? s3p_cred_imds
        : strcmp(csrc, "EcsContainer") == 0 ? s3p_cred_container : NULL;
    if(p == NULL){
      *msg = s3p_store_msg("profile %s: credential_source %s is not one of "
                           "Environment, Ec2InstanceMetadata, EcsContainer",
                           name, csrc);
      rc = S3P_EAUTH;
    }else{
      rc = p(e, &src, msg);
      if(rc == S3P_ENOTFOUND){
        char *m = s3p_store_msg("profile %s: credential_source %s: %s", name,
                                csrc, *msg ? *msg : "not available");
        free(*msg);
        *msg = m;
        rc = S3P_EAUTH;
      }
      if(rc == S3P_OK){
        rc = s3p_sts_assume_role(e, &src, role, sess, ext, out, msg);
      }
    }
  }else{
    *msg = s3p_store_msg("profile %s: role_arn without source_profile, "
                         "credential_source or web_identity_token_file",
                         name);
    rc = S3P_EAUTH;
  }
  s3p_cred_clear(&src);
  free(srcp);
  free(csrc);
  free(webf);
  free(sess);
  free(ext);
  return rc;
}

/* prof_resolve gets the credentials of profile name (see the top of the
** file). Returns S3P_OK, S3P_ENOTFOUND with *msg saying what is missing,
** or an error with *msg set. */
static int prof_resolve(const s3p_credenv *e, const prof_files *f,
                        const char *name, int depth, s3p_cred *out,
                        char **msg){
  int found = 0, nomem = 0, rc;
  char *role = prof_get(f, name, "role_arn", &found, &nomem);
  char *sso = prof_get(f, name, "sso_session", &found, &nomem);
  char *ssourl = prof_get(f, name, "sso_start_url", &found, &nomem);
  char *ak = prof_get(f, name, "aws_access_key_id", &found, &nomem);
  char *sk = prof_get(f, name, "aws_secret_access_key", &found, &nomem);
  char *tk = prof_get(f, name, "aws_session_token", &found, &nomem);
  char *proc = prof_get(f, name, "credential_process", &found, &nomem);

  memset(out, 0, sizeof(*out));
  if(nomem){
    rc = S3P_ENOMEM;
  }else if(!found){
    *msg = s3p_store_msg("profile %s not found in ~/.aws", name);
    rc = S3P_ENOTFOUND;
  }else if(role){
    rc = prof_role(e, f, name, role, depth, out, msg);
  }else if(sso || ssourl){
    char *reg = prof_get(f, name, "sso_region", &found, &nomem);
    char *acct = prof_get(f, name, "sso_account_id", &found, &nomem);
    char *rname = prof_get(f, name, "sso_role_name", &found, &nomem);
    s3p_ssoreq q = { name, sso, ssourl, reg, acct, rname };
    rc = nomem ? S3P_ENOMEM
               : s3p_sso_role_credentials(f->config, f->config_len, &q, out,
                                          msg);
    free(reg);
    free(acct);
    free(rname);
  }else if(ak || sk){
    out->access_key = ak;
    out->secret_key = sk;
    out->session_token = tk;
    ak = sk = tk = NULL;
    rc = S3P_OK;
    if(!s3p_cred_check(out)){
      s3p_cred_clear(out);
      *msg = s3p_store_msg("profile %s: aws_access_key_id and "
                           "aws_secret_access_key must both be set, without "
                           "line breaks or separators in the key id", name);
      rc = S3P_EAUTH;
    }
  }else if(proc){
    rc = prof_process(name, proc, out, msg);
  }else{
    *msg = s3p_store_msg("profile %s has no credentials", name);
    rc = S3P_ENOTFOUND;
  }
  free(role);
  free(sso);
  free(ssourl);
  free(ak);
  s3p_wipe_str(sk);
  s3p_wipe_str(tk);
  free(proc);
  return rc;
}

/* prof_load reads the file at path into *text. Returns S3P_OK (NULL text
** when there is no such file) or S3P_ENOMEM / S3P_EIO with *msg set. */
static int prof_load(const char *path, char **text, size_t *len, char **msg){
  int rc;
  *text = NULL;
  *len = 0;
  if(path == NULL) return S3P_OK;
  rc = s3p_cred_read_file(path, PROF_FILE_MAX, text, len);
  if(rc == S3P_ENOTFOUND) return S3P_OK;
  if(rc == S3P_EIO){
    *msg = s3p_store_msg("%s: unreadable or bigger than %u bytes", path,
                         PROF_FILE_MAX);
  }
  return rc;
}

/* s3p_cred_profile is the shared files provider. Returns S3P_OK,
** S3P_ENOTFOUND with *msg the clause, or an error with *msg set. */
int s3p_cred_profile(const s3p_credenv *e, s3p_cred *out, char **msg){
  prof_files f;
  int rc;
  memset(&f, 0, sizeof(f));
  memset(out, 0, sizeof(*out));
  rc = prof_load(e->creds_path, &f.creds, &f.creds_len, msg);
  if(rc == S3P_OK) rc = prof_load(e->config_path, &f.config, &f.config_len,
                                  msg);
  if(rc == S3P_OK) rc = prof_resolve(e, &f, e->profile, 0, out, msg);
  if(rc == S3P_ENOTFOUND && e->explicit_profile && strstr(*msg, "not found")){
    /* A profile asked for by name must exist (the SDKs agree). */
    free(*msg);
    *msg = s3p_store_msg("AWS profile \"%s\" is in neither "
                         "~/.aws/credentials nor ~/.aws/config", e->profile);
    rc = S3P_EINVAL;
  }
  if(f.creds){
    s3p_wipe(f.creds, f.creds_len + 1);
    free(f.creds);
  }
  if(f.config){
    s3p_wipe(f.config, f.config_len + 1);
    free(f.config);
  }
  if(rc == S3P_OK) out->source = "shared config files";
  return rc;
}
