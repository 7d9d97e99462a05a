/*
** cmd_revert.c: s3page revert NAME (--to V | --asof TIME) [--json]
*/
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* cmd_revert makes the content of an older version the next version. */
int cmd_revert(int argc, char **argv){
  const char *name = NULL;
  s3page_at at;
  int json = 0;
  memset(&at, 0, sizeof at);
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page revert NAME (--to V | --asof TIME) [--json]\n"
             "Makes the content of version V (or of the newest version\n"
             "committed at or before TIME) the next version of NAME. History\n"
             "is kept: the versions after V stay readable. It is an ordinary\n"
             "commit (create-if-absent), safe while others write; it uploads\n"
             "page 1 (its change counter raised, so open connections drop\n"
             "their caches), a few checkpoint-tree nodes and the record.\n"
             "TIME is ISO-8601 UTC (2026-11-22T10:00:00Z) or Unix seconds.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--to") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &at.version)){
        tool_error("revert: bad version '%s'", argv[i]);
        return 2;
      }
    }else if(!strcmp(argv[i], "--asof") && i + 1 < argc){
      if(tool_parse_time(argv[++i], "--asof time", &at.asof_ms)) return 2;
      at.has_asof = 1;
    }else if(!strcmp(argv[i], "--json")){
      json = 1;
    }else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("revert: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else{ tool_error("revert: too many arguments"); return 2; }
  }
  if(!name || (!at.version && !at.has_asof)){
    tool_error("usage: s3page revert NAME (--to V | --asof TIME) [--json]");
    return 2;
  }
  if(at.version && at.has_asof){
    tool_error("revert: give --to or --asof, not both");
    return 2;
  }
  s3page_revert_result r;
  char *err = NULL;
  int rc = s3page_revert(name, &at, &r, &err);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  if(json){
    printf("{\"version\":%llu,\"parent\":%llu,\"to\":%llu,\"created\":%s,"
           "\"pages_put\":%llu,\"nodes_put\":%llu,\"bytes_put\":%llu,"
           "\"requests_get\":%llu,\"requests_put\":%llu}\n",
           (unsigned long long)r.version, (unsigned long long)r.parent,
           (unsigned long long)r.to, r.version ? "true" : "false",
           (unsigned long long)r.pages_put, (unsigned long long)r.nodes_put,
           (unsigned long long)r.bytes_put, (unsigned long long)r.n_get,
           (unsigned long long)r.n_put);
  }else if(r.version){
    printf("reverted %s to the content of version %llu as version %llu "
           "(on top of %llu): %llu objects, %llu bytes uploaded\n", name,
           (unsigned long long)r.to, (unsigned long long)r.version,
           (unsigned long long)r.parent,
           (unsigned long long)(r.pages_put + r.nodes_put + 1),
           (unsigned long long)r.bytes_put);
  }else{
    printf("version %llu already is the newest version of %s; nothing to "
           "do\n", (unsigned long long)r.to, name);
  }
  return 0;
}
