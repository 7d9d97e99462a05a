#!/bin/sh
# `make install` honours PREFIX and DESTDIR, and a C program builds against
# the installed header, library and pkg-config file and uses the VFS.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; }

if make -s -C "$top" install PREFIX=/opt/s3p DESTDIR="$tmp/root" >"$tmp/log" 2>&1; then
  ok "make install with PREFIX and DESTDIR"
else
  cat "$tmp/log"; notok "make install with PREFIX and DESTDIR"
fi
root="$tmp/root/opt/s3p"
for f in lib/libs3page.a lib/libs3page.so lib/libs3page.so.0 include/s3page.h \
         bin/s3page lib/pkgconfig/s3page.pc; do
  if [ -e "$root/$f" ]; then ok "installed $f"; else notok "installed $f"; fi
done
if grep -q '^prefix=/opt/s3p$' "$root/lib/pkgconfig/s3page.pc"; then
  ok "pkg-config file names the prefix"
else
  notok "pkg-config file names the prefix"
fi

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <s3page.h>
int main(int argc, char **argv){
  sqlite3 *db;
  char *err = 0;
  if(s3page_register(0) != SQLITE_OK) return 1;
  if(sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                     "s3page") != SQLITE_OK) return 2;
  if(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(42);", 0, 0,
                  &err) != SQLITE_OK){ fprintf(stderr, "%s\n", err); return 3; }
  s3page_stats s;
  if(s3page_stats_get(db, "main", &s) != SQLITE_OK || s.version != 2) return 4;
  sqlite3_close(db);
  (void)argc;
  return 0;
}
C
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
flags=$(pkg-config --define-prefix --cflags --libs s3page 2>"$tmp/pc.err")
if [ $? -eq 0 ] && cc -o "$tmp/prog" "$tmp/prog.c" $flags 2>"$tmp/cc.err"; then
  ok "a program builds with pkg-config --cflags --libs s3page"
else
  cat "$tmp/pc.err" "$tmp/cc.err"; notok "a program builds with pkg-config --cflags --libs s3page"
fi
if LD_LIBRARY_PATH="$root/lib" "$tmp/prog" "$tmp/db" && [ -d "$tmp/db/wal" ]; then
  ok "the installed library opens, writes and counts a database"
else
  notok "the installed library opens, writes and counts a database"
fi
