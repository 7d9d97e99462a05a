/*
** ext.c: how the library makes itself known to SQLite: the loadable-
** extension entry point, and registration when the shared library is
** loaded (so that `LD_PRELOAD=libs3page.so sqlite3 -vfs s3page NAME` finds
** the VFS while the shell parses its arguments).
**
** With S3PAGE_LOG=stderr in the environment the library also installs an
** SQLite log callback that writes s3page's messages (which name the object
** and the cause) to stderr, for programs that set no log callback of their
** own. Nothing is printed unless asked. (In the sqlite3 shell, `.log
** stderr` shows the same messages.)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "s3page.h"

/* ext_log writes SQLite's log messages that come from s3page to stderr. */
static void ext_log(void *arg, int code, const char *msg){
  (void)arg;
  if(msg && !strncmp(msg, "s3page", 6)) fprintf(stderr, "%s\n", msg);
  (void)code;
}

/* ext_autoregister runs when the shared library is loaded. Registering a
** VFS initializes SQLite; if SQLite was not initialized before, shut it down
** again (registrations survive) so that the host program can still call
** sqlite3_config() as it would without s3page, as the sqlite3 shell does. */
__attribute__((constructor)) static void ext_autoregister(void){
  sqlite3_mem_methods probe;
  int was_init = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &probe) != SQLITE_OK;
  if(s3page_register(0) != SQLITE_OK) return;
  if(was_init) return;
  sqlite3_shutdown();
  const char *log = getenv("S3PAGE_LOG");
  if(log && !strcmp(log, "stderr")){
    sqlite3_config(SQLITE_CONFIG_LOG, ext_log, (void *)0);
  }
}

/* ext_unload unregisters the VFS if the library is unloaded (a failed
** .load closes it again), so SQLite never calls into unmapped code. */
__attribute__((destructor)) static void ext_unload(void){
  sqlite3_vfs *v = sqlite3_vfs_find(S3PAGE_VFS_NAME);
  if(v) sqlite3_vfs_unregister(v);
}

int sqlite3_s3page_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi){
  (void)db;
  (void)pApi;
  int rc = s3page_register(0);
  if(rc != SQLITE_OK){
    if(pzErrMsg) *pzErrMsg = sqlite3_mprintf("s3page: cannot register the VFS");
    return rc;
  }
  return SQLITE_OK_LOAD_PERMANENTLY;
}

/* sqlite3_spage_init is the entry point SQLite derives from the file name
** libs3page.so (it keeps only the letters of "s3page"), so that `.load
** libs3page` needs no entry-point argument. */
int sqlite3_spage_init(sqlite3 *db, char **pzErrMsg,
                       const sqlite3_api_routines *pApi){
  return sqlite3_s3page_init(db, pzErrMsg, pApi);
}
