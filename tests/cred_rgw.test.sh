#!/bin/sh
# cred_rgw.test.sh: temporary credentials from a real STS (RGW's, as
# tests/s3-server.sh sets it up) work end to end, a session token of more
# than 4 KB included:
#   - AssumeRole (signed by the S3PAGE_STS_* user, with a 2048-character
#     session policy) answers a token of at least 4096 characters;
#   - with it in AWS_SESSION_TOKEN, `s3page shell` creates and writes a
#     database, another process reads it, `s3page version` and `verify`
#     work; the same token with its start changed, or none, is refused
#     (400 / 403), so RGW does check it;
#   - a profile's credential_process handing out the same credentials;
#   - a profile with role_arn + source_profile, AWS_ENDPOINT_URL_STS at
#     RGW: s3page's own AssumeRole against a real STS; the source keys
#     alone are refused by the bucket, so success means the role's
#     temporary credentials signed the requests.
# Runs only in the S3 pass of tests/run.sh (S3PAGE_TEST_STORE=s3://... and
# the S3PAGE_STS_* variables of tests/s3-server.sh); elsewhere it says it
# skipped and prints no result line. On S3 without S3PAGE_STS_ROLE_ARN it
# fails. Secrets are never printed: only their lengths. Prints "ok - NAME"
# / "not ok - NAME" lines and "#" diagnostics.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
tool="$top/build/s3page"

case "${S3PAGE_TEST_STORE:-}" in
  s3://*) ;;
  *) echo "# SKIP: not on S3 (S3PAGE_TEST_STORE is not s3://...); runs in the S3 pass"
     exit 0 ;;
esac
if [ -z "${S3PAGE_STS_ROLE_ARN:-}" ] || [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  echo "not ok - rgw_sts_configured # S3PAGE_STS_ROLE_ARN or AWS_ENDPOINT_URL unset (start RGW with tests/s3-server.sh)"
  exit 1
fi
if [ ! -x "$tool" ] || ! command -v sqlite3 >/dev/null 2>&1; then
  echo "not ok - tool_and_sqlite3_present # build/s3page or sqlite3 missing"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 700 "$tmp"
region=${AWS_REGION:-us-east-1}
endpoint=$AWS_ENDPOINT_URL
db="${S3PAGE_TEST_STORE%/}/credrgw-$$-$(date +%s)/db"
failed=0
. "$top/tests/lib/check.sh"
echo "# database $db"

# run_as [NAME=VALUE...] CMD...: runs CMD with no AWS_* variable but the
# S3 endpoint and region, no metadata service, a private HOME, and the
# NAME=VALUEs, exported (so that no secret is on a command line).
run_as() {
  (
    for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do
      unset "$v"
    done
    export HOME="$tmp/home" AWS_ENDPOINT_URL="$endpoint" \
      AWS_REGION="$region" AWS_EC2_METADATA_DISABLED=true
    while [ $# -gt 0 ]; do
      case "$1" in
        *=*) export "$1"; shift ;;
        *) break ;;
      esac
    done
    exec "$@"
  )
}
mkdir -p "$tmp/home/.aws"

# 1. AssumeRole at RGW with a session policy of RGW's maximum, 2048
# characters, and a 64-character session name. The answer's credentials
# go to files (mode 600), never to the output.
python3 - "$tmp/form" <<'PYEOF'
import json, sys, urllib.parse
s = ('{"Version":"2012-10-17","Statement":[{"Sid":"%s","Effect":"Allow",'
     '"Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}')
policy = s % ("P" * (2048 - len(s % "")))
assert len(policy) == 2048 and json.loads(policy)
form = urllib.parse.urlencode({
    "Action": "AssumeRole", "Version": "2011-06-15",
    "RoleArn": "arn:aws:iam:::role/s3page-sts",
    "RoleSessionName": "s3page-" + "s" * 57, "Policy": policy,
    "DurationSeconds": "3600"}, quote_via=urllib.parse.quote)
open(sys.argv[1], "w").write(form)
PYEOF
code=$(curl -sS -o "$tmp/sts.xml" -w '%{http_code}' --max-time 20 \
  --aws-sigv4 "aws:amz:$region:sts" \
  --user "$S3PAGE_STS_ACCESS_KEY_ID:$S3PAGE_STS_SECRET_ACCESS_KEY" \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary "@$tmp/form" "$AWS_ENDPOINT_URL/")
chmod 600 "$tmp/sts.xml"
python3 - "$tmp/sts.xml" "$tmp" <<'PYEOF'
import json, os, re, sys
text = open(sys.argv[1]).read()
def field(name):
    m = re.search(r"<%s>([^<]*)</%s>" % (name, name), text)
    return m.group(1) if m else ""
c = {k: field(k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken",
                           "Expiration")}
d = sys.argv[2]
def put(name, value):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, value.encode())
    os.close(fd)
for k, v in c.items():
    put(k, v)
# A copy of the token with its first 16 bytes (the first AES block, where
# the temporary key id is) changed. A change further in can go unnoticed:
# RGW encrypts its tokens but does not authenticate them, and a garbled
# block inside the session policy's text still decodes.
t = c["SessionToken"]
put("BadToken", ("A" if t[0] != "A" else "B") * 22 + t[22:])
put("NoToken", "")
put("process.json", json.dumps({"Version": 1, "AccessKeyId": c["AccessKeyId"],
    "SecretAccessKey": c["SecretAccessKey"], "SessionToken": t,
    "Expiration": c["Expiration"]}))
PYEOF
akid=$(cat "$tmp/AccessKeyId")
tlen=$(wc -c <"$tmp/SessionToken")
echo "# AssumeRole: HTTP $code, key id ${#akid} chars, session token $tlen chars, expires $(cat "$tmp/Expiration")"
[ "$code" = 200 ] && [ "$tlen" -ge 4096 ] && [ -n "$akid" ]
ok_if rgw_sts_token_at_least_4096 $?

# 2. The token in the environment: create, write, read in another process,
# the tool's version and verify.
# tool_tok TOKENFILE ARGS...: the tool with the temporary credentials.
tool_tok() {
  f=$1; shift
  run_as AWS_ACCESS_KEY_ID="$akid" \
    AWS_SECRET_ACCESS_KEY="$(cat "$tmp/SecretAccessKey")" \
    AWS_SESSION_TOKEN="$(cat "$tmp/$f")" "$tool" "$@"
}
got=$(printf '%s\n' "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);" \
  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)" \
  "INSERT INTO t SELECT i, printf('%0500d', i) FROM n;" \
  | tool_tok SessionToken shell "$db" 2>&1)
expect env_token_creates_and_writes "" "$got"
got=$(echo "SELECT count(*), sum(length(v)) FROM t;" \
  | tool_tok SessionToken shell "$db" 2>&1)
expect env_token_reads_in_another_process "40|20000" "$got"
got=$(tool_tok SessionToken version "$db" 2>&1)
expect env_token_tool_version "2" "$got"
tool_tok SessionToken verify "$db" >"$tmp/verify" 2>&1
rc=$?
[ $rc -ne 0 ] && sed 's/^/#   /' "$tmp/verify" | head -5
ok_if env_token_tool_verify $rc
for f in BadToken NoToken; do
  got=$(tool_tok $f version "$db" 2>&1)
  rc=$?
  echo "# $f: exit $rc: $(printf '%s' "$got" | cut -c1-160)"
  bad=0
  [ $rc -ne 0 ] || bad=1
  case "$got" in *"HTTP 400"*|*"HTTP 403"*) ;; *) bad=1 ;; esac
  case "$got" in *"$(cut -c30-70 "$tmp/SessionToken")"*) bad=1 ;; esac
  ok_if "env_${f}_refused" $bad
done

# 3. credential_process handing out the same temporary credentials.
cat >"$tmp/home/.aws/config" <<EOF
[profile proc]
credential_process = cat $tmp/process.json
EOF
got=$(echo "INSERT INTO t VALUES(41, 'from credential_process'); SELECT count(*) FROM t;" \
  | run_as AWS_PROFILE=proc "$tool" shell "$db" 2>&1)
expect credential_process_token_writes_and_reads "41" "$got"
got=$(run_as AWS_PROFILE=proc "$tool" version "$db" 2>&1)
expect credential_process_token_tool_version "3" "$got"

# 4. s3page's own AssumeRole at RGW (role_arn + source_profile); the
# source keys alone may not touch the bucket.
cat >"$tmp/home/.aws/config" <<EOF
[profile rgwrole]
role_arn = $S3PAGE_STS_ROLE_ARN
source_profile = base
role_session_name = s3page-cred-rgw

[profile base]
EOF
cat >"$tmp/home/.aws/credentials" <<EOF
[base]
aws_access_key_id = $S3PAGE_STS_ACCESS_KEY_ID
aws_secret_access_key = $S3PAGE_STS_SECRET_ACCESS_KEY
EOF
chmod 600 "$tmp/home/.aws/credentials"
got=$(run_as AWS_PROFILE=base "$tool" version "$db" 2>&1)
rc=$?
echo "# source keys alone: exit $rc: $(printf '%s' "$got" | cut -c1-200)"
bad=0
[ $rc -ne 0 ] || bad=1
case "$got" in *403*) ;; *) bad=1 ;; esac
ok_if source_profile_keys_alone_refused $bad
got=$(echo "INSERT INTO t VALUES(42, 'through AssumeRole'); SELECT count(*), max(v) FROM t WHERE k > 40;" \
  | run_as AWS_PROFILE=rgwrole AWS_ENDPOINT_URL_STS="$AWS_ENDPOINT_URL" \
    "$tool" shell "$db" 2>&1)
expect role_arn_assume_role_at_rgw_writes_and_reads "2|through AssumeRole" "$got"
got=$(run_as AWS_PROFILE=rgwrole AWS_ENDPOINT_URL_STS="$AWS_ENDPOINT_URL" \
  "$tool" log "$db" --limit 1 2>&1)
rc=$?
[ $rc -ne 0 ] && printf '%s\n' "$got" | head -3 | sed 's/^/#   /'
ok_if role_arn_assume_role_tool_log $rc

[ "$failed" -eq 0 ]
