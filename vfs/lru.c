/*
** lru.c: hash-keyed LRU cache. An open-addressing table of entry pointers
** (linear probing, tombstone-free deletion by backward shift) plus a doubly
** linked recency list.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "lru.h"
#include "../index/err.h"

typedef struct lru_entry {
  s3p_hash key;              /* content hash */
  struct lru_entry *prev;    /* more recently used */
  struct lru_entry *next;    /* less recently used */
  size_t len;                /* bytes in val */
  uint64_t stamp;            /* caller's stamp (e.g. when seen in store) */
  unsigned char val[];       /* the value */
} lru_entry;

/* The overhead counted per entry covers its header, the allocator's (about
** 16 bytes) and its share of the table (at most half full). */
_Static_assert(S3P_LRU_OVERHEAD >= sizeof(lru_entry) + 16 + 2 * sizeof(void *),
               "S3P_LRU_OVERHEAD is below what an entry costs");

struct s3p_lru {
  lru_entry **slots;         /* open-addressing table, NULL = empty */
  size_t nslot;              /* table size, a power of two */
  size_t count;              /* entries */
  size_t bytes;              /* sum of entry lengths + S3P_LRU_OVERHEAD
                             ** each */
  size_t budget;             /* maximum bytes */
  lru_entry *head;           /* most recently used */
  lru_entry *tail;           /* least recently used */
};

/* lru_slot_of returns the home slot of a hash (its bytes are uniform). */
static size_t lru_slot_of(const s3p_lru *c, const s3p_hash *h){
  uint64_t v;
  memcpy(&v, h->b + 8, sizeof v);
  return (size_t)v & (c->nslot - 1);
}

/* lru_find returns the slot holding h, or the empty slot where it would go. */
static size_t lru_find(const s3p_lru *c, const s3p_hash *h){
  size_t i = lru_slot_of(c, h);
  while(c->slots[i] && memcmp(c->slots[i]->key.b, h->b, S3P_HASH_LEN)){
    i = (i + 1) & (c->nslot - 1);
  }
  return i;
}

/* lru_unlink removes e from the recency list. */
static void lru_unlink(s3p_lru *c, lru_entry *e){
  if(e->prev) e->prev->next = e->next; else c->head = e->next;
  if(e->next) e->next->prev = e->prev; else c->tail = e->prev;
  e->prev = e->next = NULL;
}

/* lru_push_front makes e the most recently used entry. */
static void lru_push_front(s3p_lru *c, lru_entry *e){
  e->prev = NULL;
  e->next = c->head;
  if(c->head) c->head->prev = e;
  c->head = e;
  if(!c->tail) c->tail = e;
}

/* lru_remove_slot deletes the entry at slot i, shifting back the probe
** chain behind it so lookups never need tombstones. */
static void lru_remove_slot(s3p_lru *c, size_t i){
  lru_entry *e = c->slots[i];
  assert(e);
  lru_unlink(c, e);
  c->bytes -= e->len + S3P_LRU_OVERHEAD;
  c->count--;
  free(e);
  c->slots[i] = NULL;
  size_t j = i;
  for(;;){
    j = (j + 1) & (c->nslot - 1);
    if(!c->slots[j]) break;
    size_t home = lru_slot_of(c, &c->slots[j]->key);
    /* Move slots[j] into the hole if its home is not in (i, j]. */
    int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if(!in_range){
      c->slots[i] = c->slots[j];
      c->slots[j] = NULL;
      i = j;
    }
  }
}

/* lru_grow doubles the table. Returns S3P_OK or S3P_ENOMEM. */
static int lru_grow(s3p_lru *c){
  size_t n = c->nslot * 2;
  lru_entry **s = calloc(n, sizeof *s);
  if(!s) return S3P_ENOMEM;
  lru_entry **old = c->slots;
  size_t oldn = c->nslot;
  c->slots = s;
  c->nslot = n;
  for(size_t i = 0; i < oldn; i++){
    if(old[i]) c->slots[lru_find(c, &old[i]->key)] = old[i];
  }
  free(old);
  return S3P_OK;
}

s3p_lru *s3p_lru_new(size_t budget){
  s3p_lru *c = calloc(1, sizeof *c);
  if(!c) return NULL;
  c->nslot = 64;
  c->slots = calloc(c->nslot, sizeof *c->slots);
  if(!c->slots){ free(c); return NULL; }
  c->budget = budget;
  return c;
}

void s3p_lru_free(s3p_lru *c){
  if(!c) return;
  lru_entry *e = c->head;
  while(e){ lru_entry *n = e->next; free(e); e = n; }
  free(c->slots);
  free(c);
}

const void *s3p_lru_get(s3p_lru *c, const s3p_hash *h, size_t *len,
                        uint64_t *stamp){
  size_t i = lru_find(c, h);
  lru_entry *e = c->slots[i];
  if(!e) return NULL;
  lru_unlink(c, e);
  lru_push_front(c, e);
  if(len) *len = e->len;
  if(stamp) *stamp = e->stamp;
  return e->val;
}

int s3p_lru_put(s3p_lru *c, const s3p_hash *h, const void *val, size_t len,
                uint64_t stamp){
  size_t i = lru_find(c, h);
  if(c->slots[i]){
    uint64_t old = c->slots[i]->stamp;
    if(old > stamp) stamp = old;
    lru_remove_slot(c, i);
  }
  size_t cost = len + S3P_LRU_OVERHEAD;
  if(cost > c->budget) return S3P_OK;
  while(c->bytes + cost > c->budget && c->tail){
    lru_remove_slot(c, lru_find(c, &c->tail->key));
  }
  if((c->count + 1) * 2 > c->nslot && lru_grow(c)) return S3P_ENOMEM;
  lru_entry *e = malloc(sizeof *e + len);
  if(!e) return S3P_ENOMEM;
  e->key = *h;
  e->len = len;
  e->stamp = stamp;
  if(len) memcpy(e->val, val, len);
  c->slots[lru_find(c, h)] = e;
  lru_push_front(c, e);
  c->count++;
  c->bytes += cost;
  return S3P_OK;
}

int s3p_lru_stamp(s3p_lru *c, const s3p_hash *h, uint64_t stamp){
  lru_entry *e = c->slots[lru_find(c, h)];
  if(!e) return 0;
  if(stamp > e->stamp) e->stamp = stamp;
  lru_unlink(c, e);
  lru_push_front(c, e);
  return 1;
}

int s3p_lru_has(const s3p_lru *c, const s3p_hash *h){
  return c->slots[lru_find(c, h)] != NULL;
}

void s3p_lru_set_budget(s3p_lru *c, size_t budget){
  c->budget = budget;
  while(c->bytes > c->budget && c->tail){
    lru_remove_slot(c, lru_find(c, &c->tail->key));
  }
}

size_t s3p_lru_count(const s3p_lru *c){
  return c->count;
}

size_t s3p_lru_bytes(const s3p_lru *c){
  return c->bytes;
}
