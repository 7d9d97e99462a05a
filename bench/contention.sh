#!/bin/sh
# contention.sh: commits per second, conflicts returned to the application
# and rebases, for W = 1, 2, 4, 8 writers (processes that share no local
# lock, standing in for machines), in issue 11's three mixes, with rebase
# on and off, against the S3 test server behind tests/delayproxy.py.
#
#   sh bench/contention.sh          # starts RGW itself and stops it after
#
# Knobs: WRITERS="1 2 4 8", MIXES="a b c", TXNS=200 (per writer),
# RTT=20 (ms added per request: 10 ms each way). With AWS_ENDPOINT_URL and
# S3_BUCKET set (a loopback server) it uses that server instead of
# starting one. Mixes (bench/contention.c): a = update a random row of a
# 100,000-row table, b = insert into the writer's own table, c = increment
# one shared counter row.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
WRITERS=${WRITERS:-"1 2 4 8"}
MIXES=${MIXES:-"a b c"}
TXNS=${TXNS:-200}
RTT=${RTT:-20}
bin="$top/build/bench/contention"
work=$(mktemp -d)
pids=""
started=""

# cleanup stops what this script started and removes its files.
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  [ -n "$started" ] && sh tests/s3-server.sh stop "$work/rgw" >/dev/null 2>&1
  rm -rf "$work" /tmp/s3page-ct-*
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "contention: $*" >&2; exit 1; }

[ -x "$bin" ] || make -s bench-contention >/dev/null || die "build failed"
if [ -z "${AWS_ENDPOINT_URL:-}" ] || [ -z "${S3_BUCKET:-}" ]; then
  eval "$(sh tests/s3-server.sh start "$work/rgw")"
  started=1
fi
hostport=${AWS_ENDPOINT_URL#http://}
hostport=${hostport%%/*}
upstream=${hostport##*:}
python3 tests/delayproxy.py "$upstream" "$RTT" >"$work/proxy.port" 2>"$work/proxy.err" &
pids="$pids $!"
i=0
while [ ! -s "$work/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
proxy=$(head -1 "$work/proxy.port")
[ -n "$proxy" ] || die "delayproxy did not start: $(cat "$work/proxy.err")"

echo "# contention: $TXNS one-row transactions per writer, S3 test server"
echo "# behind tests/delayproxy.py ($RTT ms per request), $(nproc) cores,"
echo "# $(date -u +%Y-%m-%d)"
printf '| mix | W | rebase | commits/s | conflicts returned | txns that saw one | rebases |\n'
printf '|---|---|---|---|---|---|---|\n'
for mix in $MIXES; do
  for w in $WRITERS; do
    for rb in 1 0; do
      name="s3://$S3_BUCKET/contention-$$-$mix-$w-$rb"
      line=$("$bin" "$name" "$mix" "$w" "$TXNS" \
        "endpoint=http://127.0.0.1:$proxy&rebase=$rb") || die "$mix W=$w: $line"
      eval "$(echo "$line" | tr ' ' '\n' | grep '=' | sed 's/^/r_/')"
      printf '| %s | %s | %s | %s | %s | %s%% | %s |\n' "$mix" "$w" \
        "$([ $rb = 1 ] && echo on || echo off)" "$r_commits_per_s" \
        "$r_conflicts" "$r_conflicted_pct" "$r_rebases"
    done
  done
done
