/*
** err.c: descriptions of the S3P_* result codes.
*/
#include "err.h"

/* s3p_errstr returns a short static description of result code rc, or
** "unknown error" for a code this build does not know. */
const char *s3p_errstr(int rc){
  switch( rc ){
    case S3P_OK:           return "ok";
    case S3P_ENOMEM:       return "out of memory";
    case S3P_ECORRUPT:     return "corrupt object";
    case S3P_EINVAL:       return "invalid argument";
    case S3P_ENOTFOUND:    return "object not found";
    case S3P_EEXISTS:      return "object already exists";
    case S3P_EIO:          return "store I/O error";
    case S3P_ETOOBIG:      return "format size limit exceeded";
    case S3P_EUNSUPPORTED: return "store lacks a needed capability";
    case S3P_EAUTH:        return "store refused the credentials";
    default:               return "unknown error";
  }
}
