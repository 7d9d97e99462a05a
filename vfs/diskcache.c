/*
** diskcache.c: the persistent page cache.
**
** Layout: DIR/<first two hex digits>/<32 hex digits>, each file the raw
** page. Entries are written to a temporary name and renamed into place, so
** a reader never sees half an entry; nothing is fsynced, since a lost or
** torn entry is only a miss (reads check the hash). A hit bumps the
** entry's mtime, which orders the least-recently-used trim. A handle trims
** after it has added an eighth of the budget, scanning the directory: the
** cost of a scan is spread over many downloads. Subdirectories are opened
** without following symbolic links and every entry is reached relative to
** them, so links planted in a shared cache directory lead nowhere.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "diskcache.h"
#include "../index/err.h"

struct s3p_diskcache {
  int dir_fd;                /* the cache directory */
  uint64_t max_bytes;        /* budget */
  uint64_t added;            /* bytes this handle added since its last trim */
};

/* Temp names made by this process: one counter for every handle, since
** several handles of one process (connections, a hydration thread) may
** write to one directory at once, and the names carry only the pid. */
static _Atomic uint64_t cache_tmp_counter;

int s3p_diskcache_open(s3p_diskcache **out, const char *dir, uint64_t max_bytes,
                       char **errmsg){
  *out = NULL;
  if(mkdir(dir, 0700) != 0 && errno != EEXIST){
    if(errmsg && asprintf(errmsg, "cache %s: mkdir: %s", dir, strerror(errno)) < 0){
      *errmsg = NULL;
    }
    return S3P_EIO;
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0){
    if(errmsg && asprintf(errmsg, "cache %s: %s", dir, strerror(errno)) < 0){
      *errmsg = NULL;
    }
    return S3P_EIO;
  }
  s3p_diskcache *c = calloc(1, sizeof *c);
  if(!c){ close(fd); return S3P_ENOMEM; }
  c->dir_fd = fd;
  c->max_bytes = max_bytes;
  *out = c;
  return S3P_OK;
}

void s3p_diskcache_close(s3p_diskcache *c){
  if(!c) return;
  close(c->dir_fd);
  free(c);
}

/* cache_name splits the entry name of h into its subdirectory sub[3]
** ("ab") and its file name name[S3P_HASH_HEXLEN + 1]. */
static void cache_name(char *sub, char *name, const s3p_hash *h){
  s3p_hash_hex(name, h);
  sub[0] = name[0];
  sub[1] = name[1];
  sub[2] = 0;
}

/* cache_subdir opens subdirectory sub of the cache, never through a
** symbolic link (so a link planted in a shared cache cannot send entries,
** renames or unlinks elsewhere), creating it first if create is set.
** Returns the descriptor or -1. */
static int cache_subdir(s3p_diskcache *c, const char *sub, int create){
  if(create && mkdirat(c->dir_fd, sub, 0700) != 0 && errno != EEXIST){
    return -1;
  }
  return openat(c->dir_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                O_CLOEXEC);
}

int s3p_diskcache_get(s3p_diskcache *c, const s3p_hash *h, void *out,
                      size_t len){
  char sub[3], name[S3P_HASH_HEXLEN + 1];
  cache_name(sub, name, h);
  int dfd = cache_subdir(c, sub, 0);
  if(dfd < 0) return 0;
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if(fd < 0){ close(dfd); return 0; }
  size_t got = 0;
  while(got < len){
    ssize_t r = read(fd, (char *)out + got, len - got);
    if(r < 0 && errno == EINTR) continue;
    if(r <= 0) break;
    got += (size_t)r;
  }
  char extra;
  int more = got == len && read(fd, &extra, 1) > 0;
  s3p_hash seen;
  if(got == len && !more) s3p_hash_page(&seen, out, len);
  if(got != len || more || !s3p_hash_eq(&seen, h)){
    close(fd);
    unlinkat(dfd, name, 0);             /* damaged: drop it */
    close(dfd);
    return 0;
  }
  futimens(fd, NULL);                   /* recently used */
  close(fd);
  close(dfd);
  return 1;
}

void s3p_diskcache_put(s3p_diskcache *c, const s3p_hash *h, const void *data,
                       size_t len){
  char sub[3], name[S3P_HASH_HEXLEN + 1], tmp[64];
  cache_name(sub, name, h);
  int dfd = cache_subdir(c, sub, 1);
  if(dfd < 0) return;
  struct stat st;
  if(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0){ close(dfd); return; }
  snprintf(tmp, sizeof tmp, ".t%ld.%llu", (long)getpid(),
           (unsigned long long)atomic_fetch_add(&cache_tmp_counter, 1));
  int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                  O_CLOEXEC, 0600);
  if(fd < 0){ close(dfd); return; }
  size_t done = 0;
  while(done < len){
    ssize_t w = write(fd, (const char *)data + done, len - done);
    if(w < 0 && errno == EINTR) continue;
    if(w <= 0) break;
    done += (size_t)w;
  }
  close(fd);
  int ok = done == len && renameat(dfd, tmp, dfd, name) == 0;
  if(!ok) unlinkat(dfd, tmp, 0);
  close(dfd);
  if(!ok) return;
  c->added += len;
  if(c->added > c->max_bytes / 8) s3p_diskcache_trim(c);
}

/* One cache entry seen by a trim. */
typedef struct cache_entry {
  char name[S3P_HASH_HEXLEN + 1];  /* file name, in subdirectory sub */
  unsigned char sub;         /* subdirectory number: "%02x" */
  int64_t mtime;             /* last use */
  uint64_t size;             /* bytes */
} cache_entry;

/* cache_entry_cmp orders entries oldest first. */
static int cache_entry_cmp(const void *a, const void *b){
  int64_t x = ((const cache_entry *)a)->mtime;
  int64_t y = ((const cache_entry *)b)->mtime;
  return x < y ? -1 : x > y;
}

uint64_t s3p_diskcache_trim(s3p_diskcache *c){
  cache_entry *e = NULL;
  size_t n = 0, cap = 0;
  uint64_t total = 0;
  c->added = 0;
  for(int i = 0; i < 256; i++){
    char sub[3];
    snprintf(sub, sizeof sub, "%02x", i);
    int fd = cache_subdir(c, sub, 0);
    if(fd < 0) continue;
    DIR *d = fdopendir(fd);
    if(!d){ close(fd); continue; }
    struct dirent *de;
    while((de = readdir(d)) != NULL){
      struct stat st;
      if(strlen(de->d_name) != S3P_HASH_HEXLEN) continue;
      if(fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
         !S_ISREG(st.st_mode)) continue;
      if(n == cap){
        size_t ncap = cap ? cap * 2 : 1024;
        cache_entry *m = realloc(e, ncap * sizeof *m);
        if(!m) break;
        e = m;
        cap = ncap;
      }
      memcpy(e[n].name, de->d_name, sizeof e[n].name);
      e[n].sub = (unsigned char)i;
      e[n].mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
      e[n].size = (uint64_t)st.st_size;
      total += e[n].size;
      n++;
    }
    closedir(d);
  }
  if(total > c->max_bytes && n){
    /* Down to 90% of the budget, oldest first. */
    qsort(e, n, sizeof *e, cache_entry_cmp);
    uint64_t goal = c->max_bytes - c->max_bytes / 10;
    for(size_t i = 0; i < n && total > goal; i++){
      char sub[3];
      snprintf(sub, sizeof sub, "%02x", e[i].sub);
      int dfd = cache_subdir(c, sub, 0);
      if(dfd < 0) continue;
      if(unlinkat(dfd, e[i].name, 0) == 0) total -= e[i].size;
      close(dfd);
    }
  }
  free(e);
  return total;
}
