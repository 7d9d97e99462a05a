#!/bin/sh
# commit-latency.sh: how long a COMMIT takes on S3 when every request
# costs D more, for commits of 1 to 1000 pages. See bench/README.md.
#
#   eval "$(sh tests/s3-server.sh start /tmp/s3)"   # the test S3 server
#   sh bench/commit-latency.sh                      # D = 0, 10, 50 ms
#   sh tests/s3-server.sh stop /tmp/s3
#
# Knobs (environment): DELAYS="0 10 50" (added round-trip time per request,
# ms), SIZES="1 50 200 1000" (pages per commit; the smallest commit SQL can
# make changes one row, i.e. 2 pages), REPS=3 (commits measured per size
# and delay; the table shows the median, min and max), CONCURRENCY=64.
# Without AWS_ENDPOINT_URL and S3_BUCKET in the environment it runs on
# tests/fake-s3-nocond.py (honouring conditions) instead of a real server.
#
# Method: tests/delayproxy.py sits between s3page and the server and holds
# every chunk RTT/2 in each direction. One `s3page shell` session per delay
# creates a table of one 3000-byte row per 4 KiB page and loads it (so every
# page is in its caches: the measured transactions read nothing but the
# freshness probe), commits once more (so the HEAD hint is pending, as in
# steady use), then for each size runs BEGIN; UPDATE of rows-1 rows (plus
# page 1: `size` pages); and times the COMMIT alone with the shell's
# `.timer on`, reading PRAGMA s3page_stats around it. The database uses
# checkpoint=1000, so no measured commit is a checkpoint version.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
DELAYS=${DELAYS:-"0 10 50"}
SIZES=${SIZES:-"1 50 200 1000"}
REPS=${REPS:-3}
CONCURRENCY=${CONCURRENCY:-64}
tool="$top/build/s3page"
work=$(mktemp -d)
pids=""

# cleanup stops the processes this script started and removes its files.
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "commit-latency: $*" >&2; exit 1; }

[ -x "$tool" ] || die "build/s3page missing (make all)"
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 missing"
command -v python3 >/dev/null 2>&1 || die "python3 missing"

# start_bg OUTFILE CMD...: starts CMD in the background with stdout to
# OUTFILE, records its pid and waits for its first line (a port), which it
# leaves in $port. Not to be run in a subshell ($(...)): the pid must reach
# cleanup.
start_bg() {
  out=$1; shift
  "$@" >"$out" 2>"$out.err" &
  pids="$pids $!"
  i=0
  while [ ! -s "$out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  port=$(head -1 "$out")
  [ -n "$port" ] || die "$1 did not start: $(cat "$out.err")"
}

if [ -n "${AWS_ENDPOINT_URL:-}" ] && [ -n "${S3_BUCKET:-}" ]; then
  hostport=${AWS_ENDPOINT_URL#http://}
  hostport=${hostport%%/*}
  case "$hostport" in
    127.0.0.1:*|localhost:*) upstream=${hostport##*:} ;;
    *) die "the proxy forwards to loopback only; AWS_ENDPOINT_URL is $AWS_ENDPOINT_URL" ;;
  esac
  bucket=$S3_BUCKET
  what="S3 server at 127.0.0.1:$upstream"
else
  start_bg "$work/fake.port" python3 tests/fake-s3-nocond.py --cond
  upstream=$port
  bucket=benchbucket
  export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
  what="tests/fake-s3-nocond.py --cond (no AWS_ENDPOINT_URL/S3_BUCKET set)"
fi
unset S3PAGE_TRUST_CONDITIONAL || true

# Rows of the table: one per page, enough for the largest commit.
maxsize=1
for s in $SIZES; do [ "$s" -gt "$maxsize" ] && maxsize=$s; done
rows=$((maxsize + 50))

# session_sql: the SQL of one session on stdin of the shell.
session_sql() {
  echo "PRAGMA page_size=4096; PRAGMA cache_size=-400000;"
  echo "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);"
  echo "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
  echo "  WHERE i < $rows) INSERT INTO t SELECT i, randomblob(3000) FROM c;"
  echo "COMMIT;"
  echo "UPDATE t SET b = randomblob(3000) WHERE id = 1;"
  rep=1
  while [ $rep -le "$REPS" ]; do
    for size in $SIZES; do
      n=$((size - 1)); [ $n -lt 1 ] && n=1
      echo "BEGIN; UPDATE t SET b = randomblob(3000) WHERE id BETWEEN 1 AND $n;"
      echo "PRAGMA s3page_stats=reset;"
      echo ".print size=$size"
      echo ".timer on"
      echo "COMMIT;"
      echo ".timer off"
      echo "PRAGMA s3page_stats;"
    done
    rep=$((rep + 1))
  done
}

echo "# commit latency: $what, behind tests/delayproxy.py"
echo "# concurrency $CONCURRENCY, $REPS commits per row (median [min-max]),"
echo "# COMMIT alone timed; D = round-trip time added to every request"
printf '%6s %6s %8s %10s %17s %6s %5s %6s\n' "D_ms" "pages" "put" "trips" \
  "commit_ms" "in_D" "rows" "ideal"
for d in $DELAYS; do
  start_bg "$work/proxy-$d.port" python3 tests/delayproxy.py "$upstream" "$d"
  proxy=$port
  name="s3://$bucket/bench-commit-$$-$d"
  uri="file:$name?endpoint=http://127.0.0.1:$proxy&concurrency=$CONCURRENCY&checkpoint=1000"
  session_sql | "$tool" shell "$uri" >"$work/out-$d" 2>"$work/err-$d" \
    || die "the shell failed at D=$d: $(head -5 "$work/err-$d")"
  # Lines: size=N / Run Time: real S ... / version=.. put=.. round_trips=..
  awk -v d="$d" -v conc="$CONCURRENCY" '
    /^size=/ { size = substr($0, 6) }
    /^Run Time:/ { ms = $4 * 1000 }
    /round_trips=/ {
      put = 0; trips = 0
      for(i = 1; i <= NF; i++){
        split($i, kv, "=")
        if(kv[1] == "put") put = kv[2]
        if(kv[1] == "round_trips") trips = kv[2]
      }
      print size, ms, put, trips
    }' "$work/out-$d" >"$work/rows-$d"
  for size in $SIZES; do
    grep "^$size " "$work/rows-$d" | sort -n -k2 | awk -v d="$d" \
      -v conc="$CONCURRENCY" -v size="$size" '
      { ms[NR] = $2; put = $3; trips = $4 }
      END {
        if(NR == 0){ printf "%6s %6s  (no result)\n", d, size; exit }
        med = ms[int((NR + 1) / 2)]
        pages = size < 2 ? 2 : size
        ideal = int((put - 1 + conc - 1) / conc) + 1
        printf "%6s %6s %8s %10s %7.1f [%.0f-%.0f] %6.2f %5s %5sD\n", d, pages,
          put, trips, med, ms[1], ms[NR], (d > 0 ? med / d : 0), pages - 1,
          ideal
      }'
  done
done
echo "# put: PUT requests of the commit (pages + HEAD hint + the record);"
echo "# ideal: ceil((put - 1) / concurrency) waves of uploads + 1 record"
