"""Case history, copy-on-write: archived versions here, the latest in the live `cases` row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, select, union_all

from evalset.server.domain.cases import Actor, public_case
from evalset.server.storage._util import records
from evalset.server.storage.cases import case_columns
from evalset.server.storage.engine import BULK_BATCH, STREAM_BATCH, bulk_insert, json_row, json_text
from evalset.server.storage.tables import case_revisions, cases

__all__ = ["archive", "record_delete", "list_revisions", "latest_revision", "states_as_of"]

_REVISION_FIELDS = ("version", "op", "at", "actor_id", "actor_name", "state")


def _revision(case: dict[str, Any], *, op: str, at: datetime, actor_id: str | None, actor_name: str | None):
    return {
        "dataset_id": case["dataset_id"],
        "case_id": case["id"],
        "case_seq": case["seq"],
        "version": case["version"],
        "op": op,
        "state": public_case(case),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "at": at,
    }


def archive(conn: Connection, *, cases: Sequence[dict[str, Any]]) -> None:
    """Keep the current versions of these stored cases before a change replaces them."""
    for start in range(0, len(cases), BULK_BATCH):  # a batch of revisions at a time: bounded memory
        revisions = [
            _revision(c, op=c["last_op"], at=c["updated_at"], actor_id=c["updated_by"], actor_name=c["updated_by_name"])
            for c in cases[start : start + BULK_BATCH]
        ]
        bulk_insert(conn, case_revisions, revisions)


def record_delete(conn: Connection, *, case: dict[str, Any], actor: Actor, at: datetime) -> None:
    """Archive a case's last version and add its deletion (a revision holding that last state)."""
    archive(conn, cases=[case])
    gone = {**case, "version": case["version"] + 1, "updated_at": at, "updated_by": actor.id}
    gone["updated_by_name"] = actor.name
    bulk_insert(conn, case_revisions, [_revision(gone, op="delete", at=at, actor_id=actor.id, actor_name=actor.name)])


def _stored(
    conn: Connection,
    *,
    dataset_id: str,
    case_id: str,
    fields: Sequence[str] = _REVISION_FIELDS,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    order = case_revisions.c.version.desc() if newest_first else case_revisions.c.version
    query = (
        select(*(case_revisions.c[f] for f in fields))
        .where(case_revisions.c.dataset_id == dataset_id, case_revisions.c.case_id == case_id)
        .order_by(order)
    )
    return list(records(conn.execute(query)))


def list_revisions(
    conn: Connection, *, dataset_id: str, case_id: str, current: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Every version of a case, oldest first: the archived ones, then the live one (`current`) if any."""
    revisions = _stored(conn, dataset_id=dataset_id, case_id=case_id)
    if current is not None:
        revisions.append(
            {
                "version": current["version"],
                "op": current["last_op"],
                "at": current["updated_at"],
                "actor_id": current["updated_by"],
                "actor_name": current["updated_by_name"],
                "state": public_case(current),
            }
        )
    return revisions


def latest_revision(conn: Connection, *, dataset_id: str, case_id: str) -> dict[str, Any] | None:
    """The newest archived revision of a case (for a deleted case: its deletion), with its `case_seq`."""
    fields = (*_REVISION_FIELDS, "case_seq")
    stored = _stored(conn, dataset_id=dataset_id, case_id=case_id, fields=fields, newest_first=True)
    return stored[0] if stored else None


def states_as_of(conn: Connection, *, dataset_id: str, at: datetime) -> Iterator[dict[str, Any]]:
    """The state of every case that existed at `at`, in dataset order. The query runs now; rows stream."""
    r = case_revisions
    archived = select(
        r.c.case_id, r.c.version, r.c.op, json_text(conn, r.c.state).label("state"), r.c.case_seq.label("seq")
    ).where(r.c.dataset_id == dataset_id, r.c.at <= at)
    live = select(
        cases.c.id.label("case_id"),
        cases.c.version,
        cases.c.last_op.label("op"),
        json_row(conn, case_columns()).label("state"),
        cases.c.seq,
    ).where(cases.c.dataset_id == dataset_id, cases.c.updated_at <= at)
    candidates = union_all(archived, live).subquery()
    newest = (
        select(candidates.c.case_id, func.max(candidates.c.version).label("version"))
        .group_by(candidates.c.case_id)
        .subquery()
    )
    query = (
        select(candidates.c.state)
        .join(newest, and_(candidates.c.case_id == newest.c.case_id, candidates.c.version == newest.c.version))
        .where(candidates.c.op != "delete")
        .order_by(candidates.c.seq)
    )
    result = conn.execute(query.execution_options(stream_results=True, yield_per=STREAM_BATCH))
    return (orjson.loads(state) for (state,) in result)
