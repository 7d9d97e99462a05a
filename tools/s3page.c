/*
** s3page.c: the s3page command-line tool.
**
**   s3page shell NAME [SQLITE3-ARGS...]   the stock sqlite3 shell on NAME
**   s3page version NAME                   the newest version of NAME
**   s3page import FILE NAME [--force]     a SQLite file in (cmd_import.c)
**   s3page export NAME FILE [--version N | --asof TIME]   and out again
**   s3page log NAME [--json] [--limit N]  versions, newest first (cmd_log.c)
**   s3page checkpoint NAME                checkpoint the newest version
**   s3page verify NAME [--version N | --all]  check objects (cmd_verify.c)
**   s3page gc NAME (--keep-versions N | --keep-since TIME) [--grace D]
**                  [--dry-run]            drop old versions (cmd_gc.c)
**   s3page revert NAME (--to V | --asof TIME) [--json]
**                  V's content as the next version (cmd_revert.c)
**   s3page diff NAME A [B] [--rows] [--json | --sql]
**                  what changed between two versions (cmd_diff.c)
**   s3page copy SRC DST [--since V | --version V] [--json]   (cmd_copy.c)
**   s3page stats NAME [--json] ...  storage and cost report (cmd_stats.c)
**   s3page hydrate NAME [--cache-dir DIR] [--json]  every page into the
**                  caches, with the rate (cmd_hydrate.c)
**   s3page help                           usage
**
** Every subcommand prints errors as one line on stderr and exits non-zero.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* tool_find_library sets out to the path of libs3page.so: $S3PAGE_LIB, or
** next to this program (the build tree), or ../lib beside it (installed).
** Returns 0 on success. */
static int tool_find_library(char *out, size_t n){
  const char *env = getenv("S3PAGE_LIB");
  if(env && *env){
    snprintf(out, n, "%s", env);
    return access(out, R_OK);
  }
  char exe[PATH_MAX / 2];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if(len <= 0) return -1;
  exe[len] = 0;
  char *slash = strrchr(exe, '/');
  if(!slash) return -1;
  *slash = 0;
  const char *tries[] = { "%s/libs3page.so", "%s/../lib/libs3page.so" };
  for(size_t i = 0; i < sizeof tries / sizeof *tries; i++){
    snprintf(out, n, tries[i], exe);
    if(access(out, R_OK) == 0) return 0;
  }
  return -1;
}

/* cmd_shell runs Debian's sqlite3 with the library preloaded and the VFS
** selected, so the user gets the stock shell on an s3page database. */
static int cmd_shell(int argc, char **argv){
  if(argc < 2 || !strcmp(argv[1], "--help")){
    fprintf(stderr, "usage: s3page shell NAME [SQLITE3-ARGS...]\n"
            "Runs the sqlite3 shell on database NAME (a directory, or\n"
            "s3://BUCKET/PREFIX; file:NAME?version=N for a past version).\n");
    return argc < 2 ? 2 : 0;
  }
  char lib[PATH_MAX];
  if(tool_find_library(lib, sizeof lib)){
    tool_error("cannot find libs3page.so (set S3PAGE_LIB to its path)");
    return 1;
  }
  const char *pre = getenv("LD_PRELOAD");
  char *val = NULL;
  if(pre && *pre){
    size_t m = strlen(lib) + strlen(pre) + 2;
    val = malloc(m);
    if(val) snprintf(val, m, "%s:%s", lib, pre);
  }else{
    val = strdup(lib);
  }
  if(!val || setenv("LD_PRELOAD", val, 1)){
    tool_error("out of memory");
    return 1;
  }
  free(val);
  char **args = calloc((size_t)argc + 6, sizeof *args);
  if(!args){ tool_error("out of memory"); return 1; }
  int k = 0;
  const char *shell = getenv("S3PAGE_SQLITE3");
  if(!shell || !*shell) shell = "sqlite3";
  args[k++] = (char *)shell;
  args[k++] = "-vfs";
  args[k++] = S3PAGE_VFS_NAME;
  args[k++] = "-cmd";
  args[k++] = ".log stderr";
  for(int i = 1; i < argc; i++) args[k++] = argv[i];
  args[k] = NULL;
  execvp(shell, args);
  tool_error("cannot run %s: %s (install Debian's sqlite3 package)", shell,
             strerror(errno));
  free(args);
  return 1;
}

/* cmd_version prints the newest version of a database. */
static int cmd_version(int argc, char **argv){
  if(argc != 2){
    fprintf(stderr, "usage: s3page version NAME\n");
    return 2;
  }
  sqlite3 *db = NULL;
  if(tool_open(&db, argv[1], 0)) return 1;
  char *v = NULL;
  int rc = tool_query_text(db, "PRAGMA s3page_version", &v);
  if(rc == 0) printf("%s\n", v);
  sqlite3_free(v);
  sqlite3_close(db);
  return rc ? 1 : 0;
}

/* cmd_help prints the usage. */
static int cmd_help(int argc, char **argv){
  (void)argc; (void)argv;
  printf("s3page %s: SQLite databases kept as content-addressed pages in S3\n"
         "or in a local directory, readable at any past version.\n\n"
         "usage: s3page COMMAND [ARGS]\n\n"
         "  shell NAME [SQLITE3-ARGS]  the sqlite3 shell on database NAME\n"
         "  version NAME               print the newest version of NAME\n"
         "  import FILE NAME [--force] copy a SQLite file in as a new version\n"
         "  export NAME FILE [--version N | --asof TIME] [--stats]\n"
         "                             write a version as a plain SQLite file\n"
         "  log NAME [--json] [--limit N]\n"
         "                             versions, newest first\n"
         "  checkpoint NAME            make the newest version a checkpoint\n"
         "  verify NAME [--version N | --all] [--json]\n"
         "                             check every object a version uses\n"
         "  gc NAME --keep-versions N | --keep-since TIME [--grace DURATION]\n"
         "     [--dry-run]             delete old versions and unused objects\n"
         "  revert NAME (--to V | --asof TIME) [--json]\n"
         "                             make V's content the next version\n"
         "  diff NAME A [B] [--rows] [--json | --sql]\n"
         "                             what changed from version A to B\n"
         "  copy SRC DST [--since V | --version V] [--json]\n"
         "                             copy a database and its history to\n"
         "                             another store (resumable)\n"
         "  stats NAME [--json]        objects, bytes, ratios, gc, costs\n"
         "  hydrate NAME [--cache-dir DIR] [--json]\n"
         "                             download every page into the caches\n"
         "  help                       this text\n\n"
         "NAME is s3://BUCKET/PREFIX for S3 or a directory path. Options go\n"
         "in a URI: file:NAME?version=N (see README.md). TIME is ISO-8601\n"
         "UTC (2026-11-22T10:00:00Z) or Unix seconds. 's3page COMMAND --help'\n"
         "describes a command. Exit status: 0 success, 1 failure, 2 usage.\n",
         S3PAGE_VERSION_STRING);
  return 0;
}

static const tool_command tool_commands[] = {
  { "shell", cmd_shell },
  { "version", cmd_version },
  { "import", cmd_import },
  { "export", cmd_export },
  { "log", cmd_log },
  { "checkpoint", cmd_checkpoint },
  { "verify", cmd_verify },
  { "gc", cmd_gc },
  { "revert", cmd_revert },
  { "diff", cmd_diff },
  { "copy", cmd_copy },
  { "stats", cmd_stats },
  { "hydrate", cmd_hydrate },
  { "help", cmd_help },
  { "--help", cmd_help },
  { "-h", cmd_help },
};

int main(int argc, char **argv){
  if(argc < 2){
    cmd_help(0, NULL);
    return 2;
  }
  for(size_t i = 0; i < sizeof tool_commands / sizeof *tool_commands; i++){
    if(!strcmp(argv[1], tool_commands[i].name)){
      if(strcmp(argv[1], "shell")) tool_init();
      int rc = tool_commands[i].run(argc - 1, argv + 1);
      /* Output that could not be written (a full disk, a closed pipe) is
      ** a failure, not a success with a truncated report. */
      if((fflush(stdout) != 0 || ferror(stdout)) && rc == 0){
        tool_error("writing the output failed: %s", strerror(errno));
        rc = 1;
      }
      return rc;
    }
  }
  tool_error("unknown command '%s' (try 's3page help')", argv[1]);
  return 2;
}
