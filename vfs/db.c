/*
** db.c: one open s3page database: open and close, error reporting, and
** the read path (commit records, tree nodes, pages through the caches).
*/
#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "db.h"
#include "tail.h"
#include "hydrate.h"
#include "../index/head.h"
#include "../index/page.h"
#include "../index/objlen.h"

/* Added to the wall clock by s3p_now_ms: 0 except in tests that let hours
** pass in a moment (s3p_test_clock_shift). Atomic: any thread may read the
** clock while a test moves it. */
static _Atomic int64_t db_clock_skew_ms;

uint64_t s3p_now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  return ms + (uint64_t)atomic_load(&db_clock_skew_ms);
}

int64_t s3p_test_clock_shift(int64_t ms){
  return atomic_fetch_add(&db_clock_skew_ms, ms) + ms;
}

int s3p_db_error(s3p_db *db, int code, const char *fmt, ...){
  va_list ap;
  va_start(ap, fmt);
  char *m = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  sqlite3_free(db->errmsg);
  db->errmsg = m;
  db->errcode = code;
  sqlite3_log(code, "s3page: %s", m ? m : "(out of memory)");
  return code;
}

const char *s3p_db_errmsg(const s3p_db *db){
  return db->errmsg;
}

int s3p_db_store_error(s3p_db *db, int rc, int ioerr, const char *op,
                       const char *key, const char *msg){
  int code;
  switch(rc){
    case S3P_ENOMEM: code = SQLITE_NOMEM; break;
    case S3P_ECORRUPT: case S3P_ENOTFOUND: code = SQLITE_CORRUPT; break;
    case S3P_EAUTH: code = SQLITE_AUTH; break;
    case S3P_EINVAL: code = (ioerr == SQLITE_IOERR_WRITE ||
                             ioerr == SQLITE_IOERR_FSYNC) ? SQLITE_READONLY
                                                          : ioerr; break;
    default: code = ioerr; break;
  }
  size_t dlen = strlen(db->store->desc);
  if(msg && !strncmp(msg, db->store->desc, dlen) && msg[dlen] &&
     strchr(":/", msg[dlen])){
    /* The store's own message names the store and the object already:
    ** said twice, the cause falls off the end of sqlite3_log's line. */
    return s3p_db_error(db, code, "%s", msg);
  }
  if(msg && *msg){
    return s3p_db_error(db, code, "%s: %s %s: %s", db->store->desc, op, key,
                        msg);
  }
  return s3p_db_error(db, code, "%s: %s %s: %s", db->store->desc, op, key,
                      s3p_errstr(rc));
}

/* db_gone_tail is asked when an object the view names is missing: if gc
** removed the view's version (TAIL above it: a long read transaction, a
** pinned old version), that is why, not damage to a kept version. Returns
** the oldest version kept, or 0 when the view's version is kept or TAIL
** cannot be read. One GET, on this error path only. */
static uint64_t db_gone_tail(s3p_db *db){
  uint64_t floor = 1;
  if(db->view.version == 0 || s3p_version_floor(db, &floor) != SQLITE_OK){
    return 0;
  }
  return floor > db->view.version ? floor : 0;
}

int s3p_db_node_from_op(s3p_db *db, const s3p_hash *h, const s3p_op *op,
                        s3p_node *out){
  const char *why = NULL;
  if(op->rc == S3P_ENOTFOUND){
    uint64_t kept = db_gone_tail(db);
    if(kept){
      return s3p_db_error(db, SQLITE_CORRUPT, "%s: checkpoint node %s of "
                          "version %llu is missing: gc removed that version "
                          "while it was in use (versions from %llu on are "
                          "kept); start a new transaction", db->store->desc,
                          op->key, (unsigned long long)db->view.version,
                          (unsigned long long)kept);
    }
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: checkpoint node %s of "
                        "version %llu is missing", db->store->desc, op->key,
                        (unsigned long long)db->view.version);
  }
  if(op->rc){
    return s3p_db_store_error(db, op->rc, SQLITE_IOERR_READ, "GET", op->key,
                              op->errmsg);
  }
  if(s3p_node_decode(out, op->data, op->len, h, &why)){
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: checkpoint node %s is "
                        "corrupt: %s", db->store->desc, op->key,
                        why ? why : "?");
  }
  s3p_pagecache_put(S3P_PC_NODE, h, out, sizeof *out);
  return SQLITE_OK;
}

void s3p_db_know(s3p_db *db, const s3p_hash *h, uint64_t stamp){
  if(!stamp || !db->known) return;
  if(!s3p_lru_stamp(db->known, h, stamp)){
    s3p_lru_put(db->known, h, NULL, 0, stamp);
  }
}

uint64_t s3p_db_known(s3p_db *db, const s3p_hash *h){
  uint64_t stamp = 0;
  if(db->known && s3p_lru_get(db->known, h, NULL, &stamp)) return stamp;
  return 0;
}

/* db_node_load is the tree loader: node h from the cache or the store,
** verified against its name. Returns S3P_OK, or S3P_EIO with the error
** recorded in db. */
static int db_node_load(void *ctx, const s3p_hash *h, s3p_node *out){
  s3p_db *db = ctx;
  if(s3p_pagecache_get(S3P_PC_NODE, h, out, sizeof *out)) return S3P_OK;
  char key[S3P_KEY_MAX];
  s3p_hash_key(key, "index", h);
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_GET;
  op.key = key;
  int src = s3p_store_exec(db->store, &op, 1);
  int rc = src ? s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", key,
                                    NULL)
               : s3p_db_node_from_op(db, h, &op, out);
  s3p_op_reset(&op);
  return rc == SQLITE_OK ? S3P_OK : S3P_EIO;
}

s3p_tree_io s3p_db_tree_io(s3p_db *db){
  s3p_tree_io io;
  memset(&io, 0, sizeof io);
  io.ctx = db;
  io.load = db_node_load;
  return io;
}

/* db_decode_record decodes a fetched record and checks it is version v.
** Returns SQLITE_OK or SQLITE_CORRUPT with the error recorded. */
static int db_decode_record(s3p_db *db, uint64_t v, const char *key,
                            const unsigned char *data, size_t len,
                            s3p_record *rec){
  const char *why = NULL;
  int rc = s3p_record_decode(rec, data, len, &why);
  if(rc == S3P_ENOMEM) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  if(rc){
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %s is corrupt: "
                        "%s", db->store->desc, key, why ? why : "?");
  }
  if(rec->version != v){
    s3p_record_free(rec);
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %s says it is "
                        "version %llu", db->store->desc, key,
                        (unsigned long long)rec->version);
  }
  return SQLITE_OK;
}

void s3p_db_stash_record(s3p_db *db, uint64_t v, const unsigned char *data,
                         size_t len){
  s3p_record rec;
  const char *why;
  if(s3p_record_decode(&rec, data, len, &why) != S3P_OK) return;
  size_t i;
  for(i = 0; i < db->nstash && db->stash[i].version != v; i++){}
  if(rec.version != v || (i == db->nstash && i >= S3P_STASH_MAX)){
    s3p_record_free(&rec);
    return;
  }
  if(i == db->nstash){
    s3p_record *grown = realloc(db->stash, (i + 1) * sizeof *grown);
    if(!grown){ s3p_record_free(&rec); return; }
    db->stash = grown;
    db->nstash++;
  }else{
    s3p_record_free(&db->stash[i]);
  }
  db->stash[i] = rec;
}

/* db_unstash hands the stashed record of version v over to *rec. Returns 1
** if there was one, else 0. */
static int db_unstash(s3p_db *db, uint64_t v, s3p_record *rec){
  for(size_t i = 0; i < db->nstash; i++){
    if(db->stash[i].version != v) continue;
    *rec = db->stash[i];
    db->stash[i] = db->stash[--db->nstash];
    if(db->nstash == 0){ free(db->stash); db->stash = NULL; }
    return 1;
  }
  return 0;
}

/* db_stash_free drops every stashed record. */
static void db_stash_free(s3p_db *db){
  for(size_t i = 0; i < db->nstash; i++) s3p_record_free(&db->stash[i]);
  free(db->stash);
  db->stash = NULL;
  db->nstash = 0;
}

int s3p_db_get_record(s3p_db *db, uint64_t version, s3p_record *rec){
  if(version && db_unstash(db, version, rec)) return SQLITE_OK;
  char key[32];
  s3p_record_key(key, version);
  unsigned char *data = NULL;
  size_t len = 0;
  char *msg = NULL;
  int rc = s3p_store_get(db->store, key, &data, &len, &msg);
  memset(rec, 0, sizeof *rec);
  if(rc == S3P_ENOTFOUND){
    free(msg);
    return SQLITE_NOTFOUND;
  }
  if(rc){
    rc = s3p_db_store_error(db, rc, SQLITE_IOERR_READ, "GET", key, msg);
    free(msg);
    return rc;
  }
  rc = db_decode_record(db, version, key, data, len, rec);
  free(data);
  return rc;
}

int s3p_db_get_records(s3p_db *db, uint64_t from, uint64_t to,
                       s3p_record *recs){
  assert(from <= to);
  size_t n = (size_t)(to - from + 1);
  s3p_op *ops = calloc(n, sizeof *ops);
  char (*keys)[32] = malloc(n * sizeof *keys);
  size_t *at = malloc(n * sizeof *at);   /* recs index of each op */
  int rc = SQLITE_OK;
  memset(recs, 0, n * sizeof *recs);
  if(!ops || !keys || !at){
    free(ops); free(keys); free(at);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  size_t m = 0;                          /* records not stashed */
  for(size_t i = 0; i < n; i++){
    if(db_unstash(db, from + i, &recs[i])) continue;
    s3p_record_key(keys[m], from + i);
    ops[m].kind = S3P_OP_GET;
    ops[m].key = keys[m];
    at[m++] = i;
  }
  int src = m ? s3p_store_exec(db->store, ops, m) : S3P_OK;
  if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", keys[0], NULL);
  for(size_t j = 0; j < m && rc == SQLITE_OK; j++){
    size_t i = at[j];
    if(ops[j].rc == S3P_ENOTFOUND){
      rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %s is missing "
                        "though version %llu exists", db->store->desc, keys[j],
                        (unsigned long long)to);
    }else if(ops[j].rc){
      rc = s3p_db_store_error(db, ops[j].rc, SQLITE_IOERR_READ, "GET", keys[j],
                              ops[j].errmsg);
    }else{
      rc = db_decode_record(db, from + i, keys[j], ops[j].data, ops[j].len,
                            &recs[i]);
    }
  }
  for(size_t j = 0; j < m; j++) s3p_op_reset(&ops[j]);
  if(rc){
    for(size_t i = 0; i < n; i++) s3p_record_free(&recs[i]);
  }
  free(ops);
  free(keys);
  free(at);
  return rc;
}

/* db_apply applies record rec to the view, recording corruption. */
static int db_apply(s3p_db *db, const s3p_record *rec){
  const char *why = NULL;
  int rc = s3p_view_apply(&db->view, rec, &why);
  if(rc == S3P_ENOMEM) return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  if(rc){
    char key[32];
    s3p_record_key(key, rec->version);
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %s: %s",
                        db->store->desc, key, why ? why : "?");
  }
  return SQLITE_OK;
}

/* The most records replayed on top of a checkpoint, whatever the writer's
** checkpoint interval: a record claiming more is treated as corrupt. */
#define DB_MAX_REPLAY 1000000

int s3p_db_load(s3p_db *db, uint64_t version){
  if(version == 0){
    s3p_view_free(&db->view);
    return SQLITE_OK;
  }
  s3p_record rec;
  int rc = s3p_db_get_record(db, version, &rec);
  if(rc) return rc;
  uint64_t c = rec.ckpt_version;
  if(version - c > DB_MAX_REPLAY){
    s3p_record_free(&rec);
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: version %llu names checkpoint "
                        "%llu, too far back", db->store->desc,
                        (unsigned long long)version, (unsigned long long)c);
  }
  s3p_view_free(&db->view);
  s3p_view_start(&db->view, &rec);
  /* Replay c+1..version-1 in batches, then rec itself. */
  uint64_t next = c + 1;
  while(rc == SQLITE_OK && next < version){
    uint64_t to = version - 1;
    if(to - next >= 1024) to = next + 1023;
    size_t n = (size_t)(to - next + 1);
    s3p_record *recs = calloc(n, sizeof *recs);
    if(!recs){ rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory"); break; }
    rc = s3p_db_get_records(db, next, to, recs);
    for(size_t i = 0; i < n; i++){
      if(rc == SQLITE_OK) rc = db_apply(db, &recs[i]);
      s3p_record_free(&recs[i]);
    }
    free(recs);
    next = to + 1;
  }
  if(rc == SQLITE_OK && c < version) rc = db_apply(db, &rec);
  s3p_record_free(&rec);
  if(rc) s3p_view_free(&db->view);
  return rc;
}

/* db_replay moves the view from version v forward to latest (> v), given
** record v+1 in *next: by replaying the records in between, or by loading
** latest when that is shorter. Returns SQLITE_OK or an error (the view is
** then reset to version 0). */
static int db_replay(s3p_db *db, uint64_t v, const s3p_record *next,
                     uint64_t latest){
  if(latest - v > 2 * (uint64_t)db->opt.ckpt_interval + 2){
    return s3p_db_load(db, latest);
  }
  int rc = db_apply(db, next);
  if(rc == SQLITE_OK && latest > v + 1){
    size_t n = (size_t)(latest - v - 1);
    s3p_record *recs = calloc(n, sizeof *recs);
    if(!recs) rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    else rc = s3p_db_get_records(db, v + 2, latest, recs);
    for(size_t i = 0; recs && i < n; i++){
      if(rc == SQLITE_OK) rc = db_apply(db, &recs[i]);
      s3p_record_free(&recs[i]);
    }
    free(recs);
  }
  /* A failed replay leaves the view part-way: start over next time. */
  if(rc) s3p_view_free(&db->view);
  return rc;
}

/* db_node_cached loads a tree node from the node cache only (ctx: the
** db). Returns S3P_OK, or S3P_ENOTFOUND when it is not cached. */
static int db_node_cached(void *ctx, const s3p_hash *h, s3p_node *out){
  (void)ctx;
  return s3p_pagecache_get(S3P_PC_NODE, h, out, sizeof *out) ? S3P_OK
                                                             : S3P_ENOTFOUND;
}

/* db_header_vers copies bytes 24..39 of page 1 of the view (the change
** counter, page count and freelist, which SQLite compares with what it last
** read at each lock, dropping its cache when they differ) into out: from
** the caches only if cached_only is set (the view is about to be left: its
** objects may be going), else reading page 1 as SQLite is about to.
** Returns 1, or 0 when that is not known (the empty view, page 1 not
** cached or not readable). */
static int db_header_vers(s3p_db *db, int cached_only, unsigned char out[16]){
  uint32_t psz = db->view.page_size;
  if(db->view.version == 0 || psz < 40) return 0;
  if(cached_only){
    s3p_tree_io io;
    memset(&io, 0, sizeof io);
    io.ctx = db;
    io.load = db_node_cached;
    s3p_hash h;
    unsigned char *c = malloc(psz);
    int ok = c && s3p_view_lookup(&h, &db->view, 1, &io) == S3P_OK &&
             !s3p_hash_is_zero(&h) &&
             s3p_pagecache_get(S3P_PC_PAGE, &h, c, psz);
    if(ok) memcpy(out, c + 24, 16);
    free(c);
    return ok;
  }
  unsigned char *p = malloc(psz);
  int ok = p && s3p_db_read_page(db, 1, p) == SQLITE_OK;
  if(ok) memcpy(out, p + 24, 16);
  free(p);
  return ok;
}

int s3p_db_refresh(s3p_db *db){
  if(db->lazy) return s3p_db_ready(db);
  if(db->opt.readonly && (db->opt.version || db->opt.has_asof)) return SQLITE_OK;
  uint64_t now = s3p_now_ms();
  if(db->opt.staleness_ms && now - db->checked_ms < db->opt.staleness_ms){
    return SQLITE_OK;
  }
  /* Probe wal/<v+1>. A miss means v is the newest, unless gc removed that
  ** record: it does so only after a newer version was the newest for a
  ** whole grace period, so a view known to be the newest less than
  ** S3P_TRUST_MS ago cannot be behind; an older one (an idle connection, a
  ** long read transaction) reads TAIL in the same batch. */
  uint64_t v = db->view.version;
  int need_tail = now - db->fresh_ms >= S3P_TRUST_MS;
  char key[32];
  s3p_record_key(key, v + 1);
  s3p_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].kind = S3P_OP_GET;
  ops[0].key = key;
  ops[1].kind = S3P_OP_GET;
  ops[1].key = "TAIL";
  uint64_t tail = 0;
  s3p_record rec;
  memset(&rec, 0, sizeof rec);
  int src = s3p_store_exec(db->store, ops, need_tail ? 2 : 1);
  int rc = SQLITE_OK;
  if(src){
    rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", key, NULL);
  }else if(ops[0].rc && ops[0].rc != S3P_ENOTFOUND){
    rc = s3p_db_store_error(db, ops[0].rc, SQLITE_IOERR_READ, "GET", key,
                            ops[0].errmsg);
  }else if(need_tail){
    rc = s3p_tail_from_op(db, &ops[1], &tail);
  }
  if(rc == SQLITE_OK && ops[0].rc == S3P_OK){
    rc = db_decode_record(db, v + 1, key, ops[0].data, ops[0].len, &rec);
  }
  int found = ops[0].rc == S3P_OK;
  s3p_op_reset(&ops[0]);
  s3p_op_reset(&ops[1]);
  uint64_t latest = v;
  /* Page 1's header before the view moves: whether SQLite keeps its cache
  ** (and so the read set must stay) depends on it. */
  unsigned char vers[16];
  int vers_known = rc == SQLITE_OK && (found || tail > v + 1) &&
                   db_header_vers(db, 1, vers);
  if(rc == SQLITE_OK && tail > v + 1){
    /* gc is removing the records below TAIL, v+1 among them: move to the
    ** newest version instead of replaying records that may be gone. */
    int behind = 0;
    rc = s3p_version_behind(db, v, tail, &latest, &behind);
    if(rc == SQLITE_OK && behind){
      sqlite3_log(SQLITE_NOTICE, "s3page: %s: version %llu was removed by gc "
                  "(the oldest kept is %llu); moving to version %llu",
                  db->store->desc, (unsigned long long)v,
                  (unsigned long long)tail, (unsigned long long)latest);
      s3p_record_free(&rec);
      rc = s3p_db_load(db, latest);
      goto done;
    }
  }
  if(rc == SQLITE_OK && found){
    rc = s3p_version_latest(db, v + 1, &latest);
    if(rc == SQLITE_OK) rc = db_replay(db, v, &rec, latest);
  }
done:
  s3p_record_free(&rec);
  /* Another writer's version: if page 1's change counter (or page count or
  ** freelist) changed, SQLite drops its cache, and what it reads from now
  ** on is the read set. A version that left them as they were (a
  ** checkpoint record, s3page_checkpoint) keeps SQLite's cache, and with it
  ** the read set; so does not knowing (the view was reset by an error). */
  unsigned char now_vers[16];
  if(db->view.version != v && vers_known && db_header_vers(db, 0, now_vers) &&
     memcmp(vers, now_vers, sizeof vers)){
    s3p_readset_clear(&db->reads);
  }
  if(rc == SQLITE_OK){
    db->checked_ms = now;
    db->fresh_ms = now;
  }else{
    db->fresh_ms = 0;
  }
  return rc;
}

int s3p_db_page_from_op(s3p_db *db, uint32_t pgno, const s3p_hash *h,
                        const s3p_op *op, void *out){
  const char *key = op->key;
  if(op->rc == S3P_ENOTFOUND){
    uint64_t kept = db_gone_tail(db);
    if(kept){
      return s3p_db_error(db, SQLITE_CORRUPT, "%s: page object %s (page %u "
                          "of version %llu) is missing: gc removed that "
                          "version while it was in use (versions from %llu "
                          "on are kept); start a new transaction",
                          db->store->desc, key, (unsigned)pgno,
                          (unsigned long long)db->view.version,
                          (unsigned long long)kept);
    }
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: page object %s (page %u of "
                        "version %llu) is missing", db->store->desc, key,
                        (unsigned)pgno, (unsigned long long)db->view.version);
  }
  if(op->rc){
    return s3p_db_store_error(db, op->rc, SQLITE_IOERR_READ, "GET", key,
                              op->errmsg);
  }
  const char *why = NULL;
  if(s3p_page_decode(out, db->view.page_size, h, op->data, op->len, &why)){
    return s3p_db_error(db, SQLITE_CORRUPT, "%s: page object %s (page %u of "
                        "version %llu) is corrupt: %s", db->store->desc, key,
                        (unsigned)pgno, (unsigned long long)db->view.version,
                        why ? why : "?");
  }
  return SQLITE_OK;
}

int s3p_db_checkpoint_due(const s3p_db *db){
  return !db->opt.readonly &&
         ((db->view.version + 1) % db->opt.ckpt_interval == 0 ||
          db->view.ov_count >= S3P_CKPT_OVERLAY_PAGES);
}

/* db_hash_cmp orders hashes for qsort. */
static int db_hash_cmp(const void *a, const void *b){
  return memcmp(a, b, sizeof(s3p_hash));
}

int s3p_db_warm(s3p_db *db, const uint32_t *pgnos, size_t n, int quiet,
                size_t max_nodes, s3p_warm_stats *st){
  const s3p_treeref *t = &db->view.tree;
  if(n == 0 || s3p_hash_is_zero(&t->root)) return SQLITE_OK;
  s3p_hash *path = malloc(n * sizeof *path);   /* node on each key's path */
  s3p_hash *want = malloc(n * sizeof *want);   /* distinct nodes of a level */
  s3p_op *ops = calloc(n, sizeof *ops);
  char (*keys)[S3P_KEY_MAX] = malloc(n * sizeof *keys);
  s3p_node *node = malloc(sizeof *node);       /* copied out of the cache */
  int rc = SQLITE_OK;
  size_t total = 0;                            /* nodes fetched so far */
  if(!path || !want || !ops || !keys || !node){
    if(!quiet) rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    goto out;
  }
  for(size_t k = 0; k < n; k++) path[k] = t->root;
  for(int level = t->level; level >= 0 && rc == SQLITE_OK; level--){
    /* The distinct, uncached nodes of this level. */
    size_t w = 0;
    for(size_t k = 0; k < n; k++){
      if(!s3p_hash_is_zero(&path[k])) want[w++] = path[k];
    }
    qsort(want, w, sizeof *want, db_hash_cmp);
    size_t m = 0;
    for(size_t i = 0; i < w; i++){
      if(i && s3p_hash_eq(&want[i], &want[i - 1])) continue;
      if(s3p_pagecache_has(S3P_PC_NODE, &want[i])) continue;
      want[m++] = want[i];
    }
    if(total + m > max_nodes) break;
    for(size_t i = 0; i < m; i++){
      s3p_hash_key(keys[i], "index", &want[i]);
      memset(&ops[i], 0, sizeof ops[i]);
      ops[i].kind = S3P_OP_GET;
      ops[i].key = keys[i];
    }
    if(m){
      total += m;
      if(st){
        st->batches++;
        st->nodes += m;
      }
      int src = s3p_store_exec(db->store, ops, m);
      if(src && !quiet) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ,
                                                "GET", keys[0], NULL);
      for(size_t i = 0; i < m && rc == SQLITE_OK && !src; i++){
        if(!quiet){
          rc = s3p_db_node_from_op(db, &want[i], &ops[i], node);
        }else if(ops[i].rc == S3P_OK &&
                 s3p_node_decode(node, ops[i].data, ops[i].len, &want[i],
                                 NULL) == S3P_OK){
          /* Quiet: one that does not verify is left out; a read that
          ** needs it fetches it again and reports why. */
          s3p_pagecache_put(S3P_PC_NODE, &want[i], node, sizeof *node);
        }
      }
      for(size_t i = 0; i < m; i++) s3p_op_reset(&ops[i]);
    }
    /* Step every path one level down. */
    for(size_t k = 0; k < n && rc == SQLITE_OK && level > 0; k++){
      if(s3p_hash_is_zero(&path[k])) continue;
      uint32_t key = pgnos[k] - 1;
      if(pgnos[k] == 0 || (level == t->level && level < 3 &&
                           (key >> (8 * (level + 1))) != 0)){
        memset(&path[k], 0, sizeof path[k]);   /* beyond the tree */
        continue;
      }
      if(!s3p_pagecache_get(S3P_PC_NODE, &path[k], node, sizeof *node)){
        memset(&path[k], 0, sizeof path[k]);   /* evicted, or not arrived */
        continue;
      }
      unsigned slot = (unsigned)(key >> (8 * level)) & 255;
      path[k] = node->slot[slot];
    }
  }
out:
  free(path);
  free(want);
  free(ops);
  free(keys);
  free(node);
  return rc;
}

int s3p_db_warm_paths(s3p_db *db, const uint32_t *pgnos, size_t n){
  return s3p_db_warm(db, pgnos, n, 0, SIZE_MAX, NULL);
}

/* One page of a read batch. */
typedef struct db_fetch {
  uint32_t pgno;             /* page number */
  s3p_hash hash;             /* its content hash */
  char key[S3P_KEY_MAX];     /* pages/<hash> */
} db_fetch;

/* db_memo_get sets *h to the name the view gives page pgno if the memo
** has it for the view as it is. Returns 1 if it did, else 0. */
static int db_memo_get(const s3p_db *db, uint32_t pgno, s3p_hash *h){
  if(!db->memo || db->view.version == 0) return 0;
  const s3p_memo *m = &db->memo[pgno % S3P_MEMO_SLOTS];
  if(m->pgno != pgno || m->version != db->view.version ||
     m->ov_count != db->view.ov_count) return 0;
  *h = m->hash;
  return 1;
}

/* db_memo_put remembers that the view names page pgno h. */
static void db_memo_put(s3p_db *db, uint32_t pgno, const s3p_hash *h){
  if(!db->memo) db->memo = calloc(S3P_MEMO_SLOTS, sizeof *db->memo);
  if(!db->memo || db->view.version == 0) return;
  s3p_memo *m = &db->memo[pgno % S3P_MEMO_SLOTS];
  m->version = db->view.version;
  m->ov_count = db->view.ov_count;
  m->pgno = pgno;
  m->hash = *h;
}

int s3p_db_read_page(s3p_db *db, uint32_t pgno, void *out){
  uint32_t psz = db->view.page_size;
  s3p_hash h;
  s3p_tree_io io = s3p_db_tree_io(db);
  int rc;
  if(!db_memo_get(db, pgno, &h)){
    rc = s3p_view_lookup(&h, &db->view, pgno, &io);
    if(rc){
      /* The loader recorded the error; pass its SQLite code on. */
      return db->errcode ? db->errcode : SQLITE_IOERR_READ;
    }
    db_memo_put(db, pgno, &h);
  }
  if(s3p_hash_is_zero(&h)){
    memset(out, 0, psz);
    return SQLITE_OK;
  }
  /* The view names h and was the newest at fresh_ms: the store holds h
  ** as of then, wherever the bytes come from (see commit.c). */
  if(s3p_pagecache_get(S3P_PC_PAGE, &h, out, psz)){
    s3p_db_know(db, &h, db->fresh_ms);
    s3p_prefetch_page(db, pgno, out);
    return SQLITE_OK;
  }
  if(db->disk && s3p_diskcache_get(db->disk, &h, out, psz)){
    s3p_pagecache_put(S3P_PC_PAGE, &h, out, psz);
    s3p_db_know(db, &h, db->fresh_ms);
    s3p_prefetch_page(db, pgno, out);
    return SQLITE_OK;
  }
  /* A miss. Sequential misses widen the read-ahead window. */
  db->ra_streak = (db->ra_last && pgno == db->ra_last + 1) ? db->ra_streak + 1
                                                           : 0;
  uint32_t window = 0;
  if(db->ra_streak >= 2){
    window = 1u << (db->ra_streak < 8 ? db->ra_streak : 8);
    if(window > S3P_READAHEAD_MAX) window = S3P_READAHEAD_MAX;
  }
  /* A scan (prefetch.c) knows better than page order what comes next. */
  size_t width = s3p_prefetch_width(db);
  size_t room = (size_t)window + width + S3P_PREFETCH_NODES;
  db_fetch *f = calloc(room, sizeof *f);
  s3p_op *ops = calloc(room, sizeof *ops);
  uint32_t *xpg = malloc(width * sizeof *xpg);
  s3p_hash *xh = malloc(width * sizeof *xh);
  unsigned char *buf = malloc(psz);
  if(!f || !ops || !xpg || !xh || !buf){
    free(f); free(ops); free(xpg); free(xh); free(buf);
    return s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  }
  size_t n = 0;
  uint32_t last = pgno;
  f[n].pgno = pgno;
  f[n].hash = h;
  n++;
  size_t extra = s3p_prefetch_more(db, pgno, &h, xpg, xh, width - 1);
  for(size_t k = 0; k < extra; k++){
    f[n].pgno = xpg[k];
    f[n].hash = xh[k];
    n++;
  }
  free(xpg);
  free(xh);
  if(extra) window = 0;
  for(uint32_t p = pgno + 1; p <= pgno + window && p <= db->view.page_count;
      p++){
    s3p_hash ph;
    if(s3p_view_lookup(&ph, &db->view, p, &io)) break;  /* fetch what we have */
    last = p;
    if(s3p_hash_is_zero(&ph) || s3p_pagecache_has(S3P_PC_PAGE, &ph)) continue;
    if(db->disk && s3p_diskcache_get(db->disk, &ph, buf, psz)){
      s3p_pagecache_put(S3P_PC_PAGE, &ph, buf, psz);
      continue;
    }
    int dup = 0;
    for(size_t k = 0; k < n && !dup; k++) dup = s3p_hash_eq(&f[k].hash, &ph);
    if(dup) continue;
    f[n].pgno = p;
    f[n].hash = ph;
    n++;
  }
  db->ra_last = last;
  for(size_t k = 0; k < n; k++){
    s3p_hash_key(f[k].key, "pages", &f[k].hash);
    ops[k].kind = S3P_OP_GET;
    ops[k].key = f[k].key;
  }
  s3p_prefetch_fetched(db, n);
  /* Tree leaves riding along (s3p_prefetch_ride) go after the pages. */
  s3p_hash *ride = malloc(S3P_PREFETCH_NODES * sizeof *ride);
  size_t nride = ride ? s3p_prefetch_ride(db, pgno, ride, S3P_PREFETCH_NODES)
                      : 0;
  for(size_t k = 0; k < nride; k++){
    f[n + k].hash = ride[k];
    s3p_hash_key(f[n + k].key, "index", &ride[k]);
    ops[n + k].kind = S3P_OP_GET;
    ops[n + k].key = f[n + k].key;
  }
  free(ride);
  int src = s3p_store_exec(db->store, ops, n + nride);
  if(src){
    rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", f[0].key, NULL);
  }else{
    /* The stamp is when the view's version was last known to be the
    ** newest, not now: a page fetched late in a long read transaction on a
    ** superseded version may be gone from the store soon (see commit.c). */
    uint64_t stamp = db->fresh_ms;
    rc = s3p_db_page_from_op(db, pgno, &h, &ops[0], out);
    if(rc == SQLITE_OK){
      s3p_pagecache_put(S3P_PC_PAGE, &h, out, psz);
      s3p_db_know(db, &h, stamp);
      if(db->disk) s3p_diskcache_put(db->disk, &h, out, psz);
    }
    /* Pages read ahead are cached only if they check out; an error shows
    ** when SQLite actually reads that page. */
    for(size_t k = 1; k < n; k++){
      const char *why;
      if(ops[k].rc || s3p_page_decode(buf, psz, &f[k].hash, ops[k].data,
                                      ops[k].len, &why)){
        continue;
      }
      s3p_pagecache_put(S3P_PC_PAGE, &f[k].hash, buf, psz);
      s3p_db_know(db, &f[k].hash, stamp);
      if(db->disk) s3p_diskcache_put(db->disk, &f[k].hash, buf, psz);
      s3p_prefetch_arrived(db, f[k].pgno, buf);
    }
    /* Nodes that do not verify are left out quietly, as pages read ahead
    ** are: a read that needs one fetches it again and reports why. */
    for(size_t k = n; k < n + nride; k++){
      s3p_node node;
      if(ops[k].rc == S3P_OK &&
         s3p_node_decode(&node, ops[k].data, ops[k].len, &f[k].hash,
                         NULL) == S3P_OK){
        s3p_pagecache_put(S3P_PC_NODE, &f[k].hash, &node, sizeof node);
      }
    }
  }
  for(size_t k = 0; k < n + nride; k++) s3p_op_reset(&ops[k]);
  free(ops);
  free(f);
  free(buf);
  if(rc) memset(out, 0, psz);
  else s3p_prefetch_page(db, pgno, out);
  return rc;
}

int s3p_db_ghost_page(s3p_db *db, uint32_t pgno, void *out){
  assert(db->ghost && pgno > db->view.page_count && pgno <= db->ghost_count);
  /* No s3p_db_know here: a ghost page belongs to a version that is no
  ** longer the newest. */
  return s3p_db_page_by_hash(db, pgno, &db->ghost[pgno - db->view.page_count
                                                   - 1], out);
}

int s3p_db_page_by_hash(s3p_db *db, uint32_t pgno, const s3p_hash *h,
                        void *out){
  uint32_t psz = db->view.page_size;
  if(s3p_hash_is_zero(h)){
    memset(out, 0, psz);
    return SQLITE_OK;
  }
  if(s3p_pagecache_get(S3P_PC_PAGE, h, out, psz)) return SQLITE_OK;
  if(db->disk && s3p_diskcache_get(db->disk, h, out, psz)) return SQLITE_OK;
  char key[S3P_KEY_MAX];
  s3p_hash_key(key, "pages", h);
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_GET;
  op.key = key;
  int src = s3p_store_exec(db->store, &op, 1);
  int rc = src ? s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", key,
                                    NULL)
               : s3p_db_page_from_op(db, pgno, h, &op, out);
  s3p_op_reset(&op);
  if(rc) memset(out, 0, psz);
  return rc;
}

void s3p_db_ghost_clear(s3p_db *db){
  free(db->ghost);
  free(db->ghost_part);
  db->ghost = NULL;
  db->ghost_part = NULL;
  db->ghost_count = 0;
  db->ghost_part_pgno = 0;
}

/* db_load_named loads version v, which the open named or found: one that
** does not exist (a version= too new, or removed by gc) is an error that
** says which versions there are. Returns SQLITE_OK or an error. */
static int db_load_named(s3p_db *db, uint64_t v){
  int rc = s3p_db_load(db, v);
  if(rc != SQLITE_NOTFOUND) return rc;
  uint64_t latest = 0, oldest = 0;
  if(s3p_version_latest(db, 0, &latest) == SQLITE_OK && v < latest &&
     s3p_version_oldest(db, latest, &oldest) == SQLITE_OK && v < oldest){
    s3p_db_error(db, SQLITE_CANTOPEN, "%s: version %llu was removed by gc "
                 "(versions %llu to %llu exist)", db->store->desc,
                 (unsigned long long)v, (unsigned long long)oldest,
                 (unsigned long long)latest);
  }else if(latest){
    s3p_db_error(db, SQLITE_CANTOPEN, "%s: version %llu does not exist "
                 "(the newest is %llu)", db->store->desc,
                 (unsigned long long)v, (unsigned long long)latest);
  }else{
    s3p_db_error(db, SQLITE_CANTOPEN, "%s: version %llu does not exist",
                 db->store->desc, (unsigned long long)v);
  }
  return rc;
}

int s3p_db_ready(s3p_db *db){
  if(!db->lazy) return SQLITE_OK;
  uint64_t start = s3p_now_ms();
  uint64_t v = 0;
  int rc = s3p_version_open_head(db, db->lazy, &v);
  if(rc == SQLITE_OK) rc = db_load_named(db, v);
  if(rc){
    s3p_view_free(&db->view);
    return db->errcode ? db->errcode : rc;
  }
  free(db->lazy);
  db->lazy = NULL;
  db->checked_ms = s3p_now_ms();
  /* The search ended with a miss after start, as the open's does. */
  db->fresh_ms = start;
  return SQLITE_OK;
}

int s3p_db_open(s3p_db **out, const char *name, s3p_options *opt,
                char **errmsg){
  *out = NULL;
  *errmsg = NULL;
  s3p_db *db = calloc(1, sizeof *db);
  if(!db){ s3p_options_free(opt); return SQLITE_NOMEM; }
  db->opt = *opt;
  memset(opt, 0, sizeof *opt);
  s3p_view_init(&db->view);
  db->name = strdup(name);
  /* What this connection knows about its store: S3P_LRU_OVERHEAD bytes
  ** per page, room for about twice the pages the process cache holds at
  ** this connection's cache_mb. */
  db->known = s3p_lru_new(db->opt.cache_bytes / 4096 * 2 * S3P_LRU_OVERHEAD);
  db->pc_held = s3p_pagecache_acquire(db->opt.cache_bytes) == S3P_OK;
  db->tx = s3p_txbuf_new(db->opt.txbuf_bytes);
  db->pf = s3p_prefetch_new();          /* NULL: no prefetch */
  if(!db->name || !db->known || !db->pc_held || !db->tx){
    s3p_db_close(db);
    return SQLITE_NOMEM;
  }
  s3p_store_opts so;
  memset(&so, 0, sizeof so);
  so.create = db->opt.create && !db->opt.readonly;
  so.readonly = db->opt.readonly;
  so.fault = db->opt.fault;
  so.endpoint = db->opt.endpoint;
  so.region = db->opt.region;
  so.concurrency = db->opt.concurrency;
  so.max_len = s3p_obj_max_len;        /* GETs of oversized objects fail */
  char *smsg = NULL;
  int src = s3p_store_open(&db->store, name, &so, &smsg);
  if(src){
    *errmsg = sqlite3_mprintf("cannot open %s: %s", name,
                              smsg ? smsg : s3p_errstr(src));
    sqlite3_log(SQLITE_CANTOPEN, "s3page: %s", *errmsg ? *errmsg : name);
    free(smsg);
    s3p_db_close(db);
    return src == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_CANTOPEN;
  }
  if(db->opt.cache_dir){
    char *cmsg = NULL;
    int crc = s3p_diskcache_open(&db->disk, db->opt.cache_dir,
                                 db->opt.cache_max_bytes, &cmsg);
    if(crc){
      *errmsg = sqlite3_mprintf("cannot open %s: %s", name,
                                cmsg ? cmsg : s3p_errstr(crc));
      sqlite3_log(SQLITE_CANTOPEN, "s3page: %s", *errmsg ? *errmsg : name);
      free(cmsg);
      s3p_db_close(db);
      return crc == S3P_ENOMEM ? SQLITE_NOMEM : SQLITE_CANTOPEN;
    }
  }
  uint64_t v = db->opt.version;
  uint64_t start = s3p_now_ms();
  int rc = SQLITE_OK;
  if(db->opt.has_asof){
    rc = s3p_version_asof(db, db->opt.asof_ms, &v);
  }else if(!v && db->opt.lazy && !db->opt.prefetch_all){
    /* HEAD now (no HEAD, or an unusable one: the whole search now, which
    ** also tells a database that does not exist); the record and what
    ** HEAD names at the first lock, where their batch's probe of the next
    ** record is that lock's freshness check (s3p_db_ready). */
    db->lazy = malloc(sizeof *db->lazy);
    if(!db->lazy){
      s3p_db_close(db);
      return SQLITE_NOMEM;
    }
    if(s3p_version_read_head(db, db->lazy)){
      *out = db;
      return SQLITE_OK;
    }
    rc = s3p_version_open_head(db, db->lazy, &v);
    free(db->lazy);
    db->lazy = NULL;
  }else if(!v){
    rc = s3p_version_open(db, &v);
  }
  if(rc == SQLITE_OK) rc = db_load_named(db, v);
  if(rc){
    *errmsg = sqlite3_mprintf("%s", db->errmsg ? db->errmsg : "open failed");
    int code = db->errcode ? db->errcode : rc;
    s3p_db_close(db);
    return (code & 0xff) == SQLITE_IOERR || code == SQLITE_NOTFOUND
           ? SQLITE_CANTOPEN : code;
  }
  db->checked_ms = s3p_now_ms();
  /* The newest-version search ended with a miss after start (a pinned
  ** version never commits, so this only matters for the newest). */
  if(!db->opt.version && !db->opt.has_asof) db->fresh_ms = start;
  if(db->opt.prefetch_all && s3p_db_hydrate(db) != SQLITE_OK){
    *errmsg = sqlite3_mprintf("%s", db->errmsg ? db->errmsg : "open failed");
    int code = db->errcode ? db->errcode : SQLITE_ERROR;
    s3p_db_close(db);
    return code;
  }
  *out = db;
  return SQLITE_OK;
}

int s3p_db_hydrate(s3p_db *db){
  if(db->hydrate){
    s3p_hydrate_progress p;
    s3p_hydrate_get(db->hydrate, &p);
    if(p.state < S3P_HYDRATE_DONE) return SQLITE_OK;   /* still at work */
    s3p_hydrate_stop(db->hydrate);
    db->hydrate = NULL;
  }
  return s3p_hydrate_start(db, &db->hydrate);
}

void s3p_db_close(s3p_db *db){
  if(!db) return;
  s3p_hydrate_stop(db->hydrate);
  /* Writing HEAD reads pages (hint.c), which may fill the memo again. */
  if(db->store) s3p_db_flush_head(db);
  free(db->lazy);
  db->lazy = NULL;
  free(db->memo);
  db->memo = NULL;
  s3p_store_close(db->store);
  s3p_db_ghost_clear(db);
  s3p_view_free(&db->view);
  db_stash_free(db);
  s3p_readset_free(&db->reads);
  free(db->won);
  s3p_lru_free(db->known);
  if(db->pc_held) s3p_pagecache_release();
  s3p_diskcache_close(db->disk);
  s3p_txbuf_free(db->tx);
  s3p_prefetch_free(db->pf);
  s3p_options_free(&db->opt);
  sqlite3_free(db->errmsg);
  free(db->name);
  free(db);
}
