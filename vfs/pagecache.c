/*
** pagecache.c: the process-wide page and node cache (pagecache.h): two
** hash-keyed LRU caches behind one mutex, created by the first connection
** and freed by the last.
*/
#include <assert.h>
#include <pthread.h>
#include <string.h>
#include "pagecache.h"
#include "lru.h"
#include "../index/err.h"

/* The cache. Every field is guarded by pc_mutex. */
static pthread_mutex_t pc_mutex = PTHREAD_MUTEX_INITIALIZER;
static s3p_lru *pc_lru[2];            /* by kind: pages, nodes */
static size_t pc_limit;               /* bytes for both */
static uint64_t pc_users;             /* acquires not yet released */
static uint64_t pc_hits;              /* lookups that found their entry */
static uint64_t pc_misses;            /* lookups that did not */

/* pc_budgets gives the kinds their shares of pc_limit: a node is a few KB
** and a lookup goes through at most four of them, so an eighth holds the
** upper tree levels of many databases. Called with pc_mutex held. */
static void pc_budgets(void){
  s3p_lru_set_budget(pc_lru[S3P_PC_NODE], pc_limit / 8);
  s3p_lru_set_budget(pc_lru[S3P_PC_PAGE], pc_limit - pc_limit / 8);
}

int s3p_pagecache_acquire(size_t limit){
  int rc = S3P_OK;
  pthread_mutex_lock(&pc_mutex);
  if(pc_users == 0){
    assert(!pc_lru[0] && !pc_lru[1]);
    pc_lru[S3P_PC_PAGE] = s3p_lru_new(0);
    pc_lru[S3P_PC_NODE] = s3p_lru_new(0);
    if(!pc_lru[S3P_PC_PAGE] || !pc_lru[S3P_PC_NODE]){
      s3p_lru_free(pc_lru[S3P_PC_PAGE]);
      s3p_lru_free(pc_lru[S3P_PC_NODE]);
      pc_lru[S3P_PC_PAGE] = pc_lru[S3P_PC_NODE] = NULL;
      rc = S3P_ENOMEM;
    }
    pc_limit = 0;
    pc_hits = pc_misses = 0;
  }
  if(rc == S3P_OK){
    pc_users++;
    if(limit > pc_limit){
      pc_limit = limit;
      pc_budgets();
    }
  }
  pthread_mutex_unlock(&pc_mutex);
  return rc;
}

void s3p_pagecache_release(void){
  pthread_mutex_lock(&pc_mutex);
  assert(pc_users > 0);
  if(--pc_users == 0){
    s3p_lru_free(pc_lru[S3P_PC_PAGE]);
    s3p_lru_free(pc_lru[S3P_PC_NODE]);
    pc_lru[S3P_PC_PAGE] = pc_lru[S3P_PC_NODE] = NULL;
    pc_limit = 0;
  }
  pthread_mutex_unlock(&pc_mutex);
}

int s3p_pagecache_get(int kind, const s3p_hash *h, void *out, size_t len){
  assert(kind == S3P_PC_PAGE || kind == S3P_PC_NODE);
  int hit = 0;
  pthread_mutex_lock(&pc_mutex);
  if(pc_lru[kind]){
    size_t got = 0;
    const void *v = s3p_lru_get(pc_lru[kind], h, &got, NULL);
    if(v && got == len){
      memcpy(out, v, len);
      hit = 1;
    }
    if(hit) pc_hits++; else pc_misses++;
  }
  pthread_mutex_unlock(&pc_mutex);
  return hit;
}

int s3p_pagecache_has(int kind, const s3p_hash *h){
  assert(kind == S3P_PC_PAGE || kind == S3P_PC_NODE);
  int has = 0;
  pthread_mutex_lock(&pc_mutex);
  /* s3p_lru_get would refresh recency: has is asked by read-ahead and
  ** hydration, which must not keep cold entries alive. */
  if(pc_lru[kind]) has = s3p_lru_has(pc_lru[kind], h);
  pthread_mutex_unlock(&pc_mutex);
  return has;
}

void s3p_pagecache_put(int kind, const s3p_hash *h, const void *val,
                       size_t len){
  assert(kind == S3P_PC_PAGE || kind == S3P_PC_NODE);
  pthread_mutex_lock(&pc_mutex);
  if(pc_lru[kind]) s3p_lru_put(pc_lru[kind], h, val, len, 0);
  pthread_mutex_unlock(&pc_mutex);
}

size_t s3p_pagecache_page_budget(void){
  pthread_mutex_lock(&pc_mutex);
  size_t b = pc_lru[S3P_PC_PAGE] ? pc_limit - pc_limit / 8 : 0;
  pthread_mutex_unlock(&pc_mutex);
  return b;
}

void s3p_pagecache_clear(void){
  pthread_mutex_lock(&pc_mutex);
  if(pc_lru[S3P_PC_PAGE]){
    s3p_lru_set_budget(pc_lru[S3P_PC_PAGE], 0);
    s3p_lru_set_budget(pc_lru[S3P_PC_NODE], 0);
    pc_budgets();
  }
  pthread_mutex_unlock(&pc_mutex);
}

void s3p_pagecache_info_get(s3p_pagecache_info *out){
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&pc_mutex);
  out->users = pc_users;
  if(pc_lru[S3P_PC_PAGE]){
    out->limit = pc_limit;
    out->page_bytes = s3p_lru_bytes(pc_lru[S3P_PC_PAGE]);
    out->page_entries = s3p_lru_count(pc_lru[S3P_PC_PAGE]);
    out->node_bytes = s3p_lru_bytes(pc_lru[S3P_PC_NODE]);
    out->node_entries = s3p_lru_count(pc_lru[S3P_PC_NODE]);
  }
  out->hits = pc_hits;
  out->misses = pc_misses;
  pthread_mutex_unlock(&pc_mutex);
}
