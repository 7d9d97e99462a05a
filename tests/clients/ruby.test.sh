#!/bin/sh
# ruby.test.sh: the Ruby example of docs/clients.md, as written, with
# Debian's ruby-sqlite3: load the extension, open a URI, write in a
# transaction, read back; then a second run (a new process) finds the
# rows and a newer version; race.rb checks what a lost race raises and
# that running the block again commits.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/clients/lib.sh"
need "ruby -e 'require \"sqlite3\"'" ruby-sqlite3
extract app.rb
cp "$doc/app.rb" "$work/"
run_case ruby_write_read ruby app.rb
v1=$(sed -n 's/^version //p' "$work/.out")
run_case ruby_second_process ruby app.rb
v2=$(sed -n 's/^version //p' "$work/.out")
[ -n "$v1" ] && [ -n "$v2" ] && [ "$v2" -gt "$v1" ]
ok_if ruby_versions_advance $?
run_case ruby_lost_race_retried ruby "$top/tests/clients/race.rb" \
  "file:$store/ruby-race.db?vfs=s3page"
finish
