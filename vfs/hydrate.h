/*
** hydrate.h: hydration, the background download of every page of a
** database version into the caches (option prefetch=all, or
** PRAGMA s3page_hydrate=start).
**
** A thread owned by the connection opens its own handle on the database,
** pinned to the version the connection showed when hydration started (its
** own store handle, so no request of the connection's queries waits behind
** a hydration batch, and its own disk cache handle), lists the version's
** distinct page objects by walking its checkpoint tree a level per batch,
** and fetches those that no cache holds in batches of S3P_HYDRATE_BATCH
** GETs, on two threads with handles of their own that share the
** concurrency (so that one checks and caches a batch while the other's is
** in flight; the store runs a batch at its concurrency). Pages go into the
** process cache and, with cache_dir=, into the disk cache. Without a disk
** cache, hydration stops once the pages it brought in fill the process
** cache's share for pages (state "full"): more would only evict them.
**
** Progress is counted in distinct page objects: done counts each one once,
** whether fetched or found in a cache; failed counts those whose GET or
** check failed (the reason goes to sqlite3_log). Hydration stops after the
** first batch with a failure (state "failed"): a version removed by gc or
** a store in trouble would fail the same way for every page after it.
*/
#ifndef S3P_HYDRATE_H
#define S3P_HYDRATE_H

#include <stdint.h>

struct s3p_db;
typedef struct s3p_hydrate s3p_hydrate;

/* Pages fetched per batch. */
#define S3P_HYDRATE_BATCH 256

/* The S3 backend's default concurrency (vfs/store/s3conf.c), which the
** two fetching threads share when concurrency= is not given. */
#define S3P_HYDRATE_CONCURRENCY 64

/* States of a hydration. */
#define S3P_HYDRATE_LISTING 0   /* opening, walking the tree */
#define S3P_HYDRATE_RUNNING 1   /* fetching pages */
#define S3P_HYDRATE_DONE    2   /* every page is in a cache */
#define S3P_HYDRATE_FULL    3   /* stopped: the memory cache is full */
#define S3P_HYDRATE_FAILED  4   /* ended, some pages or the listing failed */
#define S3P_HYDRATE_STOPPED 5   /* stopped early by s3p_hydrate_stop */

/* Progress of a hydration. */
typedef struct s3p_hydrate_progress {
  int state;                 /* S3P_HYDRATE_* */
  uint64_t version;          /* the version hydrated */
  uint64_t total;            /* distinct page objects of the version (0
                             ** while listing) */
  uint64_t done;             /* of which in a cache now */
  uint64_t fetched;          /* of which this hydration downloaded */
  uint64_t failed;           /* GETs that failed or did not check out */
  uint64_t bytes;            /* bytes downloaded (page objects) */
  uint64_t ms;               /* time since the start (until the end) */
} s3p_hydrate_progress;

/* s3p_hydrate_start starts hydrating the version db shows now in a new
** thread. Returns SQLITE_OK, or an error recorded in db. */
int s3p_hydrate_start(struct s3p_db *db, s3p_hydrate **out);

/* s3p_hydrate_stop asks the thread to stop (after the batch in flight),
** waits for it and frees h (NULL is fine). */
void s3p_hydrate_stop(s3p_hydrate *h);

/* s3p_hydrate_get copies the progress of h into *out (any thread). */
void s3p_hydrate_get(s3p_hydrate *h, s3p_hydrate_progress *out);

/* s3p_hydrate_state_name returns the name of state ("listing", ...). */
const char *s3p_hydrate_state_name(int state);

#endif
