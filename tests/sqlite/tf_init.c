/*
** tf_init.c: makes s3page the default VFS of SQLite's testfixture.
**
** testfixture is built with -DSQLITE_EXTRA_INIT=s3page_testfixture_init,
** so SQLite calls this at the end of every sqlite3_initialize(), before any
** test opens a database: every "test.db" a test names becomes a local
** directory store, and every journal and temp file is the unix VFS's, as
** s3page arranges for any process. A test that shuts SQLite down and
** initializes it again gets s3page back as the default.
**
** With S3PAGE_TESTFIXTURE_DEFAULT=0 in the environment s3page is registered
** but the unix VFS stays the default: the same binary then runs the tests
** as stock SQLite does, to compare times and results.
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "s3page.h"

int s3page_testfixture_init(const char *unused);

/* s3page_testfixture_init registers s3page, as the default VFS unless the
** environment says otherwise. Returns an SQLite result code (which
** sqlite3_initialize returns). */
int s3page_testfixture_init(const char *unused){
  const char *def = getenv("S3PAGE_TESTFIXTURE_DEFAULT");
  (void)unused;
  return s3page_register(!(def && !strcmp(def, "0")));
}
