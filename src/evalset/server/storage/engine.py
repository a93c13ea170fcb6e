"""The one place that knows SQLite from PostgreSQL: engine set-up, transactions, JSON as text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Engine, Table, Uuid, create_engine, event
from sqlalchemy.engine import make_url

from evalset.server.storage.tables import JSONText, UTCDateTime

__all__ = ["Database", "Conn", "normalize_url", "bulk_insert"]

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


# --- bulk inserts ------------------------------------------------------------------------------
# SQLAlchemy's per-value bind processing costs several times the database's own executemany for
# 10,000-row imports, so bulk inserts adapt values here, once per column type and dialect, and hand
# plain tuples to the driver. psycopg sends str with the "unknown" type, so PostgreSQL casts JSON
# text to json/jsonb and UUID strings to uuid itself.


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_uuid(value: str | None) -> str | None:
    return None if value is None else value.replace("-", "").lower()


def _sqlite_datetime() -> Any:
    cache: dict[datetime, str] = {}  # an import stamps every row with the same moment

    def adapt(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = cache.get(value)
        if text is None:
            text = cache[value] = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        return text

    return adapt


def _adapter(column_type: Any, conn: Connection) -> Callable[[Any], Any] | None:
    """How to turn a Python value into what the driver takes for this column, or None for as-is."""
    resolved = column_type.dialect_impl(conn.dialect)
    if isinstance(resolved, (JSON, JSONText)):
        return _json_text
    if conn.dialect.name == "sqlite" and isinstance(resolved, Uuid):
        return _sqlite_uuid
    if conn.dialect.name == "sqlite" and isinstance(resolved, UTCDateTime):
        return _sqlite_datetime()
    return None


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT many complete rows (every key of the first row is a column) in one executemany."""
    if not rows:
        return
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    order = list(compiled.positiontup or keys) if compiled.positional else keys
    adapters = [_adapter(table.c[key].type, conn) for key in order]
    plan = [(key, adapt) for key, adapt in zip(order, adapters, strict=True)]
    if compiled.positional:
        params: list[Any] = [tuple(row[k] if a is None else a(row[k]) for k, a in plan) for row in rows]
    else:
        params = [{k: row[k] if a is None else a(row[k]) for k, a in plan} for row in rows]
    conn.exec_driver_sql(str(compiled), params)
