/*
** tool.c: helpers shared by the subcommands of the s3page tool.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tool.h"
#include "../vfs/s3page.h"

static pthread_mutex_t tool_log_mutex = PTHREAD_MUTEX_INITIALIZER;
static char tool_log_buf[1024];   /* last s3page log message */

/* tool_log keeps the last message that s3page sent to sqlite3_log. */
static void tool_log(void *arg, int code, const char *msg){
  (void)arg; (void)code;
  if(!msg || strncmp(msg, "s3page: ", 8)) return;
  pthread_mutex_lock(&tool_log_mutex);
  snprintf(tool_log_buf, sizeof tool_log_buf, "%s", msg + 8);
  pthread_mutex_unlock(&tool_log_mutex);
}

const char *tool_last_log(void){
  return tool_log_buf;
}

void tool_init(void){
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_LOG, tool_log, (void *)0);
  sqlite3_initialize();
  s3page_register(0);
}

void tool_error(const char *fmt, ...){
  va_list ap;
  va_start(ap, fmt);
  fputs("s3page: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int tool_open(sqlite3 **db, const char *name, int writable){
  int flags = SQLITE_OPEN_URI | (writable ?
              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
  tool_log_buf[0] = 0;
  int rc = sqlite3_open_v2(name, db, flags, S3PAGE_VFS_NAME);
  if(rc != SQLITE_OK){
    tool_error("%s", tool_log_buf[0] ? tool_log_buf : sqlite3_errmsg(*db));
    sqlite3_close(*db);
    *db = NULL;
    return 1;
  }
  return 0;
}

int tool_query_text(sqlite3 *db, const char *sql, char **out){
  sqlite3_stmt *st = NULL;
  *out = NULL;
  tool_log_buf[0] = 0;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if(rc == SQLITE_OK) rc = sqlite3_step(st);
  if(rc == SQLITE_ROW){
    const unsigned char *t = sqlite3_column_text(st, 0);
    *out = sqlite3_mprintf("%s", t ? (const char *)t : "");
    rc = SQLITE_OK;
  }
  if(rc != SQLITE_OK && rc != SQLITE_DONE){
    tool_error("%s", tool_log_buf[0] ? tool_log_buf : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return 1;
  }
  sqlite3_finalize(st);
  return 0;
}
