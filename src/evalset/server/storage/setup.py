"""Finding, creating, checking and copying the database, with operator-readable failures.

Every problem an operator can cause or fix (a wrong URL, a PostgreSQL server that is down or refuses
the password, a database that does not exist yet, a data directory that is not writable, a schema
from another evalset version) is raised as `DatabaseProblem` with one or two sentences saying what
is wrong and what to do, never as a driver traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from evalset.server.storage.engine import Database, normalize_url
from evalset.server.storage.migrate import HEAD_REVISION, current_revision, known_revisions, migrate

__all__ = ["DatabaseProblem", "Schema", "describe", "open_database", "schema_state", "upgrade", "backup_sqlite"]

SUPPORTED = "sqlite:///PATH (a file) or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


class DatabaseProblem(Exception):
    """The database cannot be used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Schema:
    """Where a database's schema stands: its revision (None when empty) and the one this code needs."""

    current: str | None
    head: str = HEAD_REVISION

    @property
    def ready(self) -> bool:
        return self.current == self.head


def _parse(url: str) -> URL:
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        raise DatabaseProblem(f"Cannot read the database URL {url!r}: expected {SUPPORTED}.") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseProblem(
            f"Unsupported database URL scheme {parsed.drivername!r}: evalset supports {SUPPORTED} (also postgres://)."
        )
    return parsed


def describe(url: str) -> str:
    """The database for a `Database: ...` line: the SQLite file's path, or the URL with its password masked."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return "PostgreSQL " + parsed.set(drivername="postgresql").render_as_string(hide_password=True)


def open_database(
    url: str, *, create: bool, where: str = "", announce: Callable[[str], None] | None = None
) -> Database:
    """Connect to the database at `url`. With `create`, make what is missing (the SQLite file and its folder,
    the PostgreSQL database when the user may, telling `announce`); without, a missing database is a
    DatabaseProblem naming where it was looked for (`where` says why there)."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite(Path(parsed.database or ""), create=create, where=where)
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as error:
        db.dispose()
        if parsed.get_backend_name() == "postgresql" and _missing_database(error):
            if not create:
                raise DatabaseProblem(_no_pg_database(parsed, "")) from None
            _create_pg_database(parsed)
            if announce is not None:
                announce(f"Created the PostgreSQL database {parsed.database!r} on {_pg_place(parsed)}.")
            return open_database(url, create=False)
        raise DatabaseProblem(_connect_failure(parsed, error)) from None
    return db


def _check_sqlite(path: Path, *, create: bool, where: str) -> None:
    if str(path) in ("", ":memory:"):
        return
    try:
        exists = path.exists()
    except OSError as error:  # a folder on the way may not be entered
        raise DatabaseProblem(
            f"Cannot reach the database {path}: {error.strerror}. Choose a data directory this user can use "
            "with --data-dir (EVALSET_DATA_DIR) or --db."
        ) from None
    if not exists and not create:
        raise DatabaseProblem(
            f"No evalset database at {path}{f' ({where})' if where else ''}. Point at the server's database "
            "with --db or --data-dir (EVALSET_DATABASE_URL, EVALSET_DATA_DIR), or create a new one here "
            "with --create (`evalset serve` creates it too)."
        )
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseProblem(
            f"Cannot create the data directory {folder}: {error.strerror}. Choose a writable one with "
            "--data-dir (EVALSET_DATA_DIR) or --db."
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        raise DatabaseProblem(
            f"The data directory {folder} is not writable by this user (SQLite writes the database and its "
            "-wal and -shm files there). Fix its permissions, or choose another with --data-dir "
            "(EVALSET_DATA_DIR) or --db."
        )


def _pg_place(parsed: URL) -> str:
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def _missing_database(error: DBAPIError) -> bool:
    message = str(error.orig)
    return getattr(error.orig, "sqlstate", None) == "3D000" or ('database "' in message and "does not exist" in message)


def _no_pg_database(parsed: URL, why: str) -> str:
    command = f"createdb -h {parsed.host or 'localhost'} -p {parsed.port or 5432} -U {parsed.username or 'postgres'}"
    return (
        f"PostgreSQL database {parsed.database!r} does not exist on {_pg_place(parsed)}{why}. Create it with "
        f"`{command} {parsed.database}` (or CREATE DATABASE in psql); `evalset serve` and `evalset migrate` "
        "create it themselves when the user may."
    )


def _create_pg_database(parsed: URL) -> None:
    """CREATE DATABASE through the server's `postgres` database, as the same user."""
    from sqlalchemy import create_engine

    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != "42P04":  # duplicate_database: another process won
            reason = str(error.orig).strip().splitlines()[-1]
            raise DatabaseProblem(_no_pg_database(parsed, f", and creating it failed ({reason})")) from None
    finally:
        admin.dispose()


def _connect_failure(parsed: URL, error: DBAPIError) -> str:
    message = str(error.orig).strip()
    place, user = _pg_place(parsed), parsed.username or "(default user)"
    if parsed.get_backend_name() == "sqlite":
        return f"Cannot open the SQLite database {parsed.database}: {message}."
    if "password authentication failed" in message or "no password supplied" in message:
        return (
            f"PostgreSQL at {place} refused user {user!r}: wrong or missing password. Check the user and "
            "password in --db (or EVALSET_DATABASE_URL)."
        )
    if "role" in message and "does not exist" in message:
        return f"PostgreSQL at {place} has no user {user!r}. Check the user in --db (or EVALSET_DATABASE_URL)."
    if "Connection refused" in message or "timeout expired" in message or "could not translate" in message:
        reason = "nothing answers there" if "refused" in message else message.splitlines()[0]
        return (
            f"Cannot connect to PostgreSQL at {place}: {reason}. Is it running and listening there? Check "
            "the host and port in --db (or EVALSET_DATABASE_URL)."
        )
    return f"Cannot connect to PostgreSQL at {place}: {message.splitlines()[-1]}"


def schema_state(db: Database) -> Schema:
    """The schema's revision; a DatabaseProblem when it is newer than this evalset knows."""
    schema = Schema(current_revision(db))
    if not schema.ready and schema.current is not None and schema.current not in known_revisions():
        raise DatabaseProblem(
            f"The database's schema is at revision {schema.current!r}, newer than this evalset knows "
            f"(up to {HEAD_REVISION!r}): upgrade evalset (pip install -U 'evalset[server]') before using it."
        )
    return schema


def upgrade(db: Database) -> Schema:
    """Bring the schema to the head revision; returns where it stood before."""
    before = schema_state(db)
    if not before.ready:
        migrate(db)
    return before


def backup_sqlite(db: Database, target: Path) -> None:
    """Copy a live SQLite database (WAL included, writers allowed meanwhile) to a new file, with SQLite's
    online backup; PostgreSQL has pg_dump."""
    import sqlite3

    if db.dialect != "sqlite":
        raise DatabaseProblem(
            "`evalset backup` copies SQLite databases; for PostgreSQL use pg_dump, for example "
            "`pg_dump -Fc -d DATABASE_URL -f evalset.dump` (restore with pg_restore)."
        )
    if target.exists():
        raise DatabaseProblem(f"{target} exists already: choose a new file for the backup.")
    raw = db.engine.raw_connection()
    try:
        with sqlite3.connect(target) as copy:
            raw.driver_connection.backup(copy)  # type: ignore[union-attr]
        copy.close()
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)
        raise DatabaseProblem(f"Cannot write the backup to {target}: {error}.") from None
    finally:
        raw.close()
