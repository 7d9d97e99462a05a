#!/bin/sh
# cred.test.sh: "s3page version s3://my-bucket/db" with no credentials
# anywhere prints, in one message, the provider chain it tried, and exits
# 1 within 2 seconds, metadata timeout included: the instance metadata endpoint is
# a listener on 127.0.0.1 that never answers (the way 169.254.169.254
# behaves off EC2, without touching it). Prints "ok - NAME" / "not ok -".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
tmp=$(mktemp -d)
bh=""
cleanup() {
  [ -n "$bh" ] && kill "$bh" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A listener that accepts connections and never says a word.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
time.sleep(60)
' >"$tmp/port" &
bh=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(head -1 "$tmp/port")
mkdir "$tmp/home"

start=$(date +%s%N)
env -i PATH="$PATH" HOME="$tmp/home" \
  AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port" \
  build/s3page version s3://my-bucket/db >"$tmp/out" 2>"$tmp/err"
rc=$?
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
sed 's/^/# /' "$tmp/err"
echo "# exit $rc after $ms ms"
want="s3page: cannot open s3://my-bucket/db: no credentials: environment not set; no web identity token; profile default not found in ~/.aws; container credentials not set; instance metadata not reachable"
if [ "$rc" -eq 1 ] && [ "$(cat "$tmp/err")" = "$want" ] && [ ! -s "$tmp/out" ]; then
  echo "ok - no credentials: one message naming the chain, exit 1"
else
  echo "not ok - no credentials: one message naming the chain, exit 1"
fi
if [ "$ms" -lt 2000 ]; then
  echo "ok - no credentials: answered within 2 s"
else
  echo "not ok - no credentials: answered within 2 s"
fi
