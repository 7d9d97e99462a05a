#!/bin/sh
# s3-server.sh: a throwaway S3 server (Ceph RADOS Gateway) on loopback for
# s3page's tests.
#
#   eval "$(sh tests/s3-server.sh start DIR)"   # prints export lines only
#   sh tests/s3-server.sh status DIR
#   sh tests/s3-server.sh stop DIR              # stops only the pids it recorded
#
# start installs missing Debian packages (ceph-mon, ceph-osd, radosgw,
# ceph-common, curl), picks free ports on 127.0.0.1, starts one ceph-mon,
# one ceph-osd (memstore: data in RAM) and one radosgw (beast, tcp_nodelay)
# bound to 127.0.0.1, creates an S3 user with fresh random keys and a
# bucket, and prints on stdout (and nothing else there):
#   export AWS_ENDPOINT_URL=http://127.0.0.1:PORT
#   export AWS_ACCESS_KEY_ID=...  AWS_SECRET_ACCESS_KEY=...
#   export AWS_REGION=us-east-1  AWS_DEFAULT_REGION=us-east-1
#   export S3_ENDPOINT=...  S3_BUCKET=s3page-test
#   export S3PAGE_STS_ROLE_ARN=arn:aws:iam:::role/s3page-sts
#   export S3PAGE_STS_ACCESS_KEY_ID=...  S3PAGE_STS_SECRET_ACCESS_KEY=...
# RGW's STS is on (AssumeRole at the same endpoint): a second user, whose
# keys are the S3PAGE_STS_* ones, may assume the role, which may do
# anything in S3. That user's id is 911 characters long because RGW puts
# the caller's id into the session token it issues (with the session
# policy, at most 2048 characters): so its tokens reach 4.3 KB, the size
# the credential tests need (tests/cred_rgw.test.sh). Costs about 0.2 s.
# Progress and errors go to stderr; logs stay in DIR/log. cephx is off (a
# loopback throwaway cluster); S3 requests are still authenticated (SigV4).
#
# Knobs: S3PAGE_RGW_BUCKET (default s3page-test), S3PAGE_RGW_REGION
# (us-east-1), S3PAGE_RGW_DEBUG=1 (one access-log line per request in
# DIR/log/client.rgw.a.log), S3PAGE_RGW_TIMEOUT (seconds per stage, 120),
# S3PAGE_RGW_STORE_BYTES (memstore capacity, 8 GiB).
set -eu

BUCKET=${S3PAGE_RGW_BUCKET:-s3page-test}
REGION=${S3PAGE_RGW_REGION:-us-east-1}
TIMEOUT=${S3PAGE_RGW_TIMEOUT:-120}
STORE_BYTES=${S3PAGE_RGW_STORE_BYTES:-8589934592}
DEBUG_RGW=${S3PAGE_RGW_DEBUG:-0}
DAEMONS="rgw.a osd.0 mon.a"   # stop order: rgw, then osd, then mon

die() { echo "s3-server: $*" >&2; exit 1; }
say() { echo "s3-server: $*" >&2; }

# need_pkgs: installs the Debian packages whose commands are missing.
need_pkgs() {
  missing=""
  command -v ceph-mon >/dev/null 2>&1 || missing="$missing ceph-mon"
  command -v ceph-osd >/dev/null 2>&1 || missing="$missing ceph-osd"
  command -v radosgw >/dev/null 2>&1 || missing="$missing radosgw"
  command -v radosgw-admin >/dev/null 2>&1 || missing="$missing radosgw"
  command -v ceph >/dev/null 2>&1 || missing="$missing ceph-common"
  command -v monmaptool >/dev/null 2>&1 || missing="$missing ceph-common"
  command -v curl >/dev/null 2>&1 || missing="$missing curl"
  command -v setsid >/dev/null 2>&1 || missing="$missing util-linux"
  [ -z "$missing" ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to install:$missing"
  say "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -o DPkg::Lock::Timeout=600 >&2 || die "apt-get update failed"
  # shellcheck disable=SC2086
  apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends \
    $missing >&2 || die "apt-get install failed:$missing"
}

# proc_live PID: true if the process exists and is not a zombie.
proc_live() {
  [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ]
}

# pid_ours NAME: true if DIR/run/NAME.pid names a live daemon started with
# our conf (guards against pid reuse).
pid_ours() {
  f="$DIR/run/$1.pid"
  [ -s "$f" ] || return 1
  p=$(cat "$f")
  proc_live "$p" || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$DIR/ceph.conf"
}

# port_busy PORT: true if something listens on (or uses) PORT locally.
port_busy() {
  hex=$(printf ':%04X ' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2" "$3}' \
    | grep -qi -- "$hex"
}

# free_port: prints a port P such that P and P+1 look free.
free_port() {
  i=0
  while [ $i -lt 200 ]; do
    r=$(od -An -tu2 -N2 /dev/urandom | tr -d ' ')
    p=$((20000 + r % 40000))
    if ! port_busy "$p" && ! port_busy $((p + 1)); then echo "$p"; return 0; fi
    i=$((i + 1))
  done
  die "no free port found"
}

# spawn NAME CMD...: starts a daemon in its own session, records its pid.
spawn() {
  name=$1; shift
  setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
  sleep 0.2
  proc_live "$(cat "$DIR/run/$name.pid")" \
    || { tail -20 "$DIR/log/$name.out" >&2; die "$name exited at once"; }
}

# wait_for DESC CMD...: retries CMD until it succeeds or TIMEOUT passes.
wait_for() {
  desc=$1; shift
  deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] \
      || die "timed out waiting for $desc (logs in $DIR/log)"
    sleep 0.25
  done
}

C() { ceph -c "$DIR/ceph.conf" --connect-timeout 10 "$@"; }
A() { radosgw-admin -c "$DIR/ceph.conf" "$@"; }
osd_up() { C osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
rgw_http() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

# s3curl METHOD PATH [ARGS...]: a signed request; prints the HTTP status.
s3curl() {
  m=$1; p=$2; shift 2
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X "$m" "$@" \
    "http://127.0.0.1:$PORT$p"
}

# bucket_ok: creates the bucket (if needed) and checks PUT/GET/DELETE.
bucket_ok() {
  c=$(s3curl PUT "/$BUCKET") || return 1
  [ "$c" = 200 ] || [ "$c" = 409 ] || return 1
  c=$(s3curl PUT "/$BUCKET/.s3page-server-check" --data-binary probe) || return 1
  [ "$c" = 200 ] || return 1
  c=$(s3curl GET "/$BUCKET/.s3page-server-check") || return 1
  [ "$c" = 200 ] || return 1
  s3curl DELETE "/$BUCKET/.s3page-server-check" >/dev/null
}

# write_conf FSID: the cluster's ceph.conf.
write_conf() {
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $1
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
keyring = $DIR/keyring
log to stderr = false
err to stderr = true
debug ms = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon warn on insecure global id reclaim = false
mon max pg per osd = 1000
# 1024, not 460: the STS user's id (911 characters) names a RADOS object
osd max object name len = 1024
osd max object namespace len = 64

[mon]
mon data = $DIR/mon.\$id
mon data avail crit = 1
mon data avail warn = 2
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = $DIR/osd.\$id
osd objectstore = memstore
memstore device bytes = $STORE_BYTES
osd op num shards = 2
osd op num threads per shard = 2
osd min pg log entries = 100
osd max pg log entries = 500

[client]
rgw data = $DIR/rgw.\$id

[client.rgw.a]
# tcp_nodelay=1: without it a GET on a kept-alive connection stalls ~40 ms
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw thread pool size = 64
rgw enable usage log = false
rgw dns name = localhost
debug rgw = $DEBUG_RGW
# STS (AssumeRole) for the session-token tests: the key encrypts the tokens
rgw sts key = $STS_KEY
rgw s3 auth use sts = true
EOF
}

# stop_one NAME: SIGTERM the recorded pid, SIGKILL after 15 s.
stop_one() {
  n=$1
  [ -f "$DIR/run/$n.pid" ] || return 0
  if ! pid_ours "$n"; then rm -f "$DIR/run/$n.pid"; return 0; fi
  p=$(cat "$DIR/run/$n.pid")
  kill -TERM "$p" 2>/dev/null || true
  i=0
  while [ $i -lt 150 ] && proc_live "$p"; do sleep 0.1; i=$((i + 1)); done
  if proc_live "$p"; then
    say "$n (pid $p) still running after 15 s; SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
    i=0
    while [ $i -lt 50 ] && proc_live "$p"; do sleep 0.1; i=$((i + 1)); done
  fi
  proc_live "$p" && { say "$n (pid $p) would not die"; return 1; }
  rm -f "$DIR/run/$n.pid"
  return 0
}

cmd_stop() {
  rc=0
  for n in $DAEMONS; do stop_one "$n" || rc=1; done
  return $rc
}

cmd_status() {
  for n in $DAEMONS; do
    if pid_ours "$n"; then echo "$n running pid $(cat "$DIR/run/$n.pid")"
    else echo "$n stopped"; fi
  done
}

# sts_setup: creates the STS user (a long id: see the top) and the role it
# may assume, allowed everything in S3. Sets STS_ACCESS and STS_SECRET.
sts_setup() {
  STS_ACCESS=STS$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n' | tr a-f A-F)
  STS_SECRET=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
  sts_uid=s3page-sts-$(printf '%0900d' 0 | tr 0 u)
  # the keys end up in this log: keep it private
  : >"$DIR/log/sts-setup.out"
  chmod 600 "$DIR/log/sts-setup.out"
  { A user create --uid="$sts_uid" --display-name=s3page-sts \
      --access-key="$STS_ACCESS" --secret-key="$STS_SECRET" &&
    A role create --role-name=s3page-sts --path=/ \
      --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/'"$sts_uid"'"]},"Action":["sts:AssumeRole"]}]}' &&
    A role-policy put --role-name=s3page-sts --policy-name=s3 \
      --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}]}'
  } >>"$DIR/log/sts-setup.out" 2>&1 \
    || { tail -5 "$DIR/log/sts-setup.out" >&2; die "STS user and role setup failed"; }
}

# on_start_exit: when start fails, stop what it started.
on_start_exit() {
  rc=$?
  if [ $rc -ne 0 ]; then
    say "start failed; stopping what was started (logs in $DIR/log)"
    cmd_stop || true
  fi
}

cmd_start() {
  need_pkgs
  for n in $DAEMONS; do
    pid_ours "$n" && die "$n already running in $DIR (stop it first)"
  done
  PORT=$(free_port)
  MON_PORT=$((PORT + 1))
  ACCESS_KEY=S3P$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n' | tr a-f A-F)
  SECRET_KEY=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
  STS_KEY=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
  rm -rf "$DIR/mon.a" "$DIR/osd.0" "$DIR/rgw.a" "$DIR/run" "$DIR/log" \
         "$DIR/crash" "$DIR/monmap" "$DIR/ceph.conf"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/crash" "$DIR/mon.a" "$DIR/osd.0" \
           "$DIR/rgw.a"
  trap on_start_exit EXIT
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" \
    "$DIR/monmap" >"$DIR/log/monmaptool.out" 2>&1 \
    || { cat "$DIR/log/monmaptool.out" >&2; die "monmaptool failed"; }
  ceph-mon -c "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" \
    >"$DIR/log/mon.a.mkfs" 2>&1 \
    || { cat "$DIR/log/mon.a.mkfs" >&2; die "ceph-mon --mkfs failed"; }
  spawn mon.a ceph-mon -f -c "$DIR/ceph.conf" -i a
  wait_for "ceph-mon" C mon stat

  ouuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(C osd new "$ouuid") || die "ceph osd new failed"
  [ "$id" = 0 ] || die "expected osd id 0, got '$id'"
  ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$ouuid" \
    >"$DIR/log/osd.0.mkfs" 2>&1 \
    || { tail -30 "$DIR/log/osd.0.mkfs" >&2; die "ceph-osd --mkfs failed"; }
  spawn osd.0 ceph-osd -f -c "$DIR/ceph.conf" -i 0
  wait_for "osd.0 up" osd_up

  spawn rgw.a radosgw -f -c "$DIR/ceph.conf" -n client.rgw.a
  wait_for "radosgw on 127.0.0.1:$PORT" rgw_http
  radosgw-admin -c "$DIR/ceph.conf" user create --uid=s3page \
    --display-name=s3page --access-key="$ACCESS_KEY" \
    --secret-key="$SECRET_KEY" >"$DIR/log/user-create.out" 2>&1 \
    || { cat "$DIR/log/user-create.out" >&2; die "radosgw-admin user create failed"; }
  # the user's keys live in the log above: keep it private
  chmod 600 "$DIR/log/user-create.out"
  wait_for "bucket $BUCKET" bucket_ok
  sts_setup
  trap - EXIT
  say "radosgw ready on 127.0.0.1:$PORT, bucket $BUCKET"
  cat <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT
export S3_ENDPOINT=http://127.0.0.1:$PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export S3_BUCKET=$BUCKET
export S3PAGE_STS_ROLE_ARN=arn:aws:iam:::role/s3page-sts
export S3PAGE_STS_ACCESS_KEY_ID=$STS_ACCESS
export S3PAGE_STS_SECRET_ACCESS_KEY=$STS_SECRET
EOF
}

sub=${1:-}
DIR=${2:-}
[ -n "$sub" ] && [ -n "$DIR" ] || die "usage: $0 start DIR | stop DIR | status DIR"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
case "$sub" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) die "unknown command $sub (start, stop, status)" ;;
esac
