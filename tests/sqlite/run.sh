#!/bin/sh
# Runs SQLite's own test files in testfixture with s3page as the default VFS
# (built by tests/sqlite/build.sh) and prints "ok - FILE" or
# "not ok - FILE (...)" per file, then the totals of files and test cases.
#
#   sh tests/sqlite/run.sh [-j N] [-t SECS] [-b BUILD] [-k] LIST|FILE...
#
# LIST is a file of test file names, one a line ('#' starts a comment;
# tests/sqlite/ci.list is the subset `make test` runs); "all" means every
# test/*.test of the SQLite source but its suite drivers. -j runs N files at
# a time (default 1), -t stops a file after SECS seconds (default 600) and
# counts it failed, -b names the build directory (default "build"), -k keeps
# each file's scratch directory (BUILD/sqlite/runs/FILE.d). Each file's
# output stays in BUILD/sqlite/runs/FILE.out until the next run.
# Each file runs in a fresh directory, so its "test.db" is a store there.
# Exit status 0 when every file passed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
jobs=1
limit=600
build=build
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    -j) jobs=$2; shift 2 ;;
    -t) limit=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    -k) keep=1; shift ;;
    *) break ;;
  esac
done
case $build in /*) ;; *) build=$top/$build ;; esac
tf=$build/sqlite/testfixture
if [ ! -x "$tf" ] || [ ! -f "$build/sqlite/SRC" ]; then
  echo "not ok - testfixture (not built: run tests/sqlite/build.sh)"
  exit 1
fi
src=$(cat "$build/sqlite/SRC")
[ $# -gt 0 ] || set -- all

# The test files, one a line, in $runs/files.
runs=$build/sqlite/runs
rm -rf "$runs"
mkdir -p "$runs"
for a in "$@"; do
  if [ "$a" = all ]; then
    for f in "$src"/test/*.test; do
      case ${f##*/} in
        all.test|quick.test|veryquick.test|extraquick.test|full.test|\
        permutations.test|soak.test|mallocAll.test|memleak.test|async.test|\
        rtree.test|fts3.test|session.test|rbu.test) continue ;;
      esac
      echo "${f##*/}"
    done
  elif [ -f "$a" ] && [ "${a%.test}" = "$a" ]; then
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$a" | grep -v '^$'
  else
    echo "${a##*/}"
  fi
done > "$runs/files"

# One file: run it, keep its output and a one-line verdict.
export S3P_TF="$tf" S3P_SRC="$src" S3P_RUNS="$runs" S3P_LIMIT="$limit"
export S3P_PRELUDE="$top/tests/sqlite/prelude.tcl"
one='
  f=$1
  d=$S3P_RUNS/$f.d
  mkdir -p "$d"
  start=$(date +%s)
  (cd "$d" && timeout -k 10 "$S3P_LIMIT" "$S3P_TF" "$S3P_PRELUDE" \
     "$S3P_SRC/test/$f" </dev/null >"$S3P_RUNS/$f.out" 2>&1)
  rc=$?
  secs=$(( $(date +%s) - start ))
  line=$(grep -a -E "^[0-9]+ errors out of [0-9]+ tests" "$S3P_RUNS/$f.out" | tail -1)
  nerr=$(echo "$line" | sed -n "s/^\([0-9]*\) errors out of \([0-9]*\).*/\1/p")
  ntest=$(echo "$line" | sed -n "s/^\([0-9]*\) errors out of \([0-9]*\).*/\2/p")
  if [ -z "$line" ] && [ $rc -eq 0 ] && [ ! -s "$S3P_RUNS/$f.out" ]; then
    # A file that returns before its first test (when a feature is
    # missing, or on purpose) prints nothing, with any VFS.
    echo "ok - $f (no test cases, ${secs}s) 0 0" > "$S3P_RUNS/$f.res"
  elif [ -z "$line" ]; then
    why="no summary, exit $rc"
    [ $rc -eq 124 ] && why="timed out after ${S3P_LIMIT}s"
    echo "not ok - $f ($why, ${secs}s) 0 0" > "$S3P_RUNS/$f.res"
  elif [ "$nerr" -ne 0 ] || [ $rc -ne 0 ]; then
    echo "not ok - $f ($nerr errors out of $ntest, ${secs}s) $nerr $ntest" > "$S3P_RUNS/$f.res"
  else
    echo "ok - $f ($ntest tests, ${secs}s) 0 $ntest" > "$S3P_RUNS/$f.res"
  fi
  [ -n "${S3P_KEEP:-}" ] || rm -rf "$d"
'
[ $keep = 1 ] && export S3P_KEEP=1
xargs -P "$jobs" -n 1 sh -c "$one" sh < "$runs/files"

# Verdicts in list order, totals last.
fok=0; fbad=0; tall=0; tbad=0
while read -r f; do
  r=$(cat "$runs/$f.res" 2>/dev/null || echo "not ok - $f (not run) 1 0")
  set -- $r
  shift $(($# - 2))
  tbad=$((tbad + $1)); tall=$((tall + $2))
  echo "$r" | sed 's/ [0-9]* [0-9]*$//'
  case $r in ok*) fok=$((fok + 1)) ;; *) fbad=$((fbad + 1)) ;; esac
done < "$runs/files"
echo "sqlite tests: $fok files passed, $fbad failed; $((tall - tbad)) of $tall test cases passed"
[ $fbad -eq 0 ]
