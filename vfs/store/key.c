/*
** key.c: the syntax of object keys (see store.h), on its own so that the
** pure parsers that check keys (s3xml.c) and their fuzz targets need
** nothing else of the store layer.
*/
#include <string.h>
#include "store.h"

/* s3p_key_ok returns 1 if key follows the rules of store.h: non-empty, at
** most S3P_STORE_KEY_MAX bytes of [A-Za-z0-9._-/], no leading '/', and no
** empty, "." or ".." component; 0 otherwise. */
int s3p_key_ok(const char *key){
  const char *p, *comp;
  if(key == NULL || key[0] == 0 || key[0] == '/') return 0;
  if(strlen(key) > S3P_STORE_KEY_MAX) return 0;
  comp = key;
  for(p = key;; p++){
    char c = *p;
    if(c == '/' || c == 0){
      size_t n = (size_t)(p - comp);
      if(n == 0) return 0;                       /* "a//b" or "a/" */
      if(n == 1 && comp[0] == '.') return 0;
      if(n == 2 && comp[0] == '.' && comp[1] == '.') return 0;
      if(c == 0) return 1;
      comp = p + 1;
      continue;
    }
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')){
      return 0;
    }
  }
}
