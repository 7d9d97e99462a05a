/*
** txbuf.c: the transaction write buffer. Page numbers map to slots through
** an open-addressing table; slot i lives in memory while i < mem_slots and
** in the spill file at offset (i - mem_slots) * page_size after that.
*/
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include "txbuf.h"
#include "../index/err.h"

struct s3p_txbuf {
  size_t mem_limit;          /* bytes of pages kept in memory */
  int active;                /* between begin and clear */
  uint32_t page_size;        /* bytes per page */
  uint32_t npages;           /* file size in pages */
  uint32_t trunc_mark;       /* lowest size during the transaction */
  uint32_t *keys;            /* table of page numbers, 0 = empty */
  uint32_t *vals;            /* slot of the page in keys[i] */
  size_t nslot;              /* table size, a power of two (or 0) */
  size_t count;              /* pages buffered */
  size_t used;               /* slots handed out (never reused) */
  unsigned char **mem;       /* in-memory slots, each page_size bytes */
  size_t mem_slots;          /* in-memory slots allowed */
  size_t mem_alloc;          /* entries allocated in mem */
  int spill_fd;              /* unlinked temporary file, -1 if none */
};

s3p_txbuf *s3p_txbuf_new(size_t mem_limit){
  s3p_txbuf *t = calloc(1, sizeof *t);
  if(!t) return NULL;
  t->mem_limit = mem_limit;
  t->spill_fd = -1;
  return t;
}

void s3p_txbuf_free(s3p_txbuf *t){
  if(!t) return;
  s3p_txbuf_clear(t);
  free(t);
}

/* txbuf_find returns the table index holding pgno or the empty index where
** it would go. The table must have at least one empty slot. */
static size_t txbuf_find(const s3p_txbuf *t, uint32_t pgno){
  size_t i = (pgno * 2654435761u) & (t->nslot - 1);
  while(t->keys[i] && t->keys[i] != pgno) i = (i + 1) & (t->nslot - 1);
  return i;
}

/* txbuf_rehash rebuilds the table with nslot slots, keeping only pages at
** or below keep. Returns S3P_OK or S3P_ENOMEM (table unchanged). */
static int txbuf_rehash(s3p_txbuf *t, size_t nslot, uint32_t keep){
  uint32_t *k = calloc(nslot, sizeof *k);
  uint32_t *v = calloc(nslot, sizeof *v);
  if(!k || !v){ free(k); free(v); return S3P_ENOMEM; }
  uint32_t *ok = t->keys, *ov = t->vals;
  size_t on = t->nslot;
  t->keys = k; t->vals = v; t->nslot = nslot; t->count = 0;
  for(size_t i = 0; i < on; i++){
    if(ok[i] && ok[i] <= keep){
      size_t j = txbuf_find(t, ok[i]);
      t->keys[j] = ok[i];
      t->vals[j] = ov[i];
      t->count++;
    }
  }
  free(ok); free(ov);
  return S3P_OK;
}

void s3p_txbuf_begin(s3p_txbuf *t, uint32_t page_size, uint32_t npages){
  s3p_txbuf_clear(t);
  assert(page_size > 0);
  t->active = 1;
  t->page_size = page_size;
  t->npages = npages;
  t->trunc_mark = npages;
  t->mem_slots = t->mem_limit / page_size;
}

int s3p_txbuf_active(const s3p_txbuf *t){
  return t->active;
}

/* txbuf_slot_write stores a page in slot s. Returns S3P_OK, S3P_ENOMEM or
** S3P_EIO. */
static int txbuf_slot_write(s3p_txbuf *t, size_t s, const void *page){
  if(s < t->mem_slots){
    if(s >= t->mem_alloc){
      size_t n = t->mem_alloc ? t->mem_alloc * 2 : 64;
      if(n > t->mem_slots) n = t->mem_slots;
      unsigned char **m = realloc(t->mem, n * sizeof *m);
      if(!m) return S3P_ENOMEM;
      memset(m + t->mem_alloc, 0, (n - t->mem_alloc) * sizeof *m);
      t->mem = m;
      t->mem_alloc = n;
    }
    if(!t->mem[s] && !(t->mem[s] = malloc(t->page_size))) return S3P_ENOMEM;
    memcpy(t->mem[s], page, t->page_size);
    return S3P_OK;
  }
  if(t->spill_fd < 0){
    const char *dir = getenv("TMPDIR");
    if(!dir || !*dir) dir = "/tmp";
    t->spill_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if(t->spill_fd < 0){
      /* No O_TMPFILE on this filesystem: a named file, unlinked at once. */
      char path[4096];
      if(snprintf(path, sizeof path, "%s/s3page-spill-XXXXXX", dir) >=
         (int)sizeof path) return S3P_EIO;
      t->spill_fd = mkostemp(path, O_CLOEXEC);
      if(t->spill_fd < 0) return S3P_EIO;
      unlink(path);
    }
  }
  off_t off = (off_t)(s - t->mem_slots) * t->page_size;
  size_t done = 0;
  while(done < t->page_size){
    ssize_t w = pwrite(t->spill_fd, (const char *)page + done,
                       t->page_size - done, off + (off_t)done);
    if(w < 0 && errno == EINTR) continue;
    if(w <= 0) return S3P_EIO;
    done += (size_t)w;
  }
  return S3P_OK;
}

/* txbuf_slot_read copies slot s into out. Returns S3P_OK or S3P_EIO. */
static int txbuf_slot_read(s3p_txbuf *t, size_t s, void *out){
  if(s < t->mem_slots){
    memcpy(out, t->mem[s], t->page_size);
    return S3P_OK;
  }
  off_t off = (off_t)(s - t->mem_slots) * t->page_size;
  size_t done = 0;
  while(done < t->page_size){
    ssize_t r = pread(t->spill_fd, (char *)out + done, t->page_size - done,
                      off + (off_t)done);
    if(r < 0 && errno == EINTR) continue;
    if(r <= 0) return S3P_EIO;
    done += (size_t)r;
  }
  return S3P_OK;
}

int s3p_txbuf_put(s3p_txbuf *t, uint32_t pgno, const void *page){
  assert(t->active && pgno > 0);
  if((t->count + 1) * 2 > t->nslot){
    int rc = txbuf_rehash(t, t->nslot ? t->nslot * 2 : 256, UINT32_MAX);
    if(rc) return rc;
  }
  size_t i = txbuf_find(t, pgno);
  if(!t->keys[i]){
    int rc = txbuf_slot_write(t, t->used, page);
    if(rc) return rc;
    t->keys[i] = pgno;
    t->vals[i] = (uint32_t)t->used++;
    t->count++;
  }else{
    int rc = txbuf_slot_write(t, t->vals[i], page);
    if(rc) return rc;
  }
  if(pgno > t->npages) t->npages = pgno;
  return S3P_OK;
}

int s3p_txbuf_get(s3p_txbuf *t, uint32_t pgno, void *out){
  if(!t->active || !t->nslot) return 0;
  size_t i = txbuf_find(t, pgno);
  if(!t->keys[i]) return 0;
  return txbuf_slot_read(t, t->vals[i], out) ? S3P_EIO : 1;
}

int s3p_txbuf_has(s3p_txbuf *t, uint32_t pgno){
  if(!t->active || !t->nslot) return 0;
  return t->keys[txbuf_find(t, pgno)] != 0;
}

void s3p_txbuf_truncate(s3p_txbuf *t, uint32_t npages){
  assert(t->active);
  if(npages < t->npages && t->nslot){
    /* Rehash at the same size cannot fail to find room; on ENOMEM keep the
    ** pages but they are above the size and never read or committed. */
    (void)txbuf_rehash(t, t->nslot, npages);
  }
  t->npages = npages;
  if(npages < t->trunc_mark) t->trunc_mark = npages;
}

uint32_t s3p_txbuf_pages(const s3p_txbuf *t){ return t->npages; }
uint32_t s3p_txbuf_trunc_mark(const s3p_txbuf *t){ return t->trunc_mark; }
uint32_t s3p_txbuf_page_size(const s3p_txbuf *t){ return t->page_size; }
size_t s3p_txbuf_count(const s3p_txbuf *t){ return t->count; }

/* txbuf_cmp orders page numbers for qsort. */
static int txbuf_cmp(const void *a, const void *b){
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int s3p_txbuf_list(s3p_txbuf *t, uint32_t **out, size_t *n){
  *out = NULL;
  *n = 0;
  if(!t->count) return S3P_OK;
  uint32_t *a = malloc(t->count * sizeof *a);
  if(!a) return S3P_ENOMEM;
  size_t k = 0;
  for(size_t i = 0; i < t->nslot; i++){
    if(t->keys[i] && t->keys[i] <= t->npages) a[k++] = t->keys[i];
  }
  qsort(a, k, sizeof *a, txbuf_cmp);
  *out = a;
  *n = k;
  return S3P_OK;
}

void s3p_txbuf_clear(s3p_txbuf *t){
  for(size_t i = 0; i < t->mem_alloc; i++) free(t->mem[i]);
  free(t->mem);
  t->mem = NULL;
  t->mem_alloc = 0;
  free(t->keys);
  free(t->vals);
  t->keys = NULL;
  t->vals = NULL;
  t->nslot = t->count = t->used = 0;
  if(t->spill_fd >= 0) close(t->spill_fd);
  t->spill_fd = -1;
  t->active = 0;
}
