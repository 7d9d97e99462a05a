/*
** cmd_stats.c: s3page stats NAME [--keep-versions N | --keep-since TIME]
**              [--price-gb-month X] [--price-put-1k X] [--price-get-1k X]
**              [--json]
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* stats_price parses a price (a non-negative number) into *out. Returns 0
** or -1 (with the error printed). */
static int stats_price(const char *s, const char *what, double *out){
  char *end = NULL;
  double x = strtod(s, &end);
  if(!*s || *end || !(x >= 0) || x > 1e9){
    tool_error("stats: bad %s '%s'", what, s);
    return -1;
  }
  *out = x;
  return 0;
}

/* stats_ratio formats x as "1.23x" or "-" into buf. */
static const char *stats_ratio(char *buf, size_t n, double x){
  if(x > 0) snprintf(buf, n, "%.2fx", x);
  else snprintf(buf, n, "-");
  return buf;
}

/* cmd_stats prints what a database stores and costs. */
int cmd_stats(int argc, char **argv){
  const char *name = NULL;
  int json = 0;
  s3page_stats_opts o;
  memset(&o, 0, sizeof o);
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page stats NAME [--keep-versions N | --keep-since TIME]\n"
             "         [--price-gb-month X] [--price-put-1k X] [--price-get-1k X]"
             " [--json]\n"
             "Versions kept and their time span; objects and bytes by kind (one\n"
             "LIST each); the newest version's size against the bytes stored\n"
             "(compression and dedup ratios); what gc would free at the given\n"
             "retention (default: --keep-versions 100); and estimates of the\n"
             "monthly storage cost and of the request cost of a commit and of\n"
             "a cold scan. Prices default to S3 Standard list prices (USD):\n"
             "%g per GiB-month, %g per 1,000 PUTs, %g per 1,000 GETs.\n",
             S3PAGE_PRICE_GB_MONTH, S3PAGE_PRICE_PUT_1K, S3PAGE_PRICE_GET_1K);
      return 0;
    }
    if(!strcmp(argv[i], "--json")) json = 1;
    else if(!strcmp(argv[i], "--keep-versions") && i + 1 < argc){
      if(tool_parse_u64(argv[++i], 1, &o.keep_versions)){
        tool_error("stats: bad count '%s'", argv[i]);
        return 2;
      }
    }else if(!strcmp(argv[i], "--keep-since") && i + 1 < argc){
      if(tool_parse_time(argv[++i], "--keep-since time", &o.keep_since_ms)) return 2;
      o.has_keep_since = 1;
    }else if(!strcmp(argv[i], "--price-gb-month") && i + 1 < argc){
      if(stats_price(argv[++i], "price", &o.price_gb_month)) return 2;
    }else if(!strcmp(argv[i], "--price-put-1k") && i + 1 < argc){
      if(stats_price(argv[++i], "price", &o.price_put_1k)) return 2;
    }else if(!strcmp(argv[i], "--price-get-1k") && i + 1 < argc){
      if(stats_price(argv[++i], "price", &o.price_get_1k)) return 2;
    }else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("stats: unknown option %s (or missing value)", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else{ tool_error("stats: too many arguments"); return 2; }
  }
  if(!name){
    tool_error("usage: s3page stats NAME [--json]");
    return 2;
  }
  if(o.keep_versions && o.has_keep_since){
    tool_error("stats: give --keep-versions or --keep-since, not both");
    return 2;
  }
  s3page_stats_report_result r;
  char *err = NULL;
  int rc = s3page_stats_report(name, &o, &r, &err);
  if(rc != SQLITE_OK){
    tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  char t0[32], t1[32], keep[64], b1[16], b2[16];
  tool_format_time(t0, r.oldest_ms);
  tool_format_time(t1, r.newest_ms);
  if(r.keep_versions) snprintf(keep, sizeof keep, "the newest %llu versions",
                               (unsigned long long)r.keep_versions);
  else{
    char ks[32];
    tool_format_time(ks, r.keep_since_ms);
    snprintf(keep, sizeof keep, "versions since %s", ks);
  }
  if(json){
    printf("{\"oldest\":%llu,\"newest\":%llu,\"oldest_time\":\"%s\","
           "\"newest_time\":\"%s\",\"span_ms\":%lld,\"commits\":%llu,"
           "\"avg_pages_per_commit\":%.3f,"
           "\"records\":{\"objects\":%llu,\"bytes\":%llu},"
           "\"pages\":{\"objects\":%llu,\"bytes\":%llu},"
           "\"nodes\":{\"objects\":%llu,\"bytes\":%llu},"
           "\"other\":{\"objects\":%llu,\"bytes\":%llu},"
           "\"stored_bytes\":%llu,\"page_size\":%u,\"page_count\":%u,"
           "\"logical_bytes\":%llu,\"logical_bytes_all_versions\":%llu,"
           "\"compression_ratio\":%.4f,\"dedup_ratio\":%.4f,"
           "\"gc\":{\"keep_versions\":%llu,\"keep_since_ms\":%lld,"
           "\"objects\":%llu,\"bytes\":%llu,\"oldest_kept\":%llu},"
           "\"prices\":{\"gb_month\":%g,\"put_1k\":%g,\"get_1k\":%g},"
           "\"storage_month\":%.6f,\"commit_puts\":%.3f,\"commit_cost\":%.9f,"
           "\"scan_gets\":%.0f,\"scan_cost\":%.9f,"
           "\"requests_get\":%llu,\"requests_list\":%llu}\n",
           (unsigned long long)r.oldest, (unsigned long long)r.newest, t0, t1,
           (long long)(r.newest_ms - r.oldest_ms), (unsigned long long)r.commits,
           r.avg_pages_per_commit,
           (unsigned long long)r.records, (unsigned long long)r.record_bytes,
           (unsigned long long)r.pages, (unsigned long long)r.page_bytes,
           (unsigned long long)r.nodes, (unsigned long long)r.node_bytes,
           (unsigned long long)r.other, (unsigned long long)r.other_bytes,
           (unsigned long long)r.stored_bytes, (unsigned)r.page_size,
           (unsigned)r.page_count, (unsigned long long)r.logical_bytes,
           (unsigned long long)r.logical_bytes_all, r.compression_ratio,
           r.dedup_ratio, (unsigned long long)r.keep_versions,
           (long long)r.keep_since_ms, (unsigned long long)r.gc_objects,
           (unsigned long long)r.gc_bytes, (unsigned long long)r.gc_oldest_kept,
           r.price_gb_month, r.price_put_1k, r.price_get_1k, r.storage_month,
           r.commit_puts, r.commit_cost, r.scan_gets, r.scan_cost,
           (unsigned long long)r.n_get, (unsigned long long)r.n_list);
    return 0;
  }
  printf("%s\n", name);
  printf("  versions      %llu to %llu (%s to %s)\n",
         (unsigned long long)r.oldest, (unsigned long long)r.newest, t0, t1);
  printf("  objects       %12s %14s\n", "COUNT", "BYTES");
  printf("    records     %12llu %14llu\n", (unsigned long long)r.records,
         (unsigned long long)r.record_bytes);
  printf("    pages       %12llu %14llu\n", (unsigned long long)r.pages,
         (unsigned long long)r.page_bytes);
  printf("    tree nodes  %12llu %14llu\n", (unsigned long long)r.nodes,
         (unsigned long long)r.node_bytes);
  printf("    HEAD, TAIL  %12llu %14llu\n", (unsigned long long)r.other,
         (unsigned long long)r.other_bytes);
  printf("    total       %12llu %14llu\n",
         (unsigned long long)(r.records + r.pages + r.nodes + r.other),
         (unsigned long long)r.stored_bytes);
  printf("  newest size   %llu bytes (%u pages of %u); all kept versions "
         "%llu bytes\n", (unsigned long long)r.logical_bytes,
         (unsigned)r.page_count, (unsigned)r.page_size,
         (unsigned long long)r.logical_bytes_all);
  printf("  ratios        compression %s, dedup %s (all versions' pages / "
         "distinct pages)\n", stats_ratio(b1, sizeof b1, r.compression_ratio),
         stats_ratio(b2, sizeof b2, r.dedup_ratio));
  printf("  gc            keeping %s would free %llu objects, %llu bytes\n",
         keep, (unsigned long long)r.gc_objects,
         (unsigned long long)r.gc_bytes);
  printf("  prices        $%g per GiB-month, $%g per 1,000 PUTs, $%g per "
         "1,000 GETs%s\n", r.price_gb_month, r.price_put_1k, r.price_get_1k,
         (r.price_gb_month == S3PAGE_PRICE_GB_MONTH &&
          r.price_put_1k == S3PAGE_PRICE_PUT_1K &&
          r.price_get_1k == S3PAGE_PRICE_GET_1K) ? " (S3 Standard list prices)"
                                                 : "");
  printf("  storage       $%.4f per month\n", r.storage_month);
  printf("  per commit    %.1f PUTs + 1 GET: $%.7f (%.1f pages changed on "
         "average)\n", r.commit_puts, r.commit_cost, r.avg_pages_per_commit);
  printf("  cold scan     %.0f GETs: $%.7f\n", r.scan_gets, r.scan_cost);
  return 0;
}
