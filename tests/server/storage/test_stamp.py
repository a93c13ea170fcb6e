"""Database.stamp(): its data part moves with every commit by another connection; the read that never waits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from evalset.server.services import keys
from evalset.server.storage import Database
from evalset.server.storage import stamp as stamp_module


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


def test_the_event_loops_read(db: Database, other: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """stamp_on_loop(): SQLite's never-waiting read; PostgreSQL's on libpq's asynchronous calls, which answers
    as stamp() does, one read at a time, and closes its connection when a read fails or is cancelled."""
    if db.dialect == "sqlite":
        assert asyncio.run(db.stamp_on_loop()) is None  # nothing read yet
        read = db.stamp()
        assert read is not None and asyncio.run(db.stamp_on_loop()) == read
        return
    assert asyncio.run(db.stamp_on_loop()) is None  # not connected: read on a thread, which connects
    on_thread = db.stamp()
    reader = db._stamp
    connection = reader._conn
    first = asyncio.run(db.stamp_on_loop())
    assert first is not None and on_thread is not None and first.keys == on_thread.keys
    assert reader._conn is connection  # one connection for both reads: the process holds one, not two
    keys.create_key(other, project="p", scopes=["project:read_datasets"])
    second = asyncio.run(db.stamp_on_loop())
    assert second is not None and second.keys == (first.keys[0] + 1, 0) and second.data != first.data

    with reader._lock:  # as while another read is under way
        assert asyncio.run(db.stamp_on_loop()) is None

    async def cancelled() -> None:
        task = asyncio.ensure_future(db.stamp_on_loop())
        await asyncio.sleep(0.1)  # the query is sent; the task waits for the answer
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    slow = stamp_module._KEYS_AND_SNAPSHOT.replace("FROM api_keys", "FROM api_keys CROSS JOIN pg_sleep(2)")
    monkeypatch.setattr(stamp_module, "_KEYS_AND_SNAPSHOT", slow)  # an answer that comes after the cancel
    asyncio.run(cancelled())
    monkeypatch.undo()
    assert asyncio.run(db.stamp_on_loop()) is None  # closed: its connection was left mid-query
    assert reader._conn is None
    db.stamp()
    backend = reader._conn.driver_connection.pgconn.backend_pid
    with other.write() as conn:  # the connection is dropped (a restart, a network failure)
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    assert asyncio.run(db.stamp_on_loop()) is None
    db.stamp()
    assert asyncio.run(db.stamp_on_loop()) is not None

    # An answer that never comes (a connection that died without a reset): the read gives up and closes it.
    monkeypatch.setattr(stamp_module, "_KEYS_AND_SNAPSHOT", slow)
    monkeypatch.setattr(stamp_module, "LOOP_READ_TIMEOUT_S", 0.2)
    assert asyncio.run(db.stamp_on_loop()) is None
    assert reader._conn is None
    monkeypatch.undo()
    db.stamp()
    assert asyncio.run(db.stamp_on_loop()) is not None

    async def no_sockets(*_: object) -> None:  # Windows' proactor loop has no add_reader
        raise NotImplementedError

    monkeypatch.setattr(stamp_module, "_ready", no_sockets)
    monkeypatch.setattr(stamp_module, "_KEYS_AND_SNAPSHOT", slow)  # (so that the read must wait)
    assert asyncio.run(db.stamp_on_loop()) is None
    monkeypatch.undo()
    assert db.stamp() is not None  # the thread's read still works ...
    assert asyncio.run(db.stamp_on_loop()) is None  # ... and the loop's is not tried again
