#!/bin/sh
# diff.test.sh: s3page diff as a user runs it, against plain SQLite. A
# random workload (inserts, updates, deletes, some values large enough for
# overflow pages) runs on three tables, once through s3page and once on a
# plain SQLite file; then `s3page diff NAME A --sql`, applied with the
# sqlite3 shell to an export of version A, must give a file whose .dump
# equals both the export of the newest version and the plain file (a
# fourth table is WITHOUT ROWID, keyed DESC and NOCASE). Also:
# A trigger logs deletes into a fourth table: the statements must not fire
# it again (they drop A's triggers first and create B's last).
# --rows after a one-row UPDATE names that row with its old and new values,
# --json holds the counts, and the errors are one line with exit 1 (2 for
# usage). Databases live under S3PAGE_TEST_STORE when it is set, else in a
# temporary directory. S3PAGE_DIFF_STEPS sets the workload length (600; 200
# with S3PAGE_TEST_QUICK=1).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
s3page="$top/build/s3page"
lib="$top/build/libs3page.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
. "$top/tests/lib/check.sh"
steps=${S3PAGE_DIFF_STEPS:-600}
[ "${S3PAGE_TEST_QUICK:-0}" = 1 ] && steps=${S3PAGE_DIFF_STEPS:-200}

if [ -n "${S3PAGE_TEST_STORE:-}" ]; then
  name="${S3PAGE_TEST_STORE%/}/diff-$$-$(date +%s)"
else
  name="$tmp/db"
fi

# sql SQL: runs SQL on the s3page database.
sql() {
  LD_PRELOAD="$lib" sqlite3 -batch -bail -vfs s3page "$name" "$1" 2>&1
}

schema="CREATE TABLE t1(id INTEGER PRIMARY KEY, a TEXT, b REAL);
CREATE TABLE t2(x TEXT, y BLOB);
CREATE TABLE t3(k TEXT UNIQUE, n INT, note TEXT);
CREATE INDEX t3n ON t3(n);
CREATE TABLE t4(k TEXT COLLATE NOCASE, n INT, v, PRIMARY KEY(n DESC, k)) WITHOUT ROWID;
CREATE TABLE log(what TEXT);
CREATE TRIGGER t1_del AFTER DELETE ON t1 BEGIN INSERT INTO log VALUES('del ' || old.id); END;"

# The workload: a deterministic pseudo-random script (seed 7).
awk -v steps="$steps" 'BEGIN {
  srand(7);
  for (i = 1; i <= 300; i++) {
    printf "INSERT INTO t1 VALUES(%d, %c%s-%d%c, %d.5);\n", i, 39, "a", i, 39, i;
    printf "INSERT INTO t2 VALUES(%cx%d%c, CAST(printf(%c%%.%dc%c, %cq%c) AS BLOB));\n", 39, i, 39, 39, (i % 10 == 0) ? 6000 : 30, 39, 39, 39;
    printf "INSERT INTO t3 VALUES(%ck%d%c, %d, NULL);\n", 39, i, 39, i % 17;
    printf "INSERT INTO t4 VALUES(%cK%d%c, %d, %d);\n", 39, i, 39, i % 23, i;
  }
  print "--split";
  for (s = 0; s < steps; s++) {
    r = int(rand() * 12); id = 1 + int(rand() * 400);
    if (r == 9) { printf "INSERT OR REPLACE INTO t4 VALUES(%ck%d%c, %d, %cw%d%c);\n", 39, id, 39, id % 23, 39, s, 39; continue; }
    if (r == 10) { printf "UPDATE t4 SET v = v || %c+%c WHERE n = %d AND k = %ck%d%c;\n", 39, 39, id % 23, 39, id, 39; continue; }
    if (r == 11) { printf "DELETE FROM t4 WHERE n = %d AND k = %cK%d%c;\n", id % 23, 39, id, 39; continue; }
    if (r == 0) printf "INSERT OR REPLACE INTO t1 VALUES(%d, %cn%d%c, %d);\n", id, 39, s, 39, s;
    else if (r == 1) printf "UPDATE t1 SET a = a || %c.%c WHERE id = %d;\n", 39, 39, id;
    else if (r == 2) printf "DELETE FROM t1 WHERE id = %d;\n", id;
    else if (r == 3) printf "INSERT INTO t2 VALUES(%cs%d%c, zeroblob(%d));\n", 39, s, 39, (s % 7 == 0) ? 9000 : 10;
    else if (r == 4) printf "UPDATE t2 SET y = x%c%02x%c WHERE rowid = %d;\n", 39, s % 256, 39, id;
    else if (r == 5) printf "DELETE FROM t2 WHERE rowid = %d;\n", id;
    else if (r == 6) printf "INSERT OR IGNORE INTO t3 VALUES(%ck%d%c, %d, %cnew%c);\n", 39, id, 39, s % 5, 39, 39;
    else if (r == 7) printf "UPDATE t3 SET n = n + 1, note = %cu%d%c WHERE k = %ck%d%c;\n", 39, s, 39, 39, id, 39;
    else printf "DELETE FROM t3 WHERE k = %ck%d%c;\n", 39, id, 39;
  }
}' > "$tmp/all.sql"
sed -n '1,/^--split$/p' "$tmp/all.sql" | grep -v '^--split' > "$tmp/load.sql"
sed -n '/^--split$/,$p' "$tmp/all.sql" | grep -v '^--split' > "$tmp/work.sql"

# The plain file and the s3page database: same schema, load, workload.
{ echo "$schema"; cat "$tmp/load.sql" "$tmp/work.sql"; } | sqlite3 -bail "$tmp/plain.db"
sql "$schema BEGIN; $(cat "$tmp/load.sql") COMMIT;" >/dev/null
va=$(sql "PRAGMA s3page_version")
# The workload in a few transactions, so that A..B spans several versions.
split -l 50 "$tmp/work.sql" "$tmp/chunk."
for f in "$tmp"/chunk.*; do
  sql "BEGIN; $(cat "$f") COMMIT;" >/dev/null || echo "# chunk $f failed"
done
vb=$(sql "PRAGMA s3page_version")
echo "# versions $va..$vb, $steps steps"

"$s3page" export "$name" "$tmp/a.db" --version "$va" -q &&
"$s3page" export "$name" "$tmp/b.db" -q &&
"$s3page" diff "$name" "$va" --sql > "$tmp/d.sql" 2> "$tmp/d.err"
st=$?
[ $st -eq 0 ] || { echo "# diff --sql: exit $st: $(cat "$tmp/d.err")"; }
echo "# $(grep -c '^DELETE' "$tmp/d.sql") deletes, $(grep -c '^UPDATE' "$tmp/d.sql") updates, $(grep -c '^INSERT' "$tmp/d.sql") inserts"
sqlite3 -bail "$tmp/a.db" < "$tmp/d.sql" > "$tmp/apply.out" 2>&1 || { st=1; echo "# applying: $(head -3 "$tmp/apply.out")"; }
sqlite3 "$tmp/a.db" .dump > "$tmp/a.dump"
sqlite3 "$tmp/b.db" .dump > "$tmp/b.dump"
sqlite3 "$tmp/plain.db" .dump > "$tmp/plain.dump"
cmp -s "$tmp/a.dump" "$tmp/b.dump" || { st=1; echo "# A + diff --sql differs from B:"; diff "$tmp/a.dump" "$tmp/b.dump" | head -5 | sed 's/^/# /'; }
cmp -s "$tmp/b.dump" "$tmp/plain.dump" || { st=1; echo "# B differs from plain SQLite"; }
ok_if "diff --sql turns A into B (random workload, four tables)" $st

# A one-row UPDATE: --rows names that row, old and new values.
sql "UPDATE t1 SET a = 'one-row-change' WHERE id = (SELECT min(id) FROM t1)" >/dev/null
old=$(sql "SELECT a FROM t1 WHERE id = (SELECT min(id) FROM t1)" )
id=$(sql "SELECT min(id) FROM t1")
vc=$(sql "PRAGMA s3page_version")
"$s3page" diff "$name" "$vb" "$vc" --rows > "$tmp/rows.out" 2>&1
st=$?
grep -q "t1 updated rowid $id" "$tmp/rows.out" || st=1
grep -q "new (id=$id, a='one-row-change'" "$tmp/rows.out" || st=1
[ "$(grep -c 'updated rowid' "$tmp/rows.out")" -eq 1 ] || st=1
[ "$(grep -c 'inserted rowid\|deleted rowid' "$tmp/rows.out")" -eq 0 ] || st=1
[ $st -eq 0 ] || sed 's/^/# /' "$tmp/rows.out"
ok_if "diff --rows after a one-row UPDATE" $st

"$s3page" diff "$name" "$vb" "$vc" --rows --json > "$tmp/j.out" 2>&1
st=$?
grep -q '"rows_updated":1,' "$tmp/j.out" || st=1
grep -q '"op":"updated","rowid":'"$id"',' "$tmp/j.out" || st=1
grep -q '"new":{"id":'"$id"',"a":"one-row-change"' "$tmp/j.out" || st=1
[ $st -eq 0 ] || sed 's/^/# /' "$tmp/j.out"
ok_if "diff --json" $st

# Errors: a missing version, a bad argument.
"$s3page" diff "$name" 99999 > /dev/null 2> "$tmp/e1"
e1=$?
"$s3page" diff "$name" > /dev/null 2> "$tmp/e2"
e2=$?
st=0
[ $e1 -eq 1 ] && [ "$(wc -l < "$tmp/e1")" -eq 1 ] && grep -q '^s3page: ' "$tmp/e1" || st=1
[ $e2 -eq 2 ] || st=1
"$s3page" diff --help | grep -q 'usage: s3page diff' || st=1
[ $st -eq 0 ] || { cat "$tmp/e1" "$tmp/e2" | sed 's/^/# /'; }
ok_if "diff errors and --help" $st

[ "$failed" -eq 0 ]
