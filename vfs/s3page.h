/*
** s3page.h: the public API of s3page, a SQLite VFS that keeps a database
** in S3 (or a local directory) as immutable content-addressed page objects
** plus a log of commit records, readable at any past version.
**
** Use it one of three ways:
**   - link libs3page and call s3page_register(), then open databases with
**     the VFS "s3page": sqlite3_open_v2("s3://bucket/db", &db,
**     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "s3page");
**   - load it as an extension: SELECT load_extension('libs3page'), or
**     .load libs3page in the sqlite3 shell (the VFS stays registered);
**   - preload it (LD_PRELOAD=libs3page.so sqlite3 -vfs s3page NAME): the
**     library registers the VFS when it is loaded.
**
** Database names: "s3://BUCKET/PREFIX" is a database in S3; any other name
** is a database in a local directory of that name. URI parameters
** (file:NAME?vfs=s3page&version=3) select options: version, asof,
** staleness, checkpoint, cache_mb, txbuf_mb, endpoint, region,
** concurrency (see docs/ and README.md).
**
** Pragmas on an s3page database:
**   PRAGMA s3page_version;       the version this connection sees
**   PRAGMA s3page_stats;         store requests and bytes of this connection
**   PRAGMA s3page_stats=reset;   zero the counters
**   PRAGMA s3page_error;         the last error message, with object names
**
** The library is built against the system libsqlite3 and calls it
** directly; a program that loads it must use that same library.
*/
#ifndef S3PAGE_H
#define S3PAGE_H

#include <stdint.h>
#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

#define S3PAGE_VFS_NAME "s3page"
#define S3PAGE_VERSION_STRING "0.1.0"

/* File-control opcode of s3page_stats_get (sqlite3_file_control). */
#define S3PAGE_FCNTL_STATS 0x53335001

/* Counters of one open database (one connection's main file). */
typedef struct s3page_stats {
  uint64_t version;          /* version the connection sees */
  uint64_t n_get;            /* GET requests */
  uint64_t n_put;            /* PUT requests (pages, nodes, records, HEAD) */
  uint64_t n_head;           /* HEAD requests */
  uint64_t n_delete;         /* DELETE requests */
  uint64_t n_list;           /* LIST requests */
  uint64_t n_retry;          /* retried attempts */
  uint64_t n_error;          /* failed requests */
  uint64_t bytes_in;         /* bytes received */
  uint64_t bytes_out;        /* bytes sent */
  uint64_t round_trips;      /* sequential request batches */
  uint64_t n_commit;         /* versions committed */
  uint64_t n_conflict;       /* commits lost to another writer */
} s3page_stats;

/* s3page_register registers the "s3page" VFS (as the default VFS if
** make_default is non-zero). Safe to call more than once and from several
** threads. Returns an SQLite result code. */
int s3page_register(int make_default);

/* s3page_stats_get copies the counters of database schema ("main" or NULL
** for main) of connection db into *out. Returns SQLITE_OK, or
** SQLITE_NOTFOUND if that database is not an s3page database. */
int s3page_stats_get(sqlite3 *db, const char *schema, s3page_stats *out);

/* sqlite3_s3page_init is the loadable-extension entry point;
** sqlite3_spage_init is the same, under the name SQLite derives from the
** file name libs3page.so. */
int sqlite3_s3page_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi);
int sqlite3_spage_init(sqlite3 *db, char **pzErrMsg,
                       const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif
