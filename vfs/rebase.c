/*
** rebase.c: moving a lost commit on top of the versions that won.
**
** s3p_db_commit (commit.c) calls s3p_db_rebase when the record of version
** N+1 turned out to be another writer's. Then:
**
**   1. Read records N+1, N+2, ... in batches of parallel GETs until one is
**      missing: the last found is the newest version M (usually one round
**      trip for both).
**   2. Decide (rebase_check): the winners must not have changed a page this
**      transaction read or wrote (other than page 1), the page count, the
**      page size, or truncated; none may be a full image (import, revert:
**      their change lists do not say what changed); and this transaction
**      must not have shrunk the file.
**   3. Page 1 (rebase_page1): the winners may have changed only its change
**      counter and version-valid-for (offsets 24 and 92) and the SQLite
**      version number (96), which is usually seen without fetching their
**      page 1: a candidate built from ours hashes to its name
**      (rebase_guess_page1). Any other byte (the freelist, the schema cookie,
**      the sqlite_schema b-tree on page 1, ...) is a conflict. The merged
**      page 1 is this transaction's, with a change counter above both
**      sides' (so that SQLite, whose cache holds the pages of N, drops it
**      at its next lock).
**   4. Only then does the view move to M (so a conflict leaves it at N, on
**      which SQLite's rollback compares equal), and page 1 in the buffer
**      is the merged one. The commit then runs again on M.
**
** Any check failing is SQLITE_BUSY_SNAPSHOT, as without rebase.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "db.h"
#include "../index/page.h"
#include "../index/record.h"

void s3p_readset_add(s3p_readset *rs, uint32_t pgno){
  if(pgno == 0 || rs->lost) return;
  if(pgno > rs->cap){
    uint32_t cap = rs->cap ? rs->cap : 1024;
    while(cap < pgno) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
    uint8_t *b = realloc(rs->bits, ((size_t)cap + 7) / 8);
    if(!b){ rs->lost = 1; return; }
    memset(b + ((size_t)rs->cap + 7) / 8, 0,
           ((size_t)cap + 7) / 8 - ((size_t)rs->cap + 7) / 8);
    rs->bits = b;
    rs->cap = cap;
  }
  rs->bits[(pgno - 1) / 8] |= (uint8_t)(1u << ((pgno - 1) % 8));
}

int s3p_readset_has(const s3p_readset *rs, uint32_t pgno){
  if(pgno == 0 || pgno > rs->cap) return 0;
  return (rs->bits[(pgno - 1) / 8] >> ((pgno - 1) % 8)) & 1;
}

void s3p_readset_clear(s3p_readset *rs){
  if(rs->bits) memset(rs->bits, 0, ((size_t)rs->cap + 7) / 8);
  rs->lost = 0;
}

void s3p_readset_free(s3p_readset *rs){
  free(rs->bits);
  memset(rs, 0, sizeof *rs);
}

/* rebase_get4 reads a big-endian 32-bit integer. */
static uint32_t rebase_get4(const unsigned char *p){
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* rebase_put4 writes a big-endian 32-bit integer. */
static void rebase_put4(unsigned char *p, uint32_t v){
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* rebase_conflict records why the commit cannot be rebased. Returns
** SQLITE_BUSY_SNAPSHOT. */
static int rebase_conflict(s3p_db *db, uint64_t won, const char *why,
                           uint32_t pgno){
  char what[64] = "";
  if(pgno) snprintf(what, sizeof what, " (page %u)", pgno);
  return s3p_db_error(db, SQLITE_BUSY_SNAPSHOT, "%s: version %llu was "
                      "committed by another writer first and %s%s; retry "
                      "the transaction", db->store->desc,
                      (unsigned long long)won, why, what);
}

/* rebase_check decides whether the transaction buffered in db, which read
** version v = db->view.version, can go on top of records recs[0..n)
** (versions v+1..v+n). If they changed page 1, *p1_changed is set and *p1
** gets its hash after them. Returns SQLITE_OK or SQLITE_BUSY_SNAPSHOT. */
static int rebase_check(s3p_db *db, const s3p_record *recs, size_t n,
                        s3p_hash *p1, int *p1_changed){
  const s3p_view *v = &db->view;
  s3p_txbuf *tx = db->tx;
  *p1_changed = 0;
  if(db->reads.lost){
    return rebase_conflict(db, v->version + 1, "this connection could not "
                           "record what it read", 0);
  }
  if(s3p_txbuf_pages(tx) < v->page_count ||
     s3p_txbuf_trunc_mark(tx) < v->page_count){
    return rebase_conflict(db, v->version + 1, "this transaction shrinks "
                           "the database", 0);
  }
  for(size_t i = 0; i < n; i++){
    const s3p_record *r = &recs[i];
    if(r->flags & S3P_RECORD_FULL){
      return rebase_conflict(db, r->version, "it replaced the whole "
                             "content (an import or a revert)", 0);
    }
    if(r->page_size != v->page_size || r->page_count != v->page_count ||
       r->trunc_mark < v->page_count){
      return rebase_conflict(db, r->version, "it changed the size of the "
                             "database", 0);
    }
    for(uint32_t c = 0; c < r->nchange; c++){
      uint32_t pg = r->changes[c].pgno;
      if(pg == 1){
        *p1 = r->changes[c].hash;
        *p1_changed = 1;
        continue;
      }
      if(s3p_readset_has(&db->reads, pg)){
        return rebase_conflict(db, r->version, "changed a page this "
                               "transaction read", pg);
      }
      if(s3p_txbuf_has(tx, pg)){
        return rebase_conflict(db, r->version, "changed a page this "
                               "transaction wrote", pg);
      }
    }
  }
  return SQLITE_OK;
}


/* Change counters tried by rebase_guess_page1 above page 1's at the
** version read. */
#define REBASE_GUESS_COUNTERS 256

/* rebase_guess_page1 looks for the winners' page 1 (content hash h)
** without fetching it: when they changed only the change counter,
** version-valid-for and the SQLite version number, it is base with those
** bytes set to a counter a little above base's and the version number of
** base or of mine, and one of those candidates hashes to h. Found: copies
** it into out and returns 1; else returns 0 (the page must be fetched,
** and then it shows what else changed). */
static int rebase_guess_page1(uint32_t psz, const unsigned char *base,
                              const unsigned char *mine, const s3p_hash *h,
                              unsigned char *out){
  if(psz < 100) return 0;
  uint32_t c0 = rebase_get4(base + 24);
  for(int which = 0; which < 2; which++){
    const unsigned char *vn = which ? mine + 96 : base + 96;
    if(which && !memcmp(mine + 96, base + 96, 4)) break;
    memcpy(out, base, psz);
    memcpy(out + 96, vn, 4);
    for(uint32_t k = 1; k <= REBASE_GUESS_COUNTERS; k++){
      rebase_put4(out + 24, c0 + k);
      rebase_put4(out + 92, c0 + k);
      s3p_hash g;
      s3p_hash_page(&g, out, psz);
      if(s3p_hash_eq(&g, h)) return 1;
    }
  }
  return 0;
}

/* rebase_page1 merges page 1: base (at the version read), won (after the
** winners) and the transaction's own in out. The winners may have changed
** only the change counter, version-valid-for and the SQLite version
** number. Returns SQLITE_OK or SQLITE_BUSY_SNAPSHOT. */
static int rebase_page1(s3p_db *db, uint64_t won_version,
                        const unsigned char *base, const unsigned char *won,
                        unsigned char *out){
  uint32_t psz = db->view.page_size;
  for(uint32_t i = 0; i < psz; i++){
    if((i >= 24 && i < 28) || (i >= 92 && i < 100)) continue;
    if(base[i] != won[i]){
      return rebase_conflict(db, won_version, i < 100
                             ? "it changed the database header (freelist, "
                               "schema cookie or settings)"
                             : "it changed page 1 (the schema table)", 1);
    }
  }
  if(psz < 100 || memcmp(out, "SQLite format 3", 16)){
    return rebase_conflict(db, won_version, "page 1 is not a database "
                           "header", 1);
  }
  /* Above both sides: SQLite compares the counter at its next lock with
  ** the one it wrote, and drops its cache of version N when they differ. */
  uint32_t a = rebase_get4(won + 24), b = rebase_get4(out + 24);
  uint32_t counter = (a > b ? a : b) + 1;
  rebase_put4(out + 24, counter);
  rebase_put4(out + 92, counter);
  return SQLITE_OK;
}


/* rebase_u32_cmp orders page numbers for qsort and bsearch. */
static int rebase_u32_cmp(const void *a, const void *b){
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int s3p_db_won(const s3p_db *db, uint32_t pgno){
  return db->nwon && bsearch(&pgno, db->won, db->nwon, sizeof *db->won,
                             rebase_u32_cmp) != NULL;
}

/* rebase_winners reads the records after version n0 in batches of
** parallel GETs (usually one round trip: it is also how the newest version
** is found), up to S3P_REBASE_MAX_BEHIND of them, until one is missing.
** *out gets them (malloc'd), *n their count (at least 1: n0+1 exists).
** Returns SQLITE_OK, SQLITE_BUSY_SNAPSHOT when more won than the bound, or
** an error. */
static int rebase_winners(s3p_db *db, uint64_t n0, s3p_record **out,
                          size_t *n){
  s3p_record *recs = calloc(S3P_REBASE_MAX_BEHIND, sizeof *recs);
  s3p_op ops[16];
  char keys[16][32];
  size_t got = 0, batch = 4;
  int rc = recs ? SQLITE_OK : s3p_db_error(db, SQLITE_NOMEM, "out of memory");
  int done = 0;
  while(rc == SQLITE_OK && !done){
    if(got + batch > S3P_REBASE_MAX_BEHIND){
      rc = rebase_conflict(db, n0 + 1, "too many versions were committed "
                           "meanwhile", 0);
      break;
    }
    memset(ops, 0, sizeof ops);
    for(size_t i = 0; i < batch; i++){
      s3p_record_key(keys[i], n0 + 1 + got + i);
      ops[i].kind = S3P_OP_GET;
      ops[i].key = keys[i];
    }
    int src = s3p_store_exec(db->store, ops, batch);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET",
                                    keys[0], NULL);
    for(size_t i = 0; i < batch && rc == SQLITE_OK && !done; i++){
      if(ops[i].rc == S3P_ENOTFOUND){
        done = 1;
      }else if(ops[i].rc){
        rc = s3p_db_store_error(db, ops[i].rc, SQLITE_IOERR_READ, "GET",
                                keys[i], ops[i].errmsg);
      }else{
        const char *why = NULL;
        s3p_record *r = &recs[got];
        if(s3p_record_decode(r, ops[i].data, ops[i].len, &why) != S3P_OK ||
           r->version != n0 + 1 + got){
          s3p_record_free(r);
          rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %s: %s",
                            db->store->desc, keys[i],
                            why ? why : "names another version");
        }else{
          got++;
        }
      }
    }
    for(size_t i = 0; i < batch; i++) s3p_op_reset(&ops[i]);
    batch = 16;
  }
  if(rc == SQLITE_OK && got == 0){
    /* The record that beat this commit vanished: gc, or a damaged store. */
    rc = rebase_conflict(db, n0 + 1, "its record is gone now", 0);
  }
  if(rc){
    for(size_t i = 0; recs && i < got; i++) s3p_record_free(&recs[i]);
    free(recs);
    return rc;
  }
  *out = recs;
  *n = got;
  return SQLITE_OK;
}

int s3p_db_rebase(s3p_db *db){
  s3p_view *v = &db->view;
  uint64_t n0 = v->version;
  uint32_t psz = v->page_size;
  if(n0 == 0 || psz < 100){
    return rebase_conflict(db, n0 + 1, "this transaction created the "
                           "database", 0);
  }
  uint64_t t0 = s3p_now_ms();
  s3p_record *recs = NULL;
  size_t n = 0;
  int rc = rebase_winners(db, n0, &recs, &n);
  if(rc) return rc;
  uint64_t latest = n0 + n;
  unsigned char *base = malloc(psz), *won = malloc(psz), *mine = malloc(psz);
  if(!base || !won || !mine){
    rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    goto out;
  }
  s3p_hash p1;
  int p1_changed = 0;
  memset(&p1, 0, sizeof p1);
  rc = rebase_check(db, recs, n, &p1, &p1_changed);
  if(rc) goto out;
  int got = s3p_txbuf_get(db->tx, 1, mine);
  if(got < 0){
    rc = s3p_db_error(db, SQLITE_IOERR_READ, "reading the transaction's "
                      "spill file failed");
    goto out;
  }
  if(got == 1 || p1_changed){
    rc = s3p_db_read_page(db, 1, base);
    if(rc == SQLITE_OK && got == 0) memcpy(mine, base, psz);
    if(rc == SQLITE_OK){
      /* won: page 1 after the winners (their change counter above all:
      ** the merged counter must pass it, or SQLite elsewhere would keep a
      ** cache that this version makes stale). */
      if(!p1_changed){
        memcpy(won, base, psz);
      }else if(!rebase_guess_page1(psz, base, mine, &p1, won)){
        rc = s3p_db_page_by_hash(db, 1, &p1, won);
      }
    }
    if(rc == SQLITE_OK) rc = rebase_page1(db, latest, base, won, mine);
    if(rc) goto out;
  }
  /* Everything checks out: the view moves to the newest version. */
  for(size_t i = 0; i < n && rc == SQLITE_OK; i++){
    const char *why = NULL;
    if(s3p_view_apply(v, &recs[i], &why)){
      rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: commit record %llu: %s",
                        db->store->desc,
                        (unsigned long long)recs[i].version, why ? why : "?");
    }
  }
  if(rc){
    s3p_view_free(v);            /* part-way: start over at the next lock */
    db->checked_ms = 0;
    db->fresh_ms = 0;
    goto out;
  }
  if((got == 1 || p1_changed) && s3p_txbuf_put(db->tx, 1, mine)){
    rc = s3p_db_error(db, SQLITE_IOERR_WRITE, "buffering the merged page 1 "
                      "failed");
    goto out;
  }
  /* What the winners changed: SQLite may hold those pages as of version
  ** n0 until it releases its lock (vfs.c's guard). */
  size_t total = 0;
  for(size_t i = 0; i < n; i++) total += recs[i].nchange;
  uint32_t *w = realloc(db->won, (db->nwon + total + 1) * sizeof *w);
  if(!w){
    rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
    goto out;
  }
  db->won = w;
  for(size_t i = 0; i < n; i++){
    for(uint32_t c = 0; c < recs[i].nchange; c++){
      if(recs[i].changes[c].pgno != 1) w[db->nwon++] = recs[i].changes[c].pgno;
    }
  }
  /* Sorted without repeats: the guard looks up every page SQLite reads
  ** (s3p_db_won). */
  if(db->nwon > 1){
    qsort(w, db->nwon, sizeof *w, rebase_u32_cmp);
    size_t d = 1;
    for(size_t i = 1; i < db->nwon; i++){
      if(w[i] != w[d - 1]) w[d++] = w[i];
    }
    db->nwon = d;
  }
  db->fresh_ms = t0;
  db->checked_ms = t0;
out:
  for(size_t i = 0; recs && i < n; i++) s3p_record_free(&recs[i]);
  free(recs);
  free(base);
  free(won);
  free(mine);
  return rc;
}
