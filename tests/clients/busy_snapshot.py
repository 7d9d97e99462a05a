"""busy_snapshot.py: a SQLAlchemy transaction that loses a race.

Run by sqlalchemy.test.sh in a directory holding the docs/clients.md
examples. A session reads, a writer "on another machine" (its own
lock_dir) commits, the session's COMMIT then fails: the test checks what
reaches Python (sqlalchemy.exc.OperationalError wrapping
sqlite3.OperationalError, "database is locked", extended code
SQLITE_BUSY_SNAPSHOT), that nothing of the loser was committed, and that
run_transaction from the document retries the work to success.
"""
import sqlite3
import tempfile

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shop import URL, Base, Product, make_engine
from sqlalchemy_retry import lost_race, run_transaction

a = make_engine()
b = make_engine(URL + "&lock_dir=" + tempfile.mkdtemp())


def stock():
    """The apple stock as a new session sees it."""
    with Session(a) as s:
        return s.scalars(select(Product.stock)).one()


def other_machine_sells():
    """b commits one sale in its own transaction."""
    with Session(b) as s, s.begin():
        s.scalars(select(Product)).one().stock -= 1


Base.metadata.create_all(a)
with Session(a) as s, s.begin():
    s.query(Product).delete()
    s.add(Product(name="apple", stock=10))

loser = Session(a)
loser.begin()
apple = loser.scalars(select(Product)).one()     # the loser's snapshot
other_machine_sells()
apple.stock -= 5
try:
    loser.commit()
    raise SystemExit("a commit over another writer's commit succeeded")
except OperationalError as e:
    assert isinstance(e.orig, sqlite3.OperationalError), type(e.orig)
    assert lost_race(e)
    assert e.orig.sqlite_errorcode == sqlite3.SQLITE_BUSY_SNAPSHOT, \
        e.orig.sqlite_errorcode
    assert str(e.orig) == "database is locked", str(e.orig)
    print("lost the race:", e.orig.sqlite_errorname, "-", e.orig)
loser.rollback()
loser.close()
assert stock() == 9, stock()

calls = 0


def sell_one_after_a_race(session):
    """Sells one apple; on the first call b sells one in between."""
    global calls
    calls += 1
    apple = session.scalars(select(Product)).one()
    if calls == 1:
        other_machine_sells()
    apple.stock -= 1


run_transaction(a, sell_one_after_a_race)
print("committed after", calls, "attempts")
assert calls == 2, calls
assert stock() == 7, stock()
