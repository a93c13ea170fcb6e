"""Projects and API keys."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.engine import Engine

from evalset.server.storage._util import first_record, records
from evalset.server.storage.tables import api_keys, projects, server_settings

__all__ = [
    "get_project",
    "get_project_by_id",
    "insert_project",
    "list_projects",
    "insert_key",
    "find_key",
    "find_key_by_id",
    "list_keys",
    "revoke_key",
    "touch_key",
    "get_setting",
    "insert_setting",
    "KeysStamp",
]


def get_project(conn: Connection, *, name: str) -> dict[str, Any] | None:
    return first_record(conn.execute(select(projects).where(projects.c.name == name)))


def get_project_by_id(conn: Connection, *, id: str) -> dict[str, Any] | None:
    return first_record(conn.execute(select(projects).where(projects.c.id == id)))


def insert_project(conn: Connection, *, id: str, name: str, now: datetime) -> dict[str, Any]:
    conn.execute(projects.insert().values(id=id, name=name, created_at=now))
    return {"id": id, "name": name, "created_at": now}


def list_projects(conn: Connection) -> list[dict[str, Any]]:
    return list(records(conn.execute(select(projects).order_by(projects.c.name))))


def insert_key(conn: Connection, *, row: dict[str, Any]) -> None:
    conn.execute(api_keys.insert().values(**row))


def find_key(conn: Connection, *, lookup: str) -> dict[str, Any] | None:
    return first_record(conn.execute(select(api_keys).where(api_keys.c.lookup == lookup)))


def find_key_by_id(conn: Connection, *, id: str) -> dict[str, Any] | None:
    return first_record(conn.execute(select(api_keys).where(api_keys.c.id == id)))


def list_keys(conn: Connection, *, project_id: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(api_keys, projects.c.name.label("project_name"))
        .join(projects, projects.c.id == api_keys.c.project_id)
        .order_by(api_keys.c.created_at)
    )
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    return list(records(conn.execute(query)))


def revoke_key(conn: Connection, *, lookup: str, now: datetime, project_id: str | None = None) -> bool:
    """Revoke the active key with this lookup id (only within `project_id` when given)."""
    query = update(api_keys).where(api_keys.c.lookup == lookup, api_keys.c.revoked_at.is_(None))
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    return conn.execute(query.values(revoked_at=now)).rowcount > 0


def touch_key(conn: Connection, *, id: str, now: datetime, older_than: datetime) -> None:
    """Set a key's last use to `now` unless it was already set after `older_than` (by another process)."""
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == id, or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < older_than))
        .values(last_used_at=now)
    )


def get_setting(conn: Connection, *, name: str) -> str | None:
    return conn.execute(select(server_settings.c.value).where(server_settings.c.name == name)).scalar()


def insert_setting(conn: Connection, *, name: str, value: str) -> None:
    conn.execute(server_settings.insert().values(name=name, value=value))


class KeysStamp:
    """A cheap, strictly current answer to "have the API keys changed since I last looked?", per process.

    `stamp()` returns a value that differs whenever a key was created or revoked by any process, or None
    when it cannot tell (then trust nothing cached). It is the number of keys and of revoked keys (keys
    are never deleted or un-revoked), read on a connection of its own in autocommit, outside any request
    transaction. On SQLite the read is skipped while `PRAGMA data_version` (a counter in the database's
    shared memory that moves with every commit by any connection) has not moved: no I/O at all.
    """

    _QUERY = "SELECT count(*), count(revoked_at) FROM api_keys"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._conn: Any = None
        self._version: Any = None
        self._last: tuple[int, int] | None = None

    def stamp(self) -> tuple[int, int] | None:
        with self._lock:
            try:
                return self._read()
            except Exception:  # noqa: BLE001 - a lost connection: tell the caller to trust nothing
                self.close()
                return None

    def _read(self) -> tuple[int, int]:
        if self._conn is None:
            self._conn = self._engine.raw_connection()  # kept: never returned to the pool
            if not self._sqlite:
                self._conn.driver_connection.autocommit = True  # each read sees the latest commit
            self._version = self._last = None
        cursor = self._conn.cursor()
        try:
            if self._sqlite:
                cursor.execute("PRAGMA data_version")
                version = cursor.fetchone()[0]
                if version == self._version and self._last is not None:
                    return self._last
                self._version = version
            cursor.execute(self._QUERY)
            total, revoked = cursor.fetchone()
        finally:
            cursor.close()
        self._last = (int(total), int(revoked))
        return self._last

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                conn.invalidate()  # closed, not pooled: it is in autocommit
