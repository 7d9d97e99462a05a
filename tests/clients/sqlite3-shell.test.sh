#!/bin/sh
# sqlite3-shell.test.sh: the sqlite3 shell sessions of docs/clients.md, as
# written, with Debian's sqlite3: .import of a CSV file, .schema, .dump and
# its re-import into a new database (the dumps agree), .backup into a
# plain file, VACUUM INTO a plain file, .restore from a plain file and
# from one in WAL mode, journal_mode=WAL, and .dbinfo / .recover failing
# exactly as they do on a plain file with Debian's build (no
# sqlite_dbpage).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/clients/lib.sh"
need "command -v sqlite3" sqlite3
extract shell-session.sh shell-restore.sh

# s3db URI: the shell as the document opens it, SQL on stdin.
s3db() {
  sqlite3 -batch -bail -cmd ".load libs3page" -cmd ".open '$1'"
}
# plain_ok FILE: FILE is a plain SQLite file that SQLite opens by itself.
plain_ok() {
  [ -f "$work/$1" ] && [ "$(head -c 15 "$work/$1")" = "SQLite format 3" ] &&
    [ "$(sqlite3 "$work/$1" 'SELECT count(*) FROM note')" = 3 ]
}
notes="file:$store/notes.db?vfs=s3page"

run_case shell_session sh -e "$doc/shell-session.sh"
grep -qxF "CREATE TABLE note(id INTEGER PRIMARY KEY, body TEXT NOT NULL);" \
  "$work/.out"; ok_if shell_schema $?
got=$(echo "SELECT group_concat(body, '|') FROM note;" | s3db "$notes" 2>&1)
[ "$got" = "buy milk|call Ana|fix the door, again" ]
ok_if shell_import_csv $?
grep -q "^INSERT INTO note VALUES(3,'fix the door, again');" "$work/notes.sql"
ok_if shell_dump_written $?
plain_ok notes-backup.db; ok_if shell_backup_is_plain_file $?
plain_ok notes-plain.db; ok_if shell_vacuum_into_plain_file $?

run_case shell_restore sh -e "$doc/shell-restore.sh"
tail -1 "$work/.out" | grep -qx 3; ok_if shell_restore_from_plain_file $?
a=$(echo ".dump" | s3db "$notes")
b=$(echo ".dump" | s3db "file:$store/notes-copy.db?vfs=s3page")
[ -n "$a" ] && [ "$a" = "$b" ]; ok_if shell_dump_reimport_same_dump $?

# .restore from a WAL-mode file: this connection and a new one read it.
sqlite3 "$work/wal.db" "PRAGMA journal_mode=WAL; CREATE TABLE w(x);
  INSERT INTO w VALUES (1), (2);" >/dev/null
got=$(printf '%s\n' ".restore $work/wal.db" "SELECT sum(x) FROM w;" \
  "PRAGMA journal_mode;" | s3db "file:$store/walrestore.db?vfs=s3page" 2>&1)
again=$(echo "SELECT sum(x) FROM w;" \
  | s3db "file:$store/walrestore.db?vfs=s3page" 2>&1)
[ "$got" = "3
delete" ] && [ "$again" = 3 ]
st=$?
[ "$st" -eq 0 ] || printf '%s\n' "$got" "$again" | sed 's/^/# /'
ok_if shell_restore_from_wal_mode_file "$st"

# journal_mode=WAL keeps the mode; the log line says why.
got=$(printf '%s\n' "PRAGMA journal_mode=WAL;" "SELECT count(*) FROM note;" \
  | sqlite3 -batch -bail -cmd ".load libs3page" -cmd ".log stderr" \
      -cmd ".open '$notes'" 2>&1)
echo "$got" | grep -qx delete && echo "$got" | grep -qx 3 &&
  echo "$got" | grep -q "journal_mode=WAL is not available"
ok_if shell_journal_mode_wal_keeps_delete $?

# .dbinfo and .recover: as on a plain file (docs/clients.md says why).
for cmd in .dbinfo .recover; do
  p=$(echo "$cmd" | sqlite3 -batch "$work/notes-backup.db" 2>&1 | tail -1)
  s=$(echo "$cmd" | s3db "$notes" 2>&1 | tail -1)
  case "$p" in
    *sqlite_dbpage*|*"SQL logic error"*)
      case "$s" in
        *sqlite_dbpage*|*"SQL logic error"*) st=0 ;;
        *) st=1 ;;
      esac ;;
    *) # A shell with sqlite_dbpage: s3page must work as well.
      st=0
      case "$s" in *sqlite_dbpage*|*"SQL logic error"*|*rror*) st=1 ;; esac ;;
  esac
  [ "$st" -eq 0 ] || echo "# $cmd plain: $p / s3page: $s"
  ok_if "shell_${cmd#.}_as_on_plain_file" "$st"
done

# On a directory store, VACUUM INTO a bare name makes an s3page database
# (the document says so).
if [ -z "${S3PAGE_TEST_STORE:-}" ]; then
  echo "VACUUM INTO '$work/vac-bare';" | s3db "$notes" >/dev/null 2>&1
  [ -d "$work/vac-bare/wal" ]; ok_if shell_vacuum_into_bare_name_is_s3page $?
fi
finish
