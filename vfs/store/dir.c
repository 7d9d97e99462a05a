/*
** dir.c: the local-directory backend, the embedded default.
**
** The store is a directory ROOT; key "wal/0001" is the file ROOT/wal/0001
** and subdirectories are made as needed. Writes are atomic; durability is
** ordered rather than immediate:
**
**   PUT      write ROOT/tmp/<pid>.<counter>.<random>, rename() it over
**            the target, and report success without syncing anything. The
**            handle notes that it has unsynced writes.
**   PUT_NEW  write the temp file the same way; then make it durable
**            together with every unsynced write of the handle before it
**            (one syncfs() of the root's filesystem if there are any, else
**            an fdatasync of the file); then link() it to the target, so
**            exactly one of several racing processes creates it (EEXIST
**            means S3P_EEXISTS), unlink the temp name and fsync the
**            target's directory. Filesystems without hard links fall back
**            to renameat2(RENAME_NOREPLACE), which is just as atomic.
**   DELETE   unlink (absent is fine), after the same sync if the handle
**            has unsynced writes, and without a directory fsync: nothing
**            depends on a delete being durable.
**   close    syncs what is still unsynced.
**
** So every object PUT through a handle is durable before any record the
** handle creates afterwards (a commit's pages and tree nodes before its
** commit record), and a created record is durable when PUT_NEW returns,
** which is what the protocol needs: nothing refers to an object but a
** record. A commit costs two syncs (the syncfs before the link and the
** fsync of wal/ after it), whatever the number of objects; the former
** scheme (a syncfs per batch of PUTs, then an fsync of the record's file
** and of its directory) cost three, and new directories an fsync each.
** Until its sync a crash may leave a PUT's file empty or partial: harmless,
** since nothing refers to it yet, and a later PUT of the same key replaces
** it. A reader sees either no file or a whole one. A crash can leave files
** in ROOT/tmp; they are never read.
**
** Confinement: the root is opened once as a directory fd and every access
** is relative to it (openat, linkat, renameat, unlinkat, mkdirat), one
** path component at a time with O_NOFOLLOW, so neither a key nor a
** symbolic link placed inside the root can reach outside it: a symlink
** met on the way is an error, never followed. Keys must pass s3p_key_ok
** (no "..", no leading '/'), and the top-level name "tmp" is reserved.
**
** A handle holds no state that changes except a temp-name counter, so
** several handles (each used by one thread at a time) and several
** processes may share a root. Batches run sequentially: local I/O.
*/
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "store.h"

/* Name of the temp directory under the root (reserved as a key). */
#define DIR_TMP "tmp"

/* What error messages say when a key meets a symbolic link. */
#define DIR_NOFOLLOW "symbolic link in the store, not followed"

typedef struct dir_store {
  s3p_store base;               /* must be first */
  int root_fd;                  /* O_DIRECTORY fd of the root */
  int readonly;                 /* refuse writes */
  uint64_t tmp_counter;         /* temp files made by this handle */
  uint64_t tmp_rand;            /* random part of temp names */
  int unsynced;                 /* PUTs or new directories made since the
                                ** last sync: not yet durable */
} dir_store;

/* dir_op_fail sets op's rc from errno value e (ENOMEM -> S3P_ENOMEM, else
** S3P_EIO) and its errmsg to "DESC: KEY: WHAT: strerror(e)". Returns the
** rc. */
static int dir_op_fail(dir_store *ds, s3p_op *op, const char *what, int e){
  char buf[256];
  const char *s = strerror_r(e, buf, sizeof(buf));
  op->rc = e == ENOMEM ? S3P_ENOMEM : S3P_EIO;
  free(op->errmsg);
  op->errmsg = s3p_store_msg("%s: %s: %s: %s", ds->base.desc, op->key, what, s);
  return op->rc;
}

/* dir_fd_close closes fd unless it is the root fd or -1. */
static void dir_fd_close(dir_store *ds, int fd){
  if(fd >= 0 && fd != ds->root_fd) close(fd);
}

/* dir_sync makes every write of the filesystem holding the root durable,
** if the handle has unsynced writes. Returns 0 or an errno value. */
static int dir_sync(dir_store *ds){
  if(!ds->unsynced) return 0;
  if(syncfs(ds->root_fd) != 0) return errno;
  ds->unsynced = 0;
  return 0;
}

/* dir_walk opens the directory holding key's file, one component at a time
** without following symlinks, making missing directories when create is
** set (their entries are then unsynced writes of the handle). On success returns 0, sets *out_fd (the
** root fd itself or a new fd: release with dir_fd_close) and *out_base
** (points into key). On failure returns the errno value and sets *what to
** the failed step. */
static int dir_walk(dir_store *ds, const char *key, int create, int *out_fd,
                    const char **out_base, const char **what){
  char comp[NAME_MAX + 1];
  const char *p = key, *slash;
  int fd = ds->root_fd;

  while((slash = strchr(p, '/')) != NULL){
    size_t n = (size_t)(slash - p);
    int nfd;
    if(n > NAME_MAX){
      dir_fd_close(ds, fd);
      *what = "open directory";
      return ENAMETOOLONG;
    }
    memcpy(comp, p, n);
    comp[n] = 0;
    for(;;){
      nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if(nfd >= 0 || errno != ENOENT || !create) break;
      if(mkdirat(fd, comp, 0777) != 0 && errno != EEXIST){
        int e = errno;
        dir_fd_close(ds, fd);
        *what = "mkdir";
        return e;
      }
      ds->unsynced = 1;   /* durable with the next sync */
    }
    if(nfd < 0){
      int e = errno;
      struct stat sb;
      *what = "open directory";
      if((e == ENOTDIR || e == ELOOP)
         && fstatat(fd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISLNK(sb.st_mode)){
        *what = DIR_NOFOLLOW;
        e = ELOOP;
      }
      dir_fd_close(ds, fd);
      return e;
    }
    dir_fd_close(ds, fd);
    fd = nfd;
    p = slash + 1;
  }
  *out_fd = fd;
  *out_base = p;
  return 0;
}

/* dir_read_all reads exactly n bytes at off from fd into buf, retrying on
** EINTR and short reads. Returns the bytes read (less than n only at end
** of file) or -1 with errno set. */
static ssize_t dir_read_all(int fd, unsigned char *buf, size_t n, off_t off){
  size_t got = 0;
  while(got < n){
    ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
    if(r < 0){
      if(errno == EINTR) continue;
      return -1;
    }
    if(r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

/* dir_write_all writes buf[0..n) to fd, retrying on EINTR and short
** writes. Returns 0 or -1 with errno set. */
static int dir_write_all(int fd, const unsigned char *buf, size_t n){
  size_t done = 0;
  while(done < n){
    ssize_t w = write(fd, buf + done, n - done);
    if(w < 0){
      if(errno == EINTR) continue;
      return -1;
    }
    done += (size_t)w;
  }
  return 0;
}

/* dir_get runs a GET: reads the whole file or the range [range_off,
** range_off+range_len) clipped to the file. Sets op->rc (S3P_ENOTFOUND when
** the file or a directory on the way is missing, S3P_ECORRUPT when it
** holds more than op->max_len bytes: known from fstat, before reading). */
static void dir_get(dir_store *ds, s3p_op *op){
  const char *base, *what;
  struct stat sb;
  uint64_t off, n;
  int pfd, fd, e;
  ssize_t got;

  e = dir_walk(ds, op->key, 0, &pfd, &base, &what);
  if(e == ENOENT || e == ENOTDIR){ op->rc = S3P_ENOTFOUND; return; }
  if(e){ dir_op_fail(ds, op, what, e); return; }
  fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  e = errno;
  dir_fd_close(ds, pfd);
  if(fd < 0){
    if(e == ENOENT) op->rc = S3P_ENOTFOUND;
    else dir_op_fail(ds, op, e == ELOOP ? DIR_NOFOLLOW : "open", e);
    return;
  }
  if(fstat(fd, &sb) != 0){
    dir_op_fail(ds, op, "stat", errno);
    close(fd);
    return;
  }
  if(S_ISDIR(sb.st_mode)){ op->rc = S3P_ENOTFOUND; close(fd); return; }
  if(!S_ISREG(sb.st_mode)){
    dir_op_fail(ds, op, "open", EINVAL);
    close(fd);
    return;
  }
  off = op->range_off;
  if(off > (uint64_t)sb.st_size) off = (uint64_t)sb.st_size;
  n = (uint64_t)sb.st_size - off;
  if(op->range_len > 0 && op->range_len < n) n = op->range_len;
  if(op->max_len > 0 && n > op->max_len){
    s3p_op_too_big(op, ds->base.desc, n);   /* from the size: nothing read */
    close(fd);
    return;
  }
  if(n > (uint64_t)SSIZE_MAX){
    dir_op_fail(ds, op, "read", EFBIG);
    close(fd);
    return;
  }
  op->data = malloc(n > 0 ? (size_t)n : 1);
  if(op->data == NULL){
    dir_op_fail(ds, op, "read", ENOMEM);
    close(fd);
    return;
  }
  got = dir_read_all(fd, op->data, (size_t)n, (off_t)off);
  if(got < 0){
    dir_op_fail(ds, op, "read", errno);
    free(op->data);
    op->data = NULL;
  }else{
    op->len = (size_t)got;
    op->rc = S3P_OK;
  }
  close(fd);
}

/* dir_head runs a HEAD: sets op->len to the file size and op->rc. */
static void dir_head(dir_store *ds, s3p_op *op){
  const char *base, *what;
  struct stat sb;
  int pfd, e;

  e = dir_walk(ds, op->key, 0, &pfd, &base, &what);
  if(e == ENOENT || e == ENOTDIR){ op->rc = S3P_ENOTFOUND; return; }
  if(e){ dir_op_fail(ds, op, what, e); return; }
  e = fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) != 0 ? errno : 0;
  dir_fd_close(ds, pfd);
  if(e == ENOENT || (e == 0 && S_ISDIR(sb.st_mode))){
    op->rc = S3P_ENOTFOUND;
  }else if(e){
    dir_op_fail(ds, op, "stat", e);
  }else if(!S_ISREG(sb.st_mode)){
    if(S_ISLNK(sb.st_mode)) dir_op_fail(ds, op, DIR_NOFOLLOW, ELOOP);
    else dir_op_fail(ds, op, "stat", EINVAL);
  }else{
    op->len = (size_t)sb.st_size;
    op->rc = S3P_OK;
  }
}

/* dir_delete runs a DELETE: unlinks the file; an absent one is fine. The
** handle's unsynced writes are synced first, so that a delete never
** reaches the disk before a PUT that was made before it (gc writes TAIL,
** then deletes what TAIL puts out of reach). */
static void dir_delete(dir_store *ds, s3p_op *op){
  const char *base, *what;
  int pfd, e;

  e = dir_sync(ds);
  if(e){ dir_op_fail(ds, op, "syncfs", e); return; }
  e = dir_walk(ds, op->key, 0, &pfd, &base, &what);
  if(e == ENOENT || e == ENOTDIR){ op->rc = S3P_OK; return; }
  if(e){ dir_op_fail(ds, op, what, e); return; }
  e = unlinkat(pfd, base, 0) != 0 ? errno : 0;
  dir_fd_close(ds, pfd);
  if(e == 0 || e == ENOENT || e == EISDIR) op->rc = S3P_OK;
  else dir_op_fail(ds, op, "unlink", e);
}

/* dir_tmp_create makes a new, empty, exclusively created temp file in
** ROOT/tmp (making the directory if needed), writing its name into
** name[0..cap). Returns the open fd and sets *tmp_dir_fd, or -1 with errno
** set. */
static int dir_tmp_create(dir_store *ds, char *name, size_t cap,
                          int *tmp_dir_fd){
  int tfd, fd, tries;
  for(;;){
    tfd = openat(ds->root_fd, DIR_TMP,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if(tfd >= 0 || errno != ENOENT) break;
    if(mkdirat(ds->root_fd, DIR_TMP, 0777) != 0 && errno != EEXIST) break;
  }
  if(tfd < 0) return -1;
  for(tries = 0; tries < 100; tries++){
    snprintf(name, cap, "%ld.%llu.%016llx", (long)getpid(),
             (unsigned long long)++ds->tmp_counter,
             (unsigned long long)(ds->tmp_rand ^ (uint64_t)tries));
    fd = openat(tfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                | O_CLOEXEC, 0666);
    if(fd >= 0){
      *tmp_dir_fd = tfd;
      return fd;
    }
    if(errno != EEXIST && errno != EINTR) break;
  }
  {
    int e = errno;
    close(tfd);
    errno = e;
  }
  return -1;
}

/* dir_same returns 1 if key's file exists and holds exactly the n bytes
** of body, and then sets its modification time to now, as S3 does for a
** PUT: gc's protection of fresh uploads (docs/history.md, "Bulk writers")
** goes by it. Else 0 (also on any error: the caller then writes the
** file). */
static int dir_same(dir_store *ds, const char *key, const unsigned char *body,
                    size_t n){
  unsigned char buf[4096];
  const char *base, *what;
  struct stat sb;
  size_t done = 0;
  int pfd, fd, same = 0;

  if(dir_walk(ds, key, 0, &pfd, &base, &what) != 0) return 0;
  fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  dir_fd_close(ds, pfd);
  if(fd < 0) return 0;
  if(fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == n){
    same = 1;
    while(same && done < n){
      size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
      ssize_t got = dir_read_all(fd, buf, want, (off_t)done);
      if(got != (ssize_t)want || memcmp(buf, body + done, want) != 0) same = 0;
      done += want;
    }
  }
  /* Without the new time the caller replaces the file: correct, if not
  ** durable yet (see dir_put). */
  if(same && futimens(fd, NULL) != 0) same = 0;
  close(fd);
  return same;
}

/* dir_put runs a PUT or PUT_NEW through a temp file (see the top
** comment): a PUT is left unsynced; a PUT_NEW syncs its file with every
** unsynced write before linking it, and its directory after. A PUT of
** exactly the bytes the file already holds (a content-addressed object
** stored before) leaves the file alone but for its modification time
** (dir_same): replacing it would put a file
** whose bytes are not yet durable under a name a durable record may
** already refer to. Sets op->rc. */
static void dir_put(dir_store *ds, s3p_op *op){
  char tmp[96];
  const char *base, *what;
  int tfd, fd, pfd, e;

  if(op->kind == S3P_OP_PUT && dir_same(ds, op->key, op->body, op->body_len)){
    ds->unsynced = 1;   /* its writer's sync may not have happened yet */
    op->rc = S3P_OK;
    return;
  }
  fd = dir_tmp_create(ds, tmp, sizeof(tmp), &tfd);
  if(fd < 0){ dir_op_fail(ds, op, "create temp file", errno); return; }
  if(dir_write_all(fd, op->body, op->body_len) != 0){
    e = errno; what = "write";
    goto fail_fd;
  }
  e = dir_walk(ds, op->key, 1, &pfd, &base, &what);
  if(e) goto fail_fd;
  if(op->kind == S3P_OP_PUT_NEW){
    /* Whatever this record may refer to, and its own bytes and
    ** directory, become durable before its name appears. */
    what = ds->unsynced ? "syncfs" : "fdatasync";
    e = ds->unsynced ? dir_sync(ds) : fdatasync(fd) != 0 ? errno : 0;
    if(e){ dir_fd_close(ds, pfd); goto fail_fd; }
  }
  if(close(fd) != 0){
    e = errno; what = "close"; fd = -1;
    dir_fd_close(ds, pfd);
    goto fail_fd;
  }
  fd = -1;
  if(op->kind == S3P_OP_PUT){
    e = renameat(tfd, tmp, pfd, base) != 0 ? errno : 0;
    what = "rename";
    if(e) (void)unlinkat(tfd, tmp, 0);
  }else{
    e = linkat(tfd, tmp, pfd, base, 0) != 0 ? errno : 0;
    what = "link";
    if(e == EPERM || e == EOPNOTSUPP || e == EMLINK){
      /* No hard links here: an exclusive rename is atomic too. */
      e = renameat2(tfd, tmp, pfd, base, RENAME_NOREPLACE) != 0 ? errno : 0;
      what = "rename";
    }
    (void)unlinkat(tfd, tmp, 0);   /* ENOENT after a successful rename */
    if(e == EEXIST){
      dir_fd_close(ds, pfd);
      close(tfd);
      op->rc = S3P_EEXISTS;
      return;
    }
  }
  if(e == 0 && op->kind == S3P_OP_PUT) ds->unsynced = 1;
  if(e == 0 && op->kind == S3P_OP_PUT_NEW && fsync(pfd) != 0){
    e = errno;
    what = "fsync directory";
  }
  dir_fd_close(ds, pfd);
  if(e == 0) op->rc = S3P_OK;
  else dir_op_fail(ds, op, what, e);
  close(tfd);
  return;

fail_fd:
  if(fd >= 0) close(fd);
  (void)unlinkat(tfd, tmp, 0);
  close(tfd);
  dir_op_fail(ds, op, what, e);
}

/* dir_exec runs the batch sequentially. Always returns S3P_OK (every op
** gets its own rc). */
static int dir_exec(s3p_store *st, s3p_op *ops, size_t n){
  dir_store *ds = (dir_store *)st;
  size_t i;
  for(i = 0; i < n; i++){
    s3p_op *op = &ops[i];
    int is_write = op->kind == S3P_OP_PUT || op->kind == S3P_OP_PUT_NEW
                   || op->kind == S3P_OP_DELETE;
    const char *slash = strchr(op->key, '/');
    size_t top = slash ? (size_t)(slash - op->key) : strlen(op->key);
    op->rc = S3P_OK;
    if(top == strlen(DIR_TMP) && strncmp(op->key, DIR_TMP, top) == 0){
      op->rc = S3P_EINVAL;
      op->errmsg = s3p_store_msg("%s: %s: key reserved by the directory store",
                           st->desc, op->key);
      continue;
    }
    if(is_write && ds->readonly){
      op->rc = S3P_EINVAL;
      op->errmsg = s3p_store_msg("%s: %s: store is read-only", st->desc, op->key);
      continue;
    }
    switch(op->kind){
      case S3P_OP_GET: dir_get(ds, op); break;
      case S3P_OP_PUT:
      case S3P_OP_PUT_NEW: dir_put(ds, op); break;
      case S3P_OP_HEAD: dir_head(ds, op); break;
      case S3P_OP_DELETE: dir_delete(ds, op); break;
      default:
        op->rc = S3P_EINVAL;
        op->errmsg = s3p_store_msg("%s: %s: bad operation", st->desc, op->key);
        break;
    }
  }
  return S3P_OK;
}

/* State of one listing. */
typedef struct dir_lister {
  dir_store *ds;                /* the store */
  const char *prefix;           /* wanted key prefix */
  size_t prefix_len;            /* strlen(prefix) */
  s3p_list_fn fn;               /* callback */
  void *arg;                    /* its argument */
  int stop;                     /* fn asked to stop */
  char **errmsg;                /* where to put an error message */
} dir_lister;

/* dir_list_dir reports the files of directory fd (owned: closed here)
** whose key, "path" + name, starts with the prefix, descending into
** subdirectories that may hold such keys. path is "" or ends in '/'.
** Returns S3P_OK or an error with *ls->errmsg set. */
static int dir_list_dir(dir_lister *ls, int fd, const char *path){
  DIR *d = fdopendir(fd);
  struct dirent *de;
  size_t plen = strlen(path);
  int rc = S3P_OK;

  if(d == NULL){
    int e = errno;
    char buf[256];
    close(fd);
    *ls->errmsg = s3p_store_msg("%s: list %s: opendir: %s", ls->ds->base.desc,
                          path[0] ? path : "/", strerror_r(e, buf, sizeof(buf)));
    return S3P_EIO;
  }
  for(;;){
    struct stat sb;
    char *key;
    size_t klen, cmp;
    errno = 0;
    de = readdir(d);
    if(de == NULL){
      if(errno){
        char buf[256];
        *ls->errmsg = s3p_store_msg("%s: list %s: readdir: %s", ls->ds->base.desc,
                              path[0] ? path : "/",
                              strerror_r(errno, buf, sizeof(buf)));
        rc = S3P_EIO;
      }
      break;
    }
    if(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if(plen == 0 && strcmp(de->d_name, DIR_TMP) == 0) continue;
    if(fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
    key = s3p_store_msg("%s%s%s", path, de->d_name, S_ISDIR(sb.st_mode) ? "/" : "");
    if(key == NULL){
      *ls->errmsg = s3p_store_msg("%s: list: out of memory", ls->ds->base.desc);
      rc = S3P_ENOMEM;
      break;
    }
    klen = strlen(key);
    cmp = klen < ls->prefix_len ? klen : ls->prefix_len;
    if(strncmp(key, ls->prefix, cmp) != 0){
      free(key);        /* neither this key nor anything below matches */
      continue;
    }
    if(S_ISDIR(sb.st_mode)){
      int cfd = openat(dirfd(d), de->d_name,
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if(cfd >= 0) rc = dir_list_dir(ls, cfd, key);
    }else if(S_ISREG(sb.st_mode) && klen >= ls->prefix_len
             && s3p_key_ok(key)){
      if(ls->fn(ls->arg, key, (uint64_t)sb.st_size,
                (int64_t)sb.st_mtim.tv_sec)){
        ls->stop = 1;
      }
    }
    free(key);
    if(rc != S3P_OK || ls->stop) break;
  }
  closedir(d);
  return rc;
}

/* dir_list calls fn for every regular file under the root (ROOT/tmp aside)
** whose key starts with prefix. Symlinks are skipped, not followed.
** Returns S3P_OK or an error with *errmsg set. */
static int dir_list(s3p_store *st, const char *prefix, s3p_list_fn fn,
                    void *arg, char **errmsg){
  dir_store *ds = (dir_store *)st;
  dir_lister ls;
  int fd = openat(ds->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0){
    char buf[256];
    *errmsg = s3p_store_msg("%s: list: open: %s", st->desc,
                      strerror_r(errno, buf, sizeof(buf)));
    return S3P_EIO;
  }
  memset(&ls, 0, sizeof(ls));
  ls.ds = ds;
  ls.prefix = prefix;
  ls.prefix_len = strlen(prefix);
  ls.fn = fn;
  ls.arg = arg;
  ls.errmsg = errmsg;
  return dir_list_dir(&ls, fd, "");
}

/* dir_close syncs what the handle left unsynced (no caller needs it, as
** no record refers to those objects, but a closed store should be on
** disk), closes the root fd and frees the handle. */
static void dir_close(s3p_store *st){
  dir_store *ds = (dir_store *)st;
  if(ds->root_fd >= 0){
    (void)dir_sync(ds);
    close(ds->root_fd);
  }
  free(st->desc);
  free(ds);
}

static const s3p_store_vtab dir_vtab = {
  "dir", dir_exec, dir_list, dir_close
};

/* s3p_store_dir_open opens the directory store at path. With opts->create
** a missing root is made (its parent must exist). Returns S3P_OK, or
** S3P_ENOTFOUND (missing root), S3P_EINVAL (not a directory, bad path),
** S3P_EIO or S3P_ENOMEM, with *errmsg set. */
int s3p_store_dir_open(s3p_store **out, const char *path,
                       const s3p_store_opts *opts, char **errmsg){
  dir_store *ds;
  char *real;
  char buf[256];
  int fd, e;

  *out = NULL;
  if(path == NULL || path[0] == 0){
    if(errmsg) *errmsg = s3p_store_msg("dir: empty path");
    return S3P_EINVAL;
  }
  if(opts && opts->create && !opts->readonly){
    if(mkdir(path, 0777) != 0 && errno != EEXIST){
      e = errno;
      if(errmsg) *errmsg = s3p_store_msg("dir:%s: mkdir: %s", path,
                                   strerror_r(e, buf, sizeof(buf)));
      return e == ENOENT ? S3P_ENOTFOUND : S3P_EIO;
    }
  }
  fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0){
    e = errno;
    if(errmsg){
      if(e == ENOENT){
        *errmsg = s3p_store_msg("dir:%s: no such directory (not created: the "
                          "store was opened without create)", path);
      }else{
        *errmsg = s3p_store_msg("dir:%s: open: %s", path,
                          strerror_r(e, buf, sizeof(buf)));
      }
    }
    return e == ENOENT ? S3P_ENOTFOUND : e == ENOTDIR ? S3P_EINVAL : S3P_EIO;
  }
  real = realpath(path, NULL);
  ds = calloc(1, sizeof(*ds));
  if(ds == NULL || real == NULL){
    e = real == NULL ? errno : ENOMEM;
    free(real);
    free(ds);
    close(fd);
    if(errmsg) *errmsg = s3p_store_msg("dir:%s: realpath: %s", path,
                                 strerror_r(e, buf, sizeof(buf)));
    return e == ENOMEM ? S3P_ENOMEM : S3P_EIO;
  }
  ds->base.vt = &dir_vtab;
  ds->base.desc = s3p_store_msg("dir:%s", real);
  free(real);
  if(ds->base.desc == NULL){
    free(ds);
    close(fd);
    if(errmsg) *errmsg = s3p_store_msg("dir:%s: out of memory", path);
    return S3P_ENOMEM;
  }
  ds->root_fd = fd;
  ds->readonly = opts ? opts->readonly : 0;
  if(getrandom(&ds->tmp_rand, sizeof(ds->tmp_rand), GRND_NONBLOCK)
     != (ssize_t)sizeof(ds->tmp_rand)){
    ds->tmp_rand = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL
                   ^ (uint64_t)(uintptr_t)ds ^ (uint64_t)getpid();
  }
  *out = &ds->base;
  return S3P_OK;
}
