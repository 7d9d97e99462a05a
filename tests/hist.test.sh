#!/bin/sh
# hist.test.sh: the history tools of build/s3page, as a user runs them:
# import/export round trips (byte-identical, cmp; export --stats), import --force and WAL-mode
# files, export --version N against the .dump taken at N, --asof between two
# commits and before the first, log, checkpoint, gc --keep-versions then
# verify --all, and the error cases (one clear line on stderr, exit 1).
# Databases live under S3PAGE_TEST_STORE when it is set (s3://...), else in
# a temporary directory removed at exit. Prints "ok - NAME" / "not ok - NAME"
# lines and "#" diagnostics. S3PAGE_HIST_MB sets the import size (20).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
s3page="$top/build/s3page"
lib="$top/build/libs3page.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
. "$top/tests/lib/check.sh"
seq=0
mb=${S3PAGE_HIST_MB:-20}

# new_name TAG: prints a fresh database name.
new_name() {
  seq=$((seq + 1))
  if [ -n "${S3PAGE_TEST_STORE:-}" ]; then
    echo "${S3PAGE_TEST_STORE%/}/hist-$$-$(date +%s)-$1-$seq"
  else
    echo "$tmp/$1-$seq"
  fi
}

# sql NAME SQL: runs SQL on database NAME through the s3page VFS.
sql() {
  LD_PRELOAD="$lib" sqlite3 -batch -bail -vfs s3page "$1" "$2" 2>&1
}

# one_line_error FILE: true if FILE holds exactly one line starting with
# "s3page: ".
one_line_error() {
  [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^s3page: ' "$1"
}

# make_file FILE MB: a plain SQLite database of about MB megabytes, 4 KiB
# pages, with an index and some all-zero free pages.
make_file() {
  rows=$(( $2 * 1024 * 1024 / 600 ))
  sqlite3 "$1" "PRAGMA page_size=4096; PRAGMA auto_vacuum=0;
    CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, v BLOB);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<$rows)
    INSERT INTO t SELECT i, i*7, randomblob(500) FROM c;
    CREATE INDEX tk ON t(k);
    CREATE TABLE junk(x); INSERT INTO junk VALUES(zeroblob(200000));
    DELETE FROM junk;" >/dev/null
}

# --- import and export ------------------------------------------------------

f="$tmp/orig.db"
make_file "$f" "$mb"
db=$(new_name imp)
"$s3page" import "$f" "$db" >"$tmp/out" 2>"$tmp/err"
ok_if "import a ${mb} MB file" $?
"$s3page" export "$db" "$tmp/back.db" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 0 ] && cmp -s "$f" "$tmp/back.db"
ok_if "export is byte-identical (cmp)" $?
[ ! -e "$tmp/back.db.tmp" ]
ok_if "export leaves no .tmp file" $?
"$s3page" export "$db" "$tmp/stats.db" --stats -q >"$tmp/out" 2>"$tmp/err" &&
  [ "$(wc -l <"$tmp/out")" -eq 1 ] &&
  grep -Eq '^export stats: get=[1-9][0-9]* head=[0-9]+ round_trips=[1-9][0-9]* bytes_in=[1-9][0-9]*$' "$tmp/out" &&
  cmp -s "$f" "$tmp/stats.db"
ok_if "export --stats prints its requests and round trips" $?
got=$(sqlite3 "$tmp/back.db" "PRAGMA integrity_check")
[ "$got" = ok ]
ok_if "exported file passes integrity_check" $?
got=$(sql "$db" "SELECT count(*), sum(k) FROM t WHERE k % 1000 = 0")
want=$(sqlite3 "$f" "SELECT count(*), sum(k) FROM t WHERE k % 1000 = 0")
[ "$got" = "$want" ]
ok_if "imported database reads through the VFS" $?
"$s3page" log "$db" --json >"$tmp/log" 2>&1 && grep -q '"pages_changed":"full"' "$tmp/log" &&
  grep -q '"checkpoint":true' "$tmp/log"
ok_if "log shows the import as a full-image checkpoint" $?

# Writing to it, then exporting, gives what the VFS shows.
sql "$db" "UPDATE t SET k = -k WHERE id <= 100; INSERT INTO t(k, v) VALUES(1, x'00');" >/dev/null
"$s3page" export "$db" "$tmp/after.db" >/dev/null 2>&1 &&
  [ "$(sqlite3 "$tmp/after.db" "SELECT sum(k), count(*) FROM t")" = \
    "$(sql "$db" "SELECT sum(k), count(*) FROM t")" ]
ok_if "export after a commit on the imported database" $?
"$s3page" export "$db" "$tmp/v1.db" --version 1 >/dev/null 2>&1 && cmp -s "$f" "$tmp/v1.db"
ok_if "export --version 1 is still the original file" $?

# import over an existing database: refused, then --force.
"$s3page" import "$f" "$db" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -ne 0 ] && one_line_error "$tmp/err" && grep -q -- '--force' "$tmp/err"
ok_if "import refuses a database with versions" $?
sqlite3 "$tmp/small.db" "CREATE TABLE s(a); INSERT INTO s VALUES(42);"
"$s3page" import --force "$tmp/small.db" "$db" >/dev/null 2>&1 &&
  [ "$(sql "$db" "SELECT a FROM s")" = 42 ] &&
  [ "$(sql "$db" "PRAGMA s3page_version")" = 4 ] &&
  "$s3page" export "$db" "$tmp/small2.db" >/dev/null 2>&1 &&
  [ "$(sqlite3 "$tmp/small2.db" "PRAGMA integrity_check")" = ok ] &&
  [ "$(sqlite3 "$tmp/small.db" .dump)" = "$(sqlite3 "$tmp/small2.db" .dump)" ]
ok_if "import --force replaces the content as the next version" $?
# Only page 1's change counter, in-header size, schema cookie and
# version-valid-for (offsets 24-31, 40-43, 92-95; cmp counts from 1) differ.
st=0
for off in $(cmp -l "$tmp/small.db" "$tmp/small2.db" | awk '{print $1 - 1}'); do
  if [ "$off" -lt 24 ] || { [ "$off" -gt 31 ] && [ "$off" -lt 40 ]; } ||
     { [ "$off" -gt 43 ] && [ "$off" -lt 92 ]; } || [ "$off" -gt 95 ]; then
    echo "# import --force: export differs at byte $off"; st=1
  fi
done
[ "$(cmp -l "$tmp/small.db" "$tmp/small2.db" | wc -l)" -gt 0 ] || st=1
ok_if "import --force stamps only page 1's counters" $st

# A WAL-mode file is stored in rollback mode: bytes 18 and 19 differ.
w="$tmp/wal.db"
sqlite3 "$w" "PRAGMA journal_mode=WAL; CREATE TABLE w(a); INSERT INTO w VALUES(1),(2);
  PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
rm -f "$w-wal" "$w-shm"
dbw=$(new_name wal)
"$s3page" import "$w" "$dbw" >"$tmp/out" 2>&1 && grep -q 'WAL mode' "$tmp/out" &&
  "$s3page" export "$dbw" "$tmp/wal2.db" >/dev/null 2>&1 &&
  [ "$(cmp -l "$w" "$tmp/wal2.db" | wc -l)" -eq 2 ] &&
  [ "$(sql "$dbw" "SELECT sum(a) FROM w")" = 3 ]
ok_if "WAL-mode file imported in rollback mode (2 bytes differ)" $?

# --- twenty commits: export --version N equals the .dump at N --------------

db=$(new_name twenty)
i=1
while [ $i -le 20 ]; do
  if [ $i -eq 1 ]; then
    sql "$db" "CREATE TABLE h(n INTEGER PRIMARY KEY, s TEXT);" >/dev/null
  else
    sql "$db" "BEGIN; INSERT INTO h(s) VALUES('row $i'); UPDATE h SET s = s || '.' WHERE n % 3 = $i % 3; DELETE FROM h WHERE n = $i - 7; COMMIT;" >/dev/null
  fi
  sql "$db" ".dump" >"$tmp/dump.$i"
  if [ $i -eq 10 ]; then
    sleep 1.2
    t_mid=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ | cut -c1-23)Z
    sleep 1.2
  fi
  i=$((i + 1))
done
[ "$(sql "$db" "PRAGMA s3page_version")" = 20 ]
ok_if "twenty commits make twenty versions" $?
st=0
for n in 1 2 7 10 15 20; do
  if ! "$s3page" export "$db" "$tmp/x.db" --version $n >/dev/null 2>"$tmp/err"; then
    echo "# export --version $n: $(cat "$tmp/err")"; st=1; continue
  fi
  sqlite3 "$tmp/x.db" .dump >"$tmp/xdump"
  if ! cmp -s "$tmp/dump.$n" "$tmp/xdump"; then
    echo "# version $n: export differs from the .dump at $n"; st=1
  fi
done
ok_if "export --version N equals the .dump at N" $st
"$s3page" export "$db" "$tmp/x.db" --asof "$t_mid" >/dev/null 2>"$tmp/err" &&
  sqlite3 "$tmp/x.db" .dump >"$tmp/xdump" && cmp -s "$tmp/dump.10" "$tmp/xdump"
ok_if "export --asof between two commits gives the earlier" $?
"$s3page" export "$db" "$tmp/x.db" --asof 2001-01-01T00:00:00Z >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 1 ] && one_line_error "$tmp/err" && grep -q 'no version at or before' "$tmp/err"
ok_if "export --asof before the first commit: clear error" $?
"$s3page" log "$db" --limit 5 >"$tmp/log" 2>&1 && [ "$(wc -l <"$tmp/log")" -eq 6 ] &&
  head -2 "$tmp/log" | tail -1 | grep -q '^20 '
ok_if "log --limit 5: newest first" $?
"$s3page" log "$db" --json >"$tmp/log" 2>&1 && [ "$(grep -c '"version"' "$tmp/log")" -eq 20 ]
ok_if "log --json lists every version" $?
"$s3page" checkpoint "$db" >"$tmp/out" 2>&1 && grep -q 'version 21' "$tmp/out" &&
  "$s3page" log "$db" --limit 1 | tail -1 | grep -q 'yes$' &&
  [ "$(sql "$db" "PRAGMA s3page_version")" = 21 ] &&
  sql "$db" ".dump" | cmp -s "$tmp/dump.20" -
ok_if "checkpoint makes a new checkpoint version" $?
"$s3page" checkpoint "$db" >"$tmp/out" 2>&1 && grep -q 'already' "$tmp/out"
ok_if "checkpoint of a checkpoint does nothing" $?
"$s3page" verify "$db" --all >"$tmp/out" 2>&1 && grep -q 'all is well' "$tmp/out"
ok_if "verify --all passes" $?

# --- gc ----------------------------------------------------------------------

db=$(new_name gc)
sql "$db" "CREATE TABLE g(n INTEGER PRIMARY KEY, b BLOB);" >/dev/null
i=2
while [ $i -le 50 ]; do
  sql "$db" "BEGIN; INSERT INTO g(b) VALUES(randomblob(2000)); UPDATE g SET b = randomblob(1500) WHERE n = $i / 2; COMMIT;" >/dev/null
  i=$((i + 1))
done
sql "$db" ".dump" >"$tmp/gdump"
"$s3page" gc "$db" --keep-versions 5 >"$tmp/out" 2>&1 && grep -q 'deleted 0 records' "$tmp/out"
ok_if "gc keeps versions younger than the grace period" $?
"$s3page" gc "$db" --keep-versions 5 --grace 5m >"$tmp/out" 2>&1
st=$?
[ $st -eq 2 ] && grep -q 'too short.*at least 900 s' "$tmp/out" &&
  "$s3page" verify "$db" --version 1 >/dev/null 2>&1
ok_if "gc refuses --grace 5m, deleting nothing" $?
"$s3page" gc --help | grep -q 'must be at least 15m'
ok_if "gc --help says what grace is needed" $?
"$s3page" gc "$db" --keep-versions 5 --grace 15m --dry-run >"$tmp/out" 2>&1
ok_if "gc accepts --grace 15m" $?
"$s3page" gc "$db" --keep-versions 5 --grace 0 --dry-run --json >"$tmp/out" 2>&1 &&
  grep -q '"records_deleted":[1-9]' "$tmp/out" && "$s3page" verify "$db" --version 1 >/dev/null 2>&1
ok_if "gc --dry-run deletes nothing" $?
if [ -z "${S3PAGE_TEST_STORE:-}" ]; then
  # A recent marker of a bulk write that does not decode: gc must assume a
  # writer is uploading and spare every unused object.
  marker="$db/lease/0123456789abcdef0123456789abcdef"
  mkdir -p "$db/lease" && printf 'not a marker' >"$marker"
  "$s3page" gc "$db" --keep-versions 5 --grace 0 --dry-run --json >"$tmp/out" 2>&1 &&
    grep -q '"pages_deleted":0,' "$tmp/out" && grep -q '"leases_live":1,' "$tmp/out" &&
    grep -q '"objects_leased":[1-9]' "$tmp/out"
  ok_if "gc spares unused objects while a bulk-write marker is recent" $?
  rm -f "$marker"
fi
"$s3page" gc "$db" --keep-versions 5 --grace 0 --json >"$tmp/out" 2>&1
st=$?
echo "# $(cat "$tmp/out")"
[ $st -eq 0 ] && grep -q '"records_deleted":[1-9]' "$tmp/out" &&
  grep -q '"pages_deleted":[1-9]' "$tmp/out" && grep -q '"bytes_freed":[1-9]' "$tmp/out"
ok_if "gc --keep-versions 5 after 50 commits frees space" $?
"$s3page" verify "$db" --all >"$tmp/out" 2>&1
st=$?
[ $st -ne 0 ] && cat "$tmp/out" | sed 's/^/# /'
ok_if "verify --all passes after gc" $st
sql "$db" ".dump" >"$tmp/gdump2" && cmp -s "$tmp/gdump" "$tmp/gdump2" &&
  [ "$(sql "$db" "PRAGMA integrity_check")" = ok ]
ok_if "newest version unchanged by gc" $?
st=0
for n in 46 47 48 49 50; do
  "$s3page" export "$db" "$tmp/k.db" --version $n >/dev/null 2>&1 &&
    [ "$(sqlite3 "$tmp/k.db" "PRAGMA integrity_check")" = ok ] || st=1
done
ok_if "the 5 kept versions export and pass integrity_check" $st
"$s3page" export "$db" "$tmp/k.db" --version 3 >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 1 ] && one_line_error "$tmp/err" && grep -q 'removed by gc' "$tmp/err"
ok_if "export of a version removed by gc: clear error" $?
got=$(LD_PRELOAD="$lib" sqlite3 "file:$db?vfs=s3page&version=2" "SELECT 1" 2>&1)
echo "$got" | grep -q 'removed by gc\|unable to open'
ok_if "version= of a removed version fails cleanly" $?
sql "$db" "INSERT INTO g(b) VALUES(x'01')" >/dev/null &&
  [ "$(sql "$db" "PRAGMA s3page_version")" = 51 ]
ok_if "commits go on after gc" $?

# verify finds damage (local directory store only: the test edits files).
if [ -z "${S3PAGE_TEST_STORE:-}" ]; then
  db=$(new_name damage)
  sql "$db" "CREATE TABLE d(a, b); INSERT INTO d VALUES(1, randomblob(3000));" >/dev/null
  sql "$db" "INSERT INTO d VALUES(2, randomblob(3000));" >/dev/null
  set -- "$db"/pages/xxh128-*
  chmod u+w "$1" 2>/dev/null
  printf 'X' | dd of="$1" bs=1 seek=40 conv=notrunc 2>/dev/null
  rm -f "$2"
  "$s3page" verify "$db" --all >"$tmp/out" 2>"$tmp/err"
  st=$?
  [ $st -eq 1 ] && grep -q 'PROBLEMS' "$tmp/out" && grep -q 'is corrupt' "$tmp/err" &&
    grep -q 'is missing' "$tmp/err"
  ok_if "verify finds a damaged and a missing page object" $?
fi

# verify fails when the newest version cannot be opened (a record deleted).
if [ -z "${S3PAGE_TEST_STORE:-}" ]; then
  db=$(new_name gone)
  for i in 1 2 3 4 5; do sql "$db" "CREATE TABLE IF NOT EXISTS g(a); INSERT INTO g VALUES($i);" >/dev/null; done
  rm -f "$db/wal/00000000000000000003"
  "$s3page" verify "$db" >"$tmp/out" 2>"$tmp/err"
  st=$?
  "$s3page" verify "$db" --json >"$tmp/out2" 2>/dev/null
  st2=$?
  [ $st -eq 1 ] && [ $st2 -eq 1 ] && ! grep -q 'all is well' "$tmp/out" &&
    grep -q '"ok":false' "$tmp/out2" && grep -q '00000000000000000003' "$tmp/err"
  ok_if "verify of a version that cannot be opened: a problem, exit 1" $?
fi

# --- errors --------------------------------------------------------------------

printf 'this is not a database, just some text\n%.0s' $(seq 1 100) >"$tmp/text.txt"
db=$(new_name err)
"$s3page" import "$tmp/text.txt" "$db" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 1 ] && one_line_error "$tmp/err" && grep -q 'not a SQLite database' "$tmp/err"
ok_if "import of a non-SQLite file: one clear line, exit 1" $?
"$s3page" import "$tmp/nonexistent.db" "$db" >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 1 ] && one_line_error "$tmp/err"
ok_if "import of a missing file: one clear line, exit 1" $?
db=$(new_name twenty)
sql "$db" "CREATE TABLE a(b)" >/dev/null
"$s3page" export "$db" "$tmp/e.db" --version 99 >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st -eq 1 ] && one_line_error "$tmp/err" && grep -q 'version 99 does not exist' "$tmp/err" &&
  [ ! -e "$tmp/e.db" ]
ok_if "export of a version that does not exist: one clear line, exit 1" $?
empty=$(new_name empty)
[ -z "${S3PAGE_TEST_STORE:-}" ] && mkdir -p "$empty"
st=0
for cmd in "export $empty $tmp/e.db" "log $empty" "verify $empty" \
           "gc $empty --keep-versions 1" "checkpoint $empty"; do
  # shellcheck disable=SC2086
  "$s3page" $cmd >"$tmp/out" 2>"$tmp/err"
  if [ $? -ne 1 ] || ! one_line_error "$tmp/err"; then
    echo "# $cmd: exit/stderr not as expected: $(cat "$tmp/err")"; st=1
  fi
done
ok_if "a store with no database: one clear line, exit 1 (5 commands)" $st
"$s3page" gc "$db" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && one_line_error "$tmp/err"
ok_if "gc without --keep-*: usage error, exit 2" $?

[ "$failed" -eq 0 ]
