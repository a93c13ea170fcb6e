"""Projects and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from evalset.server.storage._util import first_record, records
from evalset.server.storage.tables import api_keys, projects

__all__ = ["get_project", "insert_project", "list_projects", "insert_key", "find_key", "list_keys", "revoke_key"]


def get_project(conn: Connection, *, name: str) -> dict[str, Any] | None:
    return first_record(conn.execute(select(projects).where(projects.c.name == name)))


def insert_project(conn: Connection, *, id: str, name: str, now: datetime) -> dict[str, Any]:
    conn.execute(projects.insert().values(id=id, name=name, created_at=now))
    return {"id": id, "name": name, "created_at": now}


def list_projects(conn: Connection) -> list[dict[str, Any]]:
    return list(records(conn.execute(select(projects).order_by(projects.c.name))))


def insert_key(conn: Connection, *, row: dict[str, Any]) -> None:
    conn.execute(api_keys.insert().values(**row))


def find_key(conn: Connection, *, lookup: str) -> dict[str, Any] | None:
    return first_record(conn.execute(select(api_keys).where(api_keys.c.lookup == lookup)))


def list_keys(conn: Connection, *, project_id: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(api_keys, projects.c.name.label("project_name"))
        .join(projects, projects.c.id == api_keys.c.project_id)
        .order_by(api_keys.c.created_at)
    )
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    return list(records(conn.execute(query)))


def revoke_key(conn: Connection, *, lookup: str, now: datetime) -> bool:
    result = conn.execute(
        update(api_keys).where(api_keys.c.lookup == lookup, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount > 0
