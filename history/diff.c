/*
** diff.c: s3page_diff, what changed between two versions.
**
** 1. Pages. The two page maps are compared, not read: their checkpoint
**    trees node by node from the roots, skipping every subtree whose hash
**    is the same on both sides (content addressing makes equal hashes equal
**    maps), then the pages named by either version's replayed records and
**    any range one side truncated. Each candidate is looked up on both
**    sides and kept if its hashes differ. Cost: the tree nodes that differ,
**    not the database.
** 2. Schema. Each version's sqlite_schema b-tree (page 1's) is read and
**    the entries are matched by type and name: created, dropped, changed.
** 3. B-trees. Each changed page is located on each side: a root page is
**    its object's; with a pointer map (auto_vacuum), the map is climbed to
**    a root; without one, a table b-tree page is searched for from each
**    table's root with the page's first key and belongs to the table whose
**    search passes through it, and an index page likewise from each
**    index's root (keycmp.c). Pages of neither kind (free list,
**    overflow pages without a pointer map) are "other".
** 4. Rows (S3PAGE_DIFF_ROWS): diff_rows.c.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include "diff.h"
#include "pglist.h"

/* Most schema entries read (a sanity bound on store bytes). */
#define DIFF_MAX_OBJECTS 1000000

/* diff_load loads tree node h (zero: an empty node of that level) through
** the handle of c. Returns SQLITE_OK or an error. */
static int diff_load(diff_ctx *c, const s3p_hash *h, uint8_t level,
                     s3p_node *out){
  if(s3p_hash_is_zero(h)){
    memset(out, 0, sizeof *out);
    out->level = level;
    return SQLITE_OK;
  }
  s3p_tree_io io = s3p_db_tree_io(c->db);
  if(io.load(io.ctx, h, out)){
    return c->db->errcode ? c->db->errcode : SQLITE_IOERR_READ;
  }
  if(out->level != level){
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: checkpoint node at level "
                        "%u found where level %u belongs", c->db->store->desc,
                        (unsigned)out->level, (unsigned)level);
  }
  c->res.nodes_fetched++;
  return SQLITE_OK;
}

/* diff_tree adds to l every key (as a page number) where subtree ha at
** level la and subtree hb at level lb differ; both cover keys from base
** on, the lower one only the first part of the higher one's range.
** Equal subtrees are skipped unread. Returns SQLITE_OK or an error. */
static int diff_tree(diff_ctx *c, s3p_pglist *l, const s3p_hash *ha,
                     uint8_t la, const s3p_hash *hb, uint8_t lb,
                     uint32_t base){
  if(la == lb && s3p_hash_eq(ha, hb)) return SQLITE_OK;
  if(s3p_hash_is_zero(ha) && s3p_hash_is_zero(hb)) return SQLITE_OK;
  static const s3p_hash zero;
  s3p_node *na = malloc(sizeof *na), *nb = malloc(sizeof *nb);
  int rc = SQLITE_OK;
  if(!na || !nb){
    rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
    goto out;
  }
  uint8_t top = la > lb ? la : lb;
  uint64_t span = (uint64_t)1 << (8 * top);   /* keys under one slot */
  if(la != lb){
    /* The lower tree is the first slot of the higher one. */
    const s3p_hash *hi = la > lb ? ha : hb;
    rc = diff_load(c, hi, top, na);
    for(unsigned s = 0; s < S3P_TREE_FANOUT && rc == SQLITE_OK; s++){
      uint32_t b = (uint32_t)(base + s * span);
      if(s == 0){
        rc = la > lb ? diff_tree(c, l, &na->slot[0], top - 1, hb, lb, b)
                     : diff_tree(c, l, ha, la, &na->slot[0], top - 1, b);
      }else if(!s3p_hash_is_zero(&na->slot[s])){
        rc = diff_tree(c, l, &na->slot[s], top - 1, &zero, top - 1, b);
      }
    }
    goto out;
  }
  rc = diff_load(c, ha, la, na);
  if(rc == SQLITE_OK) rc = diff_load(c, hb, lb, nb);
  for(unsigned s = 0; s < S3P_TREE_FANOUT && rc == SQLITE_OK; s++){
    if(s3p_hash_eq(&na->slot[s], &nb->slot[s])) continue;
    uint32_t b = (uint32_t)(base + s * span);
    if(la == 0){
      if(s3p_pglist_push(l, b + 1)) rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
    }else{
      rc = diff_tree(c, l, &na->slot[s], la - 1, &nb->slot[s], la - 1, b);
    }
  }
out:
  free(na);
  free(nb);
  return rc;
}

/* diff_pages fills c->changed with the pages whose content differs.
** Returns SQLITE_OK or an error. */
static int diff_pages(diff_ctx *c){
  s3p_view *va = &c->a.db->view, *vb = &c->b.db->view;
  s3p_pglist l;
  memset(&l, 0, sizeof l);
  int rc = diff_tree(c, &l, &va->tree.root, va->tree.level, &vb->tree.root,
                     vb->tree.level, 0);
  /* The pages either version's replayed records changed. */
  for(int side = 0; side < 2 && rc == SQLITE_OK; side++){
    s3p_change *ov = NULL;
    size_t nov = 0;
    if(s3p_view_overlay(side ? vb : va, &ov, &nov)){
      rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
      break;
    }
    for(size_t i = 0; i < nov && rc == SQLITE_OK; i++){
      if(s3p_pglist_push(&l, ov[i].pgno)) rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
    }
    free(ov);
  }
  /* Tree pages one side reads as cut off (truncation) or absent. */
  uint32_t ta = va->trunc < va->page_count ? va->trunc : va->page_count;
  uint32_t tb = vb->trunc < vb->page_count ? vb->trunc : vb->page_count;
  uint32_t lo = ta < tb ? ta : tb, hi = ta < tb ? tb : ta;
  uint32_t top = va->page_count > vb->page_count ? va->page_count : vb->page_count;
  if(hi > top) hi = top;
  for(uint64_t p = (uint64_t)lo + 1; p <= hi && rc == SQLITE_OK; p++){
    if(s3p_pglist_push(&l, (uint32_t)p)) rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  }
  for(uint64_t p = (uint64_t)(va->page_count < vb->page_count ? va->page_count
                              : vb->page_count) + 1; p <= top && rc == SQLITE_OK; p++){
    if(s3p_pglist_push(&l, (uint32_t)p)) rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  }
  if(rc){ free(l.p); return rc; }
  s3p_pglist_sort(&l);
  size_t k = 0;
  for(size_t i = 0; i < l.n && rc == SQLITE_OK; i++){
    if(l.p[i] == 0 || (k && l.p[k - 1] == l.p[i])) continue;
    s3p_hash x, y;
    rc = s3p_hside_hash(&c->a.hs, l.p[i], &x);
    if(rc == SQLITE_OK) rc = s3p_hside_hash(&c->b.hs, l.p[i], &y);
    if(rc == SQLITE_OK && !s3p_hash_eq(&x, &y)) l.p[k++] = l.p[i];
  }
  c->changed = l.p;
  c->nchanged = rc ? 0 : k;
  c->res.pages_changed = c->nchanged;
  return rc;
}

/* diff_text copies value v (text) into a malloc'd string; NULL for a NULL
** value. Sets *bad when out of memory. */
static char *diff_text(const s3page_value *v, int *bad){
  if(v->type != SQLITE_TEXT && v->type != SQLITE_BLOB) return NULL;
  char *t = malloc((size_t)v->n + 1);
  if(!t){ *bad = 1; return NULL; }
  memcpy(t, v->p, (size_t)v->n);
  t[v->n] = 0;
  return t;
}

/* diff_schema_cell adds the schema entry in cell cl of a sqlite_schema
** leaf page to side s. Returns SQLITE_OK or an error. */
static int diff_schema_cell(diff_ctx *c, diff_side *s, const s3p_btcell *cl){
  unsigned char *pl = NULL;
  int rc = s3p_btcell_payload(&s->hs, cl, &pl);
  if(rc) return rc;
  s3page_value v[5];
  int nv = s3p_record_values(pl, cl->payload, v, 5);
  if(nv != 5 || v[0].type != SQLITE_TEXT || v[1].type != SQLITE_TEXT){
    free(pl);
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: version %llu has a bad "
                        "schema entry", c->db->store->desc,
                        (unsigned long long)s->db->view.version);
  }
  if(s->nobj >= DIFF_MAX_OBJECTS){
    free(pl);
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: version %llu has more "
                        "than %d schema entries", c->db->store->desc,
                        (unsigned long long)s->db->view.version,
                        DIFF_MAX_OBJECTS);
  }
  diff_obj *g = realloc(s->obj, (s->nobj + 1) * sizeof *g);
  if(!g){ free(pl); return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory"); }
  s->obj = g;
  diff_obj *o = &s->obj[s->nobj];
  memset(o, 0, sizeof *o);
  int bad = 0;
  o->type = diff_text(&v[0], &bad);
  o->name = diff_text(&v[1], &bad);
  o->tbl = diff_text(&v[2], &bad);
  o->sql = diff_text(&v[4], &bad);
  if(v[3].type == SQLITE_INTEGER && v[3].i > 0 && v[3].i <= s->hs.npages){
    o->root = (uint32_t)v[3].i;
  }
  s->nobj++;
  free(pl);
  if(bad) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  if(o->root && !strcmp(o->type, "table")){
    s3p_btpage bp;
    rc = s3p_btpage_parse(&s->hs, o->root, &bp);
    if(rc == SQLITE_OK) o->rowid_table = bp.table;
  }
  return rc;
}

/* diff_schema_walk reads the sqlite_schema b-tree below page pgno of side
** s (depth: how deep already). Returns SQLITE_OK or an error. */
static int diff_schema_walk(diff_ctx *c, diff_side *s, uint32_t pgno,
                            int depth){
  if(depth > 20){
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: the schema b-tree of "
                        "version %llu is too deep", c->db->store->desc,
                        (unsigned long long)s->db->view.version);
  }
  if(c->budget-- == 0){
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: the schema b-tree of "
                        "version %llu visits more pages than it has",
                        c->db->store->desc,
                        (unsigned long long)s->db->view.version);
  }
  s3p_btpage bp;
  int rc = s3p_btpage_parse(&s->hs, pgno, &bp);
  if(rc) return rc;
  if(!bp.table){
    return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: page %u of version %llu "
                        "is not a page of the schema", c->db->store->desc,
                        (unsigned)pgno, (unsigned long long)s->db->view.version);
  }
  for(uint32_t i = 0; i < bp.ncell && rc == SQLITE_OK; i++){
    s3p_btcell cl;
    if(s3p_btpage_cell(&bp, i, &cl)){
      return s3p_db_error(c->db, SQLITE_CORRUPT, "%s: bad cell on page %u of "
                          "version %llu", c->db->store->desc, (unsigned)pgno,
                          (unsigned long long)s->db->view.version);
    }
    if(bp.interior) rc = diff_schema_walk(c, s, cl.child, depth + 1);
    else rc = diff_schema_cell(c, s, &cl);
  }
  if(rc == SQLITE_OK && bp.interior) rc = diff_schema_walk(c, s, bp.right, depth + 1);
  return rc;
}

/* diff_schema reads side s's schema: entry 0 is sqlite_schema itself.
** Returns SQLITE_OK or an error. */
static int diff_schema(diff_ctx *c, diff_side *s){
  s->obj = calloc(1, sizeof *s->obj);
  if(!s->obj) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  s->nobj = 1;
  s->obj[0].type = strdup("table");
  s->obj[0].name = strdup("sqlite_schema");
  s->obj[0].tbl = strdup("sqlite_schema");
  s->obj[0].root = 1;
  if(!s->obj[0].type || !s->obj[0].name || !s->obj[0].tbl){
    return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  }
  if(s->hs.npages == 0) return SQLITE_OK;
  c->budget = s->hs.npages;
  return diff_schema_walk(c, s, 1, 0);
}

int diff_find_obj(const diff_side *s, const char *type, const char *name){
  for(size_t i = 0; i < s->nobj; i++){
    if(!strcmp(s->obj[i].type, type) && !strcasecmp(s->obj[i].name, name)){
      return (int)i;
    }
  }
  return -1;
}

/* diff_root_obj returns the entry of side s whose root page is pgno, or
** -1. */
static int diff_root_obj(const diff_side *s, uint32_t pgno){
  for(size_t i = 0; i < s->nobj; i++){
    if(s->obj[i].root == pgno) return (int)i;
  }
  return -1;
}

/* diff_sql_eq returns 1 if two schema SQL texts (either NULL) are equal. */
static int diff_sql_eq(const char *x, const char *y){
  if(!x || !y) return x == y;
  return !strcmp(x, y);
}

/* diff_objects reports the schema entries that differ. Returns SQLITE_OK
** or a callback's value. */
static int diff_objects(diff_ctx *c){
  for(int pass = 0; pass < 2; pass++){
    const diff_side *s = pass ? &c->b : &c->a, *o = pass ? &c->a : &c->b;
    for(size_t i = 1; i < s->nobj; i++){
      int j = diff_find_obj(o, s->obj[i].type, s->obj[i].name);
      if(j >= 0 && (pass == 1 || diff_sql_eq(s->obj[i].sql, o->obj[j].sql))){
        continue;            /* the same, or a change seen in pass 0 */
      }
      s3page_diff_object d;
      d.op = pass ? 'C' : (j < 0 ? 'D' : 'A');
      d.type = s->obj[i].type;
      d.name = s->obj[i].name;
      d.sql_a = pass ? NULL : s->obj[i].sql;
      d.sql_b = pass ? s->obj[i].sql : (j >= 0 ? o->obj[j].sql : NULL);
      c->res.objects_changed++;
      if(c->sink && c->sink->object){
        int r = c->sink->object(c->sink->arg, &d);
        if(r) return r;
      }
    }
  }
  return SQLITE_OK;
}

/* diff_locate sets *o to where changed page pgno sits on side s. Returns
** SQLITE_OK or an error. */
static int diff_locate(diff_ctx *c, diff_side *s, uint32_t pgno,
                       diff_owner *o){
  o->obj = -1;
  o->ovf_host = o->ovf_head = 0;
  if(pgno > s->hs.npages){ o->obj = -2; return SQLITE_OK; }
  const unsigned char *pb;
  int rc = s3p_hside_page(&s->hs, pgno, &pb);
  if(rc) return rc;
  uint32_t z = 0;
  while(z < s->hs.psz && pb[z] == 0) z++;
  if(z == s->hs.psz){ o->obj = -2; return SQLITE_OK; }
  int k = diff_root_obj(s, pgno);
  if(k >= 0){ o->obj = k; return SQLITE_OK; }
  if(s->hs.autovac){
    uint32_t q = pgno;
    for(int hops = 0; hops < 64; hops++){
      int type;
      uint32_t parent;
      rc = s3p_ptrmap_get(&s->hs, q, &type, &parent);
      if(rc) return rc;
      if(type == S3P_PTRMAP_OVERFLOW1 && !o->ovf_host){
        o->ovf_host = parent;
        o->ovf_head = q;
      }
      if(type == S3P_PTRMAP_ROOT){ o->obj = diff_root_obj(s, q); return SQLITE_OK; }
      if(type != S3P_PTRMAP_BTREE && type != S3P_PTRMAP_OVERFLOW1 &&
         type != S3P_PTRMAP_OVERFLOW2){
        return SQLITE_OK;    /* free, a pointer-map page, or no entry */
      }
      if(parent == 1){ o->obj = 0; return SQLITE_OK; }
      k = diff_root_obj(s, parent);
      if(k >= 0){ o->obj = k; return SQLITE_OK; }
      q = parent;
    }
    return SQLITE_OK;
  }
  /* No pointer map: search for the page's first key in each rowid table. */
  s3p_btpage bp;
  rc = s3p_btpage_parse(&s->hs, pgno, &bp);
  if(rc || !bp.type || bp.ncell == 0) return rc;
  if(!bp.table) return diff_locate_index(c, s, &bp, &o->obj);
  s3p_btcell cl;
  if(s3p_btpage_cell(&bp, 0, &cl)) return SQLITE_OK;
  for(size_t i = 0; i < s->nobj; i++){
    if(!s->obj[i].root || (i && !s->obj[i].rowid_table)) continue;
    int yes = 0;
    rc = s3p_btree_leads_to(&s->hs, s->obj[i].root, cl.rowid, pgno, &yes);
    if(rc) return rc;
    if(yes){ o->obj = (int)i; return SQLITE_OK; }
  }
  return SQLITE_OK;
}

/* One line of the pages-per-b-tree report. */
typedef struct diff_count {
  const char *name;          /* the b-tree's name (points into a side) */
  const char *type;          /* "table", "index", "other" */
  uint32_t pages;            /* pages changed */
} diff_count;

/* diff_count_add counts one page for name (NULL: other). Returns 0 or -1
** when out of memory. */
static int diff_count_add(diff_count **v, size_t *n, const char *name,
                          const char *type){
  for(size_t i = 0; i < *n; i++){
    if((!name && !(*v)[i].name) ||
       (name && (*v)[i].name && !strcasecmp(name, (*v)[i].name))){
      (*v)[i].pages++;
      return 0;
    }
  }
  diff_count *g = realloc(*v, (*n + 1) * sizeof *g);
  if(!g) return -1;
  *v = g;
  g[*n].name = name;
  g[*n].type = type;
  g[*n].pages = 1;
  (*n)++;
  return 0;
}

/* diff_side_pages fills s->chg with the SQLite pages of s held by the
** changed store pages. Returns SQLITE_OK or SQLITE_NOMEM. */
static int diff_side_pages(diff_ctx *c, diff_side *s){
  uint32_t per = s->hs.psz < s->hs.spsz ? s->hs.spsz / s->hs.psz : 1;
  uint32_t div = s->hs.psz > s->hs.spsz ? s->hs.psz / s->hs.spsz : 1;
  s->chg = malloc((c->nchanged * per + 1) * sizeof *s->chg);
  if(!s->chg) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  s->nchg = 0;
  for(size_t i = 0; i < c->nchanged; i++){
    uint32_t k = c->changed[i];
    for(uint32_t j = 0; j < per; j++){
      uint64_t p = div > 1 ? (uint64_t)(k - 1) / div + 1
                           : (uint64_t)(k - 1) * per + j + 1;
      if(p > s->hs.npages) break;
      if(s->nchg && s->chg[s->nchg - 1] == p) continue;
      s->chg[s->nchg++] = (uint32_t)p;
    }
  }
  return SQLITE_OK;
}

/* diff_drop_equal removes from both sides' lists (equal: same geometry)
** the SQLite pages whose bytes are the same on both sides (a store page
** holding several SQLite pages changed in only some). Returns SQLITE_OK or
** an error. */
static int diff_drop_equal(diff_ctx *c){
  size_t k = 0;
  for(size_t i = 0; i < c->a.nchg; i++){
    uint32_t p = c->a.chg[i];
    const unsigned char *x = NULL, *y = NULL;
    int ra = p <= c->a.hs.npages ? s3p_hside_page(&c->a.hs, p, &x) : SQLITE_OK;
    int rb = p <= c->b.hs.npages ? s3p_hside_page(&c->b.hs, p, &y) : SQLITE_OK;
    if(ra) return ra;
    if(rb) return rb;
    if(x && y && !memcmp(x, y, c->a.hs.psz)) continue;
    c->a.chg[k++] = p;
  }
  c->a.nchg = k;
  memcpy(c->b.chg, c->a.chg, k * sizeof *c->a.chg);
  c->b.nchg = k;
  return SQLITE_OK;
}

/* diff_btrees locates every changed page on both sides and reports the
** pages per b-tree. Returns SQLITE_OK, a callback's value or an error. */
static int diff_btrees(diff_ctx *c){
  c->same_geometry = c->a.hs.psz == c->b.hs.psz && c->a.hs.spsz == c->b.hs.spsz;
  int rc = diff_side_pages(c, &c->a);
  if(rc == SQLITE_OK) rc = diff_side_pages(c, &c->b);
  if(rc) return rc;
  if(c->same_geometry && c->a.nchg != c->b.nchg){
    /* Page counts differ: both lists cover the larger range. */
    diff_side *lo = c->a.nchg < c->b.nchg ? &c->a : &c->b;
    diff_side *hi = lo == &c->a ? &c->b : &c->a;
    memcpy(lo->chg, hi->chg, hi->nchg * sizeof *hi->chg);
    lo->nchg = hi->nchg;
  }
  c->a.own = calloc(c->a.nchg + 1, sizeof *c->a.own);
  c->b.own = calloc(c->b.nchg + 1, sizeof *c->b.own);
  if(!c->a.own || !c->b.own) return s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
  /* The changed pages themselves, in batches of parallel GETs. */
  rc = s3p_hside_prefetch(&c->a.hs, c->a.chg, c->a.nchg);
  if(rc == SQLITE_OK) rc = s3p_hside_prefetch(&c->b.hs, c->b.chg, c->b.nchg);
  if(rc == SQLITE_OK && c->same_geometry && c->a.hs.psz < c->a.hs.spsz){
    rc = diff_drop_equal(c);
  }
  diff_count *cnt = NULL;
  size_t ncnt = 0;
  for(int side = 0; side < 2 && rc == SQLITE_OK; side++){
    diff_side *s = side ? &c->b : &c->a;
    for(size_t i = 0; i < s->nchg && rc == SQLITE_OK; i++){
      rc = diff_locate(c, s, s->chg[i], &s->own[i]);
    }
  }
  for(int side = 1; side >= 0 && rc == SQLITE_OK; side--){
    diff_side *s = side ? &c->b : &c->a;
    for(size_t i = 0; i < s->nchg && rc == SQLITE_OK; i++){
      const diff_obj *o = s->own[i].obj >= 0 ? &s->obj[s->own[i].obj] : NULL;
      if(side == 0 && c->same_geometry && i < c->b.nchg){
        /* The same page was counted for B: count A's owner only if it is
        ** another b-tree (or B's page is in none). */
        const diff_obj *ob = c->b.own[i].obj >= 0 ? &c->b.obj[c->b.own[i].obj]
                                                   : NULL;
        if(ob && (!o || !strcasecmp(o->name, ob->name))) continue;
        if(!ob && !o) continue;
      }
      if(diff_count_add(&cnt, &ncnt, o ? o->name : NULL, o ? o->type : "other")){
        rc = s3p_db_error(c->db, SQLITE_NOMEM, "out of memory");
      }
    }
  }
  for(size_t i = 0; i < ncnt && rc == SQLITE_OK; i++){
    s3page_diff_btree b;
    b.name = cnt[i].name;
    b.type = cnt[i].type;
    b.pages = cnt[i].pages;
    if(c->sink && c->sink->btree) rc = c->sink->btree(c->sink->arg, &b);
  }
  free(cnt);
  return rc;
}

/* diff_side_free releases what side s holds (not its handle). */
static void diff_side_free(diff_side *s){
  for(size_t i = 0; i < s->nobj; i++){
    free(s->obj[i].type);
    free(s->obj[i].name);
    free(s->obj[i].tbl);
    free(s->obj[i].sql);
    free(s->obj[i].coll);
    free(s->obj[i].desc);
    for(int k = 0; k < s->obj[i].nknames; k++) free(s->obj[i].knames[k]);
    free(s->obj[i].knames);
  }
  free(s->obj);
  free(s->chg);
  free(s->own);
}

int s3page_diff(const char *name, const s3page_at *a, const s3page_at *b,
                unsigned flags, const s3page_diff_sink *sink,
                s3page_diff_result *res, char **errmsg){
  diff_ctx c;
  memset(&c, 0, sizeof c);
  if(errmsg) *errmsg = NULL;
  if(res) memset(res, 0, sizeof *res);
  c.flags = flags;
  c.sink = sink;
  int rc = s3p_hist_open(&c.b.db, name, 0, 0, b, errmsg);
  if(rc) return rc;
  rc = s3p_hist_open(&c.a.db, name, 0, 0, a, errmsg);
  if(rc){ s3p_db_close(c.b.db); return rc; }
  c.db = c.b.db;
  s3p_hpages_init(&c.pc, c.db);
  c.res.version_a = c.a.db->view.version;
  c.res.version_b = c.b.db->view.version;
  rc = s3p_hside_init(&c.a.hs, c.a.db, &c.pc);
  if(rc == SQLITE_OK) rc = s3p_hside_init(&c.b.hs, c.b.db, &c.pc);
  if(rc == SQLITE_OK) rc = diff_pages(&c);
  if(rc == SQLITE_OK) rc = diff_schema(&c, &c.a);
  if(rc == SQLITE_OK) rc = diff_schema(&c, &c.b);
  if(rc == SQLITE_OK) rc = diff_objects(&c);
  if(rc == SQLITE_OK) rc = diff_btrees(&c);
  if(rc == SQLITE_OK && (flags & S3PAGE_DIFF_ROWS)) rc = diff_rows(&c);
  c.res.pages_fetched = c.pc.fetched;
  for(int side = 0; side < 2; side++){
    const s3p_store_stats *st = &(side ? c.b.db : c.a.db)->store->stats;
    c.res.n_get += st->n_get + st->n_head;
    c.res.bytes_in += st->bytes_in;
  }
  if(res) *res = c.res;
  diff_side_free(&c.a);
  diff_side_free(&c.b);
  free(c.changed);
  s3p_hpages_free(&c.pc);
  s3p_db_close(c.a.db);
  return s3p_hist_finish(c.b.db, rc, errmsg);
}
