"""The one place that knows SQLite from PostgreSQL: engine set-up, transactions, bulk writes, JSON reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    Integer,
    Table,
    Text,
    Uuid,
    case,
    cast,
    create_engine,
    event,
    func,
    literal_column,
    type_coerce,
)
from sqlalchemy.dialects.sqlite import dialect as _sqlite_dialect_class
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from evalset.server.storage.tables import JSONText, UTCDateTime
from evalset.server.wire import TIMESTAMP_SQLITE_FORMAT, dumps

__all__ = [
    "Database",
    "Conn",
    "Contention",
    "normalize_url",
    "bulk_insert",
    "json_row",
    "json_rows",
    "json_text",
    "upsert",
    "least",
    "greatest",
    "json_field_text",
]

sqlite_dialect = _sqlite_dialect_class()

Conn = Connection
"""A connection inside an open transaction; what services pass to the storage functions."""


def _dumps(value: Any) -> str:
    return dumps(value).decode()


def normalize_url(url: str) -> str:
    """Map the URLs people type (postgresql://, postgres://) onto the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


_ENGINE_OPTIONS: dict[str, Any] = {
    "pool_size": 16,
    "max_overflow": 16,
    "json_serializer": _dumps,
    "json_deserializer": orjson.loads,
}


class Contention(Exception):
    """A write transaction lost a race that another one won, and was rolled back: nothing was written,
    and running the whole transaction again is safe. The database's own words are the message."""


_CONTENDED_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "23505",  # unique_violation: a concurrent writer took the key first; a re-run sees it and answers 409
    }
)


def _is_contention(error: DBAPIError) -> bool:
    cause = error.orig
    sqlstate = getattr(cause, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return sqlstate in _CONTENDED_SQLSTATES
    name = getattr(cause, "sqlite_errorname", "")  # sqlite3
    return name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or name == "SQLITE_CONSTRAINT_UNIQUE"


class Database:
    """An engine plus read/write transaction scopes that behave the same on both databases."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url, parsed.database)
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, **_ENGINE_OPTIONS)
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql:// URLs")

    @contextmanager
    def read(self) -> Iterator[Conn]:
        """A read-only transaction (a consistent snapshot for the statements inside it)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Conn]:
        """A write transaction: commits on success, rolls back everything on any exception.

        A transaction that lost a race (see Contention) raises Contention once rolled back; the
        services run such a use case again (services._common.retry_on_contention).
        """
        try:
            with self.engine.connect().execution_options(evalset_write=True) as conn, conn.begin():
                yield conn
        except DBAPIError as error:
            if _is_contention(error):
                raise Contention(str(error.orig).splitlines()[0]) from error
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **_ENGINE_OPTIONS, connect_args={"check_same_thread": False, "timeout": 30})

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
    return None if value is None else dumps(value).decode()


def _sqlite_uuid(value: str | None) -> str | None:
    return None if value is None else value.replace("-", "")


def _sqlite_datetime() -> Any:
    cache: dict[datetime, str] = {}  # an import stamps every row with the same moment

    def adapt(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = cache.get(value)
        if text is None:
            text = cache[value] = value.astimezone(timezone.utc).strftime(TIMESTAMP_SQLITE_FORMAT)
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


BULK_BATCH = 2000


def bulk_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    constants: Mapping[str, Any] | None = None,
    ignore_conflicts: bool = False,
    multi_values: bool = False,
) -> None:
    """INSERT many rows: `columns` of each row (default: every key of the first row), plus `constants`,
    the same value in every row; an executemany per batch of BULK_BATCH rows, in the caller's transaction.
    With `ignore_conflicts`, a row whose unique key is taken is skipped (ON CONFLICT DO NOTHING). With
    `multi_values`, PostgreSQL gets one multi-row INSERT per batch instead of an executemany (a round of
    the pipeline per row costs more than the row itself for small rows: spans).

    Values are adapted column by column (itemgetter and map run in C; the driver gets tuples built by
    zip), which matters at 10,000 rows per import; batches bound the memory those copies take.
    """
    if not rows:
        return
    constants = constants or {}
    keys = [*(columns or rows[0]), *constants]
    statement = upsert(conn, table).on_conflict_do_nothing() if ignore_conflicts else table.insert()
    compiled = statement.compile(dialect=conn.dialect, column_keys=keys)
    sql = str(compiled)
    order = list(compiled.positiontup or keys) if compiled.positional else keys
    plan = [(key, _adapter(table.c[key].type, conn)) for key in order]
    if multi_values and conn.dialect.name == "postgresql":
        _insert_multi_values(conn, table, rows, plan, constants, ignore_conflicts)
        return
    for start in range(0, len(rows), BULK_BATCH):
        batch = rows[start : start + BULK_BATCH]
        values = []
        for key, adapt in plan:
            if key in constants:
                values.append([constants[key] if adapt is None else adapt(constants[key])] * len(batch))
                continue
            column = map(itemgetter(key), batch)
            values.append(list(column if adapt is None else map(adapt, column)))
        if compiled.positional:
            params: list[Any] = list(zip(*values, strict=True))
        else:
            params = [dict(zip(order, row, strict=True)) for row in zip(*values, strict=True)]
        conn.exec_driver_sql(sql, params)


def upsert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which offers `on_conflict_do_nothing()` / `on_conflict_do_update(...)` and
    `.excluded` (the same SQL on SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def least(conn: Connection, *values: Any) -> ColumnElement[Any]:
    """The smallest of several values in a row (SQLite's scalar min, PostgreSQL's LEAST)."""
    return func.least(*values) if conn.dialect.name == "postgresql" else func.min(*values)


def greatest(conn: Connection, *values: Any) -> ColumnElement[Any]:
    """The largest of several values in a row (SQLite's scalar max, PostgreSQL's GREATEST)."""
    return func.greatest(*values) if conn.dialect.name == "postgresql" else func.max(*values)


def json_field_text(conn: Connection, column: Any, key: str) -> ColumnElement[Any]:
    """The text of one top-level member of a JSON object column (a string as itself, anything else as its
    JSON text, e.g. `42`, `true`), or NULL when absent. `key` may contain dots: it is one member's name."""
    if conn.dialect.name == "postgresql":
        member = column.op("->")(key)
        return case((func.json_typeof(member) == "string", column.op("->>")(key)), else_=cast(member, Text))
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    extracted = func.json_extract(type_coerce(column, Text), path)
    kind = func.json_type(type_coerce(column, Text), path)
    return case(
        (kind.in_(("object", "array")), func.json(extracted)),
        (kind == "true", "true"),
        (kind == "false", "false"),
        else_=cast(extracted, Text),
    )


def _insert_multi_values(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    plan: list[tuple[str, Callable[[Any], Any] | None]],
    constants: Mapping[str, Any],
    ignore_conflicts: bool,
) -> None:
    """One `INSERT ... SELECT FROM unnest(array per column)` per batch: a handful of parameters, whatever the
    number of rows (psycopg would spend longer splitting a 10,000-placeholder VALUES list than PostgreSQL
    spends inserting it)."""
    names = [key for key, _ in plan]  # our own column names
    sql_types = [table.c[key].type.compile(dialect=conn.dialect) for key in names]
    arrays = [
        "%b::bigint[]" if t in ("BIGINT", "INTEGER") else "%b::boolean[]" if t == "BOOLEAN" else "%b::text[]"
        for t in sql_types
    ]
    casts = [
        f"u.c{i}" if t in ("BIGINT", "INTEGER", "BOOLEAN", "TEXT") else f"u.c{i}::{t}" for i, t in enumerate(sql_types)
    ]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(casts)} "
        f"FROM unnest({', '.join(arrays)}) AS u({', '.join(f'c{i}' for i in range(len(names)))})"
        + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    )
    fixed = {key: constants[key] if adapt is None else adapt(constants[key]) for key, adapt in plan if key in constants}
    for start in range(0, len(rows), BULK_BATCH):
        batch = rows[start : start + BULK_BATCH]
        params = []
        for key, adapt in plan:
            if key in fixed:
                params.append([fixed[key]] * len(batch))
            else:
                column = map(itemgetter(key), batch)
                params.append(list(column if adapt is None else map(adapt, column)))
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(sql, tuple(params), binary=True)  # binary arrays: no text escaping of JSON values


# --- rows as JSON, built by the database -------------------------------------------------------
# Listing and exporting are the hot read paths. There the database renders each row as the JSON
# object the API returns (json_object on SQLite, json_build_object on PostgreSQL), so Python only
# joins strings: no per-value conversion of UUIDs, timestamps or JSON documents.


def json_text(conn: Connection, column: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON column selected as its serialised text."""
    if conn.dialect.name == "postgresql":
        return cast(column, Text)
    return type_coerce(column, Text)


def _sqlite_value(column: Any) -> Any:
    """A column as SQLite's json_object should embed it (see the storage formats in bulk_insert)."""
    resolved = column.type.dialect_impl(sqlite_dialect)
    raw = type_coerce(column, Text)
    if isinstance(resolved, JSONText):
        return func.json(raw)
    if isinstance(resolved, Uuid):  # 32 hex digits -> 8-4-4-4-12
        parts = [func.substr(raw, start, length) for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
        dashed = parts[0]
        for part in parts[1:]:
            dashed = dashed.op("||")("-").op("||")(part)
        return case((column.is_(None), None), else_=dashed)
    if isinstance(resolved, UTCDateTime):  # "YYYY-MM-DD HH:MM:SS.ffffff" in UTC -> ISO 8601
        iso = func.substr(raw, 1, 10).op("||")("T").op("||")(func.substr(raw, 12)).op("||")("+00:00")
        return case((column.is_(None), None), else_=iso)
    if isinstance(resolved, Boolean):
        return func.json(case((column.is_(None), "null"), (type_coerce(column, Integer) != 0, "true"), else_="false"))
    return column


_json_rows: dict[tuple[str, tuple[Any, ...]], ColumnElement[str]] = {}


def json_row(conn: Connection, columns: Sequence[Any]) -> ColumnElement[str]:
    """Each row as the JSON text of an object with these columns (keyed by column name, in order).

    The expression is built once per dialect and column list: building it costs more than running it.
    """
    key = (conn.dialect.name, tuple(columns))
    expression = _json_rows.get(key)
    if expression is None:
        expression = _json_rows[key] = _build_json_row(conn.dialect.name == "sqlite", columns)
    return expression


def _build_json_row(sqlite: bool, columns: Sequence[Any]) -> ColumnElement[str]:
    args: list[Any] = []
    for column in columns:
        assert column.key.isidentifier()  # our own column names, inlined: PostgreSQL cannot type a bound key
        args.extend((literal_column(f"'{column.key}'"), _sqlite_value(column) if sqlite else _postgresql_value(column)))
    if sqlite:
        return type_coerce(func.json_object(*args), Text)
    return cast(func.json_build_object(*args), Text)


def _postgresql_value(column: Any) -> Any:
    """Timestamps in the one wire format (see evalset.server.wire); PostgreSQL would trim zeros."""
    if isinstance(column.type, UTCDateTime):
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    return column


def json_rows(conn: Connection, query: Any) -> Iterator[Any]:
    """Run a select of one `json_row` column now; the iterator yields each row's JSON as an orjson
    fragment, fetched in batches. (Running it now means a failing query fails before a response starts.)"""
    result = conn.execute(query.execution_options(stream_results=True, yield_per=STREAM_BATCH))
    return (orjson.Fragment(text) for (text,) in result)


STREAM_BATCH = 2000
