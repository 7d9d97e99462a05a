/*
** upload.c: the batched PUT queue of the commit and the history tools.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "upload.h"

int s3p_upload_init(s3p_upload *u, s3p_db *db, size_t max_ops,
                    size_t max_bytes){
  memset(u, 0, sizeof *u);
  u->db = db;
  u->max_ops = max_ops;
  u->max_bytes = max_bytes;
  u->ops = calloc(max_ops + S3P_UPLOAD_EXTRA, sizeof *u->ops);
  u->keys = calloc(max_ops, sizeof *u->keys);
  u->bodies = calloc(max_ops, sizeof *u->bodies);
  u->hint = calloc(max_ops, 1);
  if(!u->ops || !u->keys || !u->bodies || !u->hint){
    u->rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  return u->rc;
}

/* upload_clear drops the pending operations and their bodies. */
static void upload_clear(s3p_upload *u){
  for(size_t i = 0; i < u->n; i++){
    s3p_op_reset(&u->ops[i]);
    free(u->bodies[i]);
    u->bodies[i] = NULL;
  }
  u->n = 0;
  u->pending_bytes = 0;
}

int s3p_upload_flush(s3p_upload *u){
  return s3p_upload_flush_with(u, NULL, 0);
}

int s3p_upload_flush_with(s3p_upload *u, s3p_op *extra, size_t nextra){
  assert(nextra <= S3P_UPLOAD_EXTRA);
  if((u->n == 0 && nextra == 0) || u->rc) goto out;
  /* The extra operations ride in the slots after the queue's own. */
  if(nextra) memcpy(&u->ops[u->n], extra, nextra * sizeof *extra);
  int src = s3p_store_exec(u->db->store, u->ops, u->n + nextra);
  if(nextra){
    memcpy(extra, &u->ops[u->n], nextra * sizeof *extra);
    memset(&u->ops[u->n], 0, nextra * sizeof *extra);
  }
  if(src){
    u->rc = s3p_db_store_error(u->db, src, SQLITE_IOERR_WRITE, "PUT",
                               u->n ? u->keys[0] : extra[0].key, NULL);
  }
  for(size_t i = 0; i < u->n && !u->rc; i++){
    if(u->ops[i].rc == S3P_OK){
      u->objects++;
      u->bytes += u->ops[i].body_len;
      continue;
    }
    if(u->hint[i]){
      sqlite3_log(SQLITE_WARNING, "s3page: %s: PUT %s failed (%s); the hint "
                  "lags", u->db->store->desc, u->keys[i], u->ops[i].errmsg ?
                  u->ops[i].errmsg : s3p_errstr(u->ops[i].rc));
      continue;
    }
    u->rc = s3p_db_store_error(u->db, u->ops[i].rc, SQLITE_IOERR_WRITE, "PUT",
                               u->keys[i], u->ops[i].errmsg);
  }
out:
  upload_clear(u);
  return u->rc;
}

/* upload_queue queues a PUT (see s3p_upload_put); hint marks a hint. */
static int upload_queue(s3p_upload *u, const char *key, unsigned char *body,
                        size_t len, int hint){
  if(u->rc){ free(body); return u->rc; }
  if(u->n == u->max_ops || (u->n && u->pending_bytes + len > u->max_bytes)){
    if(s3p_upload_flush(u)){ free(body); return u->rc; }
  }
  size_t i = u->n++;
  snprintf(u->keys[i], S3P_KEY_MAX, "%s", key);
  memset(&u->ops[i], 0, sizeof u->ops[i]);
  u->ops[i].kind = S3P_OP_PUT;
  u->ops[i].key = u->keys[i];
  u->ops[i].body = body;
  u->ops[i].body_len = len;
  u->bodies[i] = body;
  u->hint[i] = (unsigned char)hint;
  u->pending_bytes += len;
  return SQLITE_OK;
}

int s3p_upload_put(s3p_upload *u, const char *key, unsigned char *body,
                   size_t len){
  return upload_queue(u, key, body, len, 0);
}

int s3p_upload_put_hint(s3p_upload *u, const char *key, unsigned char *body,
                        size_t len){
  return upload_queue(u, key, body, len, 1);
}

int s3p_upload_node_store(void *ctx, const s3p_hash *h,
                          const unsigned char *buf, size_t len){
  s3p_upload *u = ctx;
  char key[S3P_KEY_MAX];
  s3p_hash_key(key, "index", h);
  s3p_node node;
  if(s3p_node_decode(&node, buf, len, h, NULL) == S3P_OK){
    s3p_pagecache_put(S3P_PC_NODE, h, &node, sizeof node);
  }
  unsigned char *copy = malloc(len);
  if(!copy) return S3P_ENOMEM;
  memcpy(copy, buf, len);
  return s3p_upload_put(u, key, copy, len) ? S3P_EIO : S3P_OK;
}

void s3p_upload_free(s3p_upload *u){
  if(u->ops) upload_clear(u);
  free(u->ops);
  free(u->keys);
  free(u->bodies);
  free(u->hint);
  u->hint = NULL;
  u->ops = NULL;
  u->keys = NULL;
  u->bodies = NULL;
}
