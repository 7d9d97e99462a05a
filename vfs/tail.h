/*
** tail.h: the lower end of the history. gc writes TAIL (the oldest version
** it kept) before deleting older records; readers use it to start the time
** search of asof= and the search for the newest version when HEAD names a
** removed version (docs/history.md). Implemented in tail.c.
**
** Functions return SQLite result codes and record their messages in the
** s3p_db (s3p_db_error).
*/
#ifndef S3P_VFS_TAIL_H
#define S3P_VFS_TAIL_H

#include <stdint.h>
#include "db.h"

/* s3p_tail_from_op turns a finished GET of TAIL into the version it names
** in *tail: 0 when there is none or it is damaged (logged: a damaged TAIL
** only costs probes), and raises db->tail_seen. Returns SQLITE_OK or the
** error of a failed GET. */
int s3p_tail_from_op(s3p_db *db, const s3p_op *op, uint64_t *tail);

/* s3p_version_floor sets *floor to the version named by TAIL (1 when
** there is none or it is unreadable; a damaged TAIL is logged). One GET. */
int s3p_version_floor(s3p_db *db, uint64_t *floor);

/* s3p_version_oldest sets *oldest to the oldest version kept, given the
** newest (latest, which exists): TAIL if its record exists, else the
** first existing record above it, found by bisection. 0 when latest is 0.
** Returns SQLITE_OK or an error. */
int s3p_version_oldest(s3p_db *db, uint64_t latest, uint64_t *oldest);


/* s3p_tail_write writes TAIL naming version. Returns SQLITE_OK or an
** error. */
int s3p_tail_write(s3p_db *db, uint64_t version);

#endif
