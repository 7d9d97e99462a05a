#!/bin/sh
# s3.test.sh: the S3 backend as a new user meets it, through `s3page shell`
# with SQL on stdin and the S3 settings only in the environment (AWS_*, as
# tests/s3-server.sh exports them):
#   - build/s3page shell s3://BUCKET/.../db1 creates a database; another
#     process reads it back, a third adds to it;
#   - file:NAME?version=N shows past versions, refuses writes, and a missing
#     version fails with a message naming it and the newest;
#   - on S3 only: wrong credentials and a missing bucket fail with messages
#     naming the bucket and the HTTP status, and the secret never shows.
# Databases live under S3PAGE_TEST_STORE when it is s3://... (the S3 pass of
# tests/run.sh); otherwise the shell cases run on a temporary directory and
# the S3-only cases are skipped. Prints "ok - NAME" / "not ok - NAME" lines
# and "#" diagnostics.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
tool="$top/build/s3page"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
. "$top/tests/lib/check.sh"

# shell NAME: runs `s3page shell NAME` on the SQL of stdin; prints stdout
# and stderr (stderr after stdout, so that results come first).
shell() {
  "$tool" shell "$1" 2>"$tmp/err"
  cat "$tmp/err"
}

if [ ! -x "$tool" ] || ! command -v sqlite3 >/dev/null 2>&1; then
  echo "not ok - tool_and_sqlite3_present # build/s3page or sqlite3 missing"
  exit 1
fi
case "${S3PAGE_TEST_STORE:-}" in
  s3://*) on_s3=1; db="${S3PAGE_TEST_STORE%/}/s3sh-$$-$(date +%s)/db1" ;;
  *) on_s3=0; db="$tmp/db1" ;;
esac
echo "# database $db"

# 1. Create and write in one process, read in another.
got=$(printf '%s\n' "CREATE TABLE t(a TEXT, n INT);" \
  "INSERT INTO t VALUES('first', 1);" | shell "$db")
expect shell_creates_silently "" "$got"
got=$(echo "SELECT a, n FROM t; PRAGMA s3page_version;" | shell "$db")
expect shell_other_process_reads "first|1
2" "$got"

# 2. A third process adds to it; a fourth sees both rows.
got=$(echo "INSERT INTO t VALUES('second', 2);" | shell "$db")
expect shell_second_write "" "$got"
got=$(echo "SELECT group_concat(a, ','), sum(n) FROM t; PRAGMA s3page_version;" \
  | shell "$db")
expect shell_sees_both_writes "first,second|3
3" "$got"
got=$(echo "PRAGMA integrity_check;" | shell "$db")
expect shell_integrity_ok "ok" "$got"

# 3. Past versions through ?version=.
got=$(echo "SELECT count(*) FROM sqlite_master;" | shell "file:$db?version=1")
expect version_1_has_table_no_rows_yet "1" "$got"
got=$(echo "SELECT group_concat(a, ',') FROM t; PRAGMA s3page_version;" \
  | shell "file:$db?version=2")
expect version_2_shows_first_row "first
2" "$got"
got=$(echo "INSERT INTO t VALUES('nope', 9);" | shell "file:$db?version=2")
contains version_refuses_writes "$got" "readonly"
got=$(echo "SELECT count(*) FROM t;" | shell "$db")
expect version_write_left_no_trace "2" "$got"
got=$(echo "SELECT 1;" | shell "file:$db?version=9")
contains missing_version_named "$got" "version 9 does not exist" \
  "the newest is 3"

# 4. S3 only: errors name the bucket and the status, never the secret.
if [ "$on_s3" = 1 ]; then
  bucket=${S3PAGE_TEST_STORE#s3://}; bucket=${bucket%%/*}
  wrong="WrongSecret$$Zq"
  got=$(echo "SELECT count(*) FROM t;" \
    | AWS_SECRET_ACCESS_KEY="$wrong" "$tool" shell "$db" 2>&1)
  contains bad_credentials_refused "$got" "$bucket" "403" "credentials"
  case "$got" in
    *"$wrong"*) echo "#   the secret key appears in the output"
                ok_if secret_not_shown 1 ;;
    *) ok_if secret_not_shown 0 ;;
  esac
  case "$got" in
    *"${AWS_SECRET_ACCESS_KEY:-@none@}"*) echo "#   the real secret appears"
                                          ok_if real_secret_not_shown 1 ;;
    *) ok_if real_secret_not_shown 0 ;;
  esac
  nb="nosuchbucket-$$"
  got=$(echo "SELECT 1;" | "$tool" shell "s3://$nb/db1" 2>&1)
  contains missing_bucket_named "$got" "$nb" "404" "NoSuchBucket"
else
  echo "# not on S3 (S3PAGE_TEST_STORE is not s3://...): S3-only cases skipped"
fi

[ "$failed" -eq 0 ]
