"""django_race.py: a Django transaction that loses a race.

Run by django.test.sh in the documented project. A second database alias
stands for a writer on another machine (the same database with its own
lock_dir). Inside transaction.atomic() the default connection reads, the
other commits, and the outer COMMIT then raises
django.db.utils.OperationalError whose __cause__ is sqlite3's, with the
extended code SQLITE_BUSY_SNAPSHOT; nothing of the loser was committed,
and running the atomic block again commits.
"""
import os
import sqlite3
import tempfile

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
default = settings.DATABASES["default"]
settings.DATABASES["other"] = dict(
    default, NAME=default["NAME"] + "&lock_dir=" + tempfile.mkdtemp())
django.setup()

from django.db import OperationalError, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from inventory.models import Item  # noqa: E402

Item.objects.all().delete()
Item.objects.create(name="gear", count=10)
attempts = 0
while True:
    attempts += 1
    try:
        with transaction.atomic():
            n = Item.objects.get(name="gear").count
            if attempts == 1:
                Item.objects.using("other").filter(name="gear").update(
                    count=F("count") + 100)
            Item.objects.filter(name="gear").update(count=n - 1)
        break
    except OperationalError as e:
        cause = e.__cause__
        assert isinstance(cause, sqlite3.OperationalError), type(cause)
        assert cause.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT, \
            cause.sqlite_errorcode
        print("lost the race:", cause.sqlite_errorname, "-", e)
        assert Item.objects.get(name="gear").count == 110
        assert attempts < 5
print("count", Item.objects.get(name="gear").count, "after", attempts,
      "attempts")
assert attempts == 2 and Item.objects.get(name="gear").count == 109
