/*
** rebase.h: page-level rebase of a commit that lost its race.
**
** A write transaction that read version N loses when another writer
** creates wal/<N+1> first. If none of the versions that won (N+1..M)
** changed a page the transaction read or wrote, running the transaction
** after them would read exactly what it read and write exactly what it
** wrote, so its pages can be committed on top of M instead (as version
** M+1), and the result is what a serial execution after the winners gives.
** Page 1, which every transaction writes, is merged by rule. The rules and
** why they are safe are in docs/protocol.md, "Rebase".
**
** The read set is kept per connection as a bitmap of page numbers: every
** page SQLite read through xRead since the view last moved to a version
** this connection did not make and whose page 1 header (change counter,
** page count, freelist: bytes 24..39) differs (SQLite's own cache can only
** hold pages read since then: it drops its cache when those bytes change,
** and keeps it when they do not, as across a checkpoint record).
*/
#ifndef S3P_REBASE_H
#define S3P_REBASE_H

#include <stddef.h>
#include <stdint.h>

/* The pages a connection read. */
typedef struct s3p_readset {
  uint8_t *bits;             /* bit p-1: page p was read (malloc'd) */
  uint32_t cap;              /* pages the bitmap covers */
  int lost;                  /* a page could not be recorded (no memory):
                             ** no rebase until the set is cleared */
} s3p_readset;

/* s3p_readset_add records that page pgno (>= 1) was read. */
void s3p_readset_add(s3p_readset *rs, uint32_t pgno);

/* s3p_readset_has returns 1 if page pgno was read, else 0. */
int s3p_readset_has(const s3p_readset *rs, uint32_t pgno);

/* s3p_readset_clear forgets every page (keeps the memory). */
void s3p_readset_clear(s3p_readset *rs);

/* s3p_readset_free releases rs. */
void s3p_readset_free(s3p_readset *rs);

/* Most versions a commit may rebase over at once: a writer further behind
** retries the whole transaction instead. */
#define S3P_REBASE_MAX_BEHIND 64
/* Most rebases of one commit before it gives up with BUSY_SNAPSHOT. */
#define S3P_REBASE_ATTEMPTS 8

#endif
