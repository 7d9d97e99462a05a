/*
** options.h: the options of one open database, from URI parameters with
** environment-variable defaults.
**
**   version=N         open version N read-only
**   asof=TIME         open the newest version committed at or before TIME
**                     (ISO-8601 UTC like 2026-11-22T10:00:00Z, or Unix
**                     seconds), read-only
**   staleness=MS      skip the freshness check when the last one is younger
**                     (S3PAGE_STALENESS_MS, default 0: always check)
**   rebase=0|1        a commit that lost its race to writers that changed
**                     nothing it read goes on top of them (S3PAGE_REBASE,
**                     default 1; rebase.h)
**   checkpoint=K      write a checkpoint every K versions
**                     (S3PAGE_CHECKPOINT_INTERVAL, default 32)
**   cache_mb=N        in-memory page cache of the process, shared by every
**                     connection: its limit is the largest cache_mb of
**                     the connections opened (S3PAGE_CACHE_MB, default 64;
**                     pagecache.h)
**   prefetch=all      download every page of the version in the background
**                     into the caches (hydrate.h); "auto" (the default):
**                     only what reads ask for and their read-ahead
**                     (S3PAGE_PREFETCH)
**   cache_dir=DIR     persistent page cache shared by processes (SQLite
**                     itself owns the parameter name "cache")
**                     (S3PAGE_CACHE_DIR, default none)
**   cache_max_mb=N    its size (S3PAGE_CACHE_MAX_MB, default 1024)
**   txbuf_mb=N        transaction memory before spilling to a temporary
**                     file (S3PAGE_TXBUF_MB, default 64)
**   lock_dir=DIR      where the local lock files of s3:// databases live
**                     (S3PAGE_LOCK_DIR, default $XDG_RUNTIME_DIR/s3page or
**                     /tmp/s3page-locks-<uid>; see lock.h); given, it is
**                     used for every kind of database
**   fault=SPEC        inject store faults, for tests (S3PAGE_FAULT)
**                     refused unless S3PAGE_ALLOW_FAULTS=1
**   endpoint=URL, region=R, concurrency=N   S3 settings (see store.h)
*/
#ifndef S3P_OPTIONS_H
#define S3P_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

typedef struct s3p_options {
  uint64_t version;          /* pinned version, 0 = follow the newest */
  int has_asof;              /* asof given */
  int64_t asof_ms;           /* asof time, Unix ms */
  int readonly;              /* no writes (pinned, or opened read-only) */
  int create;                /* create the store if missing */
  int no_rebase;             /* rebase=0 */
  uint32_t staleness_ms;     /* freshness window */
  uint32_t ckpt_interval;    /* K */
  size_t cache_bytes;        /* page and node cache budget */
  size_t txbuf_bytes;        /* in-memory transaction buffer */
  char *cache_dir;           /* persistent page cache or NULL (malloc'd) */
  uint64_t cache_max_bytes;  /* its budget */
  char *fault;               /* fault spec or NULL (malloc'd) */
  char *lock_dir;            /* lock directory or NULL (malloc'd) */
  char *endpoint;            /* S3 endpoint or NULL (malloc'd) */
  char *region;              /* S3 region or NULL (malloc'd) */
  int concurrency;           /* S3 parallel requests, 0 = default */
  int prefetch_all;          /* prefetch=all: hydrate at open */
  int lazy;                  /* load the version at the first lock or
                             ** read, not at open (s3p_db_ready); set by
                             ** the VFS for main databases only */
  int skip_hints;            /* do not fetch at open the pages and nodes
                             ** HEAD names (history operations, which do
                             ** not read through SQLite) */
} s3p_options;

/* s3p_options_parse fills *o from the URI parameters of the database file
** name zName (as given to xOpen; may be NULL) and the environment. Returns
** S3P_OK, or S3P_EINVAL with *errmsg (malloc'd) naming the bad option. */
int s3p_options_parse(s3p_options *o, const char *zName, char **errmsg);

/* s3p_options_dup makes *out a copy of *in with copies of its strings.
** Returns S3P_OK or S3P_ENOMEM (*out is then empty). */
int s3p_options_dup(s3p_options *out, const s3p_options *in);

/* s3p_options_free releases the strings in *o. */
void s3p_options_free(s3p_options *o);

/* s3p_time_parse parses an ISO-8601 UTC time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z])
** or Unix seconds (optionally fractional) into Unix ms. Returns S3P_OK or
** S3P_EINVAL. */
int s3p_time_parse(int64_t *ms, const char *s);

/* s3p_time_format writes t (Unix ms) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into
** out[32]. */
void s3p_time_format(char *out, int64_t ms);

#endif
