/*
** s3.c: the S3 backend. Placeholder until the real client lands: refuses
** to open so that nothing silently pretends to talk to S3.
*/
#include <stdlib.h>
#include <string.h>
#include "store.h"

/* s3p_store_s3_open: not available yet; returns S3P_EUNSUPPORTED. */
int s3p_store_s3_open(s3p_store **out, const char *url,
                      const s3p_store_opts *opts, char **errmsg){
  (void)opts;
  *out = NULL;
  if(errmsg){
    const char *m = "S3 support is not built into this s3page";
    *errmsg = strdup(m);
  }
  (void)url;
  return S3P_EUNSUPPORTED;
}
