"""Database.stamp(): its data part moves with every commit by another connection; the read that never waits."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from evalset.server.services import keys
from evalset.server.storage import Database


@pytest.fixture
def other(db: Database, db_url: str) -> Iterator[Database]:
    second = Database(db_url)
    yield second
    second.dispose()


def test_keys_and_data_parts(db: Database, other: Database) -> None:
    first = db.stamp()
    assert first is not None and first.data is not None
    keys.create_key(other, project="p", scopes=["project:read_datasets"])
    second = db.stamp()
    assert second is not None and second.keys != first.keys and second.data != first.data
    with other.write() as conn:  # a commit that is not a key: the data part moves, the keys part stays
        conn.execute(text("UPDATE projects SET name = 'q'"))
    third = db.stamp()
    assert third is not None and third.keys == second.keys and third.data != second.data


def test_the_read_that_never_waits(db: Database, other: Database) -> None:
    if db.dialect != "sqlite":
        assert db.stamp() is not None and db.stamp(wait=False) is None  # a round trip: never on the event loop
        return
    assert db.stamp(wait=False) is None  # no connection yet: opening one is for a thread
    read = db.stamp()
    assert read is not None and db.stamp(wait=False) == read
    keys.create_key(other, project="p", scopes=["project:read_datasets"])
    assert db.stamp(wait=False) is None  # the keys would have to be counted again
    again = db.stamp()
    assert again is not None and again != read and db.stamp(wait=False) == again
    stamp = db._stamp
    assert stamp is not None
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with stamp._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        assert db.stamp(wait=False) is None  # another thread is reading
    finally:
        release.set()
        holder.join()
    assert db.stamp(wait=False) == again
