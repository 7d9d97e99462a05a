/*
** txbuf.h: the write buffer of one transaction on the main database.
**
** SQLite's writes to the main database file land here, never in the store,
** until the commit at the sync point uploads them. Pages are kept in memory
** up to a limit and spill to an unlinked local temporary file beyond it, so
** a transaction may be far larger than memory. The buffer also tracks the
** file size and the lowest size the file was truncated to, which the commit
** record needs (its truncation mark).
*/
#ifndef S3P_TXBUF_H
#define S3P_TXBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct s3p_txbuf s3p_txbuf;

/* s3p_txbuf_new returns an empty buffer that keeps up to mem_limit bytes of
** pages in memory, or NULL when out of memory. */
s3p_txbuf *s3p_txbuf_new(size_t mem_limit);

/* s3p_txbuf_free releases the buffer and its spill file (NULL is fine). */
void s3p_txbuf_free(s3p_txbuf *t);

/* s3p_txbuf_begin starts buffering a transaction over a file of npages
** pages of page_size bytes, discarding anything buffered before. */
void s3p_txbuf_begin(s3p_txbuf *t, uint32_t page_size, uint32_t npages);

/* s3p_txbuf_active returns 1 between begin and clear. */
int s3p_txbuf_active(const s3p_txbuf *t);

/* s3p_txbuf_put stores a full page as page pgno (1-based), growing the file
** to at least pgno pages. Returns S3P_OK, S3P_ENOMEM or S3P_EIO (spill). */
int s3p_txbuf_put(s3p_txbuf *t, uint32_t pgno, const void *page);

/* s3p_txbuf_get copies page pgno into out if it is buffered: returns 1 if
** it was, 0 if not, or S3P_EIO if the spill file failed. */
int s3p_txbuf_get(s3p_txbuf *t, uint32_t pgno, void *out);

/* s3p_txbuf_has returns 1 if page pgno is buffered, else 0. */
int s3p_txbuf_has(s3p_txbuf *t, uint32_t pgno);

/* s3p_txbuf_truncate shrinks (or grows) the file to npages pages, dropping
** buffered pages above it and lowering the truncation mark. */
void s3p_txbuf_truncate(s3p_txbuf *t, uint32_t npages);

/* s3p_txbuf_pages returns the file size in pages. */
uint32_t s3p_txbuf_pages(const s3p_txbuf *t);

/* s3p_txbuf_trunc_mark returns the lowest page count the file had during
** the transaction (its size at begin if never truncated below that). */
uint32_t s3p_txbuf_trunc_mark(const s3p_txbuf *t);

/* s3p_txbuf_page_size returns the page size given to begin. */
uint32_t s3p_txbuf_page_size(const s3p_txbuf *t);

/* s3p_txbuf_list sets *out to a malloc'd ascending array of the buffered
** page numbers and *n to its length. Returns S3P_OK or S3P_ENOMEM. */
int s3p_txbuf_list(s3p_txbuf *t, uint32_t **out, size_t *n);

/* s3p_txbuf_count returns the number of buffered pages. */
size_t s3p_txbuf_count(const s3p_txbuf *t);

/* s3p_txbuf_clear ends the transaction, dropping every buffered page. */
void s3p_txbuf_clear(s3p_txbuf *t);

#endif
