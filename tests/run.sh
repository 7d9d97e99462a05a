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
# S3PAGE_TEST_QUICK=1 runs only 1 and 2.
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

# run_one NAME CMD...: runs a test, counts its ok / not ok lines.
run_one() {
  name=$1; shift
  out="$log/out"
  start=$(date +%s)
  "$@" >"$out" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$out")
  f=$(grep -c '^not ok ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  secs=$(( $(date +%s) - start ))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name ($p passed, $f failed, exit $rc, ${secs}s)"
    grep -v '^ok ' "$out" | tail -40 | sed 's/^/    /'
  else
    # A test that skips says so on a "# SKIP" line: show it.
    skip=$(grep -m1 '^# SKIP' "$out")
    echo "pass $name ($p passed, ${secs}s)${skip:+ $skip}"
  fi
}

# run_c_tests DIR LABEL KINDS: runs the test programs DIR/tests/KIND/*.
run_c_tests() {
  dir=$1
  for kind in $3; do
    for t in "$dir"/tests/"$kind"/*; do
      [ -x "$t" ] || continue
      run_one "${t#$dir/}${2:+ $2}" "$t"
    done
  done
}

run_scripts() {
  for t in tests/*.test.sh tests/clients/*.test.sh; do
    [ -f "$t" ] || continue
    run_one "$t${1:+ $1}" sh "$t"
  done
}

run_c_tests build "" "unit sql"
run_scripts
if [ "${S3PAGE_TEST_QUICK:-0}" != 1 ]; then
  if [ -d build/asan/tests ]; then
    # The same code paths with the shorter loops of S3PAGE_TEST_QUICK=1:
    # the sanitizers look for memory errors, which do not need the long
    # runs the normal build does (and they are 2-3 times slower).
    export S3PAGE_TEST_QUICK=1
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_c_tests build/asan "(asan)" "unit sql"
    unset S3PAGE_TEST_QUICK
  fi
  # Valgrind: no invalid access and no definite leak in the SQL paths.
  if command -v valgrind >/dev/null 2>&1; then
    for t in test_sql test_modes test_pragmas test_history test_corrupt test_threads test_diff test_locks; do
      [ -x build/tests/sql/$t ] || continue
      run_one "tests/sql/$t (valgrind)" env S3PAGE_TEST_QUICK=1 valgrind -q --leak-check=full \
        --errors-for-leak-kinds=definite --error-exitcode=9 build/tests/sql/$t
    done
  fi
  for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    run_one "$f" sh tests/fuzz-run.sh "$f"
  done
  if [ -x build/sqlite/testfixture ]; then
    run_one "tests/sqlite/ci.list" sh tests/sqlite/run.sh -j 2 tests/sqlite/ci.list
  fi
  if [ -x tests/s3-server.sh ]; then
    sdir="$log/s3"
    if eval "$(sh tests/s3-server.sh start "$sdir")"; then
      export S3PAGE_TEST_STORE="s3://$S3_BUCKET/test-$$"
      run_c_tests build "(s3)" "sql"
      run_one "tests/unit/test_s3_live (s3)" build/tests/unit/test_s3_live
      run_scripts "(s3)"
      sh tests/s3-server.sh stop "$sdir"
    else
      echo "FAIL could not start the S3 test server"
      failed=$((failed + 1))
    fi
  fi
fi
rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
