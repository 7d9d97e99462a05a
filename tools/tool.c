/*
** tool.c: helpers shared by the subcommands of the s3page tool.
*/
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

/* tool_now_ms returns a monotonic clock in milliseconds. */
static long long tool_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tool_bar_init(tool_bar *b, const char *label){
  memset(b, 0, sizeof *b);
  b->label = label;
  b->on = isatty(2);
}

void tool_bar_update(void *arg, uint64_t done, uint64_t total){
  tool_bar *b = arg;
  if(!b || !b->on) return;
  long long now = tool_now_ms();
  if(b->drawn && now - b->last_ms < 100 && done != total) return;
  b->last_ms = now;
  b->drawn = 1;
  if(total){
    int width = 40, fill = (int)(done * (uint64_t)width / total);
    char bar[41];
    for(int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu", b->label, bar,
            (int)(done * 100 / total), (unsigned long long)done,
            (unsigned long long)total);
  }else{
    fprintf(stderr, "\r%s %llu", b->label, (unsigned long long)done);
  }
  fflush(stderr);
}

void tool_bar_done(tool_bar *b){
  if(b->on && b->drawn) fputc('\n', stderr);
  b->drawn = 0;
}

int tool_parse_u64(const char *s, uint64_t min, uint64_t *out){
  char *end;
  if(!s || !*s || *s == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if(errno || *end || v < min) return -1;
  *out = v;
  return 0;
}

int tool_parse_time(const char *s, const char *what, int64_t *ms){
  if(s3page_time_parse(s, ms) != SQLITE_OK){
    tool_error("bad %s '%s' (want ISO-8601 UTC like 2026-11-22T10:00:00Z, "
               "or Unix seconds)", what, s ? s : "");
    return -1;
  }
  return 0;
}

int tool_parse_duration(const char *s, int64_t *ms){
  char *end;
  if(!s || !*s || *s == '-') return -1;
  errno = 0;
  double v = strtod(s, &end);
  if(errno || end == s || v < 0) return -1;
  double unit = 1000;
  if(!strcmp(end, "ms")) unit = 1;
  else if(!*end || !strcmp(end, "s")) unit = 1000;
  else if(!strcmp(end, "m")) unit = 60e3;
  else if(!strcmp(end, "h")) unit = 3600e3;
  else if(!strcmp(end, "d")) unit = 86400e3;
  else return -1;
  if(v * unit > 1e15) return -1;
  *ms = (int64_t)(v * unit + 0.5);
  return 0;
}

void tool_format_time(char *out, int64_t ms){
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
           tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
           tm.tm_sec % 100, (int)(ms % 1000));
}

void tool_json_string(const char *s){
  putchar('"');
  for(const unsigned char *p = (const unsigned char *)s; *p; p++){
    if(*p == '"' || *p == '\\') printf("\\%c", *p);
    else if(*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}
