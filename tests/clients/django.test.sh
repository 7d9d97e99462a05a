#!/bin/sh
# django.test.sh: the Django project of docs/clients.md, as written, with
# Debian's python3-django: makemigrations and migrate of the contrib apps
# and the small app (with a connect-time journal_mode=WAL), the ORM
# (create, update, delete, transaction.atomic committed and rolled back),
# dumpdata / flush / loaddata bringing the same rows back, and what a
# transaction that loses a race raises (django_race.py).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/clients/lib.sh"
need "python3 -c 'import django'" python3-django
extract s3page_boot.py mysite/settings.py inventory/models.py \
  inventory/apps.py django-migrate.sh django_orm.py django-fixtures.sh
mkdir -p "$work/mysite" "$work/inventory"
cp "$doc/s3page_boot.py" "$doc/django_orm.py" "$work/"
cp "$top/tests/clients/django_race.py" "$work/"
cp "$doc/mysite/settings.py" "$work/mysite/"
cp "$doc/inventory/models.py" "$doc/inventory/apps.py" "$work/inventory/"
: > "$work/inventory/__init__.py"

# rows: prints the items as the ORM sees them.
cat > "$work/rows.py" <<'PY'
import os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django.setup()
from django.db import connection  # noqa: E402
from inventory.models import Item  # noqa: E402
print(sorted(Item.objects.values_list("name", "count")))
with connection.cursor() as c:
    c.execute("PRAGMA journal_mode")
    print("journal_mode", c.fetchone()[0])
PY

run_case django_migrate sh -e "$doc/django-migrate.sh"
grep -q "Applying auth.0001_initial... OK" "$work/.out" &&
  grep -q "Applying inventory.0001_initial... OK" "$work/.out"
ok_if django_migrate_applied_contrib_and_app $?
run_case django_orm python3 django_orm.py
run_case django_fixtures sh -e "$doc/django-fixtures.sh"
grep -q "Installed 2 object(s) from 1 fixture(s)" "$work/.out"
ok_if django_loaddata_installed_two $?
run_case django_rows_after_loaddata python3 rows.py
grep -qxF "[('bolt', 7), ('washer', 1)]" "$work/.out" &&
  grep -qx "journal_mode delete" "$work/.out"
ok_if django_rows_back $?
run_case django_lost_race_retried python3 django_race.py
finish
