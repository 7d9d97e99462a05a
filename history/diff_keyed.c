/*
** diff_keyed.c: the rows of WITHOUT ROWID tables that differ between
** the two versions of an s3page_diff, by primary key.
**
** Such a table is an index b-tree whose entries are the whole rows,
** primary key first (in PRAGMA index_xinfo's order). The candidates are
** the entries on the table's changed pages (interior pages hold entries
** too), on the cells whose overflow chain changed, and in every subtree
** that joined or left the table, as for rowid tables (diff_rows.c).
** They are sorted by key as SQLite orders it (keycmp.c), and each key
** is searched for in both versions and the records compared.
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "diff.h"

/* Most values per row. */
#define KD_MAX_COLS 32768

/* One entry: its record and values. */
typedef struct kd_entry {
  unsigned char *pl;         /* the record (malloc'd) */
  uint32_t n;                /* its length */
  s3page_value *v;           /* its values (malloc'd, point into pl) */
  int nv;                    /* how many */
} kd_entry;

/* A growing list of entries, and of child pages. */
typedef struct kd_list {
  kd_entry *e;               /* entries */
  size_t n;                  /* used */
  size_t cap;                /* allocated */
  uint32_t *kid;             /* child pages listed by changed interiors */
  size_t nkid;               /* used */
  size_t capkid;             /* allocated */
} kd_list;

/* kd_bad records a damaged page pgno of side s. Returns SQLITE_CORRUPT. */
static int kd_bad(diff_ctx *c, const diff_side *s, uint32_t pgno){
  return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: bad b-tree cell on page %u "
                      "of version %llu", c->db->store->desc, (unsigned)pgno,
                      (unsigned long long)s->db->view.version);
}

/* kd_decode sets *v and *nv to the values of record pl[0..n). Returns
** SQLITE_OK or an error. */
static int kd_decode(diff_ctx *c, const unsigned char *pl, uint32_t n,
                     s3page_value **v, int *nv){
  for(int max = 64;; max *= 8){
    *v = malloc((size_t)max * sizeof **v);
    if(!*v) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
    *nv = s3p_record_values(pl, n, *v, max);
    if(*nv >= 0) return SQLITE_OK;
    free(*v);
    *v = NULL;
    if(max >= KD_MAX_COLS){
      return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: a row that is not a "
                          "valid record", c->db->store->desc);
    }
  }
}

/* kd_add appends the entry of cell cl of side s to l. Returns SQLITE_OK or
** an error. */
static int kd_add(diff_ctx *c, diff_side *s, const s3p_btcell *cl, kd_list *l){
  if(l->n == l->cap){
    size_t cap = l->cap ? l->cap * 2 : 64;
    kd_entry *g = realloc(l->e, cap * sizeof *g);
    if(!g) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
    l->e = g;
    l->cap = cap;
  }
  kd_entry *e = &l->e[l->n];
  memset(e, 0, sizeof *e);
  int rc = s3p_btcell_payload(&s->hs, cl, &e->pl);
  if(rc) return rc;
  e->n = cl->payload;
  rc = kd_decode(c, e->pl, e->n, &e->v, &e->nv);
  if(rc){ free(e->pl); return rc; }
  l->n++;
  return SQLITE_OK;
}

/* kd_page adds every entry of page pgno of side s to l, and with kids its
** child pages to l's kids; with deep, the entries of the whole subtree.
** Returns SQLITE_OK or an error. */
static int kd_page(diff_ctx *c, diff_side *s, uint32_t pgno, int deep,
                   int kids, int depth, kd_list *l){
  if(depth > 24 || c->budget-- == 0) return kd_bad(c, s, pgno);
  s3p_btpage bp;
  int rc = s3p_btpage_parse(&s->hs, pgno, &bp);
  if(rc) return rc;
  if(bp.table || !bp.type) return kd_bad(c, s, pgno);
  for(uint32_t i = 0; i <= bp.ncell && rc == SQLITE_OK; i++){
    uint32_t child = 0;
    if(i < bp.ncell){
      s3p_btcell cl;
      if(s3p_btpage_cell(&bp, i, &cl)) return kd_bad(c, s, pgno);
      rc = kd_add(c, s, &cl, l);
      child = cl.child;
    }else{
      child = bp.right;
    }
    if(rc || !bp.interior) continue;
    if(deep) rc = kd_page(c, s, child, 1, 0, depth + 1, l);
    if(kids && rc == SQLITE_OK){
      if(l->nkid == l->capkid){
        size_t cap = l->capkid ? l->capkid * 2 : 64;
        uint32_t *g = realloc(l->kid, cap * sizeof *g);
        if(!g) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
        l->kid = g;
        l->capkid = cap;
      }
      l->kid[l->nkid++] = child;
    }
  }
  return rc;
}

/* kd_u32_cmp orders page numbers for qsort. */
static int kd_u32_cmp(const void *a, const void *b){
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* kd_has returns 1 if sorted p[0..n) holds x. */
static int kd_has(const uint32_t *p, size_t n, uint32_t x){
  return n && bsearch(&x, p, n, sizeof *p, kd_u32_cmp) != NULL;
}

/* kd_side collects the candidates side s shows for its table ti into l.
** Returns SQLITE_OK or an error. */
static int kd_side(diff_ctx *c, diff_side *s, int ti, kd_list *l){
  int rc = SQLITE_OK;
  for(size_t i = 0; i < s->nchg && rc == SQLITE_OK; i++){
    if(s->own[i].obj != ti) continue;
    c->budget = (uint64_t)s->hs.npages + 1;
    if(s->own[i].ovf_host){
      s3p_btpage bp;
      rc = s3p_btpage_parse(&s->hs, s->own[i].ovf_host, &bp);
      if(rc || bp.table || !bp.type) continue;
      for(uint32_t k = 0; k < bp.ncell && rc == SQLITE_OK; k++){
        s3p_btcell cl;
        if(s3p_btpage_cell(&bp, k, &cl)){ rc = kd_bad(c, s, bp.pgno); break; }
        if(cl.overflow == s->own[i].ovf_head) rc = kd_add(c, s, &cl, l);
      }
      continue;
    }
    s3p_btpage bp;
    rc = s3p_btpage_parse(&s->hs, s->chg[i], &bp);
    if(rc == SQLITE_OK && !bp.table && bp.type){
      rc = kd_page(c, s, s->chg[i], 0, 1, 0, l);
    }
  }
  return rc;
}

/* kd_sort sorts e[0..n) by key as o orders it (merge sort; tmp has room
** for n). */
static void kd_sort(kd_entry *e, size_t n, kd_entry *tmp, const diff_obj *o){
  if(n < 2) return;
  size_t h = n / 2;
  kd_sort(e, h, tmp, o);
  kd_sort(e + h, n - h, tmp, o);
  size_t i = 0, j = h, k = 0;
  while(i < h && j < n){
    if(diff_key_cmp(o, e[j].v, o->npk, e[i].v, e[i].nv) < 0) tmp[k++] = e[j++];
    else tmp[k++] = e[i++];
  }
  while(i < h) tmp[k++] = e[i++];
  while(j < n) tmp[k++] = e[j++];
  memcpy(e, tmp, n * sizeof *e);
}

/* kd_free releases l. */
static void kd_free(kd_list *l){
  for(size_t i = 0; i < l->n; i++){
    free(l->e[i].pl);
    free(l->e[i].v);
  }
  free(l->e);
  free(l->kid);
  memset(l, 0, sizeof *l);
}

int diff_keyed_table(diff_ctx *c, int ta, int tb, int full){
  diff_obj *ob = &c->b.obj[tb];
  int rc = diff_key_prepare(c, &c->b, ob);
  if(rc == SQLITE_OK && ta >= 0) rc = diff_key_prepare(c, &c->a, &c->a.obj[ta]);
  if(rc) return rc;
  if(ob->nkey < 0 || ob->npk < 1 || ob->nknames != ob->nkey){
    c->res.tables_skipped++;
    return SQLITE_OK;
  }
  kd_list la, lb, all;
  memset(&la, 0, sizeof la);
  memset(&lb, 0, sizeof lb);
  memset(&all, 0, sizeof all);
  if(ta < 0 || full){
    c->budget = (uint64_t)c->b.hs.npages + 1;
    rc = kd_page(c, &c->b, ob->root, 1, 0, 0, &lb);
    if(rc == SQLITE_OK && ta >= 0){
      c->budget = (uint64_t)c->a.hs.npages + 1;
      rc = kd_page(c, &c->a, c->a.obj[ta].root, 1, 0, 0, &la);
    }
    c->res.tables_scanned++;
  }else{
    rc = kd_side(c, &c->a, ta, &la);
    if(rc == SQLITE_OK) rc = kd_side(c, &c->b, tb, &lb);
    if(rc == SQLITE_OK){
      if(la.nkid) qsort(la.kid, la.nkid, sizeof *la.kid, kd_u32_cmp);
      if(lb.nkid) qsort(lb.kid, lb.nkid, sizeof *lb.kid, kd_u32_cmp);
    }
    /* Subtrees that left the table (listed in A only) or joined it. */
    for(int side = 0; side < 2 && rc == SQLITE_OK; side++){
      kd_list *x = side ? &lb : &la, *y = side ? &la : &lb;
      diff_side *s = side ? &c->b : &c->a;
      size_t nk = x->nkid;
      for(size_t i = 0; i < nk && rc == SQLITE_OK; i++){
        uint32_t k = x->kid[i];
        if(kd_has(y->kid, y->nkid, k) || kd_has(s->chg, s->nchg, k)) continue;
        c->budget = (uint64_t)s->hs.npages + 1;
        rc = kd_page(c, s, k, 1, 0, 0, x);
      }
    }
  }
  /* All candidates, sorted by key, each looked up on both sides. */
  if(rc == SQLITE_OK){
    all.cap = la.n + lb.n;
    all.e = malloc((all.cap ? all.cap : 1) * sizeof *all.e);
    kd_entry *tmp = malloc((all.cap ? all.cap : 1) * sizeof *tmp);
    if(!all.e || !tmp) rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
    if(rc == SQLITE_OK){
      if(la.n) memcpy(all.e, la.e, la.n * sizeof *la.e);
      if(lb.n) memcpy(all.e + la.n, lb.e, lb.n * sizeof *lb.e);
      all.n = la.n + lb.n;
      la.n = lb.n = 0;       /* owned by all now */
      kd_sort(all.e, all.n, tmp, ob);
    }
    free(tmp);
  }
  for(size_t i = 0; i < all.n && rc == SQLITE_OK; i++){
    kd_entry *e = &all.e[i];
    if(e->nv < ob->npk) continue;
    if(i && diff_key_cmp(ob, e->v, ob->npk, all.e[i - 1].v, all.e[i - 1].nv) == 0){
      continue;
    }
    unsigned char *pa = NULL, *pb = NULL;
    uint32_t na = 0, nb = 0;
    if(ta >= 0) rc = diff_key_find(c, &c->a, &c->a.obj[ta], e->v, ob->npk, &pa, &na);
    if(rc == SQLITE_OK) rc = diff_key_find(c, &c->b, ob, e->v, ob->npk, &pb, &nb);
    if(rc == SQLITE_OK && (!pa != !pb || (pa && (na != nb || memcmp(pa, pb, na))))){
      s3page_diff_row row;
      memset(&row, 0, sizeof row);
      s3page_value *va = NULL, *vb = NULL;
      if(pa) rc = kd_decode(c, pa, na, &va, &row.nold);
      if(rc == SQLITE_OK && pb) rc = kd_decode(c, pb, nb, &vb, &row.nnew);
      if(rc == SQLITE_OK){
        row.table = ob->name;
        row.op = !pa ? 'I' : !pb ? 'D' : 'U';
        row.old_v = va;
        row.new_v = vb;
        row.alias = -1;
        row.names = (const char *const *)ob->knames;
        row.ncol = ob->nknames;
        row.npk = ob->npk;
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
  kd_free(&la);
  kd_free(&lb);
  kd_free(&all);
  return rc;
}
