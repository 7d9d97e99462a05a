/*
** diff.h: the state s3page_diff shares between its two files:
** diff.c (page maps, schema, b-tree attribution, the driver) and
** diff_rows.c (the rows that differ).
*/
#ifndef S3P_HIST_DIFF_H
#define S3P_HIST_DIFF_H

#include "internal.h"

/* One schema entry of one version (from its sqlite_schema b-tree). */
typedef struct diff_obj {
  char *type;                /* "table", "index", "view", "trigger" */
  char *name;                /* its name */
  char *tbl;                 /* the table it belongs to */
  char *sql;                 /* its SQL, NULL for automatic indexes */
  uint32_t root;             /* root page, 0 for views and triggers */
  int rowid_table;           /* 1: a table whose root is a table b-tree */
  int nkey;                  /* index keys: fields in coll and desc; 0 not
                             ** loaded yet, -1 cannot be searched */
  unsigned char *coll;       /* collation of each: 0 BINARY, 1 NOCASE,
                             ** 2 RTRIM */
  unsigned char *desc;       /* 1 for a DESC field */
  int npk;                   /* WITHOUT ROWID: primary-key fields first */
  char **knames;             /* column names in record order (nknames) */
  int nknames;
} diff_obj;

/* Where a changed page sits in one version. */
typedef struct diff_owner {
  int obj;                   /* index in that side's objects; -1: none
                             ** located; -2: the page is zero or absent */
  uint32_t ovf_host;         /* overflow page: the b-tree page of its cell */
  uint32_t ovf_head;         /* ... and the first page of its chain */
} diff_owner;

/* One side of the comparison. */
typedef struct diff_side {
  s3p_db *db;                /* the version's handle */
  s3p_hside hs;              /* its pages */
  diff_obj *obj;             /* its schema entries, [0] is sqlite_schema */
  size_t nobj;               /* entries */
  uint32_t *chg;             /* SQLite pages in the changed store pages,
                             ** sorted (equal to the other side's list
                             ** when both have the same page sizes) */
  size_t nchg;               /* how many */
  diff_owner *own;           /* owner of each page of chg */
} diff_side;

typedef struct diff_ctx {
  s3p_db *db;                /* where errors are recorded (B's handle) */
  s3p_hpages pc;             /* pages of both versions, by hash */
  diff_side a, b;            /* the two versions */
  uint32_t *changed;         /* store pages whose content differs, sorted */
  size_t nchanged;           /* how many */
  unsigned flags;            /* S3PAGE_DIFF_* */
  uint64_t budget;           /* pages a whole-b-tree walk may still visit:
                             ** a cycle in damaged pages ends, not loops */
  const s3page_diff_sink *sink; /* where to report */
  int same_geometry;         /* both sides have the same store and SQLite
                             ** page sizes: their page numbers agree */
  s3page_diff_result res;    /* counts */
} diff_ctx;

/* diff_rows reports the rows of rowid tables that differ between the two
** versions (diff_rows.c). Returns SQLITE_OK, a callback's value or
** an error. */
int diff_rows(diff_ctx *c);

/* diff_locate_index sets *obj to the index (or WITHOUT ROWID table) of
** side s whose search for the first key of index page bp passes through
** it, or -1 (keycmp.c). Returns SQLITE_OK or an error. */
int diff_locate_index(diff_ctx *c, diff_side *s, const s3p_btpage *bp,
                      int *obj);

/* diff_key_prepare loads the key fields of index or WITHOUT ROWID table
** o of side s (o->nkey becomes -1 when it cannot be searched). Returns
** SQLITE_OK or SQLITE_NOMEM. */
int diff_key_prepare(diff_ctx *c, const diff_side *s, diff_obj *o);

/* diff_key_cmp compares the first fields of key records x (nx values) and
** y (ny) as o orders them. Returns <0, 0 or >0. */
int diff_key_cmp(const diff_obj *o, const s3page_value *x, int nx,
                 const s3page_value *y, int ny);

/* diff_key_find searches b-tree o of side s for the entry whose first nk
** fields equal k: *pl (malloc'd record, NULL when absent) and *n. Returns
** SQLITE_OK or an error. */
int diff_key_find(diff_ctx *c, diff_side *s, const diff_obj *o,
                  const s3page_value *k, int nk, unsigned char **pl,
                  uint32_t *n);

/* diff_keyed_table reports the rows that differ in WITHOUT ROWID table tb
** of B and ta of A (diff_keyed.c). Returns SQLITE_OK, a callback's
** value or an error. */
int diff_keyed_table(diff_ctx *c, int ta, int tb, int full);

/* diff_find_obj returns the index of the entry of side s with type and
** name (case-insensitive), or -1. */
int diff_find_obj(const diff_side *s, const char *type, const char *name);

#endif
