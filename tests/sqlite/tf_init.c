/*
** tf_init.c: makes s3page the default VFS of SQLite's testfixture.
**
** testfixture is built with -DSQLITE_EXTRA_INIT=s3page_testfixture_init,
** so SQLite calls this at the end of every sqlite3_initialize(), before any
** test opens a database: every "test.db" a test names becomes a local
** directory store, and every journal and temp file is the unix VFS's, as
** s3page arranges for any process. A test that shuts SQLite down and
** initializes it again gets s3page back as the default.
*/
#include <sqlite3.h>
#include "s3page.h"

int s3page_testfixture_init(const char *unused);

/* s3page_testfixture_init registers s3page as the default VFS. Returns an
** SQLite result code (sqlite3_initialize returns it). */
int s3page_testfixture_init(const char *unused){
  (void)unused;
  return s3page_register(1);
}
