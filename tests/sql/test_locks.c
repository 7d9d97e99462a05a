/*
** test_locks.c: SQLite's locks are real among the connections of one
** machine (threads and processes), with SQLite's contract: one RESERVED
** holder, a reader delays a commit (EXCLUSIVE) and a writer at PENDING
** keeps new readers out, busy_timeout waits, SQLITE_FCNTL_LOCKSTATE and
** xCheckReservedLock tell the truth, closing one connection never drops
** another's locks. Also: locking_mode=EXCLUSIVE against a writer on
** "another machine" (a connection with its own lock directory) fails with
** a message naming the cause and the remedy, and the remedy works (as for a
** connection opened with nolock=1); a staleness window does not hide this
** machine's commits; pinned snapshots take no locks; an unusable lock
** directory means no local locks (logged); the default lock directory
** must be private.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../check.h"
#include "../lib/testdb.h"

static char *lock_tmp;         /* private local directory for lock dirs */

/* lockstate returns SQLITE_FCNTL_LOCKSTATE of db's main file, -1 if the
** VFS does not answer. */
static int lockstate(sqlite3 *db){
  int level = -1;
  if(sqlite3_file_control(db, "main", SQLITE_FCNTL_LOCKSTATE, &level)){
    return -1;
  }
  return level;
}

/* reserved returns what xCheckReservedLock of db's main file says, -1 on
** error. */
static int reserved(sqlite3 *db){
  sqlite3_file *f = NULL;
  int out = -1;
  if(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) || !f){
    return -1;
  }
  if(f->pMethods->xCheckReservedLock(f, &out)) return -1;
  return out;
}

/* lock_dir_param returns "lock_dir=<lock_tmp>/<tag>" (malloc'd). */
static char *lock_dir_param(const char *tag){
  char *s = NULL;
  if(asprintf(&s, "lock_dir=%s/%s", lock_tmp, tag) < 0) abort();
  return s;
}

/* make_db creates database name with table t(a) holding one row. */
static void make_db(const char *name){
  sqlite3 *db = tdb_open(name, NULL);
  CHECK(db != NULL);
  if(!db) return;
  CHECK_EQ(tdb_exec(db, "CREATE TABLE t(a); INSERT INTO t VALUES(1)"),
           SQLITE_OK);
  sqlite3_close(db);
}

/* reserved_excludes: while one connection holds RESERVED, BEGIN IMMEDIATE
** of another returns SQLITE_BUSY at once (not a lost commit later); the
** lock state and the reserved check say so; closing a third connection
** does not drop the first one's lock. */
static void reserved_excludes(void){
  char *name = tdb_name("reserved");
  make_db(name);
  sqlite3 *a = tdb_open(name, NULL), *b = tdb_open(name, NULL);
  CHECK(a && b);
  if(a && b){
    CHECK_EQ(lockstate(a), SQLITE_LOCK_NONE);
    CHECK_EQ(reserved(b), 0);
    CHECK_EQ(tdb_exec(a, "BEGIN IMMEDIATE"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_RESERVED);
    CHECK_EQ(tdb_exec_quiet(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    CHECK_EQ(lockstate(b), SQLITE_LOCK_NONE);
    CHECK_EQ(reserved(b), 1);
    CHECK_EQ(reserved(a), 1);
    /* Another connection opens, reads and closes: a's lock stays. */
    sqlite3 *c = tdb_open(name, NULL);
    CHECK(c != NULL);
    if(c){
      CHECK_EQ(tdb_int(c, "SELECT count(*) FROM t"), 1);
      sqlite3_close(c);
    }
    CHECK_EQ(tdb_exec_quiet(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    CHECK_EQ(tdb_exec(a, "INSERT INTO t VALUES(2); COMMIT"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_NONE);
    CHECK_EQ(reserved(b), 0);
    CHECK_EQ(tdb_exec(b, "BEGIN IMMEDIATE"), SQLITE_OK);
    CHECK_EQ(tdb_int(b, "SELECT count(*) FROM t"), 2);
    CHECK_EQ(tdb_exec(b, "INSERT INTO t VALUES(3); COMMIT"), SQLITE_OK);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  free(name);
}

/* lockstate_levels: LOCKSTATE follows SQLite through a read, a write and
** an exclusive transaction. */
static void lockstate_levels(void){
  char *name = tdb_name("levels");
  make_db(name);
  sqlite3 *a = tdb_open(name, NULL);
  CHECK(a != NULL);
  if(a){
    CHECK_EQ(tdb_exec(a, "BEGIN"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_NONE);
    CHECK_EQ(tdb_int(a, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_SHARED);
    CHECK_EQ(reserved(a), 0);
    CHECK_EQ(tdb_exec(a, "INSERT INTO t VALUES(2)"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_RESERVED);
    CHECK_EQ(tdb_exec(a, "COMMIT"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_NONE);
    CHECK_EQ(tdb_exec(a, "BEGIN EXCLUSIVE"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_EXCLUSIVE);
    CHECK_EQ(tdb_exec(a, "ROLLBACK"), SQLITE_OK);
    CHECK_EQ(lockstate(a), SQLITE_LOCK_NONE);
  }
  sqlite3_close(a);
  free(name);
}

/* reader_delays_commit: a reader's SHARED lock makes another connection's
** COMMIT return SQLITE_BUSY (the writer is left at PENDING), a new reader
** is then kept out, and once the first reader ends the commit goes
** through. */
static void reader_delays_commit(void){
  char *name = tdb_name("pending");
  make_db(name);
  sqlite3 *r = tdb_open(name, NULL), *w = tdb_open(name, NULL);
  sqlite3 *n = tdb_open(name, NULL);
  CHECK(r && w && n);
  if(r && w && n){
    CHECK_EQ(tdb_exec(r, "BEGIN"), SQLITE_OK);
    CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_exec(w, "BEGIN IMMEDIATE; INSERT INTO t VALUES(2)"),
             SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(w, "COMMIT"), SQLITE_BUSY);
    CHECK_EQ(lockstate(w), SQLITE_LOCK_PENDING);
    CHECK_EQ(reserved(n), 1);
    CHECK_EQ(tdb_exec_quiet(n, "SELECT count(*) FROM t"), SQLITE_BUSY);
    CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t"), 1);  /* its snapshot */
    CHECK_EQ(tdb_exec(r, "COMMIT"), SQLITE_OK);
    CHECK_EQ(tdb_exec(w, "COMMIT"), SQLITE_OK);
    CHECK_EQ(tdb_int(n, "SELECT count(*) FROM t"), 2);
    CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t"), 2);
  }
  sqlite3_close(r);
  sqlite3_close(w);
  sqlite3_close(n);
  free(name);
}

/* A connection to commit from another thread after a delay. */
typedef struct late_commit {
  sqlite3 *db;               /* holds RESERVED with a pending insert */
  int delay_ms;              /* wait before committing */
  int rc;                    /* result of COMMIT */
} late_commit;

/* late_commit_main sleeps, then commits. */
static void *late_commit_main(void *arg){
  late_commit *lc = arg;
  tdb_sleep_ms(lc->delay_ms);
  lc->rc = tdb_exec(lc->db, "COMMIT");
  return NULL;
}

/* busy_timeout_waits: with busy_timeout, BEGIN IMMEDIATE waits while the
** other connection holds RESERVED, gives up with SQLITE_BUSY after the
** timeout, and goes through (seeing the other's commit) when the other
** commits within it. */
static void busy_timeout_waits(void){
  char *name = tdb_name("busytimeout");
  make_db(name);
  sqlite3 *a = tdb_open(name, NULL), *b = tdb_open(name, NULL);
  CHECK(a && b);
  if(a && b){
    CHECK_EQ(tdb_exec(a, "BEGIN IMMEDIATE; INSERT INTO t VALUES(2)"),
             SQLITE_OK);
    sqlite3_busy_timeout(b, 200);
    int64_t t0 = tdb_now_ms();
    CHECK_EQ(tdb_exec_quiet(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    int64_t waited = tdb_now_ms() - t0;
    CHECK(waited >= 150);
    /* a's commit needs EXCLUSIVE, which b's brief SHARED locks (each try
    ** of b's BEGIN IMMEDIATE) can delay: a waits too, as applications
    ** should. */
    sqlite3_busy_timeout(a, 10000);
    late_commit lc = { a, 300, -1 };
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_commit_main, &lc), 0);
    sqlite3_busy_timeout(b, 10000);
    t0 = tdb_now_ms();
    CHECK_EQ(tdb_exec(b, "BEGIN IMMEDIATE"), SQLITE_OK);
    waited = tdb_now_ms() - t0;
    pthread_join(th, NULL);
    CHECK_EQ(lc.rc, SQLITE_OK);
    CHECK(waited >= 200 && waited < 9000);
    CHECK_EQ(tdb_int(b, "SELECT count(*) FROM t"), 2);
    CHECK_EQ(tdb_exec(b, "INSERT INTO t VALUES(3); COMMIT"), SQLITE_OK);
    CHECK_EQ(tdb_int(a, "SELECT count(*) FROM t"), 3);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  free(name);
}

/* two_processes: a child process holding RESERVED makes the parent's
** BEGIN IMMEDIATE return SQLITE_BUSY; after the child commits and exits,
** the parent gets the lock and sees the child's row. */
static void two_processes(void){
  char *name = tdb_name("twoproc");
  make_db(name);
  int up[2], down[2];
  CHECK(pipe(up) == 0 && pipe(down) == 0);
  fflush(stdout);
  pid_t kid = fork();
  if(kid == 0){
    sqlite3 *c = tdb_open(name, NULL);
    char x = 'r';
    int ok = c && tdb_exec(c, "BEGIN IMMEDIATE; INSERT INTO t VALUES(2)") ==
                  SQLITE_OK;
    if(write(up[1], &x, 1) != 1) ok = 0;
    if(read(down[0], &x, 1) != 1) ok = 0;
    if(ok) ok = tdb_exec(c, "COMMIT") == SQLITE_OK;
    sqlite3_close(c);
    free(name);                   /* valgrind checks the child too */
    _exit(ok ? 0 : 1);
  }
  CHECK(kid > 0);
  char x = 0;
  CHECK_EQ(read(up[0], &x, 1), 1);
  sqlite3 *p = tdb_open(name, NULL);
  CHECK(p != NULL);
  if(p){
    CHECK_EQ(reserved(p), 1);
    CHECK_EQ(tdb_exec_quiet(p, "BEGIN IMMEDIATE"), SQLITE_BUSY);
  }
  CHECK_EQ(write(down[1], "g", 1), 1);
  int st = 0;
  CHECK_EQ(waitpid(kid, &st, 0), kid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  if(p){
    CHECK_EQ(reserved(p), 0);
    CHECK_EQ(tdb_exec(p, "BEGIN IMMEDIATE"), SQLITE_OK);
    CHECK_EQ(tdb_int(p, "SELECT count(*) FROM t"), 2);
    CHECK_EQ(tdb_exec(p, "COMMIT"), SQLITE_OK);
  }
  sqlite3_close(p);
  close(up[0]); close(up[1]); close(down[0]); close(down[1]);
  free(name);
}

/* exclusive_mode: in locking_mode=EXCLUSIVE a connection keeps the other
** connections of this machine out; a writer on another machine (here: a
** connection with its own lock directory) is not kept out, and the first
** commit after its commit fails with SQLITE_BUSY_SNAPSHOT and a message
** naming locking_mode=EXCLUSIVE and the remedy; following the remedy, the
** connection sees the other writer's row and commits again. */
static void exclusive_mode(void){
  char *name = tdb_name("exclusive");
  make_db(name);
  char *elsewhere = tdb_elsewhere();
  sqlite3 *x = tdb_open(name, NULL), *local = tdb_open(name, NULL);
  sqlite3 *remote = tdb_open(name, elsewhere);
  CHECK(x && local && remote);
  if(x && local && remote){
    CHECK(tdb_text_is(x, "PRAGMA locking_mode=EXCLUSIVE", "exclusive"));
    CHECK_EQ(tdb_exec(x, "INSERT INTO t VALUES(2)"), SQLITE_OK);
    CHECK_EQ(lockstate(x), SQLITE_LOCK_EXCLUSIVE);     /* kept */
    CHECK_EQ(tdb_exec_quiet(local, "SELECT count(*) FROM t"), SQLITE_BUSY);
    CHECK_EQ(tdb_exec(remote, "INSERT INTO t VALUES(100)"), SQLITE_OK);
    tdb_log_clear();
    CHECK_EQ(tdb_exec(x, "BEGIN; INSERT INTO t VALUES(3)"), SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(x, "COMMIT"), SQLITE_BUSY_SNAPSHOT);
    CHECK(tdb_log_has("locking_mode=EXCLUSIVE"));
    char *err = tdb_text(x, "PRAGMA s3page_error");
    CHECK(err && strstr(err, "locking_mode=EXCLUSIVE") &&
          strstr(err, "PRAGMA locking_mode=NORMAL") && strstr(err, "reopen"));
    free(err);
    CHECK(sqlite3_get_autocommit(x));           /* rolled back */
    /* Retrying without the remedy fails the same way, never silently. */
    CHECK_EQ(tdb_exec_quiet(x, "INSERT INTO t VALUES(3)"),
             SQLITE_BUSY_SNAPSHOT);
    /* The remedy. */
    CHECK(tdb_text_is(x, "PRAGMA locking_mode=NORMAL", "normal"));
    CHECK_EQ(tdb_int(x, "SELECT count(*) FROM t"), 2);  /* the old view */
    CHECK_EQ(lockstate(x), SQLITE_LOCK_NONE);
    CHECK_EQ(tdb_int(x, "SELECT count(*) FROM t WHERE a = 100"), 1);
    CHECK_EQ(tdb_exec(x, "INSERT INTO t VALUES(3)"), SQLITE_OK);
    CHECK(tdb_text_is(remote, "SELECT group_concat(a) FROM "
                              "(SELECT a FROM t ORDER BY a)", "1,2,3,100"));
    CHECK(tdb_integrity_ok(local));
  }
  sqlite3_close(x);
  sqlite3_close(local);
  sqlite3_close(remote);
  free(elsewhere);
  free(name);
}

/* nolock_explained: with nolock=1 SQLite never locks, so the connection
** never moves to a newer version; after another writer's commit, its
** commit fails with SQLITE_BUSY_SNAPSHOT and a message naming nolock=1 and
** the remedy (reopen without it), which works. */
static void nolock_explained(void){
  char *name = tdb_name("nolock");
  make_db(name);
  sqlite3 *n = tdb_open(name, "nolock=1"), *w = tdb_open(name, NULL);
  CHECK(n && w);
  if(n && w){
    CHECK_EQ(tdb_int(n, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_exec(w, "INSERT INTO t VALUES(2)"), SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(n, "INSERT INTO t VALUES(3)"),
             SQLITE_BUSY_SNAPSHOT);
    char *err = tdb_text(n, "PRAGMA s3page_error");
    CHECK(err && strstr(err, "nolock=1") && strstr(err, "Reopen"));
    free(err);
    sqlite3_close(n);
    n = tdb_open(name, NULL);
    CHECK(n != NULL);
    if(n){
      CHECK_EQ(tdb_exec(n, "INSERT INTO t VALUES(3)"), SQLITE_OK);
      CHECK_EQ(tdb_int(w, "SELECT count(*) FROM t"), 3);
    }
  }
  sqlite3_close(n);
  sqlite3_close(w);
  free(name);
}

/* staleness_local: with a staleness window, a connection still sees at
** once what another connection of this machine committed (the lock file
** records the newest local version), so a local writer never loses its
** commit to another; a commit from another machine is seen only when the
** window ends, as documented. */
static void staleness_local(void){
  char *name = tdb_name("staleness");
  make_db(name);
  const char *win = "staleness=600000";
  sqlite3 *a = tdb_open(name, win), *b = tdb_open(name, win);
  char *elsewhere = tdb_elsewhere(), *params = NULL;
  if(asprintf(&params, "%s&%s", win, elsewhere) < 0) abort();
  sqlite3 *r = tdb_open(name, params);
  CHECK(a && b && r);
  if(a && b && r){
    CHECK_EQ(tdb_int(b, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_exec(a, "INSERT INTO t VALUES(2)"), SQLITE_OK);
    CHECK_EQ(tdb_int(b, "SELECT count(*) FROM t"), 2);
    CHECK_EQ(tdb_exec(b, "BEGIN IMMEDIATE; INSERT INTO t VALUES(3); COMMIT"),
             SQLITE_OK);
    CHECK_EQ(tdb_int(a, "SELECT count(*) FROM t"), 3);
    CHECK_EQ(tdb_int(r, "SELECT count(*) FROM t"), 1);   /* in its window */
  }
  sqlite3_close(a);
  sqlite3_close(b);
  sqlite3_close(r);
  free(params);
  free(elsewhere);
  free(name);
}

/* pinned_no_lock: a read transaction on a pinned version (version=) does
** not delay a writer: the snapshot never changes, so it needs no lock. */
static void pinned_no_lock(void){
  char *name = tdb_name("pinned");
  make_db(name);
  sqlite3 *w = tdb_open(name, NULL);
  CHECK(w != NULL);
  if(!w){ free(name); return; }
  char *param = NULL;
  if(asprintf(&param, "version=%lld", (long long)tdb_version(w)) < 0) abort();
  sqlite3 *s = tdb_open_ex(name, param, SQLITE_OPEN_READONLY, 0, NULL);
  CHECK(s != NULL);
  if(s){
    CHECK_EQ(tdb_exec(s, "BEGIN"), SQLITE_OK);
    CHECK_EQ(tdb_int(s, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_exec(w, "INSERT INTO t VALUES(2)"), SQLITE_OK);
    CHECK_EQ(tdb_int(s, "SELECT count(*) FROM t"), 1);
    CHECK_EQ(tdb_exec(s, "COMMIT"), SQLITE_OK);
    sqlite3_close(s);
  }
  free(param);
  sqlite3_close(w);
  free(name);
}

/* unusable_lock_dir: a lock directory that cannot be made leaves the
** connection without local locks (logged, naming the directory); such
** connections are kept apart only at commit, as on different machines:
** no lost update. */
static void unusable_lock_dir(void){
  char *name = tdb_name("nolockdir");
  make_db(name);
  const char *param = "lock_dir=/dev/null/s3page-locks";
  tdb_log_clear();
  sqlite3 *a = tdb_open(name, param), *b = tdb_open(name, param);
  CHECK(a && b);
  CHECK(tdb_log_has("no local locks") && tdb_log_has("/dev/null/s3page-locks"));
  if(a && b){
    CHECK_EQ(tdb_exec(a, "BEGIN IMMEDIATE; INSERT INTO t VALUES(2)"),
             SQLITE_OK);
    CHECK_EQ(tdb_exec(b, "BEGIN IMMEDIATE; INSERT INTO t VALUES(3)"),
             SQLITE_OK);
    CHECK_EQ(tdb_exec(a, "COMMIT"), SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(b, "COMMIT"), SQLITE_BUSY_SNAPSHOT);
    CHECK(sqlite3_get_autocommit(b));           /* rolled back */
    CHECK_EQ(tdb_int(b, "SELECT count(*) FROM t"), 2);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  free(name);
}

/* lock_dirs: an explicit lock_dir is made (mode 0700) and shared by the
** connections naming it; the default lock directory ($XDG_RUNTIME_DIR/
** s3page here) is used only when it is private to this user. */
static void lock_dirs(void){
  char *name = tdb_name("lockdirs");
  make_db(name);
  char *param = lock_dir_param("explicit");
  sqlite3 *a = tdb_open(name, param), *b = tdb_open(name, param);
  CHECK(a && b);
  char *dir = NULL;
  if(asprintf(&dir, "%s/explicit", lock_tmp) < 0) abort();
  struct stat sb;
  CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
        (sb.st_mode & 0777) == 0700);
  if(a && b){
    CHECK_EQ(tdb_exec(a, "BEGIN IMMEDIATE"), SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    CHECK_EQ(tdb_exec(a, "COMMIT"), SQLITE_OK);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  free(dir);
  free(param);
  free(name);

  /* The default directory, for databases that have no local root. */
  char *mem = NULL, *xdg = NULL, *xdg_dir = NULL;
  const char *old = getenv("XDG_RUNTIME_DIR");
  char *saved = old ? strdup(old) : NULL;
  old = getenv("S3PAGE_LOCK_DIR");
  char *saved_ld = old ? strdup(old) : NULL;
  unsetenv("S3PAGE_LOCK_DIR");
  if(asprintf(&mem, "mem:locks-%ld", (long)getpid()) < 0) abort();
  if(asprintf(&xdg, "%s/xdg", lock_tmp) < 0) abort();
  if(asprintf(&xdg_dir, "%s/xdg/s3page", lock_tmp) < 0) abort();
  CHECK_EQ(mkdir(xdg, 0700), 0);
  setenv("XDG_RUNTIME_DIR", xdg, 1);
  a = tdb_open(mem, NULL);
  b = tdb_open(mem, NULL);
  CHECK(a && b);
  CHECK(stat(xdg_dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
  if(a && b){
    CHECK_EQ(tdb_exec(a, "CREATE TABLE t(a); BEGIN IMMEDIATE"), SQLITE_OK);
    CHECK_EQ(tdb_exec_quiet(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    CHECK_EQ(tdb_exec(a, "COMMIT"), SQLITE_OK);
  }
  sqlite3_close(a);
  sqlite3_close(b);
  /* Made writable by others, it is not trusted: no local locks. */
  CHECK_EQ(chmod(xdg_dir, 0777), 0);
  tdb_log_clear();
  a = tdb_open(mem, NULL);
  CHECK(a != NULL);
  CHECK(tdb_log_has("not a private directory"));
  sqlite3_close(a);
  if(saved) setenv("XDG_RUNTIME_DIR", saved, 1);
  else unsetenv("XDG_RUNTIME_DIR");
  if(saved_ld) setenv("S3PAGE_LOCK_DIR", saved_ld, 1);
  free(saved);
  free(saved_ld);
  free(mem);
  free(xdg);
  free(xdg_dir);
}

/* main runs the cases. Returns 0 if all passed. */
int main(void){
  if(tdb_init() != 0){
    printf("not ok - init\n");
    return 1;
  }
  const char *t = getenv("TMPDIR");
  if(asprintf(&lock_tmp, "%s/s3page-test-locks-XXXXXX",
              t && *t ? t : "/tmp") < 0 || !mkdtemp(lock_tmp)){
    printf("not ok - init (lock directory)\n");
    return 1;
  }
  RUN(reserved_excludes);
  RUN(lockstate_levels);
  RUN(reader_delays_commit);
  RUN(busy_timeout_waits);
  RUN(two_processes);
  RUN(exclusive_mode);
  RUN(nolock_explained);
  RUN(staleness_local);
  RUN(pinned_no_lock);
  RUN(unusable_lock_dir);
  RUN(lock_dirs);
  tdb_rm_rf(lock_tmp);
  free(lock_tmp);
  return CHECK_DONE();
}
