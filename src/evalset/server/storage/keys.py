"""Projects and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

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
