"""Case revisions: every create, update, delete and restore keeps the full new state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from evalset.server.storage._util import first_record, records
from evalset.server.storage.engine import bulk_insert
from evalset.server.storage.tables import case_revisions

__all__ = ["insert_revisions", "list_revisions", "latest_revision", "states_as_of"]


def insert_revisions(
    conn: Connection, *, cases: Sequence[dict[str, Any]], op: str, actor_id: str | None, actor_name: str | None
) -> None:
    bulk_insert(
        conn,
        case_revisions,
        [
            {
                "dataset_id": case["dataset_id"],
                "case_id": case["id"],
                "version": case["version"],
                "op": op,
                "state": case,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "at": case["updated_at"],
            }
            for case in cases
        ],
    )


_REVISION_FIELDS = ("version", "op", "at", "actor_id", "actor_name", "state")


def list_revisions(conn: Connection, *, dataset_id: str, case_id: str) -> list[dict[str, Any]]:
    query = (
        select(*(case_revisions.c[f] for f in _REVISION_FIELDS))
        .where(case_revisions.c.dataset_id == dataset_id, case_revisions.c.case_id == case_id)
        .order_by(case_revisions.c.id)
    )
    return list(records(conn.execute(query)))


def latest_revision(conn: Connection, *, dataset_id: str, case_id: str) -> dict[str, Any] | None:
    query = (
        select(*(case_revisions.c[f] for f in _REVISION_FIELDS))
        .where(case_revisions.c.dataset_id == dataset_id, case_revisions.c.case_id == case_id)
        .order_by(case_revisions.c.id.desc())
        .limit(1)
    )
    return first_record(conn.execute(query))


def states_as_of(conn: Connection, *, dataset_id: str, at: datetime) -> Iterator[dict[str, Any]]:
    """The state of every case that existed at `at`, in creation order, streamed."""
    r = case_revisions
    window = (
        select(
            r.c.case_id,
            func.max(r.c.id).label("last_id"),
            func.min(r.c.id).label("first_id"),
        )
        .where(r.c.dataset_id == dataset_id, r.c.at <= at)
        .group_by(r.c.case_id)
        .subquery()
    )
    query = (
        select(r.c.state).join(window, r.c.id == window.c.last_id).where(r.c.op != "delete").order_by(window.c.first_id)
    )
    result = conn.execute(query.execution_options(stream_results=True, yield_per=1000))
    return (state for (state,) in result)
