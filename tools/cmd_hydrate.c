/*
** cmd_hydrate.c: s3page hydrate NAME [--cache-dir DIR] [--json]
**
** Opens NAME with prefetch=all (and cache_dir=DIR), waits for the
** background download of every page of the newest version to end, and
** reports how many pages came in and at what rate. With --cache-dir the
** pages stay on disk for later processes; without, they only warm this
** process (which then exits), so the command measures the rate.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* Progress as PRAGMA s3page_hydrate reports it. */
typedef struct hyd_prog {
  char state[16];            /* state name */
  unsigned long long version, done, total, fetched, failed, bytes, ms;
} hyd_prog;

/* hydrate_read parses PRAGMA s3page_hydrate. Returns 0, or 1 with the
** error printed. */
static int hydrate_read(sqlite3 *db, hyd_prog *p){
  char *t = NULL;
  if(tool_query_text(db, "PRAGMA s3page_hydrate", &t)) return 1;
  int n = sscanf(t, "state=%15s version=%llu done=%llu total=%llu "
                 "fetched=%llu failed=%llu bytes=%llu ms=%llu", p->state,
                 &p->version, &p->done, &p->total, &p->fetched, &p->failed,
                 &p->bytes, &p->ms);
  if(n != 8) tool_error("hydrate: unexpected progress '%s'", t);
  sqlite3_free(t);
  return n == 8 ? 0 : 1;
}

/* hydrate_sleep waits ms milliseconds. */
static void hydrate_sleep(int ms){
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* cmd_hydrate downloads every page of a database into the caches. */
int cmd_hydrate(int argc, char **argv){
  const char *name = NULL, *dir = NULL;
  int json = 0;
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page hydrate NAME [--cache-dir DIR] [--json]\n"
             "Downloads every page of the newest version of NAME in batches\n"
             "at the store's parallel rate (as prefetch=all does in the\n"
             "background) and reports pages, bytes and the rate. With\n"
             "--cache-dir DIR (or S3PAGE_CACHE_DIR) the pages are kept in that\n"
             "disk cache, so that later processes using cache_dir=DIR read\n"
             "them locally; without one the command only measures the rate.\n"
             "Exit status: 0 when every page came in (or the memory cache\n"
             "filled up, without a disk cache), 1 on failure, 2 usage.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--json")) json = 1;
    else if(!strcmp(argv[i], "--cache-dir") && i + 1 < argc) dir = argv[++i];
    else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("hydrate: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else{ tool_error("hydrate: too many arguments"); return 2; }
  }
  if(!name){
    tool_error("usage: s3page hydrate NAME [--cache-dir DIR] [--json]");
    return 2;
  }
  /* The options of the connection the tool opens come from the
  ** environment (NAME may be a URI of its own). */
  setenv("S3PAGE_PREFETCH", "all", 1);
  if(dir) setenv("S3PAGE_CACHE_DIR", dir, 1);
  sqlite3 *db = NULL;
  if(tool_open(&db, name, 0)) return 1;
  tool_bar bar;
  tool_bar_init(&bar, "hydrate");
  hyd_prog p;
  memset(&p, 0, sizeof p);
  for(;;){
    if(hydrate_read(db, &p)){ sqlite3_close(db); return 1; }
    if(strcmp(p.state, "listing") && strcmp(p.state, "running")) break;
    tool_bar_update(&bar, p.done, p.total);
    hydrate_sleep(50);
  }
  tool_bar_done(&bar);
  sqlite3_close(db);
  if(p.version == 0){
    /* On S3 a prefix with no commit records opens as an empty database,
    ** as a directory that does not exist does not: the same answer. */
    tool_error("hydrate: %s: no database here (no commit records)", name);
    return 1;
  }
  double secs = p.ms / 1000.0;
  double rate = secs > 0 ? p.fetched / secs : 0;
  double mbs = secs > 0 ? p.bytes / secs / 1e6 : 0;
  if(json){
    printf("{\"state\":\"%s\",\"version\":%llu,\"pages\":%llu,\"done\":%llu,"
           "\"fetched\":%llu,\"failed\":%llu,\"bytes\":%llu,\"ms\":%llu,"
           "\"pages_per_s\":%.1f,\"mb_per_s\":%.3f,\"cache_dir\":",
           p.state, p.version, p.total, p.done, p.fetched, p.failed, p.bytes,
           p.ms, rate, mbs);
    if(dir) tool_json_string(dir); else printf("null");
    printf("}\n");
  }else{
    printf("version %llu: %llu of %llu pages in the caches (%llu downloaded, "
           "%llu bytes, %llu failed) in %.3f s: %.0f pages/s, %.2f MB/s; %s\n",
           p.version, p.done, p.total, p.fetched, p.bytes, p.failed, secs,
           rate, mbs, p.state);
  }
  if(!strcmp(p.state, "failed")){
    tool_error("hydrate: %llu pages failed: %s", p.failed, tool_last_log());
    return 1;
  }
  return !strcmp(p.state, "done") || !strcmp(p.state, "full") ? 0 : 1;
}
