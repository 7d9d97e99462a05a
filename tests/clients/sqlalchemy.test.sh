#!/bin/sh
# sqlalchemy.test.sh: the SQLAlchemy examples of docs/clients.md, as
# written, with Debian's python3-sqlalchemy: a small model (with the
# connect-time journal_mode=WAL), what reaches Python when a transaction
# loses a race with another machine's writer (busy_snapshot.py), and
# concurrent writer processes retrying until every sale is counted.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/clients/lib.sh"
need "python3 -c 'import sqlalchemy'" python3-sqlalchemy
extract s3page_boot.py shop.py sqlalchemy_app.py sqlalchemy_retry.py
cp "$doc/s3page_boot.py" "$doc/shop.py" "$doc/sqlalchemy_app.py" \
   "$doc/sqlalchemy_retry.py" "$work/"
cp "$top/tests/clients/busy_snapshot.py" "$work/"

run_case sqlalchemy_model python3 sqlalchemy_app.py
if ! grep -q "^version [1-9]" "$work/.out"; then
  ok_if sqlalchemy_model_reports_version 1
fi
run_case sqlalchemy_lost_race_is_busy_snapshot python3 busy_snapshot.py
run_case sqlalchemy_concurrent_writers_retry python3 sqlalchemy_retry.py
finish
