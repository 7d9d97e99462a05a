/*
** objlen.c: the size limit of each object kind, by key (objlen.h).
*/
#include <string.h>
#include "objlen.h"

/* objlen_under returns 1 if key is dir/ followed by a non-empty name. */
static int objlen_under(const char *key, const char *dir){
  size_t n = strlen(dir);
  return strncmp(key, dir, n) == 0 && key[n] == '/' && key[n + 1] != 0;
}

/* s3p_obj_max_len returns the limit of key's kind, or 0 if it has none. */
uint64_t s3p_obj_max_len(const char *key){
  if( key == 0 ) return 0;
  if( strcmp(key, "HEAD") == 0 ) return S3P_HEAD_MAXLEN;
  if( strcmp(key, "TAIL") == 0 ) return S3P_TAIL_LEN;
  if( objlen_under(key, "wal") ) return S3P_RECORD_MAXLEN;
  if( objlen_under(key, "pages") ) return S3P_PAGE_OBJ_MAXLEN;
  if( objlen_under(key, "index") ) return S3P_NODE_MAXLEN;
  if( objlen_under(key, "lease") ) return S3P_LEASE_LEN;
  return 0;
}
