/*
** cmd_verify.c: s3page verify NAME [--version N | --asof TIME | --all]
**             and s3page gc NAME (--keep-versions N | --keep-since TIME)
**                 [--grace DURATION] [--dry-run] [--json]
*/
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* verify_problem prints one problem found by verify on stderr. */
static void verify_problem(void *arg, const char *msg){
  tool_bar *bar = arg;
  tool_bar_done(bar);
  tool_error("%s", msg);
}

/* cmd_verify checks that every object a version uses is there and sound. */
int cmd_verify(int argc, char **argv){
  const char *name = NULL;
  s3page_at at;
  int all = 0, json = 0;
  memset(&at, 0, sizeof at);
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page verify NAME [--version N | --asof TIME | --all] "
             "[--json]\n"
             "Checks the newest version of NAME (or version N, or every\n"
             "version kept): every commit record decodes and follows its\n"
             "parent, and every checkpoint node and page object it uses exists\n"
             "and hashes to its name. Problems go to stderr, one a line.\n"
             "Exit status 0 only when all is well.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--all")) all = 1;
    else if(!strcmp(argv[i], "--json")) json = 1;
    else if(!strcmp(argv[i], "--version") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &at.version)){
        tool_error("verify: bad version '%s'", argv[i]);
        return 2;
      }
    }else if(!strcmp(argv[i], "--asof") && i + 1 < argc){
      if(tool_parse_time(argv[++i], "--asof time", &at.asof_ms)) return 2;
      at.has_asof = 1;
    }else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("verify: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else{ tool_error("verify: too many arguments"); return 2; }
  }
  if(!name){
    tool_error("usage: s3page verify NAME [--version N | --all]");
    return 2;
  }
  if(all + !!at.version + at.has_asof > 1){
    tool_error("verify: give at most one of --version, --asof, --all");
    return 2;
  }
  tool_bar bar;
  tool_bar_init(&bar, "verify");
  s3page_verify_result r;
  char *err = NULL;
  int rc = s3page_verify(name, &at, all, verify_problem, tool_bar_update, &bar,
                         &r, &err);
  tool_bar_done(&bar);
  /* Every failure, also one that stopped the check, reached verify_problem
  ** and is counted; the message is printed here only if it did not. */
  if(rc != SQLITE_OK && r.problems == 0){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    r.problems = 1;
  }
  sqlite3_free(err);
  if(json){
    printf("{\"ok\":%s,\"oldest\":%llu,\"newest\":%llu,\"versions\":%llu,"
           "\"records\":%llu,\"nodes\":%llu,\"pages\":%llu,\"bytes\":%llu,"
           "\"problems\":%llu}\n", rc == SQLITE_OK ? "true" : "false",
           (unsigned long long)r.oldest, (unsigned long long)r.newest,
           (unsigned long long)r.versions, (unsigned long long)r.records,
           (unsigned long long)r.nodes, (unsigned long long)r.pages,
           (unsigned long long)r.bytes, (unsigned long long)r.problems);
  }else{
    printf("%s: %llu version%s checked (kept: %llu to %llu): %llu records, "
           "%llu checkpoint nodes, %llu page objects, %llu bytes read; ",
           name, (unsigned long long)r.versions, r.versions == 1 ? "" : "s",
           (unsigned long long)r.oldest, (unsigned long long)r.newest,
           (unsigned long long)r.records, (unsigned long long)r.nodes,
           (unsigned long long)r.pages, (unsigned long long)r.bytes);
    if(rc != SQLITE_OK){
      printf("%llu PROBLEM%s\n", (unsigned long long)r.problems,
             r.problems == 1 ? "" : "S");
    }else{
      printf("all is well\n");
    }
  }
  return rc == SQLITE_OK ? 0 : 1;
}

/* cmd_gc deletes old versions and the objects only they used. */
int cmd_gc(int argc, char **argv){
  const char *name = NULL;
  s3page_gc_opts o;
  int json = 0;
  memset(&o, 0, sizeof o);
  o.grace_ms = -1;
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page gc NAME (--keep-versions N | --keep-since TIME)\n"
             "                [--grace DURATION] [--dry-run] [--json]\n"
             "Deletes the versions of NAME older than the newest N (or than\n"
             "the version current at TIME), then every page and checkpoint\n"
             "object no kept version uses and older than the grace period\n"
             "(default 1h; DURATION like 90s, 15m, 2h, 7d). Versions that were\n"
             "the newest within the grace period are always kept, and so are\n"
             "the versions back to the previous checkpoint. Safe while others\n"
             "read and write (see docs/history.md). --dry-run deletes nothing.\n"
             "--grace must be at least %dm (connections trust what they know\n"
             "of the store for 10m, plus clock skew), or 0 if nothing else\n"
             "uses NAME.\n", S3PAGE_GC_MIN_GRACE_MS / 60000);
      return 0;
    }
    if(!strcmp(argv[i], "--dry-run")) o.dry_run = 1;
    else if(!strcmp(argv[i], "--json")) json = 1;
    else if(!strcmp(argv[i], "--keep-versions") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &o.keep_versions)){
        tool_error("gc: bad --keep-versions '%s' (want N >= 1)", argv[i]);
        return 2;
      }
    }else if(!strcmp(argv[i], "--keep-since") && i + 1 < argc){
      if(tool_parse_time(argv[++i], "--keep-since time", &o.keep_since_ms)){
        return 2;
      }
      o.has_keep_since = 1;
    }else if(!strcmp(argv[i], "--grace") && i + 1 < argc){
      if(tool_parse_duration(argv[++i], &o.grace_ms)){
        tool_error("gc: bad --grace '%s' (want e.g. 90s, 15m, 2h, 7d)",
                   argv[i]);
        return 2;
      }
    }else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("gc: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else{ tool_error("gc: too many arguments"); return 2; }
  }
  if(!name || !o.keep_versions == !o.has_keep_since){
    tool_error("usage: s3page gc NAME (--keep-versions N | --keep-since TIME) "
               "[--grace DURATION] [--dry-run]");
    return 2;
  }
  tool_bar bar;
  tool_bar_init(&bar, "gc mark");
  s3page_gc_result r;
  char *err = NULL;
  int rc = s3page_gc(name, &o, tool_bar_update, &bar, &r, &err);
  tool_bar_done(&bar);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return rc == SQLITE_MISUSE ? 2 : 1;   /* bad options: a usage error */
  }
  const char *verb = o.dry_run ? "would delete" : "deleted";
  if(json){
    printf("{\"dry_run\":%s,\"newest\":%llu,\"oldest_before\":%llu,"
           "\"oldest_kept\":%llu,\"records_deleted\":%llu,"
           "\"pages_deleted\":%llu,\"nodes_deleted\":%llu,"
           "\"bytes_freed\":%llu,\"objects_kept\":%llu,"
           "\"objects_young\":%llu,\"objects_leased\":%llu,"
           "\"leases_live\":%llu,\"leases_deleted\":%llu}\n",
           o.dry_run ? "true" : "false",
           (unsigned long long)r.newest, (unsigned long long)r.oldest_before,
           (unsigned long long)r.oldest_kept,
           (unsigned long long)r.records_deleted,
           (unsigned long long)r.pages_deleted,
           (unsigned long long)r.nodes_deleted,
           (unsigned long long)r.bytes_freed,
           (unsigned long long)r.objects_kept,
           (unsigned long long)r.objects_young,
           (unsigned long long)r.objects_leased,
           (unsigned long long)r.leases_live,
           (unsigned long long)r.leases_deleted);
  }else{
    printf("%s: kept versions %llu to %llu (oldest was %llu); %s %llu "
           "records, %llu page objects, %llu checkpoint nodes: %llu bytes; "
           "%llu objects in use, %llu unused but younger than the grace "
           "period", name, (unsigned long long)r.oldest_kept,
           (unsigned long long)r.newest, (unsigned long long)r.oldest_before,
           verb, (unsigned long long)r.records_deleted,
           (unsigned long long)r.pages_deleted,
           (unsigned long long)r.nodes_deleted,
           (unsigned long long)r.bytes_freed,
           (unsigned long long)r.objects_kept,
           (unsigned long long)r.objects_young);
    if(r.leases_live){
      printf(", %llu spared for %llu bulk write%s in progress (lease/)",
             (unsigned long long)r.objects_leased,
             (unsigned long long)r.leases_live, r.leases_live == 1 ? "" : "s");
    }
    if(r.leases_deleted){
      printf("; %s %llu marker%s of stopped bulk writes", verb,
             (unsigned long long)r.leases_deleted,
             r.leases_deleted == 1 ? "" : "s");
    }
    printf("\n");
  }
  return 0;
}
