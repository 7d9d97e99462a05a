/*
** keycmp.c: finding which index b-tree holds a page, for diff on
** databases without a pointer map: the first key on the page is searched
** for from each index's root, comparing keys as SQLite orders them (its
** collations BINARY, NOCASE and RTRIM, ASC and DESC columns); the index
** whose search passes through the page holds it.
**
** The collations and sort orders of an index come from running its
** table's CREATE TABLE and its CREATE INDEX statements in a private
** in-memory database and reading PRAGMA index_xinfo; an index with any
** other collation is never searched (its pages stay "other").
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include "diff.h"

/* Most key fields compared. */
#define KEY_MAX_FIELDS 2000

/* key_info_load fills o->coll and o->desc (o->nkey entries) for index or
** WITHOUT ROWID table o of side s; o->nkey becomes -1 when that cannot be
** done or a collation is not one of SQLite's own. Returns SQLITE_OK or
** SQLITE_NOMEM. */
static int key_info_load(diff_ctx *c, const diff_side *s, diff_obj *o){
  o->nkey = -1;
  const char *tsql = NULL;
  for(size_t i = 0; i < s->nobj; i++){
    if(!strcmp(s->obj[i].type, "table") && !strcasecmp(s->obj[i].name, o->tbl)){
      tsql = s->obj[i].sql;
    }
  }
  if(!tsql || strncasecmp(tsql, "CREATE TABLE", 12)) return SQLITE_OK;
  if(o->sql && strncasecmp(o->sql, "CREATE INDEX", 12) &&
     strncasecmp(o->sql, "CREATE UNIQUE INDEX", 19) && strcmp(o->type, "table")){
    return SQLITE_OK;
  }
  sqlite3 *m = NULL;
  if(sqlite3_open_v2(":memory:", &m, SQLITE_OPEN_READWRITE |
                     SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY, NULL)){
    sqlite3_close(m);
    return SQLITE_OK;
  }
  int ok = 1, rc = SQLITE_OK;
  const char *stmts[2] = { tsql, !strcmp(o->type, "index") ? o->sql : NULL };
  for(int k = 0; k < 2 && ok; k++){
    if(!stmts[k]) continue;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    ok = sqlite3_prepare_v2(m, stmts[k], -1, &st, &tail) == SQLITE_OK && st &&
         (!tail || !*tail) && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
  }
  sqlite3_stmt *st = NULL;
  if(ok && sqlite3_prepare_v2(m, "SELECT desc, coll, key, name FROM "
                              "pragma_index_xinfo(?) ORDER BY seqno", -1, &st,
                              NULL) == SQLITE_OK){
    sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
    int n = 0;
    o->npk = 0;
    while(ok && sqlite3_step(st) == SQLITE_ROW && n < KEY_MAX_FIELDS){
      unsigned char *d = realloc(o->desc, (size_t)n + 1);
      unsigned char *co = d ? realloc(o->coll, (size_t)n + 1) : NULL;
      char **nm = co ? realloc(o->knames, ((size_t)n + 1) * sizeof *nm) : NULL;
      if(d) o->desc = d;
      if(co) o->coll = co;
      if(nm) o->knames = nm;
      const char *cname = (const char *)sqlite3_column_text(st, 3);
      if(nm) nm[n] = strdup(cname ? cname : "");
      if(!d || !co || !nm || !nm[n]){
        rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
        ok = 0;
        break;
      }
      o->nknames = n + 1;
      if(sqlite3_column_int(st, 2)) o->npk++;
      const char *cn = (const char *)sqlite3_column_text(st, 1);
      o->desc[n] = (unsigned char)(sqlite3_column_int(st, 0) != 0);
      if(!cn || !strcasecmp(cn, "BINARY")) o->coll[n] = 0;
      else if(!strcasecmp(cn, "NOCASE")) o->coll[n] = 1;
      else if(!strcasecmp(cn, "RTRIM")) o->coll[n] = 2;
      else ok = 0;
      n++;
    }
    if(ok && n > 0) o->nkey = n;
  }
  sqlite3_finalize(st);
  sqlite3_close(m);
  return rc;
}

/* key_class orders the storage classes: NULL, numbers, text, blob. */
static int key_class(int type){
  switch(type){
    case SQLITE_NULL: return 0;
    case SQLITE_INTEGER: case SQLITE_FLOAT: return 1;
    case SQLITE_TEXT: return 2;
    default: return 3;
  }
}

/* key_text_cmp compares texts x and y under collation coll (0 BINARY,
** 1 NOCASE, 2 RTRIM). Returns <0, 0 or >0. */
static int key_text_cmp(const s3page_value *x, const s3page_value *y, int coll){
  int nx = x->n, ny = y->n;
  if(coll == 2){
    while(nx > 0 && x->p[nx - 1] == ' ') nx--;
    while(ny > 0 && y->p[ny - 1] == ' ') ny--;
  }
  int n = nx < ny ? nx : ny;
  for(int i = 0; i < n; i++){
    int a = x->p[i], b = y->p[i];
    if(coll == 1){
      if(a >= 'A' && a <= 'Z') a += 32;
      if(b >= 'A' && b <= 'Z') b += 32;
    }
    if(a != b) return a - b;
  }
  return nx - ny;
}

/* key_value_cmp compares two values under collation coll. Returns <0, 0
** or >0. */
static int key_value_cmp(const s3page_value *x, const s3page_value *y,
                         int coll){
  int cx = key_class(x->type), cy = key_class(y->type);
  if(cx != cy) return cx - cy;
  if(cx == 0) return 0;
  if(cx == 1){
    if(x->type == SQLITE_INTEGER && y->type == SQLITE_INTEGER){
      return x->i < y->i ? -1 : x->i > y->i;
    }
    long double a = x->type == SQLITE_INTEGER ? (long double)x->i : x->r;
    long double b = y->type == SQLITE_INTEGER ? (long double)y->i : y->r;
    return a < b ? -1 : a > b;
  }
  if(cx == 2) return key_text_cmp(x, y, coll);
  int n = x->n < y->n ? x->n : y->n;
  int r = n ? memcmp(x->p, y->p, (size_t)n) : 0;
  return r ? r : x->n - y->n;
}

/* diff_key_cmp compares key records x (nx values) and y under index o. Returns
** <0, 0 or >0 (0 when every field both have is equal). */
int diff_key_cmp(const diff_obj *o, const s3page_value *x, int nx,
                   const s3page_value *y, int ny){
  int n = nx < ny ? nx : ny;
  for(int i = 0; i < n; i++){
    int coll = i < o->nkey ? o->coll[i] : 0;
    int r = key_value_cmp(&x[i], &y[i], coll);
    if(i < o->nkey && o->desc[i]) r = -r;
    if(r) return r;
  }
  return 0;
}

/* A decoded key: its payload and values. */
typedef struct key_rec {
  unsigned char *pl;         /* payload (malloc'd) */
  s3page_value *v;           /* values (malloc'd) */
  int n;                     /* how many */
} key_rec;

/* key_read decodes the key of cell cl of side s into *k. Returns
** SQLITE_OK, SQLITE_CORRUPT (recorded) or SQLITE_NOMEM. */
static int key_read(diff_ctx *c, diff_side *s, const s3p_btcell *cl,
                    key_rec *k){
  memset(k, 0, sizeof *k);
  int rc = s3p_btcell_payload(&s->hs, cl, &k->pl);
  if(rc) return rc;
  k->v = malloc(KEY_MAX_FIELDS * sizeof *k->v);
  if(!k->v){ free(k->pl); return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory"); }
  k->n = s3p_record_values(k->pl, cl->payload, k->v, KEY_MAX_FIELDS);
  if(k->n < 0){
    free(k->pl);
    free(k->v);
    memset(k, 0, sizeof *k);
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: a bad index key in "
                        "version %llu", c->db->store->desc,
                        (unsigned long long)s->db->view.version);
  }
  return SQLITE_OK;
}

/* key_free releases k. */
static void key_free(key_rec *k){
  free(k->pl);
  free(k->v);
}

/* key_leads_to sets *yes if the search for key k in index o of side s
** passes through page target. Returns SQLITE_OK or an error. */
static int key_leads_to(diff_ctx *c, diff_side *s, const diff_obj *o,
                        const key_rec *k, uint32_t target, int *yes){
  *yes = 0;
  uint32_t pg = o->root;
  for(int depth = 0; depth < 24; depth++){
    if(pg == target){ *yes = 1; return SQLITE_OK; }
    s3p_btpage bp;
    int rc = s3p_btpage_parse(&s->hs, pg, &bp);
    if(rc) return rc;
    if(bp.table || !bp.type || !bp.interior) return SQLITE_OK;
    uint32_t lo = 0, hi = bp.ncell;
    int found_equal = 0;
    while(lo < hi){
      uint32_t mid = (lo + hi) / 2;
      s3p_btcell cl;
      if(s3p_btpage_cell(&bp, mid, &cl)) return SQLITE_OK;
      key_rec y;
      rc = key_read(c, s, &cl, &y);
      if(rc) return rc;
      int r = diff_key_cmp(o, k->v, k->n, y.v, y.n);
      key_free(&y);
      if(r == 0){ found_equal = 1; break; }
      if(r > 0) lo = mid + 1;
      else hi = mid;
    }
    if(found_equal) return SQLITE_OK;    /* the key sits in this page */
    if(lo < bp.ncell){
      s3p_btcell cl;
      if(s3p_btpage_cell(&bp, lo, &cl)) return SQLITE_OK;
      pg = cl.child;
    }else{
      pg = bp.right;
    }
  }
  return SQLITE_OK;
}

int diff_locate_index(diff_ctx *c, diff_side *s, const s3p_btpage *bp,
                      int *obj){
  *obj = -1;
  if(bp->ncell == 0) return SQLITE_OK;
  s3p_btcell cl;
  if(s3p_btpage_cell(bp, 0, &cl)) return SQLITE_OK;
  key_rec k;
  int rc = key_read(c, s, &cl, &k);
  if(rc == SQLITE_CORRUPT) return SQLITE_OK;   /* not a key: stays other */
  if(rc) return rc;
  for(size_t i = 1; i < s->nobj && rc == SQLITE_OK && *obj < 0; i++){
    diff_obj *o = &s->obj[i];
    if(!o->root || (strcmp(o->type, "index") &&
                    (strcmp(o->type, "table") || o->rowid_table))){
      continue;
    }
    if(o->nkey == 0) rc = key_info_load(c, s, o);
    if(rc || o->nkey < 0) continue;
    int yes = 0;
    rc = key_leads_to(c, s, o, &k, bp->pgno, &yes);
    if(rc == SQLITE_OK && yes) *obj = (int)i;
  }
  key_free(&k);
  return rc;
}

int diff_key_prepare(diff_ctx *c, const diff_side *s, diff_obj *o){
  if(o->nkey == 0) return key_info_load(c, s, o);
  return SQLITE_OK;
}

int diff_key_find(diff_ctx *c, diff_side *s, const diff_obj *o,
                  const s3page_value *k, int nk, unsigned char **pl,
                  uint32_t *n){
  *pl = NULL;
  *n = 0;
  uint32_t pg = o->root;
  for(int depth = 0; depth < 24; depth++){
    s3p_btpage bp;
    int rc = s3p_btpage_parse(&s->hs, pg, &bp);
    if(rc) return rc;
    if(bp.table || !bp.type){
      return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: page %u of version %llu "
                          "is not a page of %s", c->db->store->desc,
                          (unsigned)pg, (unsigned long long)s->db->view.version,
                          o->name);
    }
    uint32_t lo = 0, hi = bp.ncell;
    while(lo < hi){
      uint32_t mid = (lo + hi) / 2;
      s3p_btcell cl;
      if(s3p_btpage_cell(&bp, mid, &cl)){
        return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: bad cell on page %u "
                            "of version %llu", c->db->store->desc, (unsigned)pg,
                            (unsigned long long)s->db->view.version);
      }
      key_rec y;
      rc = key_read(c, s, &cl, &y);
      if(rc) return rc;
      int r = diff_key_cmp(o, k, nk, y.v, y.n);
      if(r == 0){
        *pl = y.pl;          /* the entry: its whole record */
        *n = cl.payload;
        free(y.v);
        return SQLITE_OK;
      }
      key_free(&y);
      if(r > 0) lo = mid + 1;
      else hi = mid;
    }
    if(!bp.interior) return SQLITE_OK;
    if(lo < bp.ncell){
      s3p_btcell cl;
      if(s3p_btpage_cell(&bp, lo, &cl)) return SQLITE_OK;
      pg = cl.child;
    }else{
      pg = bp.right;
    }
  }
  return SQLITE_OK;
}
