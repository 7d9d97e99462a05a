/*
** fakes3.h: starting and stopping tests/fake-s3-nocond.py (an in-memory
** S3 look-alike on 127.0.0.1) and tests/fake-aws.py from a C test.
*/
#ifndef S3P_FAKES3_H
#define S3P_FAKES3_H

#include <sys/types.h>

/* A fake S3 server child process. */
typedef struct fakes3 {
  pid_t pid;                    /* the python process, 0 if none */
  char endpoint[64];            /* http://127.0.0.1:PORT */
} fakes3;

/* fakes3_find_script locates tests/fake-s3-nocond.py from the current
** directory or from argv0 (a binary under build/tests/KIND or
** build/asan/tests/KIND). Returns 0, or -1 if it is not there or python3
** does not run. */
int fakes3_find_script(const char *argv0);

/* fakes3_start runs the server with the NULL-terminated option list after
** f (at most 29 options; the child inherits the environment) and reads the
** port it prints. Returns 0, or -1 if it did not start. */
int fakes3_start(fakes3 *f, ...);

/* fakes3_start_aws runs tests/fake-aws.py (the fake of STS, SSO, the
** container and instance metadata endpoints and a signature-checking S3)
** the same way. Returns 0, or -1 if it did not start. */
int fakes3_start_aws(fakes3 *f, ...);

/* fakes3_stop ends a server started by fakes3_start (no-op otherwise). */
void fakes3_stop(fakes3 *f);

#endif
