/*
** diskcache.c: the persistent page cache.
**
** Layout: DIR/<first two hex digits>/<32 hex digits>, each file the raw
** page. Entries are written to a temporary name and renamed into place, so
** a reader never sees half an entry; nothing is fsynced, since a lost or
** torn entry is only a miss (reads check the hash). A hit bumps the
** entry's mtime, which orders the least-recently-used trim. A handle trims
** after it has added an eighth of the budget, scanning the directory: the
** cost of a scan is spread over many downloads.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
  uint64_t counter;          /* temp names made by this handle */
};

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

/* cache_path writes "ab/<hex>" for h into out[40]. */
static void cache_path(char *out, const s3p_hash *h){
  char hex[S3P_HASH_HEXLEN + 1];
  s3p_hash_hex(hex, h);
  snprintf(out, 40, "%.2s/%s", hex, hex);
}

int s3p_diskcache_get(s3p_diskcache *c, const s3p_hash *h, void *out,
                      size_t len){
  char path[40];
  cache_path(path, h);
  int fd = openat(c->dir_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if(fd < 0) return 0;
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
    unlinkat(c->dir_fd, path, 0);       /* damaged: drop it */
    return 0;
  }
  futimens(fd, NULL);                   /* recently used */
  close(fd);
  return 1;
}

void s3p_diskcache_put(s3p_diskcache *c, const s3p_hash *h, const void *data,
                       size_t len){
  char path[40], tmp[64];
  cache_path(path, h);
  struct stat st;
  if(fstatat(c->dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) return;
  char sub[3] = { path[0], path[1], 0 };
  if(mkdirat(c->dir_fd, sub, 0700) != 0 && errno != EEXIST) return;
  snprintf(tmp, sizeof tmp, "%s/.t%ld.%llu", sub, (long)getpid(),
           (unsigned long long)++c->counter);
  int fd = openat(c->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                  O_CLOEXEC, 0600);
  if(fd < 0) return;
  size_t done = 0;
  while(done < len){
    ssize_t w = write(fd, (const char *)data + done, len - done);
    if(w < 0 && errno == EINTR) continue;
    if(w <= 0) break;
    done += (size_t)w;
  }
  close(fd);
  if(done != len || renameat(c->dir_fd, tmp, c->dir_fd, path) != 0){
    unlinkat(c->dir_fd, tmp, 0);
    return;
  }
  c->added += len;
  if(c->added > c->max_bytes / 8) s3p_diskcache_trim(c);
}

/* One cache entry seen by a trim. */
typedef struct cache_entry {
  char path[40];             /* "ab/<hex>" */
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
    int fd = openat(c->dir_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                    O_CLOEXEC);
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
      snprintf(e[n].path, sizeof e[n].path, "%s/%s", sub, de->d_name);
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
      if(unlinkat(c->dir_fd, e[i].path, 0) == 0) total -= e[i].size;
    }
  }
  free(e);
  return total;
}
