#!/bin/sh
# sqldiff.test.sh: the sqldiff example of docs/clients.md, as written, with
# Debian's sqlite3-tools: after the shell session makes notes.db, a
# transaction changes it; sqldiff between the exports of the versions
# before and after, and s3page diff --sql between those versions, each
# turn the first export into a database whose .dump is the second's.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/clients/lib.sh"
need "command -v sqldiff" sqlite3-tools
extract shell-session.sh sqldiff.sh

# dump_after FILE SCRIPT: .dump of a copy of a.db with SCRIPT applied.
dump_after() {
  cp "$work/a.db" "$work/$1" &&
    sqlite3 -bail "$work/$1" < "$work/$2" && sqlite3 "$work/$1" .dump
}

run_case sqldiff_setup_session sh -e "$doc/shell-session.sh"
run_case sqldiff_example sh -e "$doc/sqldiff.sh"
[ -s "$work/sqldiff.sql" ] && grep -q "^UPDATE" "$work/sqldiff.sql" &&
  grep -q "^DELETE" "$work/sqldiff.sql" && grep -q "^INSERT" "$work/sqldiff.sql"
ok_if sqldiff_found_the_changes $?
want=$(sqlite3 "$work/b.db" .dump)
by_sqldiff=$(dump_after x1.db sqldiff.sql)
by_s3page=$(dump_after x2.db s3page-diff.sql)
[ "$by_sqldiff" = "$want" ]; ok_if sqldiff_script_makes_b $?
[ "$by_s3page" = "$want" ]; ok_if s3page_diff_sql_makes_b $?
[ "$by_s3page" = "$by_sqldiff" ]; st=$?
if [ "$st" -ne 0 ]; then
  sed 's/^/# sqldiff: /' "$work/sqldiff.sql"
  sed 's/^/# s3page diff: /' "$work/s3page-diff.sql"
fi
ok_if sqldiff_and_s3page_diff_agree "$st"
finish
