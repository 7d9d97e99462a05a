/*
** pglist.h: a growing array of page numbers, for the history operations
** that collect pages before sorting or walking them (diff).
*/
#ifndef S3P_PGLIST_H
#define S3P_PGLIST_H

#include <stddef.h>
#include <stdint.h>

/* A list of page numbers. Zeroed, it is empty; free p when done. */
typedef struct s3p_pglist {
  uint32_t *p;               /* page numbers (malloc'd) */
  size_t n;                  /* used */
  size_t cap;                /* allocated */
} s3p_pglist;

/* s3p_pglist_push appends pgno to l, growing it by doubling. Returns 0, or
** -1 when out of memory (l is unchanged). */
int s3p_pglist_push(s3p_pglist *l, uint32_t pgno);

/* s3p_pglist_sort sorts l's page numbers in increasing order. */
void s3p_pglist_sort(s3p_pglist *l);

#endif
