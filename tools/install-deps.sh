#!/bin/sh
# Installs the Debian packages s3page needs to build and test, if missing.
# Run as root (CI is); as another user it only reports what is missing.
# (tcl-dev and dpkg-dev are for SQLite's testfixture: tests/sqlite/build.sh
# fetches Debian's SQLite source with apt-get source. The last line is the
# client matrix, tests/clients/.)
set -e
PKGS="build-essential libsqlite3-dev sqlite3 libssl-dev zlib1g-dev libxxhash-dev
libcurl4-openssl-dev pkg-config clang libclang-rt-14-dev valgrind python3
python3-apsw tcl-dev dpkg-dev
python3-sqlalchemy python3-alembic python3-django sqlite3-tools ruby-sqlite3"
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "s3page: missing packages:$missing (run 'make deps' as root)" >&2
  exit 1
fi
echo "s3page: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
