#!/bin/sh
# shell.test.sh: Debian's stock sqlite3 shell with s3page, both ways:
#   LD_PRELOAD=build/libs3page.so sqlite3 -vfs s3page NAME
#   sqlite3 -cmd '.load build/libs3page' -cmd ".open 'file:NAME?vfs=s3page'"
# Data written by one process is read back by another, each way and
# across the two ways; pinned versions, journal_mode=WAL and errors show
# up.
# Databases live under S3PAGE_TEST_STORE when it is set (s3://...), else in
# a temporary directory removed at exit. Prints "ok - NAME" / "not ok -
# NAME" lines and "#" diagnostics.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
lib="$top/build/libs3page"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
. "$top/tests/lib/check.sh"
seq=0

# new_name TAG: prints a fresh database name.
new_name() {
  seq=$((seq + 1))
  if [ -n "${S3PAGE_TEST_STORE:-}" ]; then
    echo "${S3PAGE_TEST_STORE%/}/shell-$$-$(date +%s)-$1-$seq"
  else
    echo "$tmp/$1-$seq"
  fi
}

# pre NAME SQL: runs SQL through the preloaded library and -vfs s3page;
# prints the output (stderr included).
pre() {
  LD_PRELOAD="$lib.so" sqlite3 -batch -bail -vfs s3page "$1" "$2" 2>&1
}

# via_load URI: runs the SQL on stdin after .load and .open of URI.
via_load() {
  sqlite3 -batch -bail -cmd ".load $lib" -cmd ".open '$1'" 2>&1
}

if ! command -v sqlite3 >/dev/null 2>&1; then
  echo "not ok - sqlite3_shell_installed"
  exit 1
fi
if [ ! -f "$lib.so" ]; then
  echo "not ok - library_built # build/libs3page.so missing"
  exit 1
fi

# 1. Preload both times: write in one process, read in another.
db=$(new_name pre)
out=$(pre "$db" "CREATE TABLE t(a, b); INSERT INTO t VALUES('hello', 1), ('world', 2);")
[ -n "$out" ] && echo "# $out"
got=$(pre "$db" "SELECT group_concat(a || b, ' ') FROM t; PRAGMA s3page_version;")
expect preload_write_then_read "hello1 world2
2" "$got"

# 2. .load + .open both times, SQL on stdin.
db2=$(new_name load)
out=$(printf '%s\n' "CREATE TABLE t(a);" "INSERT INTO t VALUES('via load');" \
  | via_load "file:$db2?vfs=s3page")
[ -n "$out" ] && echo "# $out"
got=$(echo "SELECT a FROM t;" | via_load "file:$db2?vfs=s3page")
expect load_write_then_read "via load" "$got"

# 3. Across the two ways, in both directions.
got=$(echo "SELECT count(*) FROM t;" | via_load "file:$db?vfs=s3page")
expect preload_written_read_by_load "2" "$got"
out=$(pre "$db2" "INSERT INTO t VALUES('by preload');")
[ -n "$out" ] && echo "# $out"
got=$(echo "SELECT group_concat(a, ',') FROM t;" | via_load "file:$db2?vfs=s3page")
expect load_db_written_by_preload "via load,by preload" "$got"

# 4. A pinned version shows its state and refuses writes.
got=$(echo "SELECT group_concat(a || b, ' ') FROM t;" \
  | via_load "file:$db?vfs=s3page&version=1")
expect pinned_version_first_state "" "$got"
got=$(echo "SELECT count(*) FROM t; INSERT INTO t VALUES('x', 3);" \
  | via_load "file:$db?vfs=s3page&version=2")
# (stderr is unbuffered: the error may come before the count.)
if echo "$got" | grep -qx 2 && echo "$got" | grep -q readonly; then
  ok_if pinned_version_refuses_writes 0
else
  echo "#   got: $got"
  ok_if pinned_version_refuses_writes 1
fi
got=$(pre "$db" "SELECT count(*) FROM t;")
expect pinned_write_left_no_trace "2" "$got"

# 5. journal_mode=WAL keeps the rollback-journal mode and returns it; the
# reason is in the log (".log stderr"); the data stays readable.
got=$(echo "PRAGMA journal_mode=WAL;" | sqlite3 -batch -bail -cmd ".load $lib" \
  -cmd ".log stderr" -cmd ".open 'file:$db?vfs=s3page'" 2>&1)
case "$got" in
  *"journal_mode=WAL is not available"*delete*|*delete*"journal_mode=WAL is not available"*)
    ok_if wal_keeps_mode_and_logs_why 0 ;;
  *) echo "#   got: $got"; ok_if wal_keeps_mode_and_logs_why 1 ;;
esac
got=$(pre "$db" "PRAGMA journal_mode=WAL; PRAGMA journal_mode; SELECT count(*) FROM t;")
expect still_rollback_journal "delete
delete
2" "$got"

# 6. A version that does not exist fails to open; SQLite has no way to
# carry a VFS's reason for a failed open into its error message, so the
# reason is in the sqlite3_log output, which ".log stderr" shows.
# (After a failed .open the shell falls back to an empty in-memory
# database, so the query must find no table t.)
got=$(echo "SELECT 'rows=' || count(*) FROM t;" \
  | via_load "file:$db?vfs=s3page&version=99")
case "$got" in
  *rows=*) echo "#   got: $got"; ok_if missing_version_fails 1 ;;
  *"unable to open"*) ok_if missing_version_fails 0 ;;
  *) echo "#   got: $got"; ok_if missing_version_fails 1 ;;
esac
got=$(echo "SELECT 1;" | sqlite3 -batch -bail -cmd ".load $lib" \
  -cmd ".log stderr" -cmd ".open 'file:$db?vfs=s3page&version=99'" 2>&1)
case "$got" in
  *"version 99 does not exist"*) ok_if missing_version_logged 0 ;;
  *) echo "#   got: $got"; ok_if missing_version_logged 1 ;;
esac

# 7. On a directory store the shell wrote objects, not a plain file.
if [ -z "${S3PAGE_TEST_STORE:-}" ]; then
  if [ -d "$db/wal" ] && [ -d "$db/pages" ] && [ ! -f "$db-journal" ]; then
    ok_if directory_store_layout 0
  else
    ls -la "$db" 2>&1 | sed 's/^/#   /'
    ok_if directory_store_layout 1
  fi
fi

[ "$failed" -eq 0 ]
