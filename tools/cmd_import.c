/*
** cmd_import.c: s3page import FILE NAME [--force]
**             and s3page export NAME FILE [--version N | --asof TIME]
**                 [--stats]
*/
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* cmd_import copies a plain SQLite file into a database as one version. */
int cmd_import(int argc, char **argv){
  const char *file = NULL, *name = NULL;
  unsigned flags = 0;
  int quiet = 0;
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page import FILE NAME [--force] [--quiet]\n"
             "Copies the SQLite database FILE into database NAME as one new\n"
             "version. NAME must be empty unless --force is given; then FILE\n"
             "replaces the content as the next version (history is kept;\n"
             "page 1's change counter and schema cookie are raised so that\n"
             "open connections see the new content).\n");
      return 0;
    }
    if(!strcmp(argv[i], "--force")) flags |= S3PAGE_IMPORT_FORCE;
    else if(!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) quiet = 1;
    else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("import: unknown option %s", argv[i]);
      return 2;
    }
    else if(!file) file = argv[i];
    else if(!name) name = argv[i];
    else{ tool_error("import: too many arguments"); return 2; }
  }
  if(!file || !name){
    tool_error("usage: s3page import FILE NAME [--force]");
    return 2;
  }
  tool_bar bar;
  tool_bar_init(&bar, "import");
  s3page_import_result r;
  char *err = NULL;
  int rc = s3page_import(file, name, flags, tool_bar_update, &bar, &r, &err);
  tool_bar_done(&bar);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  if(!quiet){
    printf("imported %s as version %llu of %s: %u pages of %u bytes, "
           "%llu objects stored (%llu zero pages skipped), %llu bytes "
           "uploaded\n", file, (unsigned long long)r.version, name,
           (unsigned)r.page_count, (unsigned)r.page_size,
           (unsigned long long)(r.pages_put + r.nodes_put),
           (unsigned long long)r.pages_zero, (unsigned long long)r.bytes_put);
    if(r.wal_mode_cleared){
      printf("note: %s was in WAL mode; the stored copy is in rollback-journal "
             "mode (header bytes 18-19 set to 1)\n", file);
    }
  }
  return 0;
}

/* cmd_export writes one version of a database as a plain SQLite file. */
int cmd_export(int argc, char **argv){
  const char *file = NULL, *name = NULL;
  s3page_at at;
  int quiet = 0, stats = 0;
  memset(&at, 0, sizeof at);
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page export NAME FILE [--version N | --asof TIME] "
             "[--stats]\n"
             "Writes a version of database NAME (default: the newest) as the\n"
             "plain SQLite file FILE (via a fresh FILE.tmp-XXXX file, renamed\n"
             "when complete).\n"
             "TIME is ISO-8601 UTC (2026-11-22T10:00:00Z) or Unix seconds.\n"
             "--stats prints one more line: the requests, sequential round\n"
             "trips and bytes the export cost.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--version") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &at.version)){
        tool_error("export: bad version '%s'", argv[i]);
        return 2;
      }
    }else if(!strcmp(argv[i], "--asof") && i + 1 < argc){
      if(tool_parse_time(argv[++i], "--asof time", &at.asof_ms)) return 2;
      at.has_asof = 1;
    }else if(!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")){
      quiet = 1;
    }else if(!strcmp(argv[i], "--stats")){
      stats = 1;
    }else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("export: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else if(!file) file = argv[i];
    else{ tool_error("export: too many arguments"); return 2; }
  }
  if(!file || !name){
    tool_error("usage: s3page export NAME FILE [--version N | --asof TIME]");
    return 2;
  }
  if(at.version && at.has_asof){
    tool_error("export: give --version or --asof, not both");
    return 2;
  }
  tool_bar bar;
  tool_bar_init(&bar, "export");
  s3page_export_result r;
  char *err = NULL;
  int rc = s3page_export(name, &at, file, tool_bar_update, &bar, &r, &err);
  tool_bar_done(&bar);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  if(!quiet){
    printf("exported version %llu of %s to %s: %u pages of %u bytes\n",
           (unsigned long long)r.version, name, file, (unsigned)r.page_count,
           (unsigned)r.page_size);
  }
  if(stats){
    printf("export stats: get=%llu head=%llu round_trips=%llu bytes_in=%llu\n",
           (unsigned long long)r.n_get, (unsigned long long)r.n_head,
           (unsigned long long)r.round_trips,
           (unsigned long long)r.bytes_in);
  }
  return 0;
}
