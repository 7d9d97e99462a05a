/*
** test_dir_sync.c: how and when the directory store makes writes durable.
**
** The program defines fsync, fdatasync, syncfs, linkat, renameat and
** unlinkat itself, so the store's calls (and SQLite's) come here: each is
** logged, then done with the raw system call. The cases then check, on
** commits through the VFS and on the store directly, that
**   - every object a commit PUT is synced before its record's name is
**     created, and the record's directory is synced after, before the
**     commit returns (the durability the protocol rests on);
**   - a commit costs at most two syncs, whatever the number of pages;
**   - a PUT of bytes a file already holds leaves that file alone (it may
**     be an object a durable record refers to);
**   - a DELETE never overtakes an earlier, unsynced PUT.
*/
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../check.h"
#include "../../vfs/s3page.h"
#include "../../vfs/store/store.h"

/* One logged call. */
typedef struct sync_event {
  char kind;                 /* 'F' fsync/fdatasync, 'S' syncfs, 'L' linkat,
                             ** 'R' renameat, 'U' unlinkat */
  char dir[PATH_MAX];        /* F: the file's path; L, R, U: the target's
                             ** directory */
  char name[256];            /* L, R, U: the target's name */
} sync_event;

#define SYNC_MAX 4096
static sync_event sync_log[SYNC_MAX];  /* the calls, oldest first */
static int sync_n;                      /* calls logged */

/* sync_note logs a call on fd (its path is looked up) naming name. */
static void sync_note(char kind, int fd, const char *name){
  if(sync_n == SYNC_MAX) return;
  sync_event *e = &sync_log[sync_n++];
  char link[64];
  ssize_t n;
  e->kind = kind;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  n = fd == AT_FDCWD ? -1 : readlink(link, e->dir, sizeof e->dir - 1);
  e->dir[n > 0 ? n : 0] = 0;
  snprintf(e->name, sizeof e->name, "%s", name ? name : "");
}

int fsync(int fd){
  sync_note('F', fd, NULL);
  return (int)syscall(SYS_fsync, fd);
}
int fdatasync(int fd){
  sync_note('F', fd, NULL);
  return (int)syscall(SYS_fdatasync, fd);
}
int syncfs(int fd){
  sync_note('S', fd, NULL);
  return (int)syscall(SYS_syncfs, fd);
}
int linkat(int ofd, const char *o, int nfd, const char *n, int flags){
  sync_note('L', nfd, n);
  return (int)syscall(SYS_linkat, ofd, o, nfd, n, flags);
}
int renameat(int ofd, const char *o, int nfd, const char *n){
  sync_note('R', nfd, n);
  return (int)syscall(SYS_renameat2, ofd, o, nfd, n, 0);
}
int unlinkat(int fd, const char *n, int flags){
  sync_note('U', fd, n);
  return (int)syscall(SYS_unlinkat, fd, n, flags);
}

/* ends_with returns 1 if s ends with suffix. */
static int ends_with(const char *s, const char *suffix){
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

/* rm_one is the nftw callback of rm_rf. */
static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw){
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

/* make_root returns a malloc'd path for a store directory that does not
** exist yet (its parent does). */
static char *make_root(void){
  const char *t = getenv("TMPDIR");
  char *p;
  if(asprintf(&p, "%s/s3p-sync-XXXXXX", t && *t ? t : "/tmp") < 0) abort();
  if(mkdtemp(p) == NULL) abort();
  char *db;
  if(asprintf(&db, "%s/db", p) < 0) abort();
  free(p);
  return db;
}

/* drop_root removes the store at root and its parent, and frees root. */
static void drop_root(char *root){
  nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  *strrchr(root, '/') = 0;
  rmdir(root);
  free(root);
}

/* is_object returns 1 if e names a page or tree-node object. */
static int is_object(const sync_event *e){
  return ends_with(e->dir, "/pages") || ends_with(e->dir, "/index");
}

/* check_commit checks the calls logged for one commit: each object named
** before the record is created is synced after it was named and before the
** record's link; the record's directory is synced after the link; at most
** two syncs in all. Returns the number of objects the commit named. */
static int check_commit(void){
  int link = -1, syncs = 0, objects = 0, i;
  for(i = 0; i < sync_n; i++){
    if(sync_log[i].kind == 'L' && ends_with(sync_log[i].dir, "/wal")) link = i;
    if(sync_log[i].kind == 'F' || sync_log[i].kind == 'S') syncs++;
  }
  CHECK(link >= 0);
  if(link < 0) return 0;
  for(i = 0; i < link; i++){
    if(sync_log[i].kind != 'R' || !is_object(&sync_log[i])) continue;
    objects++;
    int synced = 0;
    for(int j = i + 1; j < link && !synced; j++){
      synced = sync_log[j].kind == 'S';
    }
    if(!synced){
      printf("#   object %s/%s named but not synced before the record\n",
             sync_log[i].dir, sync_log[i].name);
    }
    CHECK(synced);
  }
  int dir_synced = 0;
  for(i = link + 1; i < sync_n && !dir_synced; i++){
    dir_synced = (sync_log[i].kind == 'F' &&
                  ends_with(sync_log[i].dir, "/wal")) ||
                 sync_log[i].kind == 'S';
  }
  CHECK(dir_synced);
  if(syncs > 2) printf("#   %d syncs for one commit\n", syncs);
  CHECK(syncs <= 2);
  return objects;
}

/* test_commit_syncs: commits of one row and of many pages through the VFS:
** durable in the right order, two syncs each. */
static void test_commit_syncs(void){
  char *root = make_root();
  sqlite3 *db = NULL;
  CHECK_EQ(s3page_register(0), SQLITE_OK);
  CHECK_EQ(sqlite3_open_v2(root, &db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, "s3page"), SQLITE_OK);
  sync_n = 0;
  CHECK_EQ(sqlite3_exec(db, "CREATE TABLE t(a, b)", 0, 0, 0), SQLITE_OK);
  CHECK(check_commit() >= 1);
  for(int i = 0; i < 3; i++){
    sync_n = 0;
    CHECK_EQ(sqlite3_exec(db, "INSERT INTO t VALUES(1, randomblob(500))",
                          0, 0, 0), SQLITE_OK);
    CHECK(check_commit() >= 1);
  }
  sync_n = 0;
  CHECK_EQ(sqlite3_exec(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                        "SELECT i + 1 FROM c WHERE i < 200) INSERT INTO t "
                        "SELECT i, randomblob(3000) FROM c", 0, 0, 0),
           SQLITE_OK);
  CHECK(check_commit() >= 100);
  sqlite3_close(db);
  drop_root(root);
}

/* open_store opens the directory store at root, creating it. */
static s3p_store *open_store(const char *root){
  s3p_store_opts o;
  s3p_store *st = NULL;
  char *msg = NULL;
  memset(&o, 0, sizeof o);
  o.create = 1;
  if(s3p_store_dir_open(&st, root, &o, &msg) != S3P_OK){
    printf("#   open %s: %s\n", root, msg ? msg : "?");
  }
  free(msg);
  return st;
}

/* put runs one PUT of body; returns the op's rc. */
static int put(s3p_store *st, const char *key, const char *body){
  char *msg = NULL;
  int rc = s3p_store_put(st, S3P_OP_PUT, key, (const unsigned char *)body,
                         strlen(body), &msg);
  free(msg);
  return rc;
}

/* inode_of returns the inode number of root/key, 0 if absent. */
static ino_t inode_of(const char *root, const char *key){
  char path[PATH_MAX];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", root, key);
  return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* test_same_put_keeps_file: a PUT of the bytes an object already holds
** does not replace its file; a PUT of other bytes does. */
static void test_same_put_keeps_file(void){
  char *root = make_root();
  s3p_store *st = open_store(root);
  CHECK(st != NULL);
  if(!st){ drop_root(root); return; }
  CHECK_EQ(put(st, "pages/obj", "the same bytes"), S3P_OK);
  ino_t first = inode_of(root, "pages/obj");
  CHECK(first != 0);
  sync_n = 0;
  CHECK_EQ(put(st, "pages/obj", "the same bytes"), S3P_OK);
  CHECK_EQ(inode_of(root, "pages/obj"), first);
  CHECK_EQ(sync_n, 0);                 /* nothing renamed, nothing synced */
  CHECK_EQ(put(st, "pages/obj", "other bytes"), S3P_OK);
  CHECK(inode_of(root, "pages/obj") != first);
  unsigned char *data = NULL;
  size_t len = 0;
  char *msg = NULL;
  CHECK_EQ(s3p_store_get(st, "pages/obj", &data, &len, &msg), S3P_OK);
  CHECK(len == 11 && data && !memcmp(data, "other bytes", 11));
  free(data);
  free(msg);
  s3p_store_close(st);
  drop_root(root);
}

/* test_delete_after_put: a DELETE is preceded by a sync of the PUTs made
** before it; a DELETE with nothing unsynced syncs nothing. */
static void test_delete_after_put(void){
  char *root = make_root();
  s3p_store *st = open_store(root);
  CHECK(st != NULL);
  if(!st){ drop_root(root); return; }
  CHECK_EQ(put(st, "pages/old", "old"), S3P_OK);
  sync_n = 0;
  CHECK_EQ(put(st, "TAIL", "tail"), S3P_OK);
  char *msg = NULL;
  s3p_op op;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_DELETE;
  op.key = "pages/old";
  CHECK_EQ(s3p_store_exec(st, &op, 1), S3P_OK);
  CHECK_EQ(op.rc, S3P_OK);
  s3p_op_reset(&op);
  /* TAIL is renamed into place, synced, and only then is "old" unlinked. */
  int rename_at = -1, sync_at = -1, unlink_at = -1;
  for(int i = 0; i < sync_n; i++){
    if(sync_log[i].kind == 'R' && !strcmp(sync_log[i].name, "TAIL")) rename_at = i;
    if(sync_log[i].kind == 'S' && rename_at >= 0 && sync_at < 0) sync_at = i;
    if(sync_log[i].kind == 'U' && !strcmp(sync_log[i].name, "old")) unlink_at = i;
  }
  CHECK(rename_at >= 0 && sync_at > rename_at && unlink_at > sync_at);
  sync_n = 0;
  memset(&op, 0, sizeof op);
  op.kind = S3P_OP_DELETE;
  op.key = "pages/none";
  CHECK_EQ(s3p_store_exec(st, &op, 1), S3P_OK);
  s3p_op_reset(&op);
  for(int i = 0; i < sync_n; i++){
    CHECK(sync_log[i].kind != 'S' && sync_log[i].kind != 'F');
  }
  free(msg);
  s3p_store_close(st);
  drop_root(root);
}

int main(void){
  RUN(test_commit_syncs);
  RUN(test_same_put_keeps_file);
  RUN(test_delete_after_put);
  return CHECK_DONE();
}
