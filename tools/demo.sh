#!/bin/sh
# The main job on the embedded default store: a database in a local
# directory, written by one sqlite3 process and read back by others,
# including a read of an earlier version. Run by `make demo`.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
S3PAGE="$top/build/s3page"
db="$top/build/demo-db"
rm -rf "$db"

show() { printf '\n$ %s\n' "$*"; }

show "s3page shell build/demo-db   # process 1 writes"
"$S3PAGE" shell "$db" <<'SQL'
CREATE TABLE city(name TEXT PRIMARY KEY, country TEXT, population INTEGER);
INSERT INTO city VALUES ('Lisbon', 'PT', 545000), ('Oslo', 'NO', 709000);
INSERT INTO city VALUES ('Quito', 'EC', 2800000);
UPDATE city SET population = population + 1000 WHERE name = 'Oslo';
PRAGMA s3page_version;
SQL

show "s3page shell build/demo-db   # process 2 reads"
"$S3PAGE" shell "$db" <<'SQL'
.mode box
SELECT * FROM city ORDER BY name;
.mode list
PRAGMA s3page_version;
SQL

show "s3page shell 'file:build/demo-db?version=2'   # the database as of version 2"
"$S3PAGE" shell "file:$db?version=2" <<'SQL'
.mode box
SELECT * FROM city ORDER BY name;
SQL

show "s3page shell 'file:build/demo-db?version=2'   # past versions are read-only"
"$S3PAGE" shell "file:$db?version=2" 2>&1 <<'SQL' || true
DELETE FROM city;
SQL

show "ls build/demo-db/*   # the store: page objects, commit records, HEAD hint"
(cd "$db" && ls -d HEAD wal/* && ls -d pages/* | head -3 &&
  echo "... $(ls pages | wc -l) page objects in all")
