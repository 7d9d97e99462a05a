#!/bin/sh
# python.test.sh: runs every ```python example of docs/python.md, as
# written, with Debian's python3 (the standard sqlite3 module, and APSW
# from python3-apsw), against tests/fake-s3-nocond.py on 127.0.0.1 (with
# create-if-absent and SigV4 checks). The library is found through
# LD_LIBRARY_PATH=build, as the document says. Prints "ok - NAME" /
# "not ok - NAME" per example.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d)
srv=""
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Split the document into one file per example.
awk -v dir="$tmp" '
  /^```python$/ { n++; f = sprintf("%s/example%d.py", dir, n); inb = 1; next }
  /^```$/ && inb { inb = 0; close(f); next }
  inb { print > f }
' docs/python.md
count=$(ls "$tmp"/example*.py 2>/dev/null | wc -l)
if [ "$count" -lt 3 ]; then
  echo "not ok - docs/python.md has $count examples, want at least 3"
  exit 1
fi

# The fake checks signatures against these (it inherits them).
export LD_LIBRARY_PATH="$top/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export AWS_ACCESS_KEY_ID=AKIDPYTHONTEST
export AWS_SECRET_ACCESS_KEY=python-test-secret
export AWS_SESSION_TOKEN=python-test-token
export AWS_EC2_METADATA_DISABLED=true
export S3PAGE_TRUST_CONDITIONAL=0
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
python3 tests/fake-s3-nocond.py --cond --verify >"$tmp/port" &
srv=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(head -1 "$tmp/port")
if [ -z "$port" ]; then
  echo "not ok - fake S3 server did not start"
  exit 1
fi
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"

n=0
for ex in "$tmp"/example*.py; do
  n=$((n + 1))
  name="docs/python.md example $n"
  if grep -q '^import apsw' "$ex" && ! "$py" -c 'import apsw' 2>/dev/null; then
    echo "# $name needs python3-apsw (make deps installs it)"
    echo "not ok - $name"
    continue
  fi
  if (cd "$tmp" && "$py" "$ex") >"$tmp/out" 2>&1; then
    sed 's/^/# /' "$tmp/out"
    echo "ok - $name"
  else
    sed 's/^/# /' "$tmp/out"
    echo "not ok - $name"
  fi
  if grep -q -e "$AWS_SECRET_ACCESS_KEY" -e "$AWS_SESSION_TOKEN" "$tmp/out"; then
    echo "not ok - $name prints a secret"
  fi
done
