/*
** cmd_log.c: s3page log NAME [--json] [--limit N] [--no-sizes]
**          and s3page checkpoint NAME
*/
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* What cmd_log's callback needs. */
typedef struct log_out {
  int json;                  /* JSON lines instead of a table */
  int first;                 /* no entry printed yet */
} log_out;

/* log_print prints one version. Returns 0. */
static int log_print(void *arg, const s3page_log_entry *e){
  log_out *o = arg;
  char when[32];
  tool_format_time(when, e->time_ms);
  if(o->json){
    printf("%s{\"version\":%llu,\"time\":\"%s\",\"time_ms\":%lld,"
           "\"page_size\":%u,\"page_count\":%u,\"pages_changed\":",
           o->first ? "" : ",\n", (unsigned long long)e->version, when,
           (long long)e->time_ms, (unsigned)e->page_size,
           (unsigned)e->page_count);
    if(e->full_image) printf("\"full\"");
    else printf("%u", (unsigned)e->nchange);
    printf(",\"bytes_added\":");
    if(e->bytes_added == UINT64_MAX) printf("null");
    else printf("%llu", (unsigned long long)e->bytes_added);
    printf(",\"record_bytes\":%llu,\"checkpoint\":%s,\"ckpt_version\":%llu}",
           (unsigned long long)e->record_bytes, e->checkpoint ? "true" : "false",
           (unsigned long long)e->ckpt_version);
  }else{
    if(o->first){
      printf("%-8s %-24s %8s %12s %10s  %s\n", "VERSION", "TIME (UTC)",
             "PAGES", "BYTES", "SIZE", "CHECKPOINT");
    }
    char pages[16], bytes[24], size[24];
    if(e->full_image) snprintf(pages, sizeof pages, "full");
    else snprintf(pages, sizeof pages, "%u", (unsigned)e->nchange);
    if(e->bytes_added == UINT64_MAX) snprintf(bytes, sizeof bytes, "-");
    else snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)e->bytes_added);
    snprintf(size, sizeof size, "%llu", (unsigned long long)e->page_size *
             e->page_count);
    printf("%-8llu %-24s %8s %12s %10s  %s\n", (unsigned long long)e->version,
           when, pages, bytes, size, e->checkpoint ? "yes" : "");
  }
  o->first = 0;
  return 0;
}

/* cmd_log prints the versions of a database, newest first. */
int cmd_log(int argc, char **argv){
  const char *name = NULL;
  uint64_t limit = 0;
  unsigned flags = S3PAGE_LOG_SIZES;
  log_out o = { 0, 1 };
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page log NAME [--json] [--limit N] [--no-sizes]\n"
             "Lists the versions of NAME, newest first: version, commit time\n"
             "(UTC), pages changed ('full' for an imported image), bytes added\n"
             "(the record plus the stored size of the page objects it names;\n"
             "'-' when unknown), database size, and whether the version is a\n"
             "checkpoint. --no-sizes skips the HEAD requests behind BYTES.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--json")) o.json = 1;
    else if(!strcmp(argv[i], "--no-sizes")) flags &= ~S3PAGE_LOG_SIZES;
    else if(!strcmp(argv[i], "--limit") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &limit)){
        tool_error("log: bad limit '%s'", argv[i]);
        return 2;
      }
    }else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("log: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else{ tool_error("log: too many arguments"); return 2; }
  }
  if(!name){
    tool_error("usage: s3page log NAME [--json] [--limit N]");
    return 2;
  }
  if(o.json) printf("[");
  char *err = NULL;
  int rc = s3page_log(name, limit, flags, log_print, &o, &err);
  if(o.json) printf("%s]\n", o.first ? "" : "\n");
  if(rc != SQLITE_OK){
    fflush(stdout);
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  return 0;
}

/* cmd_checkpoint makes the newest version of a database a checkpoint. */
int cmd_checkpoint(int argc, char **argv){
  if(argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")){
    printf("usage: s3page checkpoint NAME\n"
           "Commits a version with no changes whose record carries the whole\n"
           "page map, so opening the newest version replays no records.\n"
           "Does nothing when the newest version already is a checkpoint.\n");
    return argc == 2 ? 0 : 2;
  }
  uint64_t v = 0;
  int created = 0;
  char *err = NULL;
  int rc = s3page_checkpoint(argv[1], &v, &created, &err);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  if(created) printf("checkpoint: version %llu\n", (unsigned long long)v);
  else printf("version %llu already is a checkpoint\n", (unsigned long long)v);
  return 0;
}
