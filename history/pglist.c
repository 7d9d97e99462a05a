/*
** pglist.c: a growing array of page numbers (pglist.h).
*/
#include <stdlib.h>
#include "pglist.h"

int s3p_pglist_push(s3p_pglist *l, uint32_t pgno){
  if(l->n == l->cap){
    size_t cap = l->cap ? l->cap * 2 : 64;
    uint32_t *g = realloc(l->p, cap * sizeof *g);
    if(!g) return -1;
    l->p = g;
    l->cap = cap;
  }
  l->p[l->n++] = pgno;
  return 0;
}

/* pglist_cmp orders page numbers for qsort. */
static int pglist_cmp(const void *a, const void *b){
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

void s3p_pglist_sort(s3p_pglist *l){
  if(l->n > 1) qsort(l->p, l->n, sizeof *l->p, pglist_cmp);
}
