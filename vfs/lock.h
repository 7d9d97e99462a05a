/*
** lock.h: SQLite's file locks among the connections of one machine, kept
** on a small local lock file per database (never on the store's objects).
**
** Each main-database handle opens the lock file itself and takes Linux
** open-file-description locks (F_OFD_SETLK) on it. Such locks belong to
** the open file description, not to the process, so two connections of
** one process exclude each other exactly as two processes do, and closing
** one handle never drops another's locks. The bytes mirror SQLite's:
**
**   LOCK_PENDING_BYTE   read-locked briefly while taking SHARED, write-
**                       locked by a writer on its way to EXCLUSIVE (keeps
**                       new readers out so the writer is not starved)
**   LOCK_RESERVED_BYTE  write-locked by the one writer holding RESERVED
**   LOCK_SHARED_FIRST.. read-locked by every SHARED holder, write-locked
**                       (LOCK_SHARED_SIZE bytes)  by the EXCLUSIVE holder
**
** Where the lock file is:
**   lock_dir=DIR given   DIR/<hash of the normalized name>.lock
**   s3://BUCKET/PREFIX   the same in the default lock directory:
**                        $XDG_RUNTIME_DIR/s3page if set, else
**                        /tmp/s3page-locks-<uid>, made mode 0700 and used
**                        only if it is a directory owned by this user
**   mem:NAME             the same, keyed by name and process (the store
**                        lives in one process)
**   a directory ROOT     ROOT/tmp/lock (the backend's private tmp/, which
**                        listings, gc and verify never look at)
**
** The file's first 8 bytes (locks and content do not interact) hold the
** newest version committed through it, little-endian, so that connections
** with a staleness window (staleness=MS) still see this machine's commits
** at once: local writers then never lose a commit to each other.
**
** A handle that cannot open its lock file (read-only file system,
** unwritable or unsafe lock directory) works without local locks, as a
** separate machine would: create-if-absent still arbitrates every commit.
** That is logged once for the handle. Pinned read-only handles (version=,
** asof=) show a version that never changes and take no locks at all.
**
** A handle is used by one connection at a time (SQLite serializes calls on
** a connection); there is no state shared between handles.
*/
#ifndef S3P_LOCK_H
#define S3P_LOCK_H

#include <stdint.h>

typedef struct s3p_lock {
  int fd;                    /* lock file, -1: no local locks */
  int level;                 /* SQLITE_LOCK_* held (also without a file) */
  char *path;                /* lock file path for messages, or NULL */
} s3p_lock;

/* s3p_lock_open sets up lk for database name (as given to xOpen, after
** its store was opened), with the lock directory option lock_dir
** (NULL: the default) and S3 endpoint option endpoint (NULL: from the
** environment). none asks for no local locks (pinned versions); readonly
** means only SHARED will ever be asked for. Returns SQLITE_OK, also when
** local locks cannot be had (then lk has no lock file, and *why
** (sqlite3_malloc'd) says why for the log), or SQLITE_NOMEM when memory
** ran out (lk is then unusable): an allocation failure must reach SQLite
** as such, not turn into running without locks. */
int s3p_lock_open(s3p_lock *lk, const char *name, const char *lock_dir,
                   const char *endpoint, int none, int readonly,
                   char **why);

/* s3p_lock_close releases every lock and closes the lock file. */
void s3p_lock_close(s3p_lock *lk);

/* s3p_lock_up raises lk to level (SQLITE_LOCK_SHARED from NONE, RESERVED
** or EXCLUSIVE from SHARED or more), as xLock: SQLITE_OK, SQLITE_BUSY
** when another connection's lock is in the way (an EXCLUSIVE request may
** then leave lk at PENDING), or SQLITE_IOERR_LOCK with *why set
** (sqlite3_malloc'd). */
int s3p_lock_up(s3p_lock *lk, int level, char **why);

/* s3p_lock_down lowers lk to level (SHARED or NONE), as xUnlock. Returns
** SQLITE_OK or SQLITE_IOERR_UNLOCK with *why set (sqlite3_malloc'd). */
int s3p_lock_down(s3p_lock *lk, int level, char **why);

/* s3p_lock_reserved sets *out to 1 if this or any other connection holds
** RESERVED, PENDING or EXCLUSIVE, as xCheckReservedLock. Without a lock
** file only this handle's own lock is known. Returns SQLITE_OK or
** SQLITE_IOERR_CHECKRESERVEDLOCK with *why set. */
int s3p_lock_reserved(s3p_lock *lk, int *out, char **why);

/* s3p_lock_hint_get returns the newest version that a connection of this
** machine recorded in the lock file (0: none, or no lock file). Call it
** holding SHARED, so no commit of this machine is half recorded. The value
** is only a hint that a newer version may exist: garbage costs a lookup. */
uint64_t s3p_lock_hint_get(s3p_lock *lk);

/* s3p_lock_hint_put records version v in the lock file, holding EXCLUSIVE,
** after committing v. Best effort. */
void s3p_lock_hint_put(s3p_lock *lk, uint64_t v);

#endif
