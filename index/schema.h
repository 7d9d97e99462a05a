/*
** schema.h: reading the root page numbers of a SQLite database's tables
** and indexes from the pages of its schema table (sqlite_master, the table
** b-tree rooted at page 1), and the child page numbers of a b-tree page.
**
** Used by a committer to name, in HEAD, the pages a reader needs first
** (head.h). Pure: pages in, page numbers out; every byte is untrusted, so
** a damaged page yields S3P_ECORRUPT, never a read out of bounds.
*/
#ifndef S3P_SCHEMA_H
#define S3P_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* s3p_schema_usable returns the usable bytes per page that page 1 (psz
** bytes) states (page size minus its reserved bytes), or 0 if page 1 is
** not a SQLite header of that page size. */
uint32_t s3p_schema_usable(const unsigned char *page1, uint32_t psz);

/* s3p_schema_page parses page pgno of the schema table (psz bytes, usable
** bytes of them as s3p_schema_usable says; the b-tree header starts at
** byte 100 on page 1). A leaf yields the rootpage values of its rows (the
** rows of views and triggers have none), *leaf = 1; an interior page
** yields its child page numbers, *leaf = 0. At most max numbers go to
** out, *n gets how many. Returns S3P_OK, or S3P_ECORRUPT when the page is
** not a table b-tree page or a cell lies outside it. */
int s3p_schema_page(const unsigned char *page, uint32_t pgno, uint32_t psz,
                    uint32_t usable, uint32_t *out, size_t max, size_t *n,
                    int *leaf);

#endif
