/*
** testdb.h: shared helpers of the SQL-level tests (tests/sql/).
**
** tdb_init() must run first in main(): it installs a capture of
** sqlite3_log messages (before SQLite initializes), registers the s3page
** VFS and prepares where test databases live:
**   - if S3PAGE_TEST_STORE is set (e.g. s3://bucket/prefix), databases are
**     named S3PAGE_TEST_STORE/<tag>-<pid>-<n>, and S3PAGE_LOCK_DIR (if
**     unset) is set to a directory under a private local root removed at
**     exit, so their local lock files do not outlive the run;
**   - else they are fresh directories under a private mkdtemp root that
**     is removed when the process that called tdb_init exits.
** Helpers print "# " diagnostics on failure and never abort, so the
** calling CHECK decides what a failure means.
*/
#ifndef S3P_TESTDB_H
#define S3P_TESTDB_H

#include <stdint.h>
#include <sqlite3.h>
#include "../../vfs/s3page.h"

/* tdb_init sets up logging capture, the VFS and the database root.
** Returns 0, or -1 (with a "#" diagnostic) if the setup failed. */
int tdb_init(void);

/* tdb_on_s3 returns 1 when databases live in S3 (S3PAGE_TEST_STORE). */
int tdb_on_s3(void);

/* tdb_quick returns 1 when S3PAGE_TEST_QUICK=1 asks for shorter runs. */
int tdb_quick(void);

/* tdb_name returns a fresh database name (malloc'd) containing tag. */
char *tdb_name(const char *tag);

/* tdb_elsewhere returns URI parameters (malloc'd) that make a connection
** act as if on another machine: "lock_dir=" a fresh local directory, so
** it shares no local lock with the connections opened without them. */
char *tdb_elsewhere(void);

/* tdb_uri returns "file:NAME?vfs=s3page[&PARAMS]" (malloc'd); params may
** be NULL or "". */
char *tdb_uri(const char *name, const char *params);

/* tdb_open opens database name through the s3page VFS with URI params
** (may be NULL) and SQLite open flags (0 means READWRITE|CREATE). On
** success returns the handle and sets *rc (if not NULL) to SQLITE_OK; on
** failure returns NULL, sets *rc to the extended error code and prints a
** diagnostic unless quiet is set. */
sqlite3 *tdb_open_ex(const char *name, const char *params, int flags,
                     int quiet, int *rc);

/* tdb_open opens name read-write (creating it) with params. Returns the
** handle or NULL (with a diagnostic). */
sqlite3 *tdb_open(const char *name, const char *params);

/* tdb_exec runs sql (several statements allowed). Returns the extended
** result code; prints the error as a diagnostic when it is not SQLITE_OK. */
int tdb_exec(sqlite3 *db, const char *sql);

/* tdb_exec_quiet is tdb_exec without the diagnostic (for expected
** failures). Returns the extended result code. */
int tdb_exec_quiet(sqlite3 *db, const char *sql);

/* tdb_execf is tdb_exec of a printf-style formatted statement. Returns the
** extended result code. */
int tdb_execf(sqlite3 *db, const char *fmt, ...);

/* tdb_int runs sql and returns the integer in the first column of its
** first row; on error or no row returns INT64_MIN (with a diagnostic). */
int64_t tdb_int(sqlite3 *db, const char *sql);

/* tdb_text runs sql and returns the text of the first column of its first
** row (malloc'd), or NULL on error or no row (with a diagnostic). */
char *tdb_text(sqlite3 *db, const char *sql);

/* tdb_text_is returns 1 if tdb_text(db, sql) equals want, else 0 (printing
** what it got). */
int tdb_text_is(sqlite3 *db, const char *sql, const char *want);

/* tdb_integrity_ok returns 1 if PRAGMA integrity_check says exactly "ok". */
int tdb_integrity_ok(sqlite3 *db);

/* tdb_version returns PRAGMA s3page_version, or INT64_MIN on error. */
int64_t tdb_version(sqlite3 *db);

/* tdb_stats parses PRAGMA s3page_stats of db into *out. Returns 0, or -1
** if the pragma failed or a field is missing. */
int tdb_stats(sqlite3 *db, s3page_stats *out);

/* tdb_stats_reset runs PRAGMA s3page_stats=reset. Returns 0 or -1. */
int tdb_stats_reset(sqlite3 *db);

/* tdb_log_clear empties the captured sqlite3_log text. */
void tdb_log_clear(void);

/* tdb_log_has returns 1 if the captured log contains needle, else 0. */
int tdb_log_has(const char *needle);

/* tdb_log_text returns a malloc'd copy of the captured log ("" if none). */
char *tdb_log_text(void);

/* tdb_log_dump prints the captured log as "#" diagnostics. */
void tdb_log_dump(void);

/* tdb_now_ms returns the wall-clock time in Unix milliseconds. */
int64_t tdb_now_ms(void);

/* tdb_sleep_ms sleeps ms milliseconds. */
void tdb_sleep_ms(int ms);

/* tdb_rm_rf removes the directory tree at path. */
void tdb_rm_rf(const char *path);

#endif
