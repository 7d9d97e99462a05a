/*
** fakes3.c: the fake S3 server as a child process of a test (fakes3.h).
*/
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fakes3.h"

static char fakes3_script[4200];   /* path of the script, "" until found */

/* fakes3_find_script: see fakes3.h. Returns 0 or -1. */
int fakes3_find_script(const char *argv0){
  const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
  static const char *const up[] = { ".", "/../../..", "/../../../.." };
  for(int i = 0; i < 3; i++){
    if(i == 0){
      snprintf(fakes3_script, sizeof fakes3_script,
               "tests/fake-s3-nocond.py");
    }else if(slash){
      snprintf(fakes3_script, sizeof fakes3_script,
               "%.*s%s/tests/fake-s3-nocond.py", (int)(slash - argv0), argv0,
               up[i]);
    }else{
      break;
    }
    if(access(fakes3_script, R_OK) == 0){
      return system("python3 -c '' >/dev/null 2>&1") == 0 ? 0 : -1;
    }
  }
  fakes3_script[0] = 0;
  return -1;
}

/* fakes3_vstart runs python3 script with the options in ap. Returns 0
** or -1. */
static int fakes3_vstart(fakes3 *f, const char *script, va_list ap){
  const char *argv[32];
  char line[32];
  int pfd[2], n = 0;
  memset(f, 0, sizeof *f);
  if(fakes3_script[0] == 0) return -1;
  argv[n++] = "python3";
  argv[n++] = script;
  while(n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL) n++;
  argv[n] = NULL;
  if(pipe(pfd) != 0) return -1;
  fflush(stdout);
  f->pid = fork();
  if(f->pid < 0){ close(pfd[0]); close(pfd[1]); f->pid = 0; return -1; }
  if(f->pid == 0){
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execvp("python3", (char *const *)argv);
    _exit(127);
  }
  close(pfd[1]);
  FILE *in = fdopen(pfd[0], "r");
  if(in == NULL || fgets(line, sizeof line, in) == NULL || atoi(line) <= 0){
    if(in) fclose(in); else close(pfd[0]);
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
    return -1;
  }
  fclose(in);
  snprintf(f->endpoint, sizeof f->endpoint, "http://127.0.0.1:%d",
           atoi(line));
  return 0;
}

/* fakes3_start: see fakes3.h. Returns 0 or -1. */
int fakes3_start(fakes3 *f, ...){
  va_list ap;
  int rc;
  va_start(ap, f);
  rc = fakes3_vstart(f, fakes3_script, ap);
  va_end(ap);
  return rc;
}

/* fakes3_start_aws: see fakes3.h. Returns 0 or -1. */
int fakes3_start_aws(fakes3 *f, ...){
  char script[sizeof fakes3_script];
  size_t n = strlen(fakes3_script);
  va_list ap;
  int rc;
  /* fake-aws.py sits next to fake-s3-nocond.py. */
  if(n < strlen("fake-s3-nocond.py")) return -1;
  snprintf(script, sizeof script, "%.*sfake-aws.py",
           (int)(n - strlen("fake-s3-nocond.py")), fakes3_script);
  va_start(ap, f);
  rc = fakes3_vstart(f, script, ap);
  va_end(ap);
  return rc;
}

/* fakes3_stop: see fakes3.h. */
void fakes3_stop(fakes3 *f){
  if(f->pid > 0){
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
  }
  f->pid = 0;
}
