/*
** cmd_diff.c: s3page diff NAME A [B] [--rows] [--json | --sql]
**
** Text (default), one JSON object (--json), or SQL statements that turn
** version A into version B (--sql, implies --rows). The statements are
** collected per kind and printed in an order that applies cleanly: every
** trigger of A and the schema entries dropped, tables created or altered,
** then rows deleted, updated, inserted, then indexes and views created
** and every trigger of B (so that no trigger fires on the rows applied).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "../vfs/s3page.h"
#include "tool.h"

/* What the callbacks print or collect. */
typedef struct diff_out {
  int json;                  /* one JSON object */
  int sql;                   /* SQL statements */
  int first_obj;             /* JSON: no schema entry printed yet */
  int first_bt;              /* JSON: no b-tree printed yet */
  int first_row;             /* JSON: no row printed yet */
  int unexpressed;           /* --sql: a change SQL here cannot express */
  sqlite3_str *pre;          /* --sql: drops, creates and alters of tables */
  sqlite3_str *del;          /* --sql: DELETE statements */
  sqlite3_str *upd;          /* --sql: UPDATE statements */
  sqlite3_str *ins;          /* --sql: INSERT statements */
  sqlite3_str *post;         /* --sql: indexes, views, triggers created */
  sqlite3_str *bt;           /* JSON: the b-trees, printed after the schema */
  sqlite3_str *rows;         /* JSON: the rows */
} diff_out;

/* diff_json_text appends n bytes of p to s as a JSON string. */
static void diff_json_text(sqlite3_str *s, const unsigned char *p, int n){
  sqlite3_str_appendchar(s, 1, '"');
  for(int i = 0; i < n; i++){
    if(p[i] == '"' || p[i] == '\\') sqlite3_str_appendf(s, "\\%c", p[i]);
    else if(p[i] < 0x20) sqlite3_str_appendf(s, "\\u%04x", p[i]);
    else sqlite3_str_appendchar(s, 1, (char)p[i]);
  }
  sqlite3_str_appendchar(s, 1, '"');
}

/* diff_hex appends n bytes of p to s as hexadecimal digits. */
static void diff_hex(sqlite3_str *s, const unsigned char *p, int n){
  for(int i = 0; i < n; i++) sqlite3_str_appendf(s, "%02X", p[i]);
}

/* diff_value appends v to s: as JSON (json), else as an SQL literal. */
static void diff_value(sqlite3_str *s, const s3page_value *v, int json){
  switch(v->type){
    case SQLITE_INTEGER:
      sqlite3_str_appendf(s, "%lld", (long long)v->i);
      break;
    case SQLITE_FLOAT:
      if(v->r != v->r) sqlite3_str_appendall(s, "null");
      else if(v->r > 1.7976931348623157e308) sqlite3_str_appendall(s, json ? "\"Inf\"" : "9e999");
      else if(v->r < -1.7976931348623157e308) sqlite3_str_appendall(s, json ? "\"-Inf\"" : "-9e999");
      else{
        /* The shortest of 15, 16, 17 digits that reads back the same. */
        char buf[40];
        for(int prec = 15; prec <= 17; prec++){
          snprintf(buf, sizeof buf, "%.*g", prec, v->r);
          if(strtod(buf, NULL) == v->r) break;
        }
        sqlite3_str_appendall(s, buf);
        if(!json && !strpbrk(buf, ".eE")) sqlite3_str_appendall(s, ".0");
      }
      break;
    case SQLITE_TEXT:
      if(json){
        diff_json_text(s, v->p, v->n);
      }else if(memchr(v->p, 0, (size_t)v->n)){
        sqlite3_str_appendall(s, "CAST(X'");
        diff_hex(s, v->p, v->n);
        sqlite3_str_appendall(s, "' AS TEXT)");
      }else{
        sqlite3_str_appendf(s, "'%.*q'", v->n, (const char *)v->p);
      }
      break;
    case SQLITE_BLOB:
      sqlite3_str_appendall(s, json ? "{\"hex\":\"" : "X'");
      diff_hex(s, v->p, v->n);
      sqlite3_str_appendall(s, json ? "\"}" : "'");
      break;
    default:
      sqlite3_str_appendall(s, json ? "null" : "NULL");
  }
}

/* diff_col returns the name of column i of r (or a made-up one). */
static const char *diff_col(const s3page_diff_row *r, int i, char *buf,
                            size_t n){
  if(i < r->ncol && r->names[i] && *r->names[i]) return r->names[i];
  snprintf(buf, n, "c%d", i + 1);
  return buf;
}

/* diff_sql_add_column sets *def to the column definition when sql_b is
** sql_a with one column added the way ALTER TABLE ADD COLUMN writes it
** (", DEF" before the final parenthesis). Returns 1 if so. */
static int diff_sql_add_column(const char *a, const char *b, const char **def,
                               int *ndef){
  size_t na = strlen(a), nb = strlen(b);
  while(na && (a[na - 1] == ' ' || a[na - 1] == '\n')) na--;
  if(!na || a[na - 1] != ')' || nb <= na + 2) return 0;
  if(strncmp(a, b, na - 1)) return 0;
  const char *p = b + na - 1;
  if(*p != ',') return 0;
  p++;
  while(*p == ' ') p++;
  const char *end = b + nb;
  while(end > p && (end[-1] == ' ' || end[-1] == '\n')) end--;
  if(end <= p || end[-1] != ')') return 0;
  *def = p;
  *ndef = (int)(end - 1 - p);
  return 1;
}

/* diff_object prints or collects one schema change. Returns 0. */
static int diff_object(void *arg, const s3page_diff_object *o){
  diff_out *d = arg;
  const char *what = o->op == 'C' ? "created" : o->op == 'D' ? "dropped"
                   : "altered";
  if(d->json){
    printf("%s{\"op\":\"%s\",\"type\":", d->first_obj ? "" : ",", what);
    tool_json_string(o->type);
    printf(",\"name\":");
    tool_json_string(o->name);
    printf(",\"sql_a\":");
    if(o->sql_a) tool_json_string(o->sql_a); else printf("null");
    printf(",\"sql_b\":");
    if(o->sql_b) tool_json_string(o->sql_b); else printf("null");
    printf("}");
  }else if(d->sql){
    int table = !strcmp(o->type, "table");
    if(!strcmp(o->type, "trigger")) return 0;   /* all of them: diff_triggers */
    if(o->op != 'C' && !(table && o->op == 'A')){
      if(o->sql_a){        /* automatic indexes go with their table */
        sqlite3_str_appendf(d->pre, "DROP %s IF EXISTS \"%w\";\n",
                            o->type, o->name);
      }
    }
    if(table && o->op == 'A'){
      const char *def;
      int n;
      if(o->sql_a && o->sql_b && diff_sql_add_column(o->sql_a, o->sql_b, &def, &n)){
        sqlite3_str_appendf(d->pre, "ALTER TABLE \"%w\" ADD COLUMN %.*s;\n",
                            o->name, n, def);
      }else{
        sqlite3_str_appendf(d->pre, "-- s3page: table %s changed in a way "
                            "these statements do not express\n", o->name);
        d->unexpressed = 1;
      }
    }else if(o->op != 'D' && o->sql_b){
      sqlite3_str_appendf(table ? d->pre : d->post, "%s;\n", o->sql_b);
    }
  }else{
    if(d->first_obj) printf("schema:\n");
    printf("  %s %s %s", what, o->type, o->name);
    if(o->op == 'A') printf(":\n    was: %s\n    now: %s\n",
                            o->sql_a ? o->sql_a : "(automatic)",
                            o->sql_b ? o->sql_b : "(automatic)");
    else printf("\n");
  }
  d->first_obj = 0;
  return 0;
}

/* diff_btree prints one b-tree's count of changed pages. Returns 0. */
static int diff_btree(void *arg, const s3page_diff_btree *b){
  diff_out *d = arg;
  if(d->json){
    sqlite3_str_appendf(d->bt, "%s{\"name\":", d->first_bt ? "" : ",");
    if(b->name) diff_json_text(d->bt, (const unsigned char *)b->name,
                               (int)strlen(b->name));
    else sqlite3_str_appendall(d->bt, "null");
    sqlite3_str_appendf(d->bt, ",\"type\":\"%s\",\"pages\":%u}", b->type,
                        (unsigned)b->pages);
  }else if(!d->sql){
    if(d->first_bt) printf("pages changed per b-tree:\n");
    printf("  %-6s %-30s %8u\n", b->type, b->name ? b->name : "(free list, "
           "overflow, pointer map)", (unsigned)b->pages);
  }
  d->first_bt = 0;
  return 0;
}

/* diff_row_values appends "(col=val, ...)" or a JSON object of n values. */
static void diff_row_values(sqlite3_str *s, const s3page_diff_row *r,
                            const s3page_value *v, int n, int json){
  sqlite3_str_appendall(s, json ? "{" : "(");
  for(int i = 0; i < n; i++){
    char buf[16];
    const char *col = diff_col(r, i, buf, sizeof buf);
    if(i) sqlite3_str_appendall(s, json ? "," : ", ");
    s3page_value rv;
    if(i == r->alias && v[i].type == SQLITE_NULL){
      memset(&rv, 0, sizeof rv);
      rv.type = SQLITE_INTEGER;
      rv.i = r->rowid;
    }else{
      rv = v[i];
    }
    if(json){
      diff_json_text(s, (const unsigned char *)col, (int)strlen(col));
      sqlite3_str_appendall(s, ":");
    }else{
      sqlite3_str_appendf(s, "%s=", col);
    }
    diff_value(s, &rv, json);
  }
  sqlite3_str_appendall(s, json ? "}" : ")");
}

/* diff_same_value returns 1 if x and y are the same value (type and
** bytes). */
static int diff_same_value(const s3page_value *x, const s3page_value *y){
  if(x->type != y->type) return 0;
  switch(x->type){
    case SQLITE_INTEGER: return x->i == y->i;
    case SQLITE_FLOAT: return !memcmp(&x->r, &y->r, sizeof x->r);
    case SQLITE_TEXT: case SQLITE_BLOB:
      return x->n == y->n && (!x->n || !memcmp(x->p, y->p, (size_t)x->n));
    default: return 1;
  }
}

/* diff_where appends " WHERE ..." naming row r: its rowid, or its
** primary key (WITHOUT ROWID) from values v. */
static void diff_where(sqlite3_str *s, const s3page_diff_row *r,
                       const s3page_value *v){
  char buf[16];
  if(!r->npk){
    sqlite3_str_appendf(s, " WHERE rowid=%lld;\n", (long long)r->rowid);
    return;
  }
  sqlite3_str_appendall(s, " WHERE ");
  for(int i = 0; i < r->npk; i++){
    if(i) sqlite3_str_appendall(s, " AND ");
    sqlite3_str_appendf(s, "\"%w\"", diff_col(r, i, buf, sizeof buf));
    if(v[i].type == SQLITE_NULL){ sqlite3_str_appendall(s, " IS NULL"); continue; }
    sqlite3_str_appendall(s, "=");
    diff_value(s, &v[i], 0);
  }
  sqlite3_str_appendall(s, ";\n");
}

/* diff_sql_row collects the statement that makes row r of A B's. */
static void diff_sql_row(diff_out *d, const s3page_diff_row *r){
  char buf[16];
  if(r->op == 'D'){
    sqlite3_str_appendf(d->del, "DELETE FROM \"%w\"", r->table);
    diff_where(d->del, r, r->old_v);
    return;
  }
  if(r->nnew > r->ncol){
    sqlite3_str_appendf(d->pre, "-- s3page: the columns of table %s are not "
                        "known; row %lld is not expressed\n", r->table,
                        (long long)r->rowid);
    d->unexpressed = 1;
    return;
  }
  if(r->op == 'U'){
    sqlite3_str_appendf(d->upd, "UPDATE \"%w\" SET ", r->table);
    int any = 0;
    for(int i = 0; i < r->nnew; i++){
      if(i == r->alias || (i < r->nold && diff_same_value(&r->old_v[i],
                                                         &r->new_v[i]))){
        continue;            /* only the columns that changed */
      }
      if(any) sqlite3_str_appendall(d->upd, ", ");
      sqlite3_str_appendf(d->upd, "\"%w\"=", diff_col(r, i, buf, sizeof buf));
      diff_value(d->upd, &r->new_v[i], 0);
      any = 1;
    }
    if(!any) sqlite3_str_appendf(d->upd, "\"%w\"=\"%w\"",
                                 diff_col(r, 0, buf, sizeof buf),
                                 diff_col(r, 0, buf, sizeof buf));
    diff_where(d->upd, r, r->new_v);
    return;
  }
  /* The rowid goes in by name unless a column is its alias. */
  int need_rowid = !r->npk && (r->alias < 0 || r->alias >= r->nnew);
  sqlite3_str_appendf(d->ins, "INSERT INTO \"%w\"(", r->table);
  int first = 1;
  if(need_rowid){ sqlite3_str_appendall(d->ins, "rowid"); first = 0; }
  for(int i = 0; i < r->nnew; i++){
    if(!first) sqlite3_str_appendall(d->ins, ",");
    first = 0;
    sqlite3_str_appendf(d->ins, "\"%w\"", diff_col(r, i, buf, sizeof buf));
  }
  sqlite3_str_appendall(d->ins, ") VALUES(");
  first = 1;
  if(need_rowid){
    sqlite3_str_appendf(d->ins, "%lld", (long long)r->rowid);
    first = 0;
  }
  for(int i = 0; i < r->nnew; i++){
    if(!first) sqlite3_str_appendall(d->ins, ",");
    first = 0;
    if(i == r->alias) sqlite3_str_appendf(d->ins, "%lld", (long long)r->rowid);
    else diff_value(d->ins, &r->new_v[i], 0);
  }
  sqlite3_str_appendall(d->ins, ");\n");
}

/* diff_row prints or collects one row change. Returns 0. */
static int diff_row(void *arg, const s3page_diff_row *r){
  diff_out *d = arg;
  const char *what = r->op == 'I' ? "inserted" : r->op == 'D' ? "deleted"
                   : "updated";
  if(d->sql){
    diff_sql_row(d, r);
  }else if(d->json){
    sqlite3_str *s = d->rows;
    sqlite3_str_appendf(s, "%s{\"table\":", d->first_row ? "" : ",\n");
    diff_json_text(s, (const unsigned char *)r->table, (int)strlen(r->table));
    if(r->npk){
      const s3page_value *k = r->new_v ? r->new_v : r->old_v;
      sqlite3_str_appendf(s, ",\"op\":\"%s\",\"rowid\":null,\"key\":", what);
      diff_row_values(s, r, k, r->npk, 1);
      sqlite3_str_appendall(s, ",\"old\":");
    }else{
      sqlite3_str_appendf(s, ",\"op\":\"%s\",\"rowid\":%lld,\"old\":", what,
                          (long long)r->rowid);
    }
    if(r->old_v) diff_row_values(s, r, r->old_v, r->nold, 1);
    else sqlite3_str_appendall(s, "null");
    sqlite3_str_appendall(s, ",\"new\":");
    if(r->new_v) diff_row_values(s, r, r->new_v, r->nnew, 1);
    else sqlite3_str_appendall(s, "null");
    sqlite3_str_appendall(s, "}");
  }else{
    sqlite3_str *s = sqlite3_str_new(NULL);
    if(d->first_row) printf("rows:\n");
    if(r->npk){
      const s3page_value *k = r->new_v ? r->new_v : r->old_v;
      sqlite3_str_appendf(s, "  %s %s key ", r->table, what);
      s3page_diff_row kr = *r;
      kr.alias = -1;
      diff_row_values(s, &kr, k, r->npk, 0);
    }else{
      sqlite3_str_appendf(s, "  %s %s rowid %lld", r->table, what,
                          (long long)r->rowid);
    }
    if(r->old_v){
      sqlite3_str_appendall(s, r->op == 'U' ? "\n    old " : " ");
      diff_row_values(s, r, r->old_v, r->nold, 0);
    }
    if(r->new_v){
      sqlite3_str_appendall(s, r->op == 'U' ? "\n    new " : " ");
      diff_row_values(s, r, r->new_v, r->nnew, 0);
    }
    char *t = sqlite3_str_finish(s);
    printf("%s\n", t ? t : "");
    sqlite3_free(t);
  }
  d->first_row = 0;
  return 0;
}

/* diff_parse_at parses a version (digits) or a time (ISO-8601, or
** @SECONDS) into *at. Returns 0 or -1 (with the error printed). */
static int diff_parse_at(const char *s, s3page_at *at){
  memset(at, 0, sizeof at[0]);
  if(s[0] == '@'){
    if(tool_parse_time(s + 1, "time", &at->asof_ms)) return -1;
    at->has_asof = 1;
    return 0;
  }
  if(strspn(s, "0123456789") == strlen(s)){
    if(tool_parse_u64(s, 1, &at->version)){
      tool_error("diff: bad version '%s'", s);
      return -1;
    }
    return 0;
  }
  if(tool_parse_time(s, "time", &at->asof_ms)) return -1;
  at->has_asof = 1;
  return 0;
}

/* diff_uri returns "file:NAME?version=V" (sqlite3_malloc'd), with the
** characters a URI path cannot hold escaped. */
static char *diff_uri(const char *name, uint64_t v){
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendall(s, "file:");
  for(const char *p = name; *p; p++){
    if(*p == '?' || *p == '#' || *p == '%') sqlite3_str_appendf(s, "%%%02X", (unsigned char)*p);
    else sqlite3_str_appendchar(s, 1, *p);
  }
  sqlite3_str_appendf(s, "?version=%llu", (unsigned long long)v);
  return sqlite3_str_finish(s);
}

/* diff_triggers adds to the statements of --sql a DROP of every trigger
** of version a (first: so that none fires while the rows are applied)
** and the CREATE of every trigger of version b (last). Returns 0 or -1
** (with the error printed). */
static int diff_triggers(diff_out *d, const char *name, uint64_t a, uint64_t b){
  for(int side = 0; side < 2; side++){
    char *uri = diff_uri(name, side ? b : a);
    sqlite3 *db = NULL;
    if(!uri || tool_open(&db, uri, 0)){ sqlite3_free(uri); return -1; }
    sqlite3_free(uri);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_schema "
                                "WHERE type = 'trigger' ORDER BY name", -1,
                                &st, NULL);
    while(rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW){
      const char *nm = (const char *)sqlite3_column_text(st, 0);
      const char *sql = (const char *)sqlite3_column_text(st, 1);
      if(side == 0) sqlite3_str_appendf(d->pre, "DROP TRIGGER IF EXISTS \"%w\";\n",
                                        nm ? nm : "");
      else if(sql) sqlite3_str_appendf(d->post, "%s;\n", sql);
      rc = SQLITE_OK;
    }
    if(rc != SQLITE_DONE && rc != SQLITE_OK){
      tool_error("diff: reading the triggers of version %llu: %s",
                 (unsigned long long)(side ? b : a), sqlite3_errmsg(db));
      sqlite3_finalize(st);
      sqlite3_close(db);
      return -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  return 0;
}

/* diff_print_str prints and frees s (if not NULL). */
static void diff_print_str(sqlite3_str *s){
  char *t = sqlite3_str_finish(s);
  if(t) fputs(t, stdout);
  sqlite3_free(t);
}

/* cmd_diff compares two versions of a database. */
int cmd_diff(int argc, char **argv){
  const char *name = NULL, *sa = NULL, *sb = NULL;
  unsigned flags = 0;
  diff_out d;
  memset(&d, 0, sizeof d);
  d.first_obj = d.first_bt = d.first_row = 1;
  for(int i = 1; i < argc; i++){
    if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")){
      printf("usage: s3page diff NAME A [B] [--rows] [--json | --sql]\n"
             "Compares versions A and B (default: the newest) of NAME from\n"
             "their page maps: schema entries created, dropped or altered,\n"
             "pages changed per table and index, and with --rows the rows\n"
             "inserted, deleted and updated in tables with a rowid. --sql\n"
             "prints statements that turn an export of A into B. A and B are\n"
             "versions, ISO-8601 UTC times, or @UNIX-SECONDS. The cost follows\n"
             "the size of the change: shared parts are never read.\n");
      return 0;
    }
    if(!strcmp(argv[i], "--rows")) flags |= S3PAGE_DIFF_ROWS;
    else if(!strcmp(argv[i], "--json")) d.json = 1;
    else if(!strcmp(argv[i], "--sql")) d.sql = 1;
    else if(argv[i][0] == '-' && argv[i][1]){
      tool_error("diff: unknown option %s", argv[i]);
      return 2;
    }else if(!name) name = argv[i];
    else if(!sa) sa = argv[i];
    else if(!sb) sb = argv[i];
    else{ tool_error("diff: too many arguments"); return 2; }
  }
  if(!name || !sa){
    tool_error("usage: s3page diff NAME A [B] [--rows] [--json | --sql]");
    return 2;
  }
  if(d.json && d.sql){
    tool_error("diff: give --json or --sql, not both");
    return 2;
  }
  s3page_at a, b;
  memset(&b, 0, sizeof b);
  if(diff_parse_at(sa, &a) || (sb && diff_parse_at(sb, &b))) return 2;
  if(d.sql) flags |= S3PAGE_DIFF_ROWS;
  d.pre = sqlite3_str_new(NULL);
  d.del = sqlite3_str_new(NULL);
  d.upd = sqlite3_str_new(NULL);
  d.ins = sqlite3_str_new(NULL);
  d.post = sqlite3_str_new(NULL);
  d.bt = sqlite3_str_new(NULL);
  d.rows = sqlite3_str_new(NULL);
  s3page_diff_sink sink = { &d, diff_object, diff_btree, diff_row };
  s3page_diff_result r;
  char *err = NULL;
  if(d.json) printf("{\"schema\":[");
  int rc = s3page_diff(name, &a, sb ? &b : NULL, flags, &sink, &r, &err);
  if(d.json){
    printf("],\"btrees\":[");
    diff_print_str(d.bt);
    printf("],\"rows\":%s", flags & S3PAGE_DIFF_ROWS ? "[" : "null");
    diff_print_str(d.rows);
    if(flags & S3PAGE_DIFF_ROWS) printf("]");
    printf(",\"version_a\":%llu,\"version_b\":%llu,\"pages_changed\":%llu,"
           "\"rows_inserted\":%llu,\"rows_deleted\":%llu,\"rows_updated\":%llu,"
           "\"tables_scanned\":%llu,\"tables_skipped\":%llu,"
           "\"requests_get\":%llu,\"bytes_in\":%llu,\"pages_fetched\":%llu,"
           "\"nodes_fetched\":%llu}\n",
           (unsigned long long)r.version_a, (unsigned long long)r.version_b,
           (unsigned long long)r.pages_changed,
           (unsigned long long)r.rows_inserted,
           (unsigned long long)r.rows_deleted,
           (unsigned long long)r.rows_updated,
           (unsigned long long)r.tables_scanned,
           (unsigned long long)r.tables_skipped,
           (unsigned long long)r.n_get, (unsigned long long)r.bytes_in,
           (unsigned long long)r.pages_fetched,
           (unsigned long long)r.nodes_fetched);
  }else{
    sqlite3_free(sqlite3_str_finish(d.bt));
    sqlite3_free(sqlite3_str_finish(d.rows));
  }
  int printed = 0;           /* the error is on stderr already */
  if(d.sql && rc == SQLITE_OK && diff_triggers(&d, name, r.version_a, r.version_b)){
    rc = SQLITE_ERROR;
    d.sql = 0;
    printed = 1;
  }
  if(d.sql && rc == SQLITE_OK){
    printf("-- s3page diff: statements that turn version %llu into %llu\n"
           "BEGIN;\n", (unsigned long long)r.version_a,
           (unsigned long long)r.version_b);
    diff_print_str(d.pre);
    diff_print_str(d.del);
    diff_print_str(d.upd);
    diff_print_str(d.ins);
    diff_print_str(d.post);
    printf("COMMIT;\n");
  }else{
    sqlite3_free(sqlite3_str_finish(d.pre));
    sqlite3_free(sqlite3_str_finish(d.del));
    sqlite3_free(sqlite3_str_finish(d.upd));
    sqlite3_free(sqlite3_str_finish(d.ins));
    sqlite3_free(sqlite3_str_finish(d.post));
  }
  if(rc != SQLITE_OK){
    fflush(stdout);
    if(!printed) tool_error("%s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return 1;
  }
  if(!d.json && !d.sql){
    if(d.first_obj && d.first_bt) printf("no differences\n");
    printf("version %llu -> %llu: %llu pages changed",
           (unsigned long long)r.version_a, (unsigned long long)r.version_b,
           (unsigned long long)r.pages_changed);
    if(flags & S3PAGE_DIFF_ROWS){
      printf(", %llu rows inserted, %llu deleted, %llu updated",
             (unsigned long long)r.rows_inserted,
             (unsigned long long)r.rows_deleted,
             (unsigned long long)r.rows_updated);
    }
    printf("; %llu objects read (%llu pages, %llu tree nodes), %llu bytes\n",
           (unsigned long long)r.n_get, (unsigned long long)r.pages_fetched,
           (unsigned long long)r.nodes_fetched,
           (unsigned long long)r.bytes_in);
    if(r.tables_scanned){
      printf("note: %llu tables compared in full (new, moved, or with "
             "changed pages not located)\n",
             (unsigned long long)r.tables_scanned);
    }
  }
  if(d.unexpressed){
    tool_error("diff: some changes cannot be expressed as SQL (see the "
               "comments in the output)");
    return 1;
  }
  return 0;
}
