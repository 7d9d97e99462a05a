/*
** bytes.h: little-endian integer load/store for the on-store formats.
** Every multi-byte integer in every object is little-endian.
*/
#ifndef S3P_BYTES_H
#define S3P_BYTES_H

#include <stdint.h>

static inline void s3p_put16(unsigned char *p, uint16_t v){
  p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
}
static inline void s3p_put32(unsigned char *p, uint32_t v){
  for(int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void s3p_put64(unsigned char *p, uint64_t v){
  for(int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t s3p_get16(const unsigned char *p){
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t s3p_get32(const unsigned char *p){
  uint32_t v = 0;
  for(int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static inline uint64_t s3p_get64(const unsigned char *p){
  uint64_t v = 0;
  for(int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

#endif
