/*
** pages.c: reading SQLite pages of stored versions directly, for the
** history tools that look inside the database file (diff): a cache of page
** contents by hash shared by the versions read (pages two versions share
** are fetched once), batched prefetch, and decoders of SQLite's b-tree
** pages, cells, overflow chains, records and pointer map.
**
** Every byte decoded here came from the store: offsets, counts, lengths
** and page numbers are checked against the page, the payload and the
** version's page count before use, and a damaged structure is
** SQLITE_CORRUPT with a message naming the page, never a crash.
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "internal.h"
#include "../index/page.h"

/* Deepest b-tree followed (SQLite's own limit is 20). */
#define HP_MAX_DEPTH 24

static int hp_raw(s3p_hside *s, uint32_t k, const unsigned char **out);
static uint32_t hp_get2(const unsigned char *p);

int s3p_hpages_init(s3p_hpages *pc, s3p_db *db){
  memset(pc, 0, sizeof *pc);
  pc->db = db;
  return SQLITE_OK;
}

void s3p_hpages_free(s3p_hpages *pc){
  for(size_t i = 0; i < pc->n; i++) free(pc->buf[i]);
  free(pc->buf);
  free(pc->zero);
  s3p_hset_free(&pc->slots);
  memset(pc, 0, sizeof *pc);
}

int s3p_hside_init(s3p_hside *s, s3p_db *db, s3p_hpages *pc){
  memset(s, 0, sizeof *s);
  s->db = db;
  s->pc = pc;
  s->spsz = db->view.page_size;
  s->snpages = db->view.page_count;
  s->psz = s->spsz;
  s->usable = s->psz;
  if(s->snpages == 0) return SQLITE_OK;
  const unsigned char *p1;
  int rc = hp_raw(s, 1, &p1);
  if(rc) return rc;
  uint32_t q = hp_get2(p1 + 16);
  if(q == 1) q = 65536;
  if(memcmp(p1, "SQLite format 3", 16) || q < 512 || q > 65536 || (q & (q - 1))){
    return s3p_db_error(pc->db, SQLITE_CORRUPT, "%s: page 1 of version %llu "
                        "is not a SQLite header", pc->db->store->desc,
                        (unsigned long long)db->view.version);
  }
  /* SQLite's page size may differ from the stored one (a VACUUM that
  ** changed it): SQLite page p is bytes (p-1)*q.. of the file. */
  s->psz = q;
  s->npages = (uint32_t)((uint64_t)s->snpages * s->spsz / q);
  uint32_t reserved = p1[20];
  if(reserved >= s->psz || s->psz - reserved < 480){
    return s3p_db_error(pc->db, SQLITE_CORRUPT, "%s: page 1 of version %llu "
                        "has a bad reserved size %u", pc->db->store->desc,
                        (unsigned long long)db->view.version,
                        (unsigned)reserved);
  }
  s->usable = s->psz - reserved;
  s->autovac = s3p_get4(p1 + 52) != 0;
  return SQLITE_OK;
}

uint32_t s3p_get4(const unsigned char *p){
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* hp_get2 reads the big-endian 16-bit number at p. */
static uint32_t hp_get2(const unsigned char *p){
  return (uint32_t)p[0] << 8 | p[1];
}

int s3p_hside_hash(s3p_hside *s, uint32_t pgno, s3p_hash *out){
  /* Nodes load through the cache's handle: the versions share them. */
  s3p_tree_io io = s3p_db_tree_io(s->pc->db);
  if(s3p_view_lookup(out, &s->db->view, pgno, &io)){
    s3p_db *db = s->pc->db;
    return db->errcode ? db->errcode
                       : s3p_db_error(db, SQLITE_IOERR_READ, "%s: reading the "
                                      "page map of version %llu failed",
                                      db->store->desc, (unsigned long long)
                                      s->db->view.version);
  }
  return SQLITE_OK;
}

/* hp_keep stores page bytes (taken over) under h in the cache. Returns
** SQLITE_OK or SQLITE_NOMEM. */
static int hp_keep(s3p_hpages *pc, const s3p_hash *h, unsigned char *bytes){
  if(pc->n == pc->cap){
    size_t cap = pc->cap ? pc->cap * 2 : 64;
    unsigned char **g = realloc(pc->buf, cap * sizeof *g);
    if(!g){ free(bytes); return s3p_db_error(pc->db, SQLITE_NOMEM, "out of memory"); }
    pc->buf = g;
    pc->cap = cap;
  }
  if(s3p_hset_add(&pc->slots, h, (uint32_t)pc->n) < 0){
    free(bytes);
    return s3p_db_error(pc->db, SQLITE_NOMEM, "out of memory");
  }
  pc->buf[pc->n++] = bytes;
  return SQLITE_OK;
}

/* hp_fetch GETs the n page objects hs[0..n) (distinct, not cached, all of
** side s's page size; pgnos for messages) in batches and caches them.
** Returns SQLITE_OK or an error. */
static int hp_fetch(s3p_hside *s, const s3p_hash *hs, const uint32_t *pgnos,
                    size_t n){
  s3p_hpages *pc = s->pc;
  s3p_db *db = pc->db;
  int rc = SQLITE_OK;
  for(size_t at = 0; at < n && rc == SQLITE_OK; at += S3P_HIST_BATCH){
    size_t m = n - at < S3P_HIST_BATCH ? n - at : S3P_HIST_BATCH;
    s3p_op ops[S3P_HIST_BATCH];
    char keys[S3P_HIST_BATCH][S3P_KEY_MAX];
    memset(ops, 0, sizeof ops);
    for(size_t i = 0; i < m; i++){
      s3p_hash_key(keys[i], "pages", &hs[at + i]);
      ops[i].kind = S3P_OP_GET;
      ops[i].key = keys[i];
    }
    int src = s3p_store_exec(db->store, ops, m);
    if(src) rc = s3p_db_store_error(db, src, SQLITE_IOERR_READ, "GET", keys[0],
                                    NULL);
    for(size_t i = 0; i < m; i++){
      if(rc == SQLITE_OK){
        if(ops[i].rc == S3P_ENOTFOUND){
          rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: page object %s (page %u "
                            "of version %llu) is missing", db->store->desc,
                            keys[i], (unsigned)pgnos[at + i],
                            (unsigned long long)s->db->view.version);
        }else if(ops[i].rc){
          rc = s3p_db_store_error(db, ops[i].rc, SQLITE_IOERR_READ, "GET",
                                  keys[i], ops[i].errmsg);
        }else{
          unsigned char *b = malloc(s->spsz);
          const char *why = NULL;
          if(!b){
            rc = s3p_db_error(db, SQLITE_NOMEM, "out of memory");
          }else if(s3p_page_decode(b, s->spsz, &hs[at + i], ops[i].data,
                                   ops[i].len, &why)){
            free(b);
            rc = s3p_db_error(db, SQLITE_CORRUPT, "%s: page object %s (page "
                              "%u of version %llu) is corrupt: %s",
                              db->store->desc, keys[i], (unsigned)pgnos[at + i],
                              (unsigned long long)s->db->view.version,
                              why ? why : "?");
          }else{
            pc->fetched++;
            pc->bytes += ops[i].len;
            rc = hp_keep(pc, &hs[at + i], b);
          }
        }
      }
      s3p_op_reset(&ops[i]);
    }
  }
  return rc;
}

/* hp_parts sets *first and *n to the store pages that hold SQLite page
** pgno of s. */
static void hp_parts(const s3p_hside *s, uint32_t pgno, uint32_t *first,
                     uint32_t *n){
  uint64_t off = (uint64_t)(pgno - 1) * s->psz;
  *first = (uint32_t)(off / s->spsz) + 1;
  *n = s->psz > s->spsz ? s->psz / s->spsz : 1;
}

int s3p_hside_prefetch(s3p_hside *s, const uint32_t *pgnos, size_t n){
  size_t per = s->psz > s->spsz ? s->psz / s->spsz : 1;
  size_t cap = (n ? n : 1) * per;
  s3p_hash *hs = malloc(cap * sizeof *hs);
  uint32_t *ps = malloc(cap * sizeof *ps);
  s3p_hset want;
  memset(&want, 0, sizeof want);
  int rc = SQLITE_OK;
  if(!hs || !ps) rc = s3p_db_error(s->pc->db, SQLITE_NOMEM, "out of memory");
  size_t k = 0;
  for(size_t i = 0; i < n && rc == SQLITE_OK; i++){
    if(pgnos[i] == 0 || pgnos[i] > s->npages) continue;
    uint32_t first, m;
    hp_parts(s, pgnos[i], &first, &m);
    for(uint32_t j = 0; j < m && rc == SQLITE_OK; j++){
      s3p_hash h;
      rc = s3p_hside_hash(s, first + j, &h);
      if(rc || s3p_hash_is_zero(&h) || s3p_hset_get(&s->pc->slots, &h, NULL)){
        continue;
      }
      int added = s3p_hset_add(&want, &h, 0);
      if(added < 0) rc = s3p_db_error(s->pc->db, SQLITE_NOMEM, "out of memory");
      if(added <= 0) continue;
      hs[k] = h;
      ps[k] = first + j;
      k++;
    }
  }
  if(rc == SQLITE_OK) rc = hp_fetch(s, hs, ps, k);
  s3p_hset_free(&want);
  free(hs);
  free(ps);
  return rc;
}

/* hp_zero sets *out to an all-zero buffer of at least n bytes. Returns
** SQLITE_OK or SQLITE_NOMEM. */
static int hp_zero(s3p_hpages *pc, uint32_t n, const unsigned char **out){
  if(pc->zero_size < n){
    free(pc->zero);
    pc->zero = calloc(1, n);
    if(!pc->zero){
      pc->zero_size = 0;
      return s3p_db_error(pc->db, SQLITE_NOMEM, "out of memory");
    }
    pc->zero_size = n;
  }
  *out = pc->zero;
  return SQLITE_OK;
}

/* hp_raw sets *out to the bytes of store page k of s (spsz bytes).
** Returns SQLITE_OK or an error. */
static int hp_raw(s3p_hside *s, uint32_t k, const unsigned char **out){
  s3p_hpages *pc = s->pc;
  *out = NULL;
  if(k == 0 || k > s->snpages){
    return s3p_db_error(pc->db, SQLITE_CORRUPT, "%s: version %llu refers to "
                        "page %u of %u", pc->db->store->desc,
                        (unsigned long long)s->db->view.version,
                        (unsigned)k, (unsigned)s->snpages);
  }
  s3p_hash h;
  int rc = s3p_hside_hash(s, k, &h);
  if(rc) return rc;
  if(s3p_hash_is_zero(&h)) return hp_zero(pc, s->spsz > s->psz ? s->spsz : s->psz, out);
  uint32_t slot;
  if(!s3p_hset_get(&pc->slots, &h, &slot)){
    rc = hp_fetch(s, &h, &k, 1);
    if(rc) return rc;
    if(!s3p_hset_get(&pc->slots, &h, &slot)){
      return s3p_db_error(pc->db, SQLITE_INTERNAL, "page cache lost a page");
    }
  }
  *out = pc->buf[slot];
  return SQLITE_OK;
}

int s3p_hside_page(s3p_hside *s, uint32_t pgno, const unsigned char **out){
  s3p_hpages *pc = s->pc;
  *out = NULL;
  if(pgno == 0 || pgno > s->npages){
    return s3p_db_error(pc->db, SQLITE_CORRUPT, "%s: version %llu refers to "
                        "page %u of %u", pc->db->store->desc,
                        (unsigned long long)s->db->view.version,
                        (unsigned)pgno, (unsigned)s->npages);
  }
  uint32_t first, n;
  hp_parts(s, pgno, &first, &n);
  if(n == 1){
    const unsigned char *raw;
    int rc = hp_raw(s, first, &raw);
    if(rc) return rc;
    *out = raw + ((uint64_t)(pgno - 1) * s->psz) % s->spsz;
    return SQLITE_OK;
  }
  /* A SQLite page over several store pages: assembled once, kept under
  ** a name derived from its parts' hashes. */
  s3p_hash parts[256], key;
  if(n > 256) return s3p_db_error(pc->db, SQLITE_CORRUPT, "bad page sizes");
  for(uint32_t j = 0; j < n; j++){
    int rc = s3p_hside_hash(s, first + j, &parts[j]);
    if(rc) return rc;
  }
  s3p_hash_bytes(&key, parts, n * sizeof *parts);
  uint32_t slot;
  if(s3p_hset_get(&pc->slots, &key, &slot)){
    *out = pc->buf[slot];
    return SQLITE_OK;
  }
  unsigned char *b = malloc(s->psz);
  if(!b) return s3p_db_error(pc->db, SQLITE_NOMEM, "out of memory");
  for(uint32_t j = 0; j < n; j++){
    const unsigned char *raw;
    int rc = hp_raw(s, first + j, &raw);
    if(rc){ free(b); return rc; }
    memcpy(b + (size_t)j * s->spsz, raw, s->spsz);
  }
  int rc = hp_keep(pc, &key, b);
  if(rc) return rc;
  return s3p_hset_get(&pc->slots, &key, &slot)
         ? (*out = pc->buf[slot], SQLITE_OK)
         : s3p_db_error(pc->db, SQLITE_INTERNAL, "page cache lost a page");
}

int s3p_varint(const unsigned char *p, const unsigned char *end, uint64_t *v){
  uint64_t x = 0;
  for(int i = 0; i < 9; i++){
    if(p + i >= end) return 0;
    if(i == 8){
      *v = (x << 8) | p[i];
      return 9;
    }
    x = (x << 7) | (p[i] & 0x7f);
    if(!(p[i] & 0x80)){
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

/* hp_corrupt records that page pgno of side s is not a valid b-tree page
** (why). Returns SQLITE_CORRUPT. */
static int hp_corrupt(s3p_hside *s, uint32_t pgno, const char *why){
  return s3p_db_error(s->pc->db, SQLITE_CORRUPT, "%s: page %u of version %llu "
                      "is not a valid b-tree page: %s", s->pc->db->store->desc,
                      (unsigned)pgno, (unsigned long long)s->db->view.version,
                      why);
}

int s3p_btpage_parse(s3p_hside *s, uint32_t pgno, s3p_btpage *bp){
  memset(bp, 0, sizeof *bp);
  int rc = s3p_hside_page(s, pgno, &bp->data);
  if(rc) return rc;
  bp->pgno = pgno;
  uint32_t hdr = pgno == 1 ? 100 : 0;
  const unsigned char *p = bp->data + hdr;
  bp->type = p[0];
  if(bp->type != 0x0D && bp->type != 0x05 && bp->type != 0x0A &&
     bp->type != 0x02){
    bp->type = 0;          /* not a b-tree page: a caller's question */
    return SQLITE_OK;
  }
  bp->interior = bp->type == 0x05 || bp->type == 0x02;
  bp->table = bp->type == 0x0D || bp->type == 0x05;
  bp->ncell = hp_get2(p + 3);
  uint32_t ptrs = hdr + (bp->interior ? 12 : 8);
  if(ptrs + 2u * bp->ncell > s->usable) return hp_corrupt(s, pgno, "too many cells");
  bp->ptrs = bp->data + ptrs;
  bp->right = bp->interior ? s3p_get4(p + 8) : 0;
  bp->usable = s->usable;
  return SQLITE_OK;
}

int s3p_btpage_cell(const s3p_btpage *bp, uint32_t i, s3p_btcell *c){
  memset(c, 0, sizeof *c);
  if(i >= bp->ncell) return -1;
  uint32_t U = bp->usable, off = hp_get2(bp->ptrs + 2 * i);
  const unsigned char *end = bp->data + U, *p = bp->data + off;
  if(off < 8 || off >= U) return -1;
  if(bp->interior){
    if(p + 4 > end) return -1;
    c->child = s3p_get4(p);
    p += 4;
  }
  uint64_t n = 0;
  int k;
  if(bp->type == 0x05){      /* table interior: child and key only */
    if(!(k = s3p_varint(p, end, &n))) return -1;
    c->rowid = (int64_t)n;
    return 0;
  }
  if(!(k = s3p_varint(p, end, &n))) return -1;
  p += k;
  if(n > 0x7fffffff) return -1;
  c->payload = (uint32_t)n;
  if(bp->type == 0x0D){
    uint64_t r;
    if(!(k = s3p_varint(p, end, &r))) return -1;
    p += k;
    c->rowid = (int64_t)r;
  }
  /* How much of the payload is on the page (SQLite's file format). */
  uint32_t X = bp->table ? U - 35 : ((U - 12) * 64 / 255) - 23;
  uint32_t M = ((U - 12) * 32 / 255) - 23;
  uint32_t P = c->payload, local;
  if(P <= X) local = P;
  else{
    uint32_t K = M + ((P - M) % (U - 4));
    local = K <= X ? K : M;
  }
  if(p + local + (local < P ? 4 : 0) > end) return -1;
  c->local = p;
  c->nlocal = local;
  c->overflow = local < P ? s3p_get4(p + local) : 0;
  return 0;
}

int s3p_btcell_payload(s3p_hside *s, const s3p_btcell *c, unsigned char **out){
  *out = NULL;
  /* A payload cannot be bigger than the pages that could hold it. */
  if((uint64_t)c->payload > (uint64_t)s->npages * s->usable){
    return hp_corrupt(s, 0, "a cell's payload is larger than the database");
  }
  *out = malloc(c->payload ? c->payload : 1);
  if(!*out) return s3p_db_error(s->pc->db, SQLITE_NOMEM, "out of memory");
  memcpy(*out, c->local, c->nlocal);
  uint32_t have = c->nlocal, next = c->overflow;
  uint32_t per = s->usable - 4, hops = 0, maxhops = c->payload / per + 2;
  while(have < c->payload){
    const unsigned char *pg;
    if(next == 0 || ++hops > maxhops){
      free(*out);
      *out = NULL;
      return hp_corrupt(s, next, "broken overflow chain");
    }
    int rc = s3p_hside_page(s, next, &pg);
    if(rc){ free(*out); *out = NULL; return rc; }
    uint32_t take = c->payload - have < per ? c->payload - have : per;
    memcpy(*out + have, pg + 4, take);
    have += take;
    next = s3p_get4(pg);
  }
  return SQLITE_OK;
}

int s3p_record_values(const unsigned char *rec, uint32_t n, s3page_value *vals,
                      int max){
  uint64_t hsize;
  const unsigned char *end = rec + n;
  int k = s3p_varint(rec, end, &hsize);
  if(!k || hsize > n || hsize < (uint64_t)k) return -1;
  const unsigned char *h = rec + k, *hend = rec + hsize, *body = rec + hsize;
  int nv = 0;
  while(h < hend){
    uint64_t t;
    if(!(k = s3p_varint(h, hend, &t))) return -1;
    h += k;
    if(nv >= max) return -1;
    s3page_value *v = &vals[nv++];
    memset(v, 0, sizeof *v);
    uint64_t len = 0;
    static const unsigned char ilen[] = { 0, 1, 2, 3, 4, 6, 8, 8, 0, 0 };
    if(t <= 9) len = ilen[t];
    else if(t >= 12) len = (t - 12) / 2;
    else return -1;
    if(len > (uint64_t)(end - body)) return -1;
    if(t == 0){
      v->type = SQLITE_NULL;
    }else if(t == 7){
      uint64_t x = 0;
      for(int i = 0; i < 8; i++) x = x << 8 | body[i];
      v->type = SQLITE_FLOAT;
      memcpy(&v->r, &x, sizeof x);
    }else if(t <= 9){
      v->type = SQLITE_INTEGER;
      if(t == 8 || t == 9) v->i = t == 9;
      else{
        int64_t x = (signed char)body[0];
        for(uint64_t i = 1; i < len; i++) x = (int64_t)((uint64_t)x << 8) | body[i];
        v->i = x;
      }
    }else{
      v->type = (t & 1) ? SQLITE_TEXT : SQLITE_BLOB;
      v->p = body;
      v->n = (int)len;
    }
    body += len;
  }
  return nv;
}

int s3p_btree_find(s3p_hside *s, uint32_t root, int64_t rowid,
                   s3p_btpage *leaf, s3p_btcell *cell){
  uint32_t pg = root;
  for(int depth = 0; depth < HP_MAX_DEPTH; depth++){
    s3p_btpage bp;
    int rc = s3p_btpage_parse(s, pg, &bp);
    if(rc) return rc;
    if(!bp.table) return hp_corrupt(s, pg, "not a table b-tree page");
    if(!bp.interior){
      /* Cells are in rowid order: binary search. */
      uint32_t lo = 0, hi = bp.ncell;
      while(lo < hi){
        uint32_t mid = (lo + hi) / 2;
        s3p_btcell c;
        if(s3p_btpage_cell(&bp, mid, &c)) return hp_corrupt(s, pg, "bad cell");
        if(c.rowid == rowid){
          *leaf = bp;
          *cell = c;
          return SQLITE_OK;
        }
        if(c.rowid < rowid) lo = mid + 1;
        else hi = mid;
      }
      return SQLITE_NOTFOUND;
    }
    /* The first cell whose key is >= rowid leads to it, else the right. */
    uint32_t lo = 0, hi = bp.ncell;
    while(lo < hi){
      uint32_t mid = (lo + hi) / 2;
      s3p_btcell c;
      if(s3p_btpage_cell(&bp, mid, &c)) return hp_corrupt(s, pg, "bad cell");
      if(c.rowid < rowid) lo = mid + 1;
      else hi = mid;
    }
    if(lo < bp.ncell){
      s3p_btcell c;
      if(s3p_btpage_cell(&bp, lo, &c)) return hp_corrupt(s, pg, "bad cell");
      pg = c.child;
    }else{
      pg = bp.right;
    }
  }
  return hp_corrupt(s, pg, "b-tree too deep");
}

int s3p_btree_leads_to(s3p_hside *s, uint32_t root, int64_t rowid,
                       uint32_t target, int *yes){
  *yes = 0;
  uint32_t pg = root;
  for(int depth = 0; depth < HP_MAX_DEPTH; depth++){
    if(pg == target){ *yes = 1; return SQLITE_OK; }
    s3p_btpage bp;
    int rc = s3p_btpage_parse(s, pg, &bp);
    if(rc) return rc;
    if(!bp.table || !bp.interior) return SQLITE_OK;
    uint32_t lo = 0, hi = bp.ncell;
    while(lo < hi){
      uint32_t mid = (lo + hi) / 2;
      s3p_btcell c;
      if(s3p_btpage_cell(&bp, mid, &c)) return hp_corrupt(s, pg, "bad cell");
      if(c.rowid < rowid) lo = mid + 1;
      else hi = mid;
    }
    if(lo < bp.ncell){
      s3p_btcell c;
      if(s3p_btpage_cell(&bp, lo, &c)) return hp_corrupt(s, pg, "bad cell");
      pg = c.child;
    }else{
      pg = bp.right;
    }
  }
  return SQLITE_OK;
}

int s3p_ptrmap_get(s3p_hside *s, uint32_t pgno, int *type, uint32_t *parent){
  *type = 0;
  *parent = 0;
  if(!s->autovac || pgno < 3) return SQLITE_OK;
  uint32_t per = s->usable / 5;           /* entries per pointer-map page */
  uint32_t map = ((pgno - 2) / (per + 1)) * (per + 1) + 2;
  if(map == pgno){ *type = S3P_PTRMAP_SELF; return SQLITE_OK; }
  const unsigned char *pg;
  int rc = s3p_hside_page(s, map, &pg);
  if(rc) return rc;
  uint32_t off = 5 * (pgno - map - 1);
  if(off + 5 > s->usable) return SQLITE_OK;
  *type = pg[off];
  *parent = s3p_get4(pg + off + 1);
  return SQLITE_OK;
}
