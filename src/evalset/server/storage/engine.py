"""The one place that knows SQLite from PostgreSQL: engine set-up, transactions, bulk writes, JSON reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    case,
    cast,
    create_engine,
    event,
    func,
    literal_column,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.sqlite import dialect as _sqlite_dialect_class
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.sql.elements import ColumnElement

from evalset.server.storage.stamp import Stamp
from evalset.server.storage.tables import JSONText, UTCDateTime
from evalset.server.wire import TIMESTAMP_SQLITE_FORMAT, dumps

__all__ = [
    "Database",
    "Conn",
    "Contention",
    "Unavailable",
    "normalize_url",
    "bulk_insert",
    "json_row",
    "json_rows",
    "json_text",
    "upsert",
    "least",
    "greatest",
    "json_field_text",
    "rows_by_keys",
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


class Unavailable(Exception):
    """The database cannot serve now: it refused a connection (down, restarting, out of connection slots)
    or dropped one mid-transaction (the database rolls that transaction back, unless the connection was lost
    during the commit itself). Asking again later is the answer; the message is the database's own words."""


_UNAVAILABLE_SQLSTATES = frozenset(
    {
        "53300",  # too_many_connections (max_connections, or a role's CONNECTION LIMIT)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovering)
    }
)


def _is_unavailable(error: Exception) -> bool:
    """A connection that could not be made or was lost (not a statement the database refused)."""
    if isinstance(error, SQLAlchemyTimeoutError):  # every pooled connection busy for pool_timeout seconds
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in _UNAVAILABLE_SQLSTATES or (sqlstate is not None and sqlstate.startswith("08"))


def _unavailable(error: Exception) -> Unavailable:
    orig = getattr(error, "orig", None) or error
    return Unavailable((str(orig).strip().splitlines() or [type(orig).__name__])[0])


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
        self._analyze_lock = threading.Lock()
        self._stamp: Any = None
        self.memo: dict[str, Any] = {}
        """Per-process memory of the services (the key cache, the dataset lists), dropped with the Database."""
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url, parsed.database)
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, **_ENGINE_OPTIONS)
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql:// URLs")

    @contextmanager
    def read(self) -> Iterator[Conn]:
        """A read-only transaction (a consistent snapshot for the statements inside it)."""
        try:
            with self._connect() as conn, conn.begin():
                yield conn
        except (DBAPIError, SQLAlchemyTimeoutError) as error:
            if _is_unavailable(error):
                raise _unavailable(error) from error
            raise

    @contextmanager
    def write(self) -> Iterator[Conn]:
        """A write transaction: commits on success, rolls back everything on any exception.

        A transaction that lost a race (see Contention) raises Contention once rolled back; the
        services run such a use case again (services._common.retry_on_contention).
        """
        try:
            with self._connect().execution_options(evalset_write=True) as conn, conn.begin():
                yield conn
        except (DBAPIError, SQLAlchemyTimeoutError) as error:
            if isinstance(error, DBAPIError) and _is_contention(error):
                raise Contention(str(error.orig).splitlines()[0]) from error
            if _is_unavailable(error):
                raise _unavailable(error) from error
            raise

    def read_cached(self, name: str, build: Callable[[], Any], params: Mapping[str, Any]) -> list[Any]:
        """The rows of one read statement, compiled once (see run_cached), run on its own outside any
        transaction: a single statement reads one consistent snapshot on both databases, so it needs no
        BEGIN and ROLLBACK (round trips on PostgreSQL), and the driver's cursor runs it without SQLAlchemy's
        connection, transaction and result objects, which cost more than a small query. For hot reads of
        one statement (the dataset list); errors are mapped as in read()."""
        sql, args = _cached_statement(self.engine.dialect, name, build, params)
        try:
            pooled = self.engine.raw_connection()
        except (DBAPIError, SQLAlchemyTimeoutError, self.engine.dialect.loaded_dbapi.Error) as error:
            raise _unavailable(error) from error  # as _connect: the driver's own error, unwrapped here
        try:
            return _fetch_all(self.engine.dialect, pooled, sql, args)
        finally:
            pooled.close()  # back to the pool (its reset finds no transaction to roll back)

    def _connect(self) -> Conn:
        """A pooled connection; a database that refuses one (down, starting, out of slots) is Unavailable."""
        try:
            return self.engine.connect()
        except (DBAPIError, SQLAlchemyTimeoutError) as error:
            raise _unavailable(error) from error

    def wrote_many(self, rows: int) -> None:
        """A committed transaction wrote `rows` case rows: from ANALYZE_AFTER_ROWS on, refresh PostgreSQL's
        statistics of the case tables in the background (autovacuum's analyse comes much later, and plans
        made from the statistics of an empty table stay wrong at 100,000 rows). One at a time per process;
        a request never waits for it."""
        if self.dialect != "postgresql" or rows < ANALYZE_AFTER_ROWS or not self._analyze_lock.acquire(False):
            return
        try:
            _background.submit(self._analyze)
        except RuntimeError:  # interpreter shutting down
            self._analyze_lock.release()

    def _analyze(self) -> None:
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE cases, case_tags, case_revisions")
        except DBAPIError:  # statistics are an optimisation: a failure (database going away) changes no data
            pass
        finally:
            self._analyze_lock.release()

    def stamp(self, *, wait: bool = True) -> Stamp | None:
        """The database's stamp now (see storage.stamp.Stamp: its `keys` move whenever an API key is created or
        revoked anywhere, its `data` with every commit); None when it cannot be told. `wait=False` never blocks
        (it may then answer None): on PostgreSQL it always answers None, since a read is a round trip there."""
        reader = self._stamp_reader()
        if not wait and not reader.sqlite:
            return None
        return reader.read(wait=wait)

    async def stamp_on_loop(self) -> Stamp | None:
        """The stamp read from the event loop without blocking it, or None (then read it on a thread: `stamp()`,
        which also connects the reader). SQLite: `stamp(wait=False)`. PostgreSQL: DatabaseStamp.read_on_loop."""
        if self.dialect == "sqlite":
            return self.stamp(wait=False)
        return await self._stamp_reader().read_on_loop()

    def _stamp_reader(self) -> Any:
        if self._stamp is None:
            from evalset.server.storage.stamp import DatabaseStamp

            self._stamp = DatabaseStamp(self.engine)
        return self._stamp

    def dispose(self) -> None:
        # A background ANALYZE still running holds a connection that disposing would orphan: wait for it.
        if self._analyze_lock.acquire(timeout=30):
            self._analyze_lock.release()
        if self._stamp is not None:
            self._stamp.close()
        self.memo.clear()
        self.engine.dispose()


def _fetch_all(dialect: Dialect, pooled: Any, sql: str, args: Any) -> list[Any]:
    """Run `sql` in autocommit on a pooled DBAPI connection; driver errors come out as Database.read's do."""
    driver: Any = pooled.driver_connection
    cursor = None
    try:
        if dialect.name == "postgresql":
            driver.autocommit = True  # no transaction: psycopg would send BEGIN first (SQLite's is in autocommit)
        try:
            cursor = driver.cursor()
            cursor.execute(sql, args)
            return cursor.fetchall()
        finally:
            if cursor is not None:
                cursor.close()
            if dialect.name == "postgresql" and not driver.closed:
                driver.autocommit = False
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver, cursor)
        if lost:
            pooled.invalidate(error)
        wrapped = DBAPIError.instance(
            sql, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        )
        if _is_unavailable(wrapped):
            raise _unavailable(wrapped) from error
        raise wrapped from error


ANALYZE_AFTER_ROWS = 1000
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalset-analyze")


SQLITE_CACHE_KIB = 512
"""Each SQLite connection's page cache (SQLite's default is 2,000 KiB). A connection keeps its cache full
for as long as it lives, and the pool keeps up to 32: a 10,000-case import alone filled 2 MiB of it. The
file's pages stay in the system's cache, and another connection's commit empties this one anyway."""


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
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
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


def _adapter(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """How to turn a Python value into what the driver takes for this column, or None for as-is."""
    resolved = column_type.dialect_impl(dialect)
    if isinstance(resolved, (JSON, JSONText)):
        return _json_text
    if dialect.name == "sqlite" and isinstance(resolved, Uuid):
        return _sqlite_uuid
    if dialect.name == "sqlite" and isinstance(resolved, UTCDateTime):
        return _sqlite_datetime()
    return None


BULK_BATCH = 2000
COPY_THRESHOLD = 50
"""From this many rows on, bulk_insert uses COPY on PostgreSQL (below it, setting COPY up costs more)."""


def _copy_rows(conn: Connection, sql: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY rows (text format: psycopg renders each value as PostgreSQL's text input) in the connection's
    transaction. Driver errors come out as SQLAlchemy's, as from any other statement (see Database.write)."""
    import psycopg

    dbapi_conn: Any = conn.connection.driver_connection
    try:
        with dbapi_conn.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as error:
        raise DBAPIError.instance(sql, None, error, psycopg.Error, dialect=conn.dialect) from error


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
    plan = [(key, _adapter(table.c[key].type, conn.dialect)) for key in order]
    if multi_values and conn.dialect.name == "postgresql":
        _insert_multi_values(conn, table, rows, plan, constants, ignore_conflicts)
        return
    # PostgreSQL: COPY takes rows several times faster than a pipelined executemany of INSERTs.
    copy = None
    if conn.dialect.name == "postgresql" and not ignore_conflicts and len(rows) >= COPY_THRESHOLD:
        copy = f"COPY {table.name} ({', '.join(table.c[key].name for key in order)}) FROM STDIN"
    for start in range(0, len(rows), BULK_BATCH):
        batch = rows[start : start + BULK_BATCH]
        values = []
        for key, adapt in plan:
            if key in constants:
                values.append([constants[key] if adapt is None else adapt(constants[key])] * len(batch))
                continue
            column = map(itemgetter(key), batch)
            values.append(list(column if adapt is None else map(adapt, column)))
        if copy is not None:
            _copy_rows(conn, copy, zip(*values, strict=True))
        elif compiled.positional:
            params: list[Any] = list(zip(*values, strict=True))
            conn.exec_driver_sql(sql, params)
        else:
            params = [dict(zip(order, row, strict=True)) for row in zip(*values, strict=True)]
            conn.exec_driver_sql(sql, params)


# --- many rows by key ----------------------------------------------------------------------------
# An import looks up 10,000 names at once. On PostgreSQL an IN list of hundreds of values against a
# table without statistics (fresh, or grown by the last import), planned generically once psycopg
# prepares the statement, is a sequential scan per chunk: imports went quadratic. A LATERAL join
# against unnest(:keys), whose inner side cannot be flattened (LIMIT 1 on a unique key), is a nested
# loop of unique-index probes whatever the statistics, one statement for all the keys. SQLite plans
# an IN list on an indexed column as index probes always; it takes chunks under its parameter limit.

KEY_CHUNK = 500


def rows_by_keys(
    conn: Connection,
    columns: Sequence[Any],
    key: Any,
    keys: Sequence[Any],
    *,
    where: Sequence[ColumnElement[bool]] = (),
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Iterator[Any]:
    """The rows (of `columns`) whose unique `key` column is one of `keys`, with `where` also true.

    `key` plus the equality columns in `where` must be covered by a unique index (one row per key).
    `where` may hold `bindparam`s, given their values in `params`. With a `name` (one per distinct
    columns/key/where), the PostgreSQL statement is built once per process: building it costs several
    times what running it does, and an import looks names up once per batch.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        return
    if conn.dialect.name != "postgresql":
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = select(*columns).where(*where, key.in_(keys[start : start + KEY_CHUNK]))
            yield from conn.execute(chunk, dict(params or {}))
        return
    statement = _lookups.get(name) if name is not None else None
    if statement is None:
        from sqlalchemy.dialects.postgresql import ARRAY  # not at the top: SQLite never needs that package

        element_type = Text if isinstance(key.type, String) else key.type
        wanted = (
            func.unnest(bindparam("_keys", type_=ARRAY(element_type))).table_valued("k").render_derived(name="wanted")
        )
        probe = select(*columns).where(*where, key == wanted.c.k).limit(1).lateral("probe")
        statement = select(*probe.c).select_from(wanted).join(probe, true())
        if name is not None:
            _lookups[name] = statement
    yield from conn.execute(statement, {**(params or {}), "_keys": keys})


_lookups: dict[str, Any] = {}
"""rows_by_keys statements by name (PostgreSQL): immutable once built, so shared by every thread."""


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
    # SQLite evaluates these per row and value (the dataset list renders 100 rows per request), so they
    # are kept short: substr, || and replace of NULL are NULL, so a NULL stays NULL without a CASE.
    if isinstance(resolved, Uuid):  # 32 hex digits -> 8-4-4-4-12
        parts = [
            func.substr(raw, literal_column(str(start)), literal_column(str(length)))
            for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        ]
        dashed = parts[0]
        for part in parts[1:]:
            dashed = dashed.op("||")(literal_column("'-'")).op("||")(part)
        return dashed
    if isinstance(resolved, UTCDateTime):  # "YYYY-MM-DD HH:MM:SS.ffffff" in UTC -> ISO 8601
        return func.replace(raw, literal_column("' '"), literal_column("'T'")).op("||")(literal_column("'+00:00'"))
    if isinstance(resolved, Boolean):
        null, yes, no, zero = (literal_column(text) for text in ("'null'", "'true'", "'false'", "0"))
        return func.json(case((column.is_(None), null), (type_coerce(column, Integer) != zero, yes), else_=no))
    return column


_json_rows: dict[tuple[str, tuple[Any, ...]], ColumnElement[str]] = {}


def json_row(conn: Connection | str, columns: Sequence[Any]) -> ColumnElement[str]:
    """Each row as the JSON text of an object with these columns (keyed by column name, in order), for
    a connection's dialect (or a dialect named: `Database.dialect`).

    The expression is built once per dialect and column list: building it costs more than running it.
    """
    dialect = conn if isinstance(conn, str) else conn.dialect.name
    key = (dialect, tuple(columns))
    expression = _json_rows.get(key)
    if expression is None:
        expression = _json_rows[key] = _build_json_row(dialect == "sqlite", columns)
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


def run_cached(conn: Connection, name: str, build: Callable[[], Any], params: Mapping[str, Any]) -> Any:
    """Run the statement `build()` makes (named `name`, with `bindparam`s named as `params`' keys),
    compiled once per dialect and then sent as its SQL text: for hot reads (the dataset list) with
    large expressions, SQLAlchemy's per-execution cache key walk of the expression costs more than
    the query. Values are adapted as bulk_insert adapts them."""
    sql, args = _cached_statement(conn.dialect, name, build, params)
    return conn.exec_driver_sql(sql, args)


def _cached_statement(
    dialect: Dialect, name: str, build: Callable[[], Any], params: Mapping[str, Any]
) -> tuple[str, Any]:
    """The SQL text of `build()`'s statement (compiled once per dialect) and the driver's parameters."""
    key = (dialect.name, name)
    entry = _cached_statements.get(key)
    if entry is None:
        compiled = build().compile(dialect=dialect)
        order: list[str] | None = list(compiled.positiontup or ()) if compiled.positional else None
        adapters = {bind: _adapter(compiled.binds[bind].type, dialect) for bind in compiled.binds}
        constants = {k: v for k, v in compiled.params.items() if k not in params}  # the expression's own literals
        entry = _cached_statements[key] = (str(compiled), order, adapters, constants)
    sql, order, adapters, constants = entry
    values = {k: v if adapters.get(k) is None else adapters[k](v) for k, v in params.items()}  # type: ignore[misc]
    values.update(constants)
    return sql, tuple(values[k] for k in order) if order is not None else values


_cached_statements: dict[tuple[str, str], tuple[str, list[str] | None, dict[str, Any], dict[str, Any]]] = {}

STREAM_BATCH = 2000
