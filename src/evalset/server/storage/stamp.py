"""The database's stamp: a cheap, strictly current answer to "has anything changed since I last looked?"."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, NamedTuple

from sqlalchemy.engine import Engine

__all__ = ["Stamp", "DatabaseStamp"]


class Stamp(NamedTuple):
    """What one read of the stamp saw.

    - `keys`: moves whenever an API key is created or revoked, by any process (the number of keys and of
      revoked keys: keys are never deleted or un-revoked).
    - `data`: moves whenever anything is committed to the database by any connection of any process
      (SQLite: `PRAGMA data_version`, with the number of the connection that read it; PostgreSQL: the
      statement's snapshot, `pg_current_snapshot()`, which moves with every transaction that ends in the
      whole cluster). Two reads with equal `data` saw the same committed data, so a result computed after
      a read of `data` may be reused while a later read gives the same value. None when it cannot tell.
    """

    keys: tuple[int, int]
    data: Any


_KEYS = "SELECT count(*), count(revoked_at) FROM api_keys"
_KEYS_AND_SNAPSHOT = "SELECT count(*), count(revoked_at), pg_current_snapshot()::text FROM api_keys"
LOOP_READ_TIMEOUT_S = 5.0  # DatabaseStamp.read_on_loop: longer than any healthy round trip


class DatabaseStamp:
    """Reads the Stamp on one connection of its own per process, kept out of the pool, in autocommit, outside
    any transaction.

    On SQLite the keys are counted only when `PRAGMA data_version` has moved: while nothing is committed a
    read costs no I/O (the counter is in the database's shared memory). `data_version` does not move for
    commits made on the connection that reads it, so that connection never writes (`query_only`). It waits
    for no lock either (`busy_timeout` 0: a busy database reads as "cannot tell"), so that a read may be made
    on the event loop (`read(wait=False)`: a PRAGMA, which reads shared memory while nothing changed).

    On PostgreSQL a read is one small query, a round trip. `read_on_loop()` makes it on the event loop without
    blocking it, to spare a thread hop (which costs more CPU than the read): libpq's asynchronous calls
    (psycopg's `pq` layer) on the same connection, the loop waiting for the socket. One read at a time on
    either path: a loop read asked for while another read is under way, or before a thread has connected,
    answers None, as does any failure; a loop read that fails or is cancelled midway closes the connection.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()  # held by the read under way, on a thread or on the loop
        self._conn: Any = None
        self._cursor: Any = None
        self._version: Any = None
        self._keys: tuple[int, int] | None = None
        self._opened = 0  # connections opened: a new one counts data_version afresh, from a number seen before
        self._loop_unusable = False  # another driver than psycopg 3, or a loop without add_reader (Windows')

    def read(self, *, wait: bool = True) -> Stamp | None:
        """The stamp now; None when it cannot be told (then trust nothing remembered). With `wait=False`
        (SQLite only: PostgreSQL's read is a round trip), it reads nothing but `PRAGMA data_version`, and
        answers None when another thread is reading, when there is no connection yet, or when something was
        committed since the last read (the keys would have to be counted: that is for a thread to do)."""
        if not self._lock.acquire(wait):
            return None
        try:
            if not wait and self._cursor is None:
                return None
            return self._read(count=wait)
        except Exception:  # noqa: BLE001 - a lost connection, a busy file: tell the caller to trust nothing
            self._close()
            return None
        finally:
            self._lock.release()

    def _read(self, *, count: bool) -> Stamp | None:
        if self._cursor is None:
            self._cursor = self._open()
        cursor = self._cursor
        if self.sqlite:
            cursor.execute("PRAGMA data_version")
            version = cursor.fetchone()[0]
            if version != self._version or self._keys is None:
                if not count:
                    return None
                cursor.execute(_KEYS)
                total, revoked = cursor.fetchone()
                self._keys = (int(total), int(revoked))
                self._version = version
            return Stamp(self._keys, (self._opened, version))
        cursor.execute(_KEYS_AND_SNAPSHOT)
        total, revoked, snapshot = cursor.fetchone()
        return Stamp((int(total), int(revoked)), snapshot)

    async def read_on_loop(self) -> Stamp | None:
        """PostgreSQL: the stamp read on the event loop without blocking it (see the class), or None."""
        if self._loop_unusable or not self._lock.acquire(False):
            return None
        done = False
        try:
            if self._cursor is None:
                return None
            try:
                pg = self._conn.driver_connection.pgconn
            except AttributeError:  # not psycopg 3: never try again
                self._loop_unusable = True
                done = True
                return None
            stamp = await _query(pg, _KEYS_AND_SNAPSHOT.encode())
            done = True
            return stamp
        except NotImplementedError:  # the loop cannot wait on a socket
            self._loop_unusable = True
            return None
        except Exception:  # noqa: BLE001 - a lost connection: tell the caller to read on a thread
            return None
        finally:
            if not done:  # failed, or cancelled while waiting: the connection is in an unknown state
                self._close()
            self._lock.release()

    def _open(self) -> Any:
        """The driver's cursor (kept: a read is a few statements) on a connection kept out of the pool."""
        self._conn = self._engine.raw_connection()
        self._version = self._keys = None
        self._opened += 1
        driver: Any = self._conn.driver_connection
        cursor = driver.cursor()
        if self.sqlite:
            cursor.execute("PRAGMA query_only=1")
            cursor.execute("PRAGMA busy_timeout=0")
        else:
            driver.autocommit = True  # each read sees the latest commit
        return cursor

    def close(self) -> None:
        """Close the connection, unless a read is under way (when the process ends with it)."""
        if self._lock.acquire(timeout=5):
            try:
                self._close()
            finally:
                self._lock.release()

    def _close(self) -> None:
        conn, self._conn, self._cursor = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                conn.invalidate()  # closed, not pooled: it is in autocommit, and query_only on SQLite


async def _query(pg: Any, query: bytes) -> Stamp:
    """Send `query` and read its one row, waiting on the socket through the loop. A connection that died
    without a reset would never answer: after LOOP_READ_TIMEOUT_S, TimeoutError (the caller closes it).
    (Not `asyncio.wait_for`: its task and timer cost more user CPU than the rest of the read, 18 us.)"""
    from psycopg import pq

    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOOP_READ_TIMEOUT_S
    pg.send_query(query)
    while pg.flush():  # (a query this small is sent at once)
        await _ready(loop, loop.add_writer, loop.remove_writer, pg.socket, deadline)
    results = []
    while True:  # as psycopg's own fetch: wait for input before every get_result, the last (None) included
        pg.consume_input()
        while pg.is_busy():
            await _ready(loop, loop.add_reader, loop.remove_reader, pg.socket, deadline)
            pg.consume_input()
        if (result := pg.get_result()) is None:
            break
        results.append(result)
    if len(results) != 1 or results[0].status != pq.ExecStatus.TUPLES_OK:
        raise RuntimeError(f"the stamp query failed: {[r.error_message for r in results]}")
    row = [results[0].get_value(0, column) for column in range(3)]
    return Stamp((int(row[0]), int(row[1])), row[2].decode())


async def _ready(loop: asyncio.AbstractEventLoop, add: Any, remove: Any, fd: int, deadline: float) -> None:
    future = loop.create_future()

    def expire() -> None:
        if not future.done():
            future.set_exception(TimeoutError("the stamp read got no answer in time"))

    add(fd, lambda: future.done() or future.set_result(None))
    timer = loop.call_at(deadline, expire)
    try:
        await future
    finally:
        remove(fd)
        timer.cancel()
