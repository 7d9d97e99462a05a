/*
** lock.c: SQLite's locks among the connections of one machine, on a local
** lock file per database (see lock.h for the layout and where it lives).
**
** The protocol is SQLite's: SHARED is a read lock on the shared range,
** taken while briefly holding a read lock on the PENDING byte, so that a
** writer waiting for EXCLUSIVE (holding the PENDING byte) keeps new readers
** out; RESERVED is a write lock on the RESERVED byte, which only one
** connection can hold; EXCLUSIVE first takes the PENDING byte (the handle
** is then at PENDING) and then a write lock on the whole shared range,
** which succeeds once every reader has gone. Every lock request is
** non-blocking: a conflict is SQLITE_BUSY, and SQLite's busy handler
** decides whether to wait and try again.
*/
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <sqlite3.h>
#include "lock.h"
#include "store/s3conf.h"
#include "../index/hash.h"

/* Byte offsets of the locks in the lock file (its content, the version
** hint, does not interact with them). */
#define LOCK_PENDING_BYTE  0
#define LOCK_RESERVED_BYTE 1
#define LOCK_SHARED_FIRST  2
#define LOCK_SHARED_SIZE   510

/* What the helpers opening the lock directory return when memory ran out
** (-1 is any other failure, with a reason). */
#define LOCK_NOMEM (-2)

/* lock_errstr returns the text of errno value e (in buf[n]). */
static const char *lock_errstr(int e, char *buf, size_t n){
  return strerror_r(e, buf, n);
}

/* lock_set places a lock of type (F_RDLCK, F_WRLCK, F_UNLCK) on len bytes
** at start (len 0: to the end) of lk's file, without waiting. Returns 0
** or the errno value (EAGAIN when another handle's lock is in the way). */
static int lock_set(s3p_lock *lk, short type, off_t start, off_t len){
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  fl.l_pid = 0;                          /* required for OFD locks */
  while(fcntl(lk->fd, F_OFD_SETLK, &fl) != 0){
    if(errno != EINTR) return errno;
  }
  return 0;
}

/* lock_held_by_other returns 1 if another handle holds a lock on the byte
** at off that conflicts with a write lock, and sets *type to its kind
** (F_RDLCK or F_WRLCK); 0 if none; -1 with errno on failure. */
static int lock_held_by_other(s3p_lock *lk, off_t off, short *type){
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = 1;
  fl.l_pid = 0;
  if(fcntl(lk->fd, F_OFD_GETLK, &fl) != 0) return -1;
  *type = fl.l_type;
  return fl.l_type != F_UNLCK;
}

/* lock_fail turns errno value e of a lock request into an SQLite code:
** SQLITE_BUSY for a conflict, else code with *why naming the file. */
static int lock_fail(s3p_lock *lk, int e, int code, const char *what,
                     char **why){
  if(e == EAGAIN || e == EACCES) return SQLITE_BUSY;
  char buf[128];
  *why = sqlite3_mprintf("lock file %s: %s: %s", lk->path ? lk->path : "?",
                         what, lock_errstr(e, buf, sizeof buf));
  return code;
}

int s3p_lock_up(s3p_lock *lk, int level, char **why){
  *why = NULL;
  if(level <= lk->level) return SQLITE_OK;
  if(lk->fd < 0){
    lk->level = level;                     /* no local locks: bookkeeping */
    return SQLITE_OK;
  }
  int e;
  if(lk->level == SQLITE_LOCK_NONE){
    /* SQLite only ever asks for SHARED first. */
    assert(level == SQLITE_LOCK_SHARED);
    if((e = lock_set(lk, F_RDLCK, LOCK_PENDING_BYTE, 1)) != 0){
      return lock_fail(lk, e, SQLITE_IOERR_LOCK, "read lock", why);
    }
    e = lock_set(lk, F_RDLCK, LOCK_SHARED_FIRST, LOCK_SHARED_SIZE);
    int e2 = lock_set(lk, F_UNLCK, LOCK_PENDING_BYTE, 1);
    if(e == 0 && e2 != 0){
      lock_set(lk, F_UNLCK, 0, 0);
      e = e2;
    }
    if(e) return lock_fail(lk, e, SQLITE_IOERR_LOCK, "read lock", why);
    lk->level = SQLITE_LOCK_SHARED;
    if(level == SQLITE_LOCK_SHARED) return SQLITE_OK;
  }
  assert(lk->level >= SQLITE_LOCK_SHARED);
  if(level == SQLITE_LOCK_RESERVED){
    assert(lk->level == SQLITE_LOCK_SHARED);
    if((e = lock_set(lk, F_WRLCK, LOCK_RESERVED_BYTE, 1)) != 0){
      return lock_fail(lk, e, SQLITE_IOERR_LOCK, "write lock", why);
    }
    lk->level = SQLITE_LOCK_RESERVED;
    return SQLITE_OK;
  }
  /* PENDING (on the way to EXCLUSIVE), then EXCLUSIVE itself. */
  if(lk->level < SQLITE_LOCK_PENDING){
    if((e = lock_set(lk, F_WRLCK, LOCK_PENDING_BYTE, 1)) != 0){
      return lock_fail(lk, e, SQLITE_IOERR_LOCK, "write lock", why);
    }
    lk->level = SQLITE_LOCK_PENDING;
  }
  if(level == SQLITE_LOCK_PENDING) return SQLITE_OK;
  assert(level == SQLITE_LOCK_EXCLUSIVE);
  if((e = lock_set(lk, F_WRLCK, LOCK_SHARED_FIRST, LOCK_SHARED_SIZE)) != 0){
    return lock_fail(lk, e, SQLITE_IOERR_LOCK, "write lock", why);
  }
  lk->level = SQLITE_LOCK_EXCLUSIVE;
  return SQLITE_OK;
}

int s3p_lock_down(s3p_lock *lk, int level, char **why){
  *why = NULL;
  assert(level == SQLITE_LOCK_SHARED || level == SQLITE_LOCK_NONE);
  if(level >= lk->level) return SQLITE_OK;
  if(lk->fd < 0){
    lk->level = level;
    return SQLITE_OK;
  }
  int e = 0;
  if(level == SQLITE_LOCK_SHARED){
    /* Turn a write lock on the shared range back into a read lock (one
    ** atomic step: no other writer can slip in), then let go of the
    ** PENDING and RESERVED bytes. */
    if(lk->level == SQLITE_LOCK_EXCLUSIVE){
      e = lock_set(lk, F_RDLCK, LOCK_SHARED_FIRST, LOCK_SHARED_SIZE);
    }
    if(e == 0){
      assert(LOCK_RESERVED_BYTE == LOCK_PENDING_BYTE + 1);
      e = lock_set(lk, F_UNLCK, LOCK_PENDING_BYTE, 2);
    }
  }else{
    e = lock_set(lk, F_UNLCK, 0, 0);
  }
  if(e){
    char buf[128];
    *why = sqlite3_mprintf("lock file %s: unlock: %s",
                           lk->path ? lk->path : "?",
                           lock_errstr(e, buf, sizeof buf));
    return SQLITE_IOERR_UNLOCK;
  }
  lk->level = level;
  return SQLITE_OK;
}

int s3p_lock_reserved(s3p_lock *lk, int *out, char **why){
  *why = NULL;
  *out = lk->level >= SQLITE_LOCK_RESERVED;
  if(*out || lk->fd < 0) return SQLITE_OK;
  /* RESERVED: anyone's lock on its byte. PENDING or EXCLUSIVE: a write
  ** lock on the PENDING byte (readers hold it only as a read lock). */
  short type = F_UNLCK;
  int held = lock_held_by_other(lk, LOCK_RESERVED_BYTE, &type);
  if(held == 0){
    held = lock_held_by_other(lk, LOCK_PENDING_BYTE, &type);
    if(held > 0) held = type == F_WRLCK;
  }
  if(held < 0){
    char buf[128];
    *why = sqlite3_mprintf("lock file %s: test lock: %s",
                           lk->path ? lk->path : "?",
                           lock_errstr(errno, buf, sizeof buf));
    return SQLITE_IOERR_CHECKRESERVEDLOCK;
  }
  *out = held;
  return SQLITE_OK;
}

uint64_t s3p_lock_hint_get(s3p_lock *lk){
  unsigned char b[8];
  if(lk->fd < 0 || pread(lk->fd, b, sizeof b, 0) != (ssize_t)sizeof b){
    return 0;
  }
  uint64_t v = 0;
  for(int i = 7; i >= 0; i--) v = v << 8 | b[i];
  return v;
}

void s3p_lock_hint_put(s3p_lock *lk, uint64_t v){
  if(lk->fd < 0 || lk->level != SQLITE_LOCK_EXCLUSIVE) return;
  unsigned char b[8];
  for(int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  /* Best effort: a missing hint only delays seeing the version until the
  ** staleness window ends. */
  if(pwrite(lk->fd, b, sizeof b, 0) != (ssize_t)sizeof b) return;
}

/* lock_dir_open opens directory dir (making it, mode 0700, if missing).
** A default directory must be a directory owned by this user that no one
** else can write to. Returns the fd, or -1 with *why set. */
static int lock_dir_open(const char *dir, int is_default, char **why){
  char buf[128];
  if(mkdir(dir, 0700) != 0 && errno != EEXIST){
    *why = sqlite3_mprintf("lock directory %s: mkdir: %s", dir,
                           lock_errstr(errno, buf, sizeof buf));
    return -1;
  }
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  if(is_default) flags |= O_NOFOLLOW;
  int fd = open(dir, flags);
  if(fd < 0){
    *why = sqlite3_mprintf("lock directory %s: open: %s", dir,
                           lock_errstr(errno, buf, sizeof buf));
    return -1;
  }
  struct stat sb;
  if(is_default && (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() ||
                    (sb.st_mode & 022) != 0)){
    *why = sqlite3_mprintf("lock directory %s is not a private directory of "
                           "this user; not used", dir);
    close(fd);
    return -1;
  }
  return fd;
}

/* lock_identity returns the text that names database name's store for the
** lock file name (sqlite3_malloc'd), or NULL when out of memory: the
** bucket, prefix and endpoint of an S3 store, the real path of a
** directory, or the name and process of a memory store. */
static char *lock_identity(const char *name, const char *endpoint){
  if(!strncmp(name, "s3://", 5)){
    char *bucket = NULL, *prefix = NULL, *msg = NULL;
    char *id;
    if(s3p_s3conf_parse_name(name, &bucket, &prefix, &msg) == 0){
      const char *ep = endpoint ? endpoint : getenv("AWS_ENDPOINT_URL_S3");
      if(!ep) ep = getenv("AWS_ENDPOINT_URL");
      if(!ep) ep = "";
      int n = (int)strlen(ep);
      while(n > 0 && ep[n - 1] == '/') n--;
      id = sqlite3_mprintf("s3\n%s\n%s\n%.*s", bucket, prefix, n, ep);
    }else{
      id = sqlite3_mprintf("s3\n%s", name);
    }
    free(bucket);
    free(prefix);
    free(msg);
    return id;
  }
  if(!strncmp(name, "mem:", 4)){
    return sqlite3_mprintf("mem\n%s\n%ld", name, (long)getpid());
  }
  char *real = realpath(name, NULL);
  char *id = sqlite3_mprintf("dir\n%s", real ? real : name);
  free(real);
  return id;
}

/* lock_file_open opens (creating) file in directory fd dirfd: read-write,
** or, for a read-only handle that cannot, read-only. Returns the fd or -1
** with errno set. */
static int lock_file_open(int dirfd, const char *file, int readonly){
  int fd = openat(dirfd, file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                  0666);
  if(fd < 0 && readonly && (errno == EACCES || errno == EROFS)){
    fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  return fd;
}

/* lock_root_tmp opens ROOT/tmp of directory store name (making it, as the
** backend does lazily) and sets lk->path to ROOT/tmp/lock. Returns the
** directory fd, -1 with *why set, or LOCK_NOMEM. */
static int lock_root_tmp(s3p_lock *lk, const char *name, char **why){
  char buf[128];
  int dirfd = -1;
  lk->path = sqlite3_mprintf("%s/tmp/lock", name);
  if(!lk->path) return LOCK_NOMEM;
  int root = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(root >= 0){
    (void)mkdirat(root, "tmp", 0777);     /* exists already: fine */
    dirfd = openat(root, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                O_CLOEXEC);
    int e = errno;
    close(root);
    errno = e;
  }
  if(dirfd < 0){
    *why = sqlite3_mprintf("lock file %s: %s", lk->path ? lk->path : name,
                           lock_errstr(errno, buf, sizeof buf));
  }
  return dirfd;
}

/* lock_named opens the lock directory (lock_dir, else the default one),
** writes the lock file's name for database name into fname[40] and sets
** lk->path. Returns the directory fd, -1 with *why set, or LOCK_NOMEM. */
static int lock_named(s3p_lock *lk, const char *name, const char *lock_dir,
                      const char *endpoint, char *fname, char **why){
  char *dflt = NULL;
  if(!lock_dir){
    const char *x = getenv("XDG_RUNTIME_DIR");
    dflt = x && x[0] == '/' ? sqlite3_mprintf("%s/s3page", x)
                            : sqlite3_mprintf("/tmp/s3page-locks-%u",
                                              (unsigned)geteuid());
  }
  char *id = lock_identity(name, endpoint);
  if(!id || (!lock_dir && !dflt)){
    sqlite3_free(id);
    sqlite3_free(dflt);
    return LOCK_NOMEM;
  }
  s3p_hash h;
  char hex[33];
  s3p_hash_bytes(&h, id, strlen(id));
  sqlite3_free(id);
  s3p_hash_hex(hex, &h);
  memcpy(fname, hex, 32);
  memcpy(fname + 32, ".lock", 6);
  const char *dir = lock_dir ? lock_dir : dflt;
  lk->path = sqlite3_mprintf("%s/%s", dir, fname);
  if(!lk->path){
    sqlite3_free(dflt);
    return LOCK_NOMEM;
  }
  int dirfd = lock_dir_open(dir, dflt != NULL, why);
  sqlite3_free(dflt);
  return dirfd;
}

int s3p_lock_open(s3p_lock *lk, const char *name, const char *lock_dir,
                  const char *endpoint, int none, int readonly,
                  char **why){
  memset(lk, 0, sizeof *lk);
  lk->fd = -1;
  *why = NULL;
  if(none) return SQLITE_OK;
  char buf[128], fname[40];
  const char *file = fname;
  int dirfd;
  if(lock_dir && !*lock_dir) lock_dir = NULL;
  if(!lock_dir && strncmp(name, "s3://", 5) && strncmp(name, "mem:", 4)){
    file = "lock";
    dirfd = lock_root_tmp(lk, name, why);
  }else{
    dirfd = lock_named(lk, name, lock_dir, endpoint, fname, why);
  }
  if(dirfd == LOCK_NOMEM){
    sqlite3_free(lk->path);
    lk->path = NULL;
    return SQLITE_NOMEM;
  }
  if(dirfd < 0) goto fail;
  lk->fd = lock_file_open(dirfd, file, readonly);
  if(lk->fd < 0){
    *why = sqlite3_mprintf("lock file %s: open: %s", lk->path ? lk->path : file,
                           lock_errstr(errno, buf, sizeof buf));
    close(dirfd);
    goto fail;
  }
  close(dirfd);
  /* Kernels before 3.15 have no OFD locks: find out now, not mid-lock. */
  short type;
  if(lock_held_by_other(lk, LOCK_RESERVED_BYTE, &type) < 0){
    *why = sqlite3_mprintf("lock file %s: open-file-description locks: %s",
                           lk->path ? lk->path : file,
                           lock_errstr(errno, buf, sizeof buf));
    close(lk->fd);
    lk->fd = -1;
    goto fail;
  }
  return SQLITE_OK;
fail:
  sqlite3_free(lk->path);
  lk->path = NULL;
  lk->fd = -1;
  /* The reason could not even be formatted: memory ran out. */
  return *why ? SQLITE_OK : SQLITE_NOMEM;
}

void s3p_lock_close(s3p_lock *lk){
  if(lk->fd >= 0) close(lk->fd);   /* drops every lock of this handle */
  sqlite3_free(lk->path);
  memset(lk, 0, sizeof *lk);
  lk->fd = -1;
}
