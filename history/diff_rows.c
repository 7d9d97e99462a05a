/*
** diff_rows.c: the rows of rowid tables that differ between the two
** versions of an s3page_diff.
**
** For a table T present in both versions, the candidates are the rowids
** found on T's changed leaf pages in either version, on the cells whose
** overflow chain changed (located through the pointer map), and in every
** subtree that joined or left T (a child page listed by T's changed
** interior pages in one version and not in the other). A row on none of
** these sits on a page that is unchanged and still in T on both sides,
** so it is the same. Each candidate is then looked up from T's root in
** both versions (reading the paths, mostly cached) and its payloads are
** compared: absent in A is an insert, absent in B a delete, different an
** update.
**
** When the page sizes differ between the versions, or a changed page
** could not be located and might be an overflow page
** (no pointer map; it is not on the free list and not an index page),
** the candidates of every table are all its rows on both sides: the table
** is compared in full and counted in tables_scanned. A table created in B
** is reported as inserts of all its rows; one dropped only as the schema
** change.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include "diff.h"
#include "pglist.h"

/* Most values per row (SQLite's own limit is 32767 columns). */
#define ROWS_MAX_COLS 32768

/* A set of rowids (a growing array, sorted and deduplicated at the end). */
typedef struct rows_set {
  int64_t *v;                /* the rowids */
  size_t n;                  /* used */
  size_t cap;                /* allocated */
} rows_set;

/* rows_add appends r to s. Returns 0 or -1 when out of memory. */
static int rows_add(rows_set *s, int64_t r){
  if(s->n == s->cap){
    size_t cap = s->cap ? s->cap * 2 : 256;
    int64_t *g = realloc(s->v, cap * sizeof *g);
    if(!g) return -1;
    s->v = g;
    s->cap = cap;
  }
  s->v[s->n++] = r;
  return 0;
}

/* rows_i64_cmp orders rowids for qsort. */
static int rows_i64_cmp(const void *a, const void *b){
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* rows_nomem records an out-of-memory error. Returns SQLITE_NOMEM. */
static int rows_nomem(diff_ctx *c){
  return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
}

/* rows_bad records a damaged page pgno on side s. Returns SQLITE_CORRUPT. */
static int rows_bad(diff_ctx *c, const diff_side *s, uint32_t pgno){
  return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: bad b-tree cell on page %u "
                      "of version %llu", c->db->store->desc, (unsigned)pgno,
                      (unsigned long long)s->db->view.version);
}

/* rows_subtree adds every rowid in the table b-tree below pgno of side s
** to out. Returns SQLITE_OK or an error. */
static int rows_subtree(diff_ctx *c, diff_side *s, uint32_t pgno, int depth,
                        rows_set *out){
  if(depth > 24 || c->budget-- == 0) return rows_bad(c, s, pgno);
  s3p_btpage bp;
  int rc = s3p_btpage_parse(&s->hs, pgno, &bp);
  if(rc) return rc;
  if(!bp.table) return rows_bad(c, s, pgno);
  if(bp.interior){
    /* Fetch the children of this level in one batch. */
    uint32_t *kids = malloc((bp.ncell + 1) * sizeof *kids);
    if(!kids) return rows_nomem(c);
    for(uint32_t i = 0; i < bp.ncell; i++){
      s3p_btcell cl;
      if(s3p_btpage_cell(&bp, i, &cl)){ free(kids); return rows_bad(c, s, pgno); }
      kids[i] = cl.child;
    }
    kids[bp.ncell] = bp.right;
    rc = s3p_hside_prefetch(&s->hs, kids, bp.ncell + 1);
    for(uint32_t i = 0; i <= bp.ncell && rc == SQLITE_OK; i++){
      rc = rows_subtree(c, s, kids[i], depth + 1, out);
    }
    free(kids);
    return rc;
  }
  for(uint32_t i = 0; i < bp.ncell; i++){
    s3p_btcell cl;
    if(s3p_btpage_cell(&bp, i, &cl)) return rows_bad(c, s, pgno);
    if(rows_add(out, cl.rowid)) return rows_nomem(c);
  }
  return SQLITE_OK;
}

/* rows_walk is rows_subtree from the top, with a fresh page budget (the
** side's page count: a b-tree never visits a page twice). */
static int rows_walk(diff_ctx *c, diff_side *s, uint32_t pgno, rows_set *out){
  c->budget = (uint64_t)s->hs.npages + 1;
  return rows_subtree(c, s, pgno, 0, out);
}

/* rows_children adds the child pages of interior page bp to out. Returns
** SQLITE_OK or an error. */
static int rows_children(diff_ctx *c, const diff_side *s, const s3p_btpage *bp,
                         s3p_pglist *out){
  for(uint32_t i = 0; i < bp->ncell; i++){
    s3p_btcell cl;
    if(s3p_btpage_cell(bp, i, &cl)) return rows_bad(c, s, bp->pgno);
    if(s3p_pglist_push(out, cl.child)) return rows_nomem(c);
  }
  if(s3p_pglist_push(out, bp->right)) return rows_nomem(c);
  return SQLITE_OK;
}

/* rows_has returns 1 if sorted list l holds pgno. */
static int rows_has(const s3p_pglist *l, uint32_t pgno){
  size_t lo = 0, hi = l->n;
  while(lo < hi){
    size_t mid = (lo + hi) / 2;
    if(l->p[mid] == pgno) return 1;
    if(l->p[mid] < pgno) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* rows_is_changed returns 1 if pgno is one of side s's changed pages. */
static int rows_is_changed(const diff_side *s, uint32_t pgno){
  s3p_pglist l = { s->chg, s->nchg, s->nchg };
  return rows_has(&l, pgno);
}

/* rows_side_candidates adds to out the candidates of table t (index ti
** in side s) that side s shows, and the children its changed interior
** pages list to kids. Returns SQLITE_OK or an error. */
static int rows_side_candidates(diff_ctx *c, diff_side *s, int ti,
                                rows_set *out, s3p_pglist *kids){
  int rc = SQLITE_OK;
  for(size_t i = 0; i < s->nchg && rc == SQLITE_OK; i++){
    if(s->own[i].obj != ti) continue;
    uint32_t pg = s->chg[i];
    if(s->own[i].ovf_host){
      /* An overflow page: the row whose chain starts at ovf_head. */
      s3p_btpage bp;
      rc = s3p_btpage_parse(&s->hs, s->own[i].ovf_host, &bp);
      if(rc) break;
      if(!bp.table || bp.interior) continue;
      for(uint32_t k = 0; k < bp.ncell; k++){
        s3p_btcell cl;
        if(s3p_btpage_cell(&bp, k, &cl)){ rc = rows_bad(c, s, bp.pgno); break; }
        if(cl.overflow == s->own[i].ovf_head && rows_add(out, cl.rowid)){
          rc = rows_nomem(c);
        }
      }
      continue;
    }
    s3p_btpage bp;
    rc = s3p_btpage_parse(&s->hs, pg, &bp);
    if(rc) break;
    if(!bp.table) continue;
    if(bp.interior) rc = rows_children(c, s, &bp, kids);
    else rc = rows_walk(c, s, pg, out);
  }
  return rc;
}

/* Column names of one table. */
typedef struct rows_cols {
  char **names;              /* names (malloc'd each) */
  int n;                     /* how many */
  int alias;                 /* the INTEGER PRIMARY KEY column, or -1 */
} rows_cols;

/* rows_cols_free releases k. */
static void rows_cols_free(rows_cols *k){
  for(int i = 0; i < k->n; i++) free(k->names[i]);
  free(k->names);
  memset(k, 0, sizeof *k);
}

/* rows_cols_add appends name to k. Returns 0 or -1. */
static int rows_cols_add(rows_cols *k, const char *name){
  char **g = realloc(k->names, (size_t)(k->n + 1) * sizeof *g);
  if(!g) return -1;
  k->names = g;
  g[k->n] = strdup(name);
  if(!g[k->n]) return -1;
  k->n++;
  return 0;
}

/* rows_columns finds the stored columns of table o: its CREATE TABLE
** statement is run in a private in-memory database (nothing else is run)
** and PRAGMA table_xinfo read; the internal tables have known columns.
** Columns stay unnamed ("c1", ...) when that fails. Returns SQLITE_OK or
** SQLITE_NOMEM. */
static int rows_columns(diff_ctx *c, const diff_obj *o, rows_cols *k){
  static const char *const known[][7] = {
    { "sqlite_sequence", "name", "seq", NULL },
    { "sqlite_stat1", "tbl", "idx", "stat", NULL },
    { "sqlite_stat4", "tbl", "idx", "neq", "nlt", "ndlt", "sample" },
  };
  memset(k, 0, sizeof *k);
  k->alias = -1;
  for(size_t i = 0; i < sizeof known / sizeof *known; i++){
    if(strcasecmp(o->name, known[i][0])) continue;
    for(int j = 1; j < 7 && known[i][j]; j++){
      if(rows_cols_add(k, known[i][j])) return rows_nomem(c);
    }
    return SQLITE_OK;
  }
  if(!o->sql || strncasecmp(o->sql, "CREATE TABLE", 12)) return SQLITE_OK;
  sqlite3 *m = NULL;
  if(sqlite3_open_v2(":memory:", &m, SQLITE_OPEN_READWRITE |
                     SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY, NULL)){
    sqlite3_close(m);
    return SQLITE_OK;
  }
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  int rc = SQLITE_OK;
  if(sqlite3_prepare_v2(m, o->sql, -1, &st, &tail) == SQLITE_OK && st &&
     (!tail || !*tail) && sqlite3_step(st) == SQLITE_DONE){
    sqlite3_finalize(st);
    st = NULL;
    char *q = sqlite3_mprintf("SELECT name, type, pk, hidden FROM "
                              "pragma_table_xinfo(%Q)", o->name);
    int npk = 0, ipk = -1, ipk_int = 0;
    if(q && sqlite3_prepare_v2(m, q, -1, &st, NULL) == SQLITE_OK){
      while(sqlite3_step(st) == SQLITE_ROW){
        int hidden = sqlite3_column_int(st, 3);
        if(hidden == 1 || hidden == 2) continue;   /* not in the record */
        const char *nm = (const char *)sqlite3_column_text(st, 0);
        const char *ty = (const char *)sqlite3_column_text(st, 1);
        if(sqlite3_column_int(st, 2)){
          npk++;
          ipk = k->n;
          ipk_int = ty && !strcasecmp(ty, "INTEGER");
        }
        if(rows_cols_add(k, nm ? nm : "")){ rc = rows_nomem(c); break; }
      }
    }
    sqlite3_free(q);
    if(npk == 1 && ipk_int) k->alias = ipk;
  }
  sqlite3_finalize(st);
  sqlite3_close(m);
  return rc;
}

/* rows_values decodes payload pl (n bytes) into a malloc'd array *out of
** *nv values. Returns SQLITE_OK or an error. */
static int rows_values(diff_ctx *c, const diff_side *s, int64_t rowid,
                       const unsigned char *pl, uint32_t n,
                       s3page_value **out, int *nv){
  int max = 64;
  for(;;){
    s3page_value *v = malloc((size_t)max * sizeof *v);
    if(!v) return rows_nomem(c);
    int k = s3p_record_values(pl, n, v, max);
    if(k >= 0){ *out = v; *nv = k; return SQLITE_OK; }
    free(v);
    if(max >= ROWS_MAX_COLS){
      return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: row %lld of version "
                          "%llu is not a valid record", c->db->store->desc,
                          (long long)rowid,
                          (unsigned long long)s->db->view.version);
    }
    max *= 8;
  }
}

/* rows_fetch looks rowid up in table root of side s: *pl (malloc'd, or
** NULL when absent) and *n. Returns SQLITE_OK or an error. */
static int rows_fetch(diff_side *s, uint32_t root, int64_t rowid,
                      unsigned char **pl, uint32_t *n){
  *pl = NULL;
  *n = 0;
  s3p_btpage leaf;
  s3p_btcell cl;
  int rc = s3p_btree_find(&s->hs, root, rowid, &leaf, &cl);
  if(rc == SQLITE_NOTFOUND) return SQLITE_OK;
  if(rc) return rc;
  rc = s3p_btcell_payload(&s->hs, &cl, pl);
  if(rc == SQLITE_OK) *n = cl.payload;
  return rc;
}

/* rows_table compares table ta of A (-1: absent) with tb of B over the
** candidates (or all rows when full), reporting each row that differs.
** Returns SQLITE_OK, a callback's value or an error. */
static int rows_table(diff_ctx *c, int ta, int tb, int full){
  const diff_obj *ob = &c->b.obj[tb];
  rows_set cand;
  memset(&cand, 0, sizeof cand);
  s3p_pglist ka, kb;
  memset(&ka, 0, sizeof ka);
  memset(&kb, 0, sizeof kb);
  int rc = SQLITE_OK;
  if(ta < 0 || full){
    if(ta >= 0) rc = rows_walk(c, &c->a, c->a.obj[ta].root, &cand);
    if(rc == SQLITE_OK) rc = rows_walk(c, &c->b, ob->root, &cand);
    c->res.tables_scanned++;
  }else{
    rc = rows_side_candidates(c, &c->a, ta, &cand, &ka);
    if(rc == SQLITE_OK) rc = rows_side_candidates(c, &c->b, tb, &cand, &kb);
    if(rc == SQLITE_OK){
      s3p_pglist_sort(&ka);
      s3p_pglist_sort(&kb);
    }
    /* Subtrees that left T (listed in A only) or joined it (B only). */
    for(size_t i = 0; i < ka.n && rc == SQLITE_OK; i++){
      if(!rows_has(&kb, ka.p[i]) && !rows_is_changed(&c->a, ka.p[i])){
        rc = rows_walk(c, &c->a, ka.p[i], &cand);
      }
    }
    for(size_t i = 0; i < kb.n && rc == SQLITE_OK; i++){
      if(!rows_has(&ka, kb.p[i]) && !rows_is_changed(&c->b, kb.p[i])){
        rc = rows_walk(c, &c->b, kb.p[i], &cand);
      }
    }
  }
  free(ka.p);
  free(kb.p);
  if(rc){ free(cand.v); return rc; }
  if(cand.n) qsort(cand.v, cand.n, sizeof *cand.v, rows_i64_cmp);
  rows_cols cols;
  rc = rows_columns(c, ob, &cols);
  for(size_t i = 0; i < cand.n && rc == SQLITE_OK; i++){
    if(i && cand.v[i] == cand.v[i - 1]) continue;
    int64_t r = cand.v[i];
    unsigned char *pa = NULL, *pb = NULL;
    uint32_t na = 0, nb = 0;
    if(ta >= 0) rc = rows_fetch(&c->a, c->a.obj[ta].root, r, &pa, &na);
    if(rc == SQLITE_OK) rc = rows_fetch(&c->b, ob->root, r, &pb, &nb);
    if(rc == SQLITE_OK && (!pa != !pb || (pa && (na != nb || memcmp(pa, pb, na))))){
      s3page_diff_row row;
      memset(&row, 0, sizeof row);
      s3page_value *va = NULL, *vb = NULL;
      if(pa) rc = rows_values(c, &c->a, r, pa, na, &va, &row.nold);
      if(rc == SQLITE_OK && pb) rc = rows_values(c, &c->b, r, pb, nb, &vb, &row.nnew);
      if(rc == SQLITE_OK){
        row.table = ob->name;
        row.op = !pa ? 'I' : !pb ? 'D' : 'U';
        row.rowid = r;
        row.old_v = va;
        row.new_v = vb;
        row.alias = cols.alias;
        row.names = (const char *const *)cols.names;
        row.ncol = cols.n;
        if(row.op == 'I') c->res.rows_inserted++;
        else if(row.op == 'D') c->res.rows_deleted++;
        else c->res.rows_updated++;
        if(c->sink && c->sink->row) rc = c->sink->row(c->sink->arg, &row);
      }
      free(va);
      free(vb);
    }
    free(pa);
    free(pb);
  }
  rows_cols_free(&cols);
  free(cand.v);
  return rc;
}

/* rows_free_trunk returns 1 if pgno is a free-list trunk page of side s
** (the chain is walked from page 1; *rc gets an error). */
static int rows_free_trunk(diff_ctx *c, diff_side *s, uint32_t pgno, int *rc){
  const unsigned char *p1;
  *rc = s3p_hside_page(&s->hs, 1, &p1);
  if(*rc) return 0;
  uint32_t t = s3p_get4(p1 + 32), left = s3p_get4(p1 + 36);
  if(left > s->hs.npages) left = s->hs.npages;   /* untrusted: no cycles */
  for(uint32_t hops = 0; t && t <= s->hs.npages && hops <= left; hops++){
    if(t == pgno) return 1;
    const unsigned char *pg;
    *rc = s3p_hside_page(&s->hs, t, &pg);
    if(*rc) return 0;
    t = s3p_get4(pg);
  }
  (void)c;
  return 0;
}

/* rows_need_full returns 1 when some changed page on some side could be
** an overflow page that was not located (*rc gets an error). */
static int rows_need_full(diff_ctx *c, int *rc){
  *rc = SQLITE_OK;
  for(int side = 0; side < 2; side++){
    diff_side *s = side ? &c->b : &c->a;
    if(s->hs.autovac) continue;       /* the pointer map located them */
    for(size_t i = 0; i < s->nchg; i++){
      if(s->own[i].obj != -1) continue;
      uint32_t pg = s->chg[i];
      const unsigned char *p;
      *rc = s3p_hside_page(&s->hs, pg, &p);
      if(*rc) return 0;
      /* Overflow and trunk pages start with a page number, whose first
      ** byte is 0 below 2^24 pages: then an index page type is proof. */
      if(s->hs.npages < (1u << 24) && pg != 1 && (p[0] == 0x0A || p[0] == 0x02)){
        continue;
      }
      if(rows_free_trunk(c, s, pg, rc)) continue;
      if(*rc) return 0;
      return 1;
    }
  }
  return 0;
}

int diff_rows(diff_ctx *c){
  int rc;
  int full = rows_need_full(c, &rc);
  if(!c->same_geometry) full = 1;     /* a VACUUM changed the page size */
  for(size_t tb = 1; tb < c->b.nobj && rc == SQLITE_OK; tb++){
    const diff_obj *o = &c->b.obj[tb];
    if(strcmp(o->type, "table")) continue;
    if(!o->root){ c->res.tables_skipped++; continue; }  /* virtual */
    if(!o->rowid_table){
      int tk = diff_find_obj(&c->a, "table", o->name);
      if(tk >= 0 && c->a.obj[tk].rowid_table) tk = -1;
      int mv = tk >= 0 && c->a.obj[tk].root != o->root;
      rc = diff_keyed_table(c, tk, (int)tb, full || mv);
      continue;
    }
    int ta = diff_find_obj(&c->a, "table", o->name);
    if(ta >= 0 && !c->a.obj[ta].rowid_table) ta = -1;
    /* A table whose root moved is compared in full. */
    int moved = ta >= 0 && c->a.obj[ta].root != o->root;
    rc = rows_table(c, ta, (int)tb, full || moved);
  }
  return rc;
}
