/*
** cmd_copy.c: s3page copy SRC DST [--since V | --version V] [--json] [--quiet]
*/
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* cmd_copy copies a database with its history to another store. */
int cmd_copy(int argc, char **argv){
  const char *from = NULL, *to = NULL;
  int json = 0, quiet = 0;
  uint64_t since = 0, until = 0;
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page copy SRC DST [--since V | --version V] [--json] [--quiet]\n"
             "Copies database SRC with every version it keeps to DST, which\n"
             "must be empty or an interrupted copy of SRC (run the same copy\n"
             "again to finish it: only what is missing is uploaded). SRC and\n"
             "DST are directories or s3://BUCKET/PREFIX, in any combination.\n"
             "Objects go first, then the commit records in order, so DST is\n"
             "a consistent database at every moment. --since V copies the\n"
             "versions from V on (from the checkpoint V starts from, which\n"
             "opening V needs) and only the objects they use. --version V\n"
             "copies version V alone (with the versions from the checkpoint\n"
             "it starts from, which opening V needs): V is DST's newest.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--json")) json = 1;
    else if(!strcmp(argv[i], "--since") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &since)){
        tool_error("copy: bad version '%s'", argv[i]);
        return 2;
      }
    }
    else if(!strcmp(argv[i], "--version") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &until)){
        tool_error("copy: bad version '%s'", argv[i]);
        return 2;
      }
    }
    else if(!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) quiet = 1;
    else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("copy: unknown option %s", argv[i]);
      return 2;
    }else if(!from) from = argv[i];
    else if(!to) to = argv[i];
    else{ tool_error("copy: too many arguments"); return 2; }
  }
  if(!from || !to){
    tool_error("usage: s3page copy SRC DST [--since V | --version V] "
               "[--json]");
    return 2;
  }
  if(since && until){
    tool_error("copy: --since and --version exclude each other");
    return 2;
  }
  if(until) since = until;
  tool_bar bar;
  tool_bar_init(&bar, "copy");
  s3page_copy_result r;
  char *err = NULL;
  int rc = s3page_copy_range(from, to, since, until, tool_bar_update, &bar,
                             &r, &err);
  tool_bar_done(&bar);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  if(json){
    printf("{\"oldest\":%llu,\"newest\":%llu,\"objects_copied\":%llu,"
           "\"objects_held\":%llu,\"objects_vanished\":%llu,"
           "\"records_copied\":%llu,\"bytes_copied\":%llu,"
           "\"requests_get\":%llu,\"requests_put\":%llu,"
           "\"requests_list\":%llu}\n",
           (unsigned long long)r.oldest, (unsigned long long)r.version,
           (unsigned long long)r.objects_copied,
           (unsigned long long)r.objects_held,
           (unsigned long long)r.objects_vanished,
           (unsigned long long)r.records_copied,
           (unsigned long long)r.bytes_copied, (unsigned long long)r.n_get,
           (unsigned long long)r.n_put, (unsigned long long)r.n_list);
  }else if(!quiet){
    printf("copied %s to %s: versions %llu to %llu, %llu objects and %llu "
           "records uploaded (%llu bytes), %llu objects already there\n",
           from, to, (unsigned long long)r.oldest,
           (unsigned long long)r.version,
           (unsigned long long)r.objects_copied,
           (unsigned long long)r.records_copied,
           (unsigned long long)r.bytes_copied,
           (unsigned long long)r.objects_held);
  }
  return 0;
}
