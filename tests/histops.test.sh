#!/bin/sh
# histops.test.sh: s3page revert, copy and stats as a user runs them:
# revert --to V after a destructive migration (the newest .dump equals V's,
# the versions after V stay readable), copy to a fresh store (verify --all
# passes, exports of every version cmp-identical, a second run uploads
# nothing), stats --json (counts that agree with log and copy), and for
# hydrate --cache-dir (fills the disk cache once), and for
# each command --help, usage errors (exit 2) and failures (one line on
# stderr, exit 1). Databases live under S3PAGE_TEST_STORE when it is set,
# else in a temporary directory.
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

# new_name TAG: prints a fresh database name.
new_name() {
  seq=$((seq + 1))
  if [ -n "${S3PAGE_TEST_STORE:-}" ]; then
    echo "${S3PAGE_TEST_STORE%/}/histops-$$-$(date +%s)-$1-$seq"
  else
    echo "$tmp/$1-$seq"
  fi
}

# sql NAME SQL: runs SQL on database NAME through the s3page VFS.
sql() {
  LD_PRELOAD="$lib" sqlite3 -batch -bail -vfs s3page "$1" "$2" 2>&1
}

# one_line_error FILE: true if FILE holds exactly one line "s3page: ...".
one_line_error() {
  [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^s3page: ' "$1"
}

db=$(new_name rev)
sql "$db" "CREATE TABLE a(k INTEGER PRIMARY KEY, v TEXT); CREATE INDEX av ON a(v);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<800)
  INSERT INTO a SELECT i, 'value ' || i FROM n;" >/dev/null
v=$(sql "$db" "PRAGMA s3page_version")
sql "$db" ".dump" > "$tmp/v.dump"
sql "$db" "BEGIN; DROP INDEX av; DELETE FROM a WHERE k % 3 = 0; ALTER TABLE a ADD COLUMN w;
  CREATE TABLE b(x); COMMIT;" >/dev/null
m=$(sql "$db" "PRAGMA s3page_version")
sql "$db" ".dump" > "$tmp/m.dump"
"$s3page" revert "$db" --to "$v" > "$tmp/rev.out" 2>&1
st=$?
sql "$db" ".dump" > "$tmp/now.dump"
cmp -s "$tmp/v.dump" "$tmp/now.dump" || { st=1; echo "# the newest .dump differs from version $v's"; }
sql "file:$db?version=$m" ".dump" > "$tmp/m2.dump"
cmp -s "$tmp/m.dump" "$tmp/m2.dump" || { st=1; echo "# version $m changed"; }
grep -q "as version $((m + 1)) (on top of $m)" "$tmp/rev.out" || st=1
"$s3page" verify "$db" --all >/dev/null 2>&1 || st=1
[ $st -eq 0 ] || sed 's/^/# /' "$tmp/rev.out"
ok_if "revert --to V after a destructive migration" $st

st=0
"$s3page" revert "$db" --to 99999 2> "$tmp/e" >/dev/null; [ $? -eq 1 ] && one_line_error "$tmp/e" || st=1
"$s3page" revert "$db" 2>/dev/null >/dev/null; [ $? -eq 2 ] || st=1
"$s3page" revert "$db" --to 1 --asof 2026-01-01 2>/dev/null >/dev/null; [ $? -eq 2 ] || st=1
"$s3page" revert --help | grep -q '^usage: s3page revert' || st=1
"$s3page" revert "$db" --to "$v" --json > "$tmp/j" || st=1
grep -q '"created":true' "$tmp/j" || st=1
grep -q '"to":'"$v"',' "$tmp/j" || st=1
ok_if "revert --json, --help and errors" $st

dst=$(new_name copy)
st=0
"$s3page" copy "$db" "$dst" --json > "$tmp/c1" || st=1
"$s3page" copy "$db" "$dst" --json > "$tmp/c2" || st=1
grep -q '"objects_copied":0,' "$tmp/c2" || { st=1; cat "$tmp/c2"; }
grep -q '"records_copied":0,' "$tmp/c2" || st=1
"$s3page" verify "$dst" --all > /dev/null 2>&1 || st=1
newest=$(sql "$db" "PRAGMA s3page_version")
i=1
while [ $i -le "$newest" ]; do
  "$s3page" export "$db" "$tmp/x.db" --version $i -q &&
  "$s3page" export "$dst" "$tmp/y.db" --version $i -q &&
  cmp -s "$tmp/x.db" "$tmp/y.db" || { st=1; echo "# version $i differs"; }
  rm -f "$tmp/x.db" "$tmp/y.db"
  i=$((i + 1))
done
ok_if "copy: verify --all on DST, every version cmp-identical, rerun uploads nothing" $st

st=0
part=$(new_name since)
"$s3page" copy "$db" "$part" --since "$newest" --json > "$tmp/c3" || st=1
"$s3page" verify "$part" --all > /dev/null 2>&1 || st=1
"$s3page" export "$db" "$tmp/x.db" -q && "$s3page" export "$part" "$tmp/y.db" -q &&
  cmp -s "$tmp/x.db" "$tmp/y.db" || st=1
"$s3page" copy "$db" "$(new_name since2)" --since 99999 2> "$tmp/e" >/dev/null; [ $? -eq 1 ] && one_line_error "$tmp/e" || st=1
[ $st -eq 0 ] || cat "$tmp/c3" "$tmp/e"
ok_if "copy --since V" $st

st=0
one=$(new_name one)
mid=$((newest - 1))
"$s3page" copy "$db" "$one" --version "$mid" --json > "$tmp/c4" || st=1
grep -q '"newest":'"$mid"',' "$tmp/c4" || st=1
[ "$(sql "$one" "PRAGMA s3page_version")" = "$mid" ] || st=1
"$s3page" export "$db" "$tmp/x.db" --version "$mid" -q && "$s3page" export "$one" "$tmp/y.db" -q &&
  cmp -s "$tmp/x.db" "$tmp/y.db" || st=1
rm -f "$tmp/x.db" "$tmp/y.db"
"$s3page" copy "$db" "$(new_name one2)" --version 99999 2> "$tmp/e" >/dev/null; [ $? -eq 1 ] && one_line_error "$tmp/e" || st=1
"$s3page" copy "$db" "$(new_name one3)" --version 1 --since 1 2>/dev/null >/dev/null; [ $? -eq 2 ] || st=1
[ $st -eq 0 ] || cat "$tmp/c4" "$tmp/e"
ok_if "copy --version V: V alone is DST's newest, export identical" $st

st=0
other=$(new_name other)
sql "$other" "CREATE TABLE z(q);" >/dev/null
"$s3page" copy "$db" "$other" 2> "$tmp/e" >/dev/null; [ $? -eq 1 ] && one_line_error "$tmp/e" || st=1
"$s3page" copy "$db" 2>/dev/null >/dev/null; [ $? -eq 2 ] || st=1
"$s3page" copy --help | grep -q '^usage: s3page copy' || st=1
[ $st -eq 0 ] || cat "$tmp/e"
ok_if "copy into another database, --help and errors" $st

st=0
"$s3page" stats "$dst" --json > "$tmp/s" || st=1
grep -q '"newest":'"$newest"',' "$tmp/s" || st=1
grep -q '"records":{"objects":'"$newest"',' "$tmp/s" || st=1
objs=$(sed -n 's/.*"objects_copied":\([0-9]*\),.*/\1/p' "$tmp/c1")
p=$(sed -n 's/.*"pages":{"objects":\([0-9]*\),.*/\1/p' "$tmp/s")
n=$(sed -n 's/.*"nodes":{"objects":\([0-9]*\),.*/\1/p' "$tmp/s")
[ "$objs" -eq $((p + n)) ] || { st=1; echo "# copied $objs objects, stats says $p + $n"; }
"$s3page" stats "$dst" --price-put-1k 2 > "$tmp/t" || st=1
grep -q 'per 1,000 PUTs' "$tmp/t" || st=1
"$s3page" stats "$dst" --price-put-1k abc 2>/dev/null >/dev/null; [ $? -eq 2 ] || st=1
"$s3page" stats "$(new_name none)" 2> "$tmp/e" >/dev/null; [ $? -eq 1 ] && one_line_error "$tmp/e" || st=1
"$s3page" stats --help | grep -q '^usage: s3page stats' || st=1
[ $st -eq 0 ] || cat "$tmp/s" "$tmp/e"
ok_if "stats --json agrees with copy and log; --help and errors" $st

# hydrate: every page of the newest version into a disk cache, once.
st=0
"$s3page" hydrate "$dst" --cache-dir "$tmp/dc" --json > "$tmp/h" || st=1
grep -q '"state":"done"' "$tmp/h" || st=1
grep -q '"failed":0,' "$tmp/h" || st=1
hp=$(sed -n 's/.*"pages":\([0-9]*\),.*/\1/p' "$tmp/h")
hd=$(sed -n 's/.*"done":\([0-9]*\),.*/\1/p' "$tmp/h")
files=$(find "$tmp/dc" -type f ! -name '.t*' | wc -l)
[ -n "$hp" ] && [ "$hp" -gt 0 ] && [ "$hd" -eq "$hp" ] && [ "$files" -eq "$hp" ] || {
  st=1; echo "# hydrate: pages $hp, done $hd, files in the cache $files"; }
"$s3page" hydrate "$dst" --cache-dir "$tmp/dc" > "$tmp/h2" || st=1
grep -q '(0 downloaded' "$tmp/h2" || st=1
"$s3page" hydrate 2>/dev/null >/dev/null; [ $? -eq 2 ] || st=1
"$s3page" hydrate "$(new_name none)" 2> "$tmp/e" >/dev/null; [ $? -eq 1 ] && one_line_error "$tmp/e" || st=1
"$s3page" hydrate --help | grep -q '^usage: s3page hydrate' || st=1
[ $st -eq 0 ] || cat "$tmp/h" "$tmp/h2" "$tmp/e"
ok_if "hydrate fills a disk cache once; --help and errors" $st

[ "$failed" -eq 0 ]
