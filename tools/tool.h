/*
** tool.h: helpers shared by the subcommands of the s3page tool.
*/
#ifndef S3P_TOOL_H
#define S3P_TOOL_H

#include <stdint.h>
#include <sqlite3.h>

/* One subcommand: its name and its main (argv[0] is the name). */
typedef struct tool_command {
  const char *name;          /* as typed after "s3page" */
  int (*run)(int argc, char **argv);  /* returns the exit status */
} tool_command;

/* tool_init sets up SQLite for the tool: the log callback that keeps the
** last s3page message (for tool_error) and the VFS. */
void tool_init(void);

/* tool_error prints "s3page: MESSAGE" as one line on stderr. */
void tool_error(const char *fmt, ...);

/* tool_open opens database name (read-only unless writable) with the
** s3page VFS. Prints the error and returns non-zero on failure. */
int tool_open(sqlite3 **db, const char *name, int writable);

/* tool_query_text runs sql and sets *out (sqlite3_malloc'd) to the first
** column of its first row. Prints the error and returns non-zero on
** failure. */
int tool_query_text(sqlite3 *db, const char *sql, char **out);

/* tool_last_log returns the last message s3page logged, or "". */
const char *tool_last_log(void);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct tool_bar {
  const char *label;         /* what is being done ("import") */
  int on;                    /* stderr is a TTY */
  int drawn;                 /* something was drawn (needs a newline) */
  long long last_ms;         /* when it was last drawn */
} tool_bar;

/* tool_bar_init prepares bar b with label. */
void tool_bar_init(tool_bar *b, const char *label);

/* tool_bar_update is an s3page_progress_fn (arg: a tool_bar). */
void tool_bar_update(void *arg, uint64_t done, uint64_t total);

/* tool_bar_done ends the bar's line if one was drawn. */
void tool_bar_done(tool_bar *b);

/* tool_parse_u64 parses a decimal >= min into *out. Returns 0 or -1. */
int tool_parse_u64(const char *s, uint64_t min, uint64_t *out);

/* tool_parse_time parses an ISO-8601 UTC time or Unix seconds into *ms,
** printing an error naming what on failure. Returns 0 or -1. */
int tool_parse_time(const char *s, const char *what, int64_t *ms);

/* tool_parse_duration parses "90", "90s", "15m", "2h", "7d" (also "0")
** into *ms. Returns 0 or -1. */
int tool_parse_duration(const char *s, int64_t *ms);

/* tool_format_time writes ms as ISO-8601 UTC ("2026-11-22T10:00:00Z",
** with milliseconds) into out[32]. */
void tool_format_time(char *out, int64_t ms);

/* tool_json_string prints s as a JSON string literal on stdout. */
void tool_json_string(const char *s);

/* The subcommands defined in cmd_*.c (argv[0] is the command name). */
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_revert(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_hydrate(int argc, char **argv);

#endif
