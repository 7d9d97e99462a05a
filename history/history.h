/*
** history.h: the history operations (import, export, log, verify,
** checkpoint, gc, revert, diff, copy, stats) as the rest of the library
** sees them. Their API is the s3page_* functions of s3page.h; this header
** adds only what the library and its tests need beyond that. The code
** lives in this folder, one operation per file (see internal.h).
*/
#ifndef S3P_HISTORY_H
#define S3P_HISTORY_H

#include "../vfs/db.h"
#include "../vfs/s3page.h"

/* What the gc safety argument allows for clock skew between machines and
** the store, and for the time one record creation takes (docs/history.md,
** "Why gc is safe"). */
#define S3P_GC_MARGIN_MS (5 * 60 * 1000)
/* The shortest grace period gc accepts other than 0: what a connection
** knows about the store may be S3P_TRUST_MS old, plus the margin. */
#define S3P_GC_MIN_GRACE_MS (S3P_TRUST_MS + S3P_GC_MARGIN_MS)
_Static_assert(S3P_GC_MIN_GRACE_MS == S3PAGE_GC_MIN_GRACE_MS,
               "s3page.h states the minimum grace period gc accepts");

/* s3p_test_hist_hook calls the function tests set with
** s3p_test_set_hist_hook (if any) with point, a name of where a history
** operation is: revert and checkpoint call it when their uploads are done
** ("revert: uploaded") and again just before they create their record
** ("revert: record"), with a renewal of their marker in between; tests
** move the clock and run gc there. */
void s3p_test_hist_hook(const char *point);

/* s3p_test_set_hist_hook makes fn(arg, point) what s3p_test_hist_hook
** calls (NULL: nothing). Tests only; set it while no history operation
** runs. */
void s3p_test_set_hist_hook(void (*fn)(void *arg, const char *point),
                            void *arg);

#endif
