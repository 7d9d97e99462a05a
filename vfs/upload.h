/*
** upload.h: a queue of PUTs of immutable objects (pages, tree nodes, the
** HEAD hint), sent to the store in batches: one round trip per batch of at
** most max_ops operations or max_bytes bytes. Used by the commit and by the
** history tools (import, checkpoint).
*/
#ifndef S3P_UPLOAD_H
#define S3P_UPLOAD_H

#include <stddef.h>
#include <stdint.h>
#include "db.h"

typedef struct s3p_upload {
  s3p_db *db;                /* the database (store, errors, node cache) */
  size_t max_ops;            /* operations per batch */
  size_t max_bytes;          /* body bytes per batch */
  s3p_op *ops;               /* pending operations */
  char (*keys)[S3P_KEY_MAX]; /* their keys */
  unsigned char **bodies;    /* their bodies (owned) */
  unsigned char *hint;       /* 1: a hint whose failure is only logged */
  size_t n;                  /* pending operations */
  size_t pending_bytes;      /* body bytes pending */
  uint64_t objects;          /* objects uploaded so far */
  uint64_t bytes;            /* bytes uploaded so far */
  int rc;                    /* first error (SQLite code), sticky */
} s3p_upload;

/* s3p_upload_init prepares an empty queue on db. Returns SQLITE_OK or
** SQLITE_NOMEM (the queue can still be freed). */
int s3p_upload_init(s3p_upload *u, s3p_db *db, size_t max_ops,
                    size_t max_bytes);

/* s3p_upload_put queues a PUT of body (taken over) under key, sending the
** pending batch first if it is full. A failure is recorded and sticky.
** Returns u->rc. */
int s3p_upload_put(s3p_upload *u, const char *key, unsigned char *body,
                   size_t len);

/* s3p_upload_put_hint queues a PUT like s3p_upload_put, of an object that
** is only a hint (HEAD): its failure is logged, not an error. */
int s3p_upload_put_hint(s3p_upload *u, const char *key, unsigned char *body,
                        size_t len);

/* s3p_upload_flush sends what is pending as one batch. Returns u->rc. */
int s3p_upload_flush(s3p_upload *u);

/* Most operations s3p_upload_flush_with adds to a batch. */
#define S3P_UPLOAD_EXTRA 4

/* s3p_upload_flush_with sends what is pending plus extra[0..nextra) (any
** kind, at most S3P_UPLOAD_EXTRA; their outputs are set, the caller checks
** and resets them) as one batch, even when nothing is pending: the commit
** asks its questions in the round trip of its last uploads. Returns u->rc
** (an error of an extra operation is not counted there). */
int s3p_upload_flush_with(s3p_upload *u, s3p_op *extra, size_t nextra);

/* s3p_upload_node_store is an s3p_tree_io store callback (ctx: the queue):
** queues a new tree node, and keeps it decoded in the node cache, since
** the next checkpoint starts from it. Returns an S3P_* code. */
int s3p_upload_node_store(void *ctx, const s3p_hash *h,
                          const unsigned char *buf, size_t len);

/* s3p_upload_free drops anything pending and releases the queue. */
void s3p_upload_free(s3p_upload *u);

#endif
