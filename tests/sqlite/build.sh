#!/bin/sh
# Builds SQLite's testfixture with s3page linked in and registered as the
# default VFS (tests/sqlite/tf_init.c, run from sqlite3_initialize through
# SQLITE_EXTRA_INIT).
#
#   sh tests/sqlite/build.sh [BUILD]        (BUILD defaults to "build")
#
# The SQLite source is Debian's (bookworm's sqlite3 3.40.1, with Debian's
# patches), from $S3PAGE_SQLITE_SRC if set, else BUILD/sqlite-src/sqlite3-*,
# fetched there with `apt-get source sqlite3` the first time (adding a
# deb-src entry for bookworm to apt's sources if there is none) and reused
# afterwards. The result is BUILD/sqlite/testfixture; BUILD/sqlite/SRC
# names the source directory the runner takes the test files from.
#
# s3page's library sources are compiled here again, against the sqlite3.h
# of this SQLite build (never the system libsqlite3: two SQLite copies in
# one process would each have their own VFS list and mutexes).
set -eu
# Run from `make -jN test`, SQLite's make cannot reach that make's job
# slots (and warns): its testfixture is one compile anyway.
unset MAKEFLAGS MFLAGS MAKELEVEL
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/sqlite
mkdir -p "$out"

# find_src prints the unpacked SQLite source directory, if there is one.
find_src() {
  if [ -n "${S3PAGE_SQLITE_SRC:-}" ]; then
    echo "$S3PAGE_SQLITE_SRC"
    return
  fi
  for d in "$build"/sqlite-src/sqlite3-*/; do
    [ -f "$d/test/tester.tcl" ] && { echo "${d%/}"; return; }
  done
  return 0
}

src=$(find_src)
if [ -z "$src" ]; then
  # Debian's archive is the only place the source comes from.
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
     ! grep -qs '^deb-src' /etc/apt/sources.list; then
    if [ "$(id -u)" != 0 ]; then
      echo "s3page: no deb-src entry in apt's sources (run as root once)" >&2
      exit 1
    fi
    cat > /etc/apt/sources.list.d/bookworm-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq >/dev/null
  fi
  mkdir -p "$build/sqlite-src"
  (cd "$build/sqlite-src" && apt-get source -qq sqlite3 >/dev/null 2>&1) || {
    [ "$(id -u)" = 0 ] || { echo "s3page: apt-get source sqlite3 failed" >&2; exit 1; }
    apt-get update -qq >/dev/null
    (cd "$build/sqlite-src" && apt-get source -qq sqlite3 >/dev/null)
  }
  src=$(find_src)
  [ -n "$src" ] || { echo "s3page: no SQLite source under $build/sqlite-src" >&2; exit 1; }
fi
src=$(cd "$src" && pwd)
echo "$src" > "$out/SRC.new"
if ! cmp -s "$out/SRC.new" "$out/SRC" 2>/dev/null; then
  rm -rf "$out/bld"           # another source: configure again
  mv "$out/SRC.new" "$out/SRC"
else
  rm -f "$out/SRC.new"
fi

# SQLite's own build, out of its (read-only) source tree.
bld=$out/bld
mkdir -p "$bld"
if [ ! -f "$bld/Makefile" ]; then
  (cd "$bld" && "$src/configure" --with-tcl=/usr/lib/tcl8.6 \
     --disable-shared --enable-static >configure.log 2>&1) || {
    tail -20 "$bld/configure.log" >&2
    exit 1
  }
fi
make -s -C "$bld" sqlite3.h sqlite3.c >/dev/null

# s3page, against this sqlite3.h. ext.c (the loadable-extension entry and
# the load-time constructor) stays out: tf_init.c registers the VFS.
obj=$out/obj
mkdir -p "$obj"
cflags="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow
  -Wstrict-prototypes -Wno-unused-parameter -I$bld"
objs=""
changed=0
for c in index/*.c vfs/*.c vfs/store/*.c tests/sqlite/tf_init.c; do
  [ "$c" = vfs/ext.c ] && continue
  o=$obj/$(echo "$c" | tr / _ | sed 's/\.c$/.o/')
  if [ ! -f "$o" ] || [ -n "$(find "$c" vfs index tests/sqlite "$bld/sqlite3.h" \
       -newer "$o" -name '*.[ch]' 2>/dev/null | head -1)" ]; then
    # shellcheck disable=SC2086
    cc $cflags -Ivfs -c -o "$o" "$c"
    changed=1
  fi
  objs="$objs $o"
done
if [ $changed = 0 ] && [ -x "$out/testfixture" ] &&
   [ "$out/testfixture" -nt "$bld/sqlite3.c" ]; then
  exit 0                      # up to date
fi
rm -f "$out/libs3page-tf.a"
# shellcheck disable=SC2086
ar rcs "$out/libs3page-tf.a" $objs

# testfixture: SQLite's rule, plus the init hook and s3page's objects.
# tf_init.o goes in as an object (nothing else references it); the rest
# comes from the archive.
rm -f "$bld/testfixture"
make -s -C "$bld" testfixture \
  OPTS="-DSQLITE_EXTRA_INIT=s3page_testfixture_init" \
  LIBS="$obj/tests_sqlite_tf_init.o $out/libs3page-tf.a -lcurl -lssl -lcrypto -lz -lxxhash -lpthread -lm" \
  >"$out/make.log" 2>&1 || { tail -30 "$out/make.log" >&2; exit 1; }
cp "$bld/testfixture" "$out/testfixture"
echo "s3page: built $out/testfixture from $src"
