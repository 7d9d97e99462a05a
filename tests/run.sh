#!/bin/sh
# Runs the s3page test suite and ends with "N passed, N failed".
#
# Every test program and script prints "ok - NAME" / "not ok - NAME" lines;
# a program that exits non-zero without printing a "not ok" line counts as
# one failure under its own name. Suites run in order:
#   1. unit and SQL tests of the normal build (build/tests/...)
#   2. script tests (tests/*.test.sh, and the client matrix
#      tests/clients/*.test.sh) on the local-directory store
#   3. the same C tests under ASan+UBSan (build/asan/tests/...), with the
#      shorter loops of S3PAGE_TEST_QUICK=1
#   4. some SQL tests under valgrind (short loops too), and the fuzz
#      targets, briefly
#   5. a subset of SQLite's own TCL tests (tests/sqlite/ci.list) with
#      s3page as the default VFS, if build/sqlite/testfixture is built
#   6. the SQL-level tests again on a real S3 server (started here)
# S3PAGE_TEST_QUICK=1 runs only 1 and 2. Within 1+2, 3+4 and 6 the tests
# run S3PAGE_TEST_JOBS at a time (default: the number of cores), each with
# its output kept apart, and are reported in this order as they finish.
# 5 runs in the background during 6 (which mostly waits for the server)
# and is reported after it.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# Fault injection (fault=, S3PAGE_FAULT) is refused without this opt-in.
export S3PAGE_ALLOW_FAULTS=1
# No test may wait on a real EC2 metadata endpoint.
export AWS_EC2_METADATA_DISABLED=true
log=$(mktemp -d)
passed=0
failed=0
# Tests run S3PAGE_TEST_JOBS at a time (default: one per core). Most of
# them wait (fsync, sleeps, round trips) more than they compute; each has
# its own databases, temporary directories and ports.
jobs=${S3PAGE_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir "$log/q"
qn=0

# report NAME OUT RC SECS: counts the ok / not ok lines of a finished
# test's output OUT and prints its verdict.
report() {
  name=$1; out=$2; rc=$3; secs=$4
  p=$(grep -c '^ok ' "$out")
  f=$(grep -c '^not ok ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name ($p passed, $f failed, exit $rc, ${secs}s)"
    grep -v '^ok ' "$out" | tail -40 | sed 's/^/    /'
  else
    # A test that skips says so on a "# SKIP" line: show it.
    skip=$(grep -m1 '^# SKIP' "$out")
    echo "pass $name ($p passed, ${secs}s)${skip:+ $skip}"
  fi
}

# run_one NAME CMD...: runs a test now, alone, and reports it.
run_one() {
  name=$1; shift
  start=$(date +%s)
  "$@" >"$log/out" 2>&1
  rc=$?
  report "$name" "$log/out" "$rc" $(( $(date +%s) - start ))
}

# queue NAME CMD...: adds a test to the batch that run_queue runs (in the
# environment run_queue runs in).
queue() {
  qn=$((qn + 1))
  printf '%s\n' "$1" > "$log/q/$qn.name"
  shift
  for a in "$@"; do
    printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
  done > "$log/q/$qn.cmd"
}

# One queued test, run as `sh -c "$one" sh DIR N` by xargs: its output
# goes to DIR/N.out, then "RC SECS" to DIR/N.done (renamed into place, so
# that N.done exists only once complete).
one='
  start=$(date +%s)
  sh "$1/$2.cmd" >"$1/$2.out" 2>&1 </dev/null
  rc=$?
  echo "$rc $(( $(date +%s) - start ))" >"$1/$2.tmp"
  mv "$1/$2.tmp" "$1/$2.done"
'

# run_queue runs the queued tests, $jobs at a time, and reports each in
# queue order as soon as it and those before it are done.
run_queue() {
  [ "$qn" -gt 0 ] || return 0
  seq 1 "$qn" | xargs -P "$jobs" -n 1 sh -c "$one" sh "$log/q" &
  xpid=$!
  i=1
  while [ "$i" -le "$qn" ]; do
    while [ ! -f "$log/q/$i.done" ] && kill -0 "$xpid" 2>/dev/null; do
      sleep 0.2
    done
    if [ -f "$log/q/$i.done" ]; then
      read -r rc secs < "$log/q/$i.done"
    else
      echo "not ok - not run" > "$log/q/$i.out"; rc=1; secs=0
    fi
    report "$(cat "$log/q/$i.name")" "$log/q/$i.out" "$rc" "$secs"
    i=$((i + 1))
  done
  wait "$xpid"
  rm -rf "$log/q"
  mkdir "$log/q"
  qn=0
}

# run_c_tests DIR LABEL KINDS [VAR=VALUE...]: queues the test programs
# DIR/tests/KIND/*, run with the given environment settings.
run_c_tests() {
  dir=$1; label=$2; kinds=$3; shift 3
  for kind in $kinds; do
    for t in "$dir"/tests/"$kind"/*; do
      [ -x "$t" ] || continue
      queue "${t#$dir/}${label:+ $label}" env "$@" "$t"
    done
  done
}

run_scripts() {
  for t in tests/*.test.sh tests/clients/*.test.sh; do
    [ -f "$t" ] || continue
    queue "$t${1:+ $1}" sh "$t"
  done
}

run_c_tests build "" "unit sql"
run_scripts
run_queue
if [ "${S3PAGE_TEST_QUICK:-0}" != 1 ]; then
  if [ -d build/asan/tests ]; then
    # The same code paths with the shorter loops of S3PAGE_TEST_QUICK=1:
    # the sanitizers look for memory errors, which do not need the long
    # runs the normal build does (and they are 2-3 times slower).
    run_c_tests build/asan "(asan)" "unit sql" S3PAGE_TEST_QUICK=1 \
      ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
  fi
  # Valgrind: no invalid access and no definite leak in the SQL paths.
  if command -v valgrind >/dev/null 2>&1; then
    for t in test_sql test_modes test_pragmas test_history test_corrupt test_threads test_diff test_locks; do
      [ -x build/tests/sql/$t ] || continue
      queue "tests/sql/$t (valgrind)" env S3PAGE_TEST_QUICK=1 valgrind -q --leak-check=full \
        --errors-for-leak-kinds=definite --error-exitcode=9 build/tests/sql/$t
    done
  fi
  # The fuzz targets run for a fixed time each, side by side.
  for t in build/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    queue "$t" sh tests/fuzz-run.sh "$t"
  done
  run_queue
  tcl_pid=""
  if [ -x build/sqlite/testfixture ] && [ -x tests/s3-server.sh ]; then
    # In the background during the S3 pass, which mostly waits for the
    # server (started before the server, so without its environment; its
    # own scratch directories under build/sqlite/runs); reported after it.
    tcl_start=$(date +%s)
    sh tests/sqlite/run.sh -j "$jobs" tests/sqlite/ci.list >"$log/tcl.out" 2>&1 </dev/null &
    tcl_pid=$!
  elif [ -x build/sqlite/testfixture ]; then
    # Alone: twice as many files as cores at a time, since they wait for
    # syncfs half the time (here: 153 s with 2 at a time, 114 s with 4).
    run_one "tests/sqlite/ci.list" sh tests/sqlite/run.sh -j $((jobs * 2)) tests/sqlite/ci.list
  fi
  if [ -x tests/s3-server.sh ]; then
    sdir="$log/s3"
    if eval "$(sh tests/s3-server.sh start "$sdir")"; then
      export S3PAGE_TEST_STORE="s3://$S3_BUCKET/test-$$"
      run_c_tests build "(s3)" "sql"
      queue "tests/unit/test_s3_live (s3)" build/tests/unit/test_s3_live
      run_scripts "(s3)"
      run_queue
      sh tests/s3-server.sh stop "$sdir"
    else
      echo "FAIL could not start the S3 test server"
      failed=$((failed + 1))
    fi
  fi
  if [ -n "$tcl_pid" ]; then
    wait "$tcl_pid"
    rc=$?
    report "tests/sqlite/ci.list" "$log/tcl.out" "$rc" $(( $(date +%s) - tcl_start ))
  fi
fi
rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
