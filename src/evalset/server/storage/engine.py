"""The one place that knows SQLite from PostgreSQL: engine set-up, transactions, JSON as text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["Database", "Conn", "normalize_url"]

Conn = Connection
"""A connection inside an open transaction; what services pass to the storage functions."""


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def normalize_url(url: str) -> str:
    """Map the URLs people type (postgresql://, postgres://) onto the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """An engine plus read/write transaction scopes that behave the same on both databases."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url, parsed.database)
        elif self.dialect == "postgresql":
            self.engine = create_engine(
                self.url,
                pool_size=16,
                max_overflow=16,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
            )
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql:// URLs")

    @contextmanager
    def read(self) -> Iterator[Conn]:
        """A read-only transaction (a consistent snapshot for the statements inside it)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Conn]:
        """A write transaction: commits on success, rolls back everything on any exception."""
        with self.engine.connect().execution_options(evalset_write=True) as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=16,
        max_overflow=16,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite: we issue BEGIN ourselves (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first can fail
        # with "database is locked" when another writer commits in between, whatever the busy timeout.
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("evalset_write") else "BEGIN"
        conn.exec_driver_sql(mode)

    return engine
