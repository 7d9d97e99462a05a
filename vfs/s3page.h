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
**   PRAGMA s3page_stats=reset;   report the counters, then zero them
**   PRAGMA s3page_error;         the last error message, with object names
**   PRAGMA s3page_cache;         the process-wide page cache: limit, bytes
**   PRAGMA s3page_hydrate;       hydration progress (prefetch=all);
**                                "=start" starts one on this connection
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
  uint64_t n_put_new;        /* of which conditional (create-if-absent) */
  uint64_t n_head;           /* HEAD requests */
  uint64_t n_delete;         /* DELETE requests */
  uint64_t n_list;           /* LIST requests */
  uint64_t n_retry;          /* retried attempts */
  uint64_t n_error;          /* failed requests */
  uint64_t bytes_in;         /* bytes received */
  uint64_t bytes_out;        /* bytes sent */
  uint64_t round_trips;      /* sequential request batches */
  uint64_t n_commit;         /* versions committed */
  uint64_t n_conflict;       /* commit attempts lost to another writer */
  uint64_t n_rebase;         /* of those, rebased on the winners and
                             ** committed after them (not returned) */
} s3page_stats;

/* s3page_register registers the "s3page" VFS (as the default VFS if
** make_default is non-zero). Safe to call more than once and from several
** threads. Returns an SQLite result code. */
int s3page_register(int make_default);

/* s3page_stats_get copies the counters of database schema ("main" or NULL
** for main) of connection db into *out. Returns SQLITE_OK, or
** SQLITE_NOTFOUND if that database is not an s3page database. */
int s3page_stats_get(sqlite3 *db, const char *schema, s3page_stats *out);

/* Retry policy of s3page_transaction; a field <= 0 takes its default. */
typedef struct s3page_retry {
  int max_attempts;          /* runs at most (default 10) */
  int base_ms;               /* first pause bound (default 10 ms) */
  int max_ms;                /* largest pause bound (default 1000 ms) */
} s3page_retry;

/* The body of a transaction: runs statements on db, returns an SQLite
** code (SQLITE_OK to commit). It may run several times, so it must have no
** effect outside the database (or only idempotent ones), and must not
** BEGIN, COMMIT or ROLLBACK itself. */
typedef int (*s3page_txn_fn)(sqlite3 *db, void *arg);

/* s3page_transaction runs fn(db, arg) inside BEGIN IMMEDIATE ... COMMIT and
** runs it again, after a jittered exponential pause, while the transaction
** fails with SQLITE_BUSY or SQLITE_BUSY_SNAPSHOT (another writer changed
** what it read: the serializable-transaction retry loop), up to
** opts->max_attempts runs. opts may be NULL (defaults); *attempts (if not
** NULL) gets the number of runs. Returns SQLITE_OK once committed, or the
** last error (the transaction rolled back). Works on any database, s3page
** or not. */
int s3page_transaction(sqlite3 *db, s3page_txn_fn fn, void *arg,
                       const s3page_retry *opts, int *attempts);

/*
** History operations: import, export, log, checkpoint, verify, gc,
** revert, diff, copy, stats.
**
** The same operations as the s3page tool, for programs that should not shell
** out. Each takes a database name as above (a directory path or
** s3://BUCKET/PREFIX; S3 settings come from the environment, see README.md),
** opens the store, does its work and closes it. None of them prints. Each
** returns an SQLite result code; on failure, if errmsg is not NULL, *errmsg
** is set to one line naming the object and the cause (free it with
** sqlite3_free) and is NULL otherwise. They are safe to run while other
** processes read and write the database (gc within its rules, see
** docs/history.md). Times are Unix milliseconds.
*/

/* Called now and then during long operations with the work done and the
** total (in pages or objects); total may be 0 when unknown. */
typedef void (*s3page_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* Which version an operation reads. All zero (or a NULL pointer): the
** newest version. */
typedef struct s3page_at {
  uint64_t version;          /* this version, if not 0 */
  int has_asof;              /* else, if set: the newest version committed */
  int64_t asof_ms;           /* at or before asof_ms */
} s3page_at;

/* s3page_time_parse parses an ISO-8601 UTC time (2026-11-22T10:00:00Z,
** 2026-11-22, fractions allowed) or Unix seconds into *ms. Returns
** SQLITE_OK or SQLITE_MISUSE. */
int s3page_time_parse(const char *text, int64_t *ms);

/* Flags of s3page_import. */
#define S3PAGE_IMPORT_FORCE 0x01   /* replace the content of a database that
                                   ** already has versions (the file becomes
                                   ** the next version; history is kept; page
                                   ** 1's change counter, version-valid-for,
                                   ** in-header size and schema cookie are
                                   ** stamped so that open connections drop
                                   ** their caches: docs/history.md) */

/* What s3page_import did. */
typedef struct s3page_import_result {
  uint64_t version;          /* the version created */
  uint32_t page_size;        /* bytes per page, from the file's header */
  uint32_t page_count;       /* pages in the file */
  uint64_t pages_zero;       /* all-zero pages (never stored) */
  uint64_t pages_put;        /* page objects uploaded (distinct contents) */
  uint64_t nodes_put;        /* checkpoint-tree nodes uploaded */
  uint64_t bytes_put;        /* bytes uploaded, objects and record */
  int wal_mode_cleared;      /* 1 if the file was in WAL mode: bytes 18 and
                             ** 19 of page 1 were stored as 1 (rollback
                             ** journal), the one difference on export */
} s3page_import_result;

/* s3page_import copies the plain SQLite database file into database name
** as one new version (a "full image": its record carries the complete page
** map as a checkpoint tree and no change list, so it stays small however
** big the file). The file must be a SQLite database with no -wal or hot
** -journal beside it, and must not change during the import. name must
** have no versions unless flags has S3PAGE_IMPORT_FORCE. res (may be NULL)
** receives what was done. Returns SQLITE_OK; SQLITE_NOTADB for a file that
** is not a SQLite database; SQLITE_CANTOPEN when name has versions and
** FORCE is not given, or the file cannot be read; SQLITE_BUSY when another
** writer created the version first; SQLITE_ABORT when the import stalled
** for 10 minutes (its in-progress marker, which keeps gc from deleting
** what it uploaded, went unrenewed: nothing was committed); or an I/O
** error. */
int s3page_import(const char *file, const char *name, unsigned flags,
                  s3page_progress_fn progress, void *arg,
                  s3page_import_result *res, char **errmsg);

/* What s3page_export wrote. */
typedef struct s3page_export_result {
  uint64_t version;          /* the version exported */
  uint32_t page_size;        /* bytes per page */
  uint32_t page_count;       /* pages written */
  uint64_t bytes_written;    /* size of the file */
  uint64_t n_get;            /* GET requests made (records, nodes, pages) */
  uint64_t n_head;           /* HEAD requests made */
  uint64_t round_trips;      /* sequential request batches (a batch holds
                             ** up to 256 requests, run concurrency at a
                             ** time) */
  uint64_t bytes_in;         /* bytes downloaded */
} s3page_export_result;

/* s3page_export writes version at (NULL: the newest) of database name as a
** plain SQLite database file: to file.tmp, synced, then renamed to file.
** For a database imported and not changed since, the file is identical to
** the one imported (but see wal_mode_cleared). Returns SQLITE_OK,
** SQLITE_CANTOPEN when the database or version does not exist or the file
** cannot be written, SQLITE_CORRUPT when an object is missing or damaged,
** or an I/O error. */
int s3page_export(const char *name, const s3page_at *at, const char *file,
                  s3page_progress_fn progress, void *arg,
                  s3page_export_result *res, char **errmsg);

/* One version, as s3page_log reports it. */
typedef struct s3page_log_entry {
  uint64_t version;          /* the version */
  int64_t time_ms;           /* commit time */
  uint32_t page_size;        /* bytes per page */
  uint32_t page_count;       /* pages after the commit */
  uint32_t nchange;          /* pages the commit changed */
  int full_image;            /* 1: written by import; nchange means nothing,
                             ** the whole database was (re)written */
  int checkpoint;            /* 1: the record carries its own checkpoint */
  uint64_t ckpt_version;     /* the checkpoint the version starts from */
  uint64_t record_bytes;     /* size of the commit record */
  uint64_t bytes_added;      /* with S3PAGE_LOG_SIZES: record_bytes plus the
                             ** stored sizes of the distinct page objects the
                             ** change list names (an upper bound of what the
                             ** commit added: content seen before is stored
                             ** once); UINT64_MAX when unknown (full images,
                             ** or without the flag) */
} s3page_log_entry;

#define S3PAGE_LOG_SIZES 0x01   /* fill bytes_added (HEAD requests) */

/* s3page_log calls fn for the newest limit versions (0: all that gc kept)
** of database name, newest first; a non-zero return from fn stops the log
** and is returned. Costs one GET per version, plus with S3PAGE_LOG_SIZES
** one batch of HEAD requests per version. Returns SQLITE_OK, fn's value,
** SQLITE_CANTOPEN when there is no database, or an error. */
int s3page_log(const char *name, uint64_t limit, unsigned flags,
               int (*fn)(void *arg, const s3page_log_entry *e), void *arg,
               char **errmsg);

/* s3page_checkpoint makes the newest version of database name start from
** a checkpoint: unless it already carries one, it commits a new version
** with no page changes whose record carries the complete page map, so
** that opening it replays no records. *version (may be NULL) gets the
** checkpointed version and *created (may be NULL) whether a version was
** made. Returns SQLITE_OK, SQLITE_CANTOPEN when there is no database,
** SQLITE_BUSY when other writers kept winning, or an error. */
int s3page_checkpoint(const char *name, uint64_t *version, int *created,
                      char **errmsg);

/* What s3page_verify checked. */
typedef struct s3page_verify_result {
  uint64_t oldest;           /* oldest version the store keeps */
  uint64_t newest;           /* newest version */
  uint64_t versions;         /* versions verified */
  uint64_t records;          /* commit records read and checked */
  uint64_t nodes;            /* checkpoint-tree nodes checked */
  uint64_t pages;            /* page objects checked */
  uint64_t bytes;            /* bytes downloaded */
  uint64_t problems;         /* problems found (each reported) */
} s3page_verify_result;

/* s3page_verify checks version at (NULL: the newest) of database name, or
** every version the store keeps when all is set: every commit record
** needed decodes and is consistent with its parent (versions, times, page
** size, truncation, checkpoint pointers), and every checkpoint node and
** page object referenced exists and hashes to its name. Each problem is
** passed to problem (may be NULL) as one line and counted in
** res->problems, and so is any failure that stopped the check (the newest
** version cannot be opened, no database or version, a store error). res
** may be NULL. Returns SQLITE_OK only when all is well (no problem at
** all); else SQLITE_CORRUPT when problems were found, SQLITE_CANTOPEN when
** there is no database or version, or the error that stopped the check. */
int s3page_verify(const char *name, const s3page_at *at, int all,
                  void (*problem)(void *arg, const char *msg),
                  s3page_progress_fn progress, void *arg,
                  s3page_verify_result *res, char **errmsg);

/* The shortest grace period s3page_gc accepts other than 0: connections
** rely on what they learned about the store for up to 10 minutes, plus 5
** minutes for clock skew and the length of a commit (docs/history.md). */
#define S3PAGE_GC_MIN_GRACE_MS (15 * 60 * 1000)

/* Options of s3page_gc: set exactly one of keep_versions, has_keep_since. */
typedef struct s3page_gc_opts {
  uint64_t keep_versions;    /* keep at least the newest N versions */
  int has_keep_since;        /* keep every version needed to open any time */
  int64_t keep_since_ms;     /* from keep_since_ms on */
  int64_t grace_ms;          /* objects younger than this are never deleted,
                             ** nor versions that were the newest within it;
                             ** < 0: the default, one hour; else at least
                             ** S3PAGE_GC_MIN_GRACE_MS (less is refused with
                             ** SQLITE_MISUSE), or 0 when nothing else uses
                             ** the database at all */
  int dry_run;               /* report what would be deleted, delete nothing */
} s3page_gc_opts;

/* What s3page_gc did (or would do, in a dry run). */
typedef struct s3page_gc_result {
  uint64_t newest;           /* newest version when gc started */
  uint64_t oldest_before;    /* oldest version before gc */
  uint64_t oldest_kept;      /* oldest version kept (the new TAIL) */
  uint64_t records_deleted;  /* commit records of dropped versions */
  uint64_t pages_deleted;    /* unreferenced page objects */
  uint64_t nodes_deleted;    /* unreferenced checkpoint nodes */
  uint64_t bytes_freed;      /* bytes of everything deleted */
  uint64_t objects_kept;     /* page and node objects still referenced */
  uint64_t objects_young;    /* unreferenced but within the grace period */
  uint64_t objects_leased;   /* unreferenced but possibly a bulk writer's
                             ** still running (import: lease/ markers) */
  uint64_t leases_live;      /* markers of bulk writers still running */
  uint64_t leases_deleted;   /* markers of writers that stopped long ago */
} s3page_gc_result;

/* s3page_gc deletes the versions of database name that opts does not keep
** and every page and node object no kept version references, if older than
** the grace period and than every import still running (its lease/
** marker). Kept versions stay complete (verify passes for each);
** records are deleted oldest first and only below the kept range, never a
** record newer than the newest version when gc started. Returns SQLITE_OK,
** SQLITE_MISUSE for bad options, SQLITE_CANTOPEN when there is no
** database, or an error (then nothing referenced was deleted). */
int s3page_gc(const char *name, const s3page_gc_opts *opts,
              s3page_progress_fn progress, void *arg,
              s3page_gc_result *res, char **errmsg);

/* What s3page_revert did. */
typedef struct s3page_revert_result {
  uint64_t version;          /* the version created (0: none, the version
                             ** asked for already was the newest) */
  uint64_t parent;           /* the newest version it went on top of */
  uint64_t to;               /* the version whose content it has */
  uint64_t pages_put;        /* page objects uploaded (page 1, stamped) */
  uint64_t nodes_put;        /* checkpoint-tree nodes uploaded */
  uint64_t bytes_put;        /* bytes uploaded, objects and record */
  uint64_t n_get;            /* GET and HEAD requests made */
  uint64_t n_put;            /* PUT requests made (with the HEAD hint) */
} s3page_revert_result;

/* s3page_revert makes the content of version to (an older version, or the
** newest committed at or before a time) the next version of database
** name, keeping history: the versions after it stay readable. It is an
** ordinary create-if-absent commit of a full-image record whose page map
** shares every unchanged node with to's checkpoint: it costs one page
** object (page 1, whose change counter and schema cookie are raised like
** import --force's, so open connections drop their caches), the tree
** nodes on the paths to the pages changed since to's checkpoint, and the
** record. A writer that commits first makes the revert go on top of its
** version; one whose transaction started before the revert committed gets
** SQLITE_BUSY_SNAPSHOT. res (may be NULL) receives what was done. Returns
** SQLITE_OK (also when to is the newest: nothing is made),
** SQLITE_MISUSE when to names no version, SQLITE_CANTOPEN when there is no
** database or no such version, SQLITE_BUSY when other writers kept
** winning, or an error. */
int s3page_revert(const char *name, const s3page_at *to,
                  s3page_revert_result *res, char **errmsg);

/* What s3page_copy did. */
typedef struct s3page_copy_result {
  uint64_t version;          /* newest version copied */
  uint64_t oldest;           /* oldest version copied (SRC's oldest kept) */
  uint64_t objects_copied;   /* page and node objects uploaded */
  uint64_t objects_held;     /* page and node objects DST already had */
  uint64_t objects_vanished; /* listed in SRC, then gone (gc) */
  uint64_t records_copied;   /* commit records created in DST */
  uint64_t bytes_copied;     /* bytes uploaded */
  uint64_t n_get;            /* GET requests, both stores */
  uint64_t n_put;            /* PUT requests to DST (with TAIL, HEAD) */
  uint64_t n_list;           /* LIST requests, both stores */
} s3page_copy_result;

/* s3page_copy copies database from (every version it keeps, or with
** since non-zero the versions from since on, up to its newest when the
** copy starts) into database to, which must be empty or
** an earlier, interrupted copy of from: any two stores (a directory, S3,
** across buckets or accounts; credentials from the environment). Objects
** are copied byte for byte in batches of parallel requests, skipping what
** to already holds (listed once), then the commit records in order with
** create-if-absent, then the HEAD hint: to is a consistent database at
** every moment, and running the copy again after an interruption uploads
** only what is missing. With since, the copy starts at the checkpoint
** version since starts from (at most since; its records are needed to
** open it), to's TAIL names it, and only the objects those versions use
** are copied. progress (may be NULL) counts objects and records. Returns
** SQLITE_OK, SQLITE_CANTOPEN when from has no database (or no version
** since) or to holds another one, or an error. */
int s3page_copy(const char *from, const char *to, uint64_t since,
                s3page_progress_fn progress, void *arg,
                s3page_copy_result *res, char **errmsg);

/* s3page_copy_range is s3page_copy up to version until of from (0: its
** newest), which becomes to's newest version. since == until copies one
** version: with the records from the checkpoint it starts from, which
** opening it replays (to keeps those versions too; at most one checkpoint
** interval of them). A later s3page_copy of from into to continues the
** history from there. Returns as s3page_copy does; SQLITE_CANTOPEN when
** from does not keep until or since > until. */
int s3page_copy_range(const char *from, const char *to, uint64_t since,
                      uint64_t until, s3page_progress_fn progress, void *arg,
                      s3page_copy_result *res, char **errmsg);

/* Default prices of s3page_stats_report: S3 Standard list prices (US
** East), USD: storage per GiB-month, PUT and GET per 1,000 requests. */
#define S3PAGE_PRICE_GB_MONTH 0.023
#define S3PAGE_PRICE_PUT_1K 0.005
#define S3PAGE_PRICE_GET_1K 0.0004

/* Options of s3page_stats_report (all zero: the defaults). */
typedef struct s3page_stats_opts {
  uint64_t keep_versions;    /* retention of the gc estimate (default 100) */
  int has_keep_since;        /* or: keep from keep_since_ms on */
  int64_t keep_since_ms;
  double price_gb_month;     /* prices; <= 0: the defaults above */
  double price_put_1k;
  double price_get_1k;
} s3page_stats_opts;

/* What a database stores and costs. */
typedef struct s3page_stats_report_result {
  uint64_t oldest, newest;   /* versions kept */
  int64_t oldest_ms;         /* their commit times */
  int64_t newest_ms;
  uint64_t commits;          /* kept versions made by commits (not full
                             ** images: import, revert) */
  double avg_pages_per_commit; /* pages changed per such commit */
  uint64_t records, record_bytes; /* objects and bytes by kind (LIST) */
  uint64_t pages, page_bytes;
  uint64_t nodes, node_bytes;
  uint64_t other, other_bytes;    /* HEAD and TAIL */
  uint64_t stored_bytes;     /* all of them */
  uint32_t page_size;        /* of the newest version */
  uint32_t page_count;
  uint64_t logical_bytes;    /* newest version's size */
  uint64_t logical_bytes_all; /* sum of every kept version's size */
  double compression_ratio;  /* page content / page bytes stored */
  double dedup_ratio;        /* logical_bytes_all / distinct page content */
  uint64_t keep_versions;    /* the retention of the gc estimate */
  int64_t keep_since_ms;
  uint64_t gc_objects;       /* what gc would delete at that retention */
  uint64_t gc_bytes;
  uint64_t gc_oldest_kept;
  double price_gb_month;     /* the prices used */
  double price_put_1k;
  double price_get_1k;
  double storage_month;      /* stored_bytes at price_gb_month */
  double commit_puts;        /* PUTs of an average commit */
  double commit_cost;        /* its requests' cost (and one GET) */
  double scan_gets;          /* GETs of a cold scan of the newest version */
  double scan_cost;          /* their cost */
  uint64_t n_get;            /* requests this report made (GET, HEAD) */
  uint64_t n_list;           /* LIST requests (pages of listings) */
} s3page_stats_report_result;

/* s3page_stats_report fills *res (not NULL) with what database name keeps
** and what it costs at the prices of opts (may be NULL): one LIST of each
** kind of object, the records of every kept version, and a dry run of gc.
** Returns SQLITE_OK, SQLITE_CANTOPEN when there is no database, or an
** error. */
int s3page_stats_report(const char *name, const s3page_stats_opts *opts,
                        s3page_stats_report_result *res, char **errmsg);

/* One SQL value, as s3page_diff reports it. */
typedef struct s3page_value {
  int type;                  /* SQLITE_NULL, _INTEGER, _FLOAT, _TEXT, _BLOB */
  int64_t i;                 /* the integer */
  double r;                  /* the real */
  const unsigned char *p;    /* text (not NUL-terminated) or blob bytes */
  int n;                     /* their length */
} s3page_value;

/* A schema entry (table, index, view, trigger) that differs. */
typedef struct s3page_diff_object {
  char op;                   /* 'C' created, 'D' dropped, 'A' altered */
  const char *type;          /* "table", "index", "view", "trigger" */
  const char *name;          /* its name */
  const char *sql_a;         /* its SQL in A (NULL: created, or an
                             ** automatic index) */
  const char *sql_b;         /* its SQL in B (NULL: dropped, or automatic) */
} s3page_diff_object;

/* The pages changed in one b-tree, or in no b-tree. */
typedef struct s3page_diff_btree {
  const char *name;          /* table or index name, "sqlite_schema" for the
                             ** schema; NULL: pages in no b-tree found (free
                             ** list, pointer map, overflow pages whose
                             ** owner was not located) */
  const char *type;          /* "table", "index", or "other" */
  uint32_t pages;            /* pages that differ (in A or B) */
} s3page_diff_btree;

/* One row that differs (S3PAGE_DIFF_ROWS), of a table with a rowid or a
** WITHOUT ROWID table (by its primary key). */
typedef struct s3page_diff_row {
  const char *table;         /* the table */
  char op;                   /* 'I' inserted, 'D' deleted, 'U' updated */
  int64_t rowid;             /* its rowid */
  int ncol;                  /* columns of the table in B (A if dropped) */
  const char *const *names;  /* their names */
  int alias;                 /* the INTEGER PRIMARY KEY column, or -1 */
  const s3page_value *old_v; /* values in A (NULL for 'I'); a record
                             ** shorter than ncol (ALTER TABLE ADD COLUMN)
                             ** has nold < ncol, the rest are defaults */
  int nold;                  /* values in old_v */
  const s3page_value *new_v; /* values in B (NULL for 'D') */
  int nnew;                  /* values in new_v */
  int npk;                   /* WITHOUT ROWID tables: the values (and
                             ** names) are in the record's order, primary
                             ** key first, and the first npk values are the
                             ** key (rowid is 0); 0 for rowid tables */
} s3page_diff_row;

/* Where s3page_diff reports; any callback may be NULL. A non-zero return
** stops the diff and is returned. */
typedef struct s3page_diff_sink {
  void *arg;                                            /* for the callbacks */
  int (*object)(void *arg, const s3page_diff_object *o); /* schema changes */
  int (*btree)(void *arg, const s3page_diff_btree *b);   /* pages per b-tree */
  int (*row)(void *arg, const s3page_diff_row *r);       /* row changes */
} s3page_diff_sink;

#define S3PAGE_DIFF_ROWS 0x01   /* also report the rows that differ */

/* What s3page_diff found and what it cost. */
typedef struct s3page_diff_result {
  uint64_t version_a;        /* the versions compared */
  uint64_t version_b;
  uint64_t pages_changed;    /* pages whose content differs */
  uint64_t objects_changed;  /* schema entries that differ */
  uint64_t rows_inserted;    /* with S3PAGE_DIFF_ROWS */
  uint64_t rows_deleted;
  uint64_t rows_updated;
  uint64_t tables_scanned;   /* tables compared row by row in full (their
                             ** changed pages could not all be located:
                             ** overflow pages without a pointer map, a
                             ** moved root, a new or dropped table) */
  uint64_t tables_skipped;   /* tables whose rows were not compared
                             ** (virtual tables; WITHOUT ROWID tables with
                             ** collations other than SQLite's own) */
  uint64_t n_get;            /* GET and HEAD requests made */
  uint64_t bytes_in;         /* bytes received */
  uint64_t pages_fetched;    /* page objects among them */
  uint64_t nodes_fetched;    /* checkpoint-tree nodes among them */
} s3page_diff_result;

/* s3page_diff compares versions a and b (NULL or all zero: the newest) of
** database name from their page maps: checkpoint subtrees the two share
** are skipped, so the cost follows the size of the change, not of the
** database. It reports the schema entries that differ, the pages changed
** per b-tree, and with S3PAGE_DIFF_ROWS the rows of rowid tables that were
** inserted, deleted or updated, reading only the pages that differ, the
** paths to them and the overflow pages of the rows reported. Returns
** SQLITE_OK, a callback's value, SQLITE_CANTOPEN when there is no database
** or no such version, SQLITE_CORRUPT for a damaged page, or an error. */
int s3page_diff(const char *name, const s3page_at *a, const s3page_at *b,
                unsigned flags, const s3page_diff_sink *sink,
                s3page_diff_result *res, char **errmsg);

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
