#!/bin/sh
# run.sh: the s3page benchmark (bench/README.md). Builds the benchmark
# database, imports it with `s3page import`, runs every workload in a fresh
# process against each target and prints one table.
#
#   make bench && sh bench/run.sh [--big]
#
# Targets: plain (SQLite on a local file, the baseline), dir (a local
# directory store), rgw (Ceph RGW on loopback, started here with
# tests/s3-server.sh and stopped at the end), rgw+10ms (the same RGW behind
# tests/delayproxy.py adding 10 ms each way). Knobs (environment):
# TARGETS="plain dir rgw rgw+10ms", WORKLOADS="W3 W4 W5 W5tx W1 W2" (reads
# first, on the database as imported; then the writes; also W5c W5s W5txh
# RAW HYD EXPORT, reads: put them before W1 W2), BENCH_DIR (where the
# database files go; default a fresh directory under TMPDIR, removed at the
# end). With AWS_ENDPOINT_URL and S3_BUCKET already set, that server is used
# and none is started.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
big=""
[ "${1:-}" = "--big" ] && big="--big"
TARGETS=${TARGETS:-"plain dir rgw rgw+10ms"}
WORKLOADS=${WORKLOADS:-"W3 W4 W5 W5tx W1 W2"}
bench="$top/build/bench/s3page-bench"
tool="$top/build/s3page"
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
pids=""
server=""

die() { echo "bench: $*" >&2; exit 1; }

# cleanup stops what this script started and removes its files.
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  [ -n "$server" ] && sh tests/s3-server.sh stop "$server" >/dev/null 2>&1
  [ -z "${BENCH_DIR:-}" ] && rm -rf "$work"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$bench" ] && [ -x "$tool" ] || die "build first: make bench"
rows=380000
[ -n "$big" ] && rows=7600000

echo "# building the database ($rows rows) ..." >&2
"$bench" build "$work/bench.sqlite" $big
pages=$(sqlite3 "$work/bench.sqlite" "PRAGMA page_count" 2>/dev/null || echo "?")

need_s3() {
  [ -n "${AWS_ENDPOINT_URL:-}" ] && [ -n "${S3_BUCKET:-}" ] && return 0
  echo "# starting Ceph RGW (tests/s3-server.sh) ..." >&2
  server="$work/s3"
  eval "$(sh tests/s3-server.sh start "$server")" || die "RGW did not start"
}

# start_proxy RTT_MS: starts tests/delayproxy.py in front of the server
# and sets proxy to its port (not in a subshell: its pid must reach
# cleanup).
start_proxy() {
  hostport=${AWS_ENDPOINT_URL#http://}
  hostport=${hostport%%/*}
  python3 tests/delayproxy.py "${hostport##*:}" "$1" >"$work/proxy.port" \
    2>"$work/proxy.err" &
  pids="$pids $!"
  i=0
  while [ ! -s "$work/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  proxy=$(head -1 "$work/proxy.port")
  [ -n "$proxy" ] || die "delayproxy did not start: $(cat "$work/proxy.err")"
}

results="$work/results"
: >"$results"
for target in $TARGETS; do
  plain=""
  case "$target" in
    plain)
      cp "$work/bench.sqlite" "$work/plain.sqlite"
      name="$work/plain.sqlite"; plain="--plain" ;;
    dir)
      name="$work/dirstore"
      echo "# importing into a directory store ..." >&2
      "$tool" import "$work/bench.sqlite" "$name" >/dev/null ;;
    rgw|rgw+10ms)
      need_s3
      db="s3://$S3_BUCKET/bench-$$-$(echo "$target" | tr -c 'a-z0-9\n' '-')"
      echo "# importing into $target ..." >&2
      "$tool" import "$work/bench.sqlite" "$db" >/dev/null
      if [ "$target" = rgw ]; then
        name="$db"
      else
        start_proxy 20
        name="file:$db?endpoint=http://127.0.0.1:$proxy"
      fi ;;
    *) die "unknown target $target" ;;
  esac
  for w in $WORKLOADS; do
    echo "# $target $w ..." >&2
    line=$("$bench" run "$name" "$w" "$rows" $plain) || die "$target $w failed"
    echo "$target $line" >>"$results"
  done
done

echo "# s3page benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -srm), $(nproc) cores,"
echo "# database: $rows rows, $pages pages of 4 KiB; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "| workload | target | time ms | x plain | GET | PUT | HEAD | LIST | round trips | KB in | notes |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for w in $WORKLOADS; do
  base=$(awk -v w="$w" '$1 == "plain" && $2 == w { sub("ms=", "", $3); print $3 }' "$results")
  # notes: requests per transaction (W5 family), download rates (RAW,
  # HYD; HYD as a share of RAW on the same target), W5txh against plain
  # W5tx.
  awk -v w="$w" -v base="${base:-0}" '
    function fields(line,   i, kv, a, n){
      delete f
      n = split(line, a, " ")
      for(i = 3; i <= n; i++){ split(a[i], kv, "="); f[kv[1]] = kv[2] }
    }
    {
      fields($0)
      if($2 == "RAW" && f["ms"] > 0) raw[$1] = f["in"] / f["ms"]
      if($1 == "plain" && $2 == "W5tx") w5tx = f["ms"]
      row[NR] = $0
    }
    END {
      for(r = 1; r <= NR; r++){
        split(row[r], a, " ")
        if(a[2] != w) continue
        t = a[1]
        fields(row[r])
        ratio = (base > 0) ? sprintf("%.1f", f["ms"] / base) : "-"
        note = ""
        if(f["txn"] > 0){
          note = sprintf("%.2f requests per transaction",
                         (f["get"] + f["put"] + f["head"] + f["list"]) / f["txn"])
        }
        if(f["objs"] > 0 && f["ms"] > 0){
          note = sprintf("%.1f MB/s, %d objects/s", f["in"] / 1048576 / (f["ms"] / 1000),
                         f["objs"] / (f["ms"] / 1000))
          if(w == "HYD" && raw[t] > 0){
            note = note sprintf(", %.0f%% of RAW", 100 * (f["in"] / f["ms"]) / raw[t])
          }
        }
        if(w == "W5txh" && t != "plain" && w5tx > 0){
          note = note sprintf("; %.1f x plain W5tx", f["ms"] / w5tx)
        }
        if(t == "plain"){
          printf "| %s | %s | %.1f | 1 | - | - | - | - | - | - | %s |\n", w, t, f["ms"], note
        }else{
          printf "| %s | %s | %.1f | %s | %d | %d | %d | %d | %s | %d | %s |\n", w, t,
            f["ms"], ratio, f["get"], f["put"], f["head"], f["list"], f["rt"],
            f["in"] / 1024, note
        }
      }
    }' "$results"
done
