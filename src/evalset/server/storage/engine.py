"""The one place that knows SQLite from PostgreSQL: engine set-up, transactions, JSON as text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    cast,
    create_engine,
    event,
    func,
    type_coerce,
)
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement

from evalset.server.storage.tables import JSONText, UTCDateTime

__all__ = [
    "Database",
    "Conn",
    "normalize_url",
    "bulk_insert",
    "wire_select",
    "wire_records",
    "json_object_text",
    "json_text",
]

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


# --- wire-ready reads ---------------------------------------------------------------------------
# Listing and exporting are the hot read paths: there, columns are selected in a form that needs
# (almost) no per-value Python work to become JSON. JSON comes back as its text (embedded with
# orjson.Fragment), UUIDs and timestamps as strings on SQLite, as text and aware datetimes on PostgreSQL.


def json_text(conn: Connection, column: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON column selected as its serialised text."""
    if conn.dialect.name == "postgresql":
        return cast(column, Text)
    return type_coerce(column, Text)


def _dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def _sqlite_iso(stored: str) -> str:
    # stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
    return f"{stored[:10]}T{stored[11:]}+00:00"


def _fragment(text: str) -> Any:
    return orjson.Fragment(text)


def wire_select(conn: Connection, columns: Sequence[Any]) -> tuple[list[Any], list[Callable[[Any], Any] | None]]:
    """Select expressions for `columns` plus, per column, the converter to apply to non-null values."""
    sqlite = conn.dialect.name == "sqlite"
    expressions: list[Any] = []
    converters: list[Callable[[Any], Any] | None] = []
    for column in columns:
        resolved = column.type.dialect_impl(conn.dialect)
        expression, converter = column, None
        if isinstance(resolved, (JSON, JSONText)):
            expression, converter = json_text(conn, column), _fragment
        elif isinstance(resolved, Uuid):
            expression, converter = (type_coerce(column, String), _dashed) if sqlite else (cast(column, Text), None)
        elif isinstance(resolved, UTCDateTime) and sqlite:
            expression, converter = type_coerce(column, String), _sqlite_iso
        elif isinstance(resolved, Boolean) and sqlite:
            expression, converter = type_coerce(column, Integer), bool
        expressions.append(expression.label(column.key))
        converters.append(converter)
    return expressions, converters


def wire_records(
    rows: Iterable[Sequence[Any]], keys: Sequence[str], converters: Sequence[Callable[[Any], Any] | None]
) -> Iterator[dict[str, Any]]:
    """Rows of a `wire_select` as dicts, each non-null value passed through its column's converter."""
    plan = list(zip(keys, converters, strict=True))
    for row in rows:
        yield {
            key: value if convert is None or value is None else convert(value)
            for (key, convert), value in zip(plan, row, strict=True)
        }


def json_object_text(conn: Connection, pairs: Sequence[tuple[str, Any]], *, json_keys: set[str]) -> ColumnElement[str]:
    """One JSON object per row, built by the database itself (keys in order; `json_keys` hold JSON)."""
    args: list[Any] = []
    for key, column in pairs:
        if conn.dialect.name == "sqlite" and key in json_keys:
            column = func.json(type_coerce(column, Text))
        args.extend((key, column))
    if conn.dialect.name == "postgresql":
        return cast(func.json_build_object(*args), Text)
    return type_coerce(func.json_object(*args), Text)
