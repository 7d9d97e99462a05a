/*
** view.c: the page map of one version (checkpoint tree + replay overlay).
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "view.h"
#include "../index/err.h"

void s3p_view_init(s3p_view *v){
  memset(v, 0, sizeof *v);
  v->trunc = UINT32_MAX;
}

void s3p_view_free(s3p_view *v){
  free(v->ov_pgno);
  free(v->ov_hash);
  s3p_view_init(v);
}

/* view_find returns the overlay index of pgno, or the empty index where it
** would go. */
static size_t view_find(const s3p_view *v, uint32_t pgno){
  size_t i = (pgno * 2654435761u) & (v->ov_nslot - 1);
  while(v->ov_pgno[i] && v->ov_pgno[i] != pgno){
    i = (i + 1) & (v->ov_nslot - 1);
  }
  return i;
}

/* view_rehash rebuilds the overlay with nslot slots keeping pages at or
** below keep. Returns S3P_OK or S3P_ENOMEM (overlay unchanged). */
static int view_rehash(s3p_view *v, size_t nslot, uint32_t keep){
  uint32_t *p = calloc(nslot, sizeof *p);
  s3p_hash *h = malloc(nslot * sizeof *h);
  if(!p || !h){ free(p); free(h); return S3P_ENOMEM; }
  uint32_t *op = v->ov_pgno;
  s3p_hash *oh = v->ov_hash;
  size_t on = v->ov_nslot;
  v->ov_pgno = p; v->ov_hash = h; v->ov_nslot = nslot; v->ov_count = 0;
  for(size_t i = 0; i < on; i++){
    if(op[i] && op[i] <= keep){
      size_t j = view_find(v, op[i]);
      v->ov_pgno[j] = op[i];
      v->ov_hash[j] = oh[i];
      v->ov_count++;
    }
  }
  free(op); free(oh);
  return S3P_OK;
}

/* view_clear_overlay drops every overlay entry. */
static void view_clear_overlay(s3p_view *v){
  free(v->ov_pgno);
  free(v->ov_hash);
  v->ov_pgno = NULL;
  v->ov_hash = NULL;
  v->ov_nslot = v->ov_count = 0;
}

void s3p_view_start(s3p_view *v, const s3p_record *rec){
  view_clear_overlay(v);
  v->version = rec->ckpt_version;
  v->ckpt_version = rec->ckpt_version;
  v->tree.root = rec->ckpt_root;
  v->tree.level = rec->ckpt_level;
  v->trunc = UINT32_MAX;
  if(rec->ckpt_version == rec->version){
    v->time_ms = rec->time_ms;
    v->page_size = rec->page_size;
    v->page_count = rec->page_count;
  }else{
    /* Replay of the next records sets these; until then they are unknown. */
    v->time_ms = 0;
    v->page_size = rec->page_size;
    v->page_count = 0;
  }
}

int s3p_view_apply(s3p_view *v, const s3p_record *rec, const char **why){
  if(rec->version != v->version + 1){
    *why = "record does not follow the current version";
    return S3P_ECORRUPT;
  }
  if(rec->time_ms < v->time_ms){
    *why = "commit time goes backwards";
    return S3P_ECORRUPT;
  }
  if(rec->ckpt_version == rec->version){
    /* The record carries the full map of its own version. */
    s3p_view_start(v, rec);
    return S3P_OK;
  }
  if(rec->ckpt_version != v->ckpt_version ||
     !s3p_hash_eq(&rec->ckpt_root, &v->tree.root) ||
     rec->ckpt_level != v->tree.level){
    *why = "record names a checkpoint other than its parent's";
    return S3P_ECORRUPT;
  }
  /* A mark at the parent's page count truncates nothing. Right after
  ** s3p_view_start the parent's count is unknown (0): take the mark. */
  int truncates = v->page_count == 0 || rec->trunc_mark < v->page_count;
  if(truncates && rec->trunc_mark < v->trunc) v->trunc = rec->trunc_mark;
  if(truncates && v->ov_count){
    int has_above = 0;
    for(size_t i = 0; i < v->ov_nslot && !has_above; i++){
      has_above = v->ov_pgno[i] > rec->trunc_mark;
    }
    if(has_above && view_rehash(v, v->ov_nslot, rec->trunc_mark)){
      return S3P_ENOMEM;
    }
  }
  for(uint32_t i = 0; i < rec->nchange; i++){
    if((v->ov_count + 1) * 2 > v->ov_nslot){
      if(view_rehash(v, v->ov_nslot ? v->ov_nslot * 2 : 256, UINT32_MAX)){
        return S3P_ENOMEM;
      }
    }
    size_t j = view_find(v, rec->changes[i].pgno);
    if(!v->ov_pgno[j]){
      v->ov_pgno[j] = rec->changes[i].pgno;
      v->ov_count++;
    }
    v->ov_hash[j] = rec->changes[i].hash;
  }
  v->version = rec->version;
  v->time_ms = rec->time_ms;
  v->page_size = rec->page_size;
  v->page_count = rec->page_count;
  return S3P_OK;
}

int s3p_view_lookup(s3p_hash *out, const s3p_view *v, uint32_t pgno,
                    const s3p_tree_io *io){
  memset(out, 0, sizeof *out);
  if(pgno == 0 || pgno > v->page_count) return S3P_OK;
  if(v->ov_count){
    size_t j = view_find(v, pgno);
    if(v->ov_pgno[j]){
      *out = v->ov_hash[j];
      return S3P_OK;
    }
  }
  if(pgno > v->trunc) return S3P_OK;
  return s3p_tree_lookup(out, &v->tree, pgno, io);
}

/* view_cmp orders changes by page number for qsort. */
static int view_cmp(const void *a, const void *b){
  uint32_t x = ((const s3p_change *)a)->pgno;
  uint32_t y = ((const s3p_change *)b)->pgno;
  return x < y ? -1 : x > y;
}

int s3p_view_overlay(const s3p_view *v, s3p_change **out, size_t *n){
  *out = NULL;
  *n = 0;
  if(!v->ov_count) return S3P_OK;
  s3p_change *a = malloc(v->ov_count * sizeof *a);
  if(!a) return S3P_ENOMEM;
  size_t k = 0;
  for(size_t i = 0; i < v->ov_nslot; i++){
    if(v->ov_pgno[i]){
      a[k].pgno = v->ov_pgno[i];
      a[k].hash = v->ov_hash[i];
      k++;
    }
  }
  assert(k == v->ov_count);
  qsort(a, k, sizeof *a, view_cmp);
  *out = a;
  *n = k;
  return S3P_OK;
}
