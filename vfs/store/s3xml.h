/*
** s3xml.h: parsing S3's XML answers (s3xml.c): pure functions, no I/O.
*/
#ifndef S3P_S3XML_H
#define S3P_S3XML_H

#include <stddef.h>
#include "store.h"

/* State of one listing, across its pages. */
typedef struct s3p_xml_list {
  const char *full;             /* full prefix of the listing (PREFIX/p) */
  size_t strip;                 /* bytes of "PREFIX/" to drop from keys */
  s3p_list_fn fn;               /* called once per key */
  void *arg;                    /* its argument */
  int stopped;                  /* fn asked to stop */
} s3p_xml_list;

/* s3p_xml_find looks for <tag>...</tag> in [p, end). Returns a pointer to
** the element's text and sets *n to its length, or returns NULL. */
const char *s3p_xml_find(const char *p, const char *end, const char *tag,
                         size_t *n);

/* s3p_xml_text copies the XML text t[0..n) into out (cap bytes, NUL
** terminated), decoding entities. Returns 0, or -1 if it does not fit or
** is malformed. */
int s3p_xml_text(const char *t, size_t n, char *out, size_t cap);

/* s3p_xml_error_code copies the <Code> of an S3 error body into out
** (letters and digits only, at most cap-1), or leaves it empty. */
void s3p_xml_error_code(const unsigned char *body, size_t len, char *out,
                        size_t cap);

/* s3p_xml_list_page parses one ListObjectsV2 page body[0..len) (with a NUL
** after it) and calls lc->fn for each key, without the "PREFIX/" part. Sets
** *token (malloc'd) to the continuation token if the listing goes on.
** Returns S3P_OK, S3P_ENOMEM, or S3P_EIO with *why set to a static
** reason. */
int s3p_xml_list_page(s3p_xml_list *lc, const char *body, size_t len,
                      char **token, const char **why);

#endif
