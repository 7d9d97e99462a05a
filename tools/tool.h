/*
** tool.h: helpers shared by the subcommands of the s3page tool.
*/
#ifndef S3P_TOOL_H
#define S3P_TOOL_H

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

#endif
