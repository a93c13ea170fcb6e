"""Datasets: lookup by id or name within a project, writes, case counts, revisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Text, bindparam, cast, delete, func, select, update

from evalset.server.domain.names import canonical_uuid, looks_like_uuid
from evalset.server.errors import Conflict, DatasetNotFound
from evalset.server.storage._util import first_record, records
from evalset.server.storage.engine import Database, json_row
from evalset.server.storage.tables import case_tags, dataset_revisions, datasets

__all__ = [
    "SUMMARY_FIELDS",
    "list_datasets",
    "get_dataset",
    "insert_dataset",
    "update_dataset",
    "delete_dataset",
    "add_case_count",
    "insert_revision",
    "revision_as_of",
    "list_dataset_rows",
    "list_tags",
]

SUMMARY_FIELDS = (
    "id",
    "name",
    "project_id",
    "description",
    "guidance",
    "ai_managed_guidance",
    "case_count",
    "created_at",
    "updated_at",
    "created_by_name",
    "updated_by_name",
)
_summary_columns = [datasets.c[name] for name in SUMMARY_FIELDS]
# The list's rows all belong to the project it filters on: its id goes in as the text given, instead of being
# rendered from the column for every row (on SQLite, that rendering was a quarter of the query's work).
_listed_columns = [
    cast(bindparam("project_text", type_=Text), Text).label("project_id") if column.key == "project_id" else column
    for column in _summary_columns
]


def list_datasets(db: Database, *, project_id: str) -> Any:
    """Summaries as the JSON array the API returns (built by the database: one orjson fragment on SQLite,
    a list of them on PostgreSQL), by name: one
    statement, run on its own (Database.read_cached), the hot read of the API."""

    def build() -> Any:
        query = select(json_row(db.dialect, _listed_columns).label("row"))
        query = query.where(datasets.c.project_id == bindparam("project_id")).order_by(datasets.c.name)
        if db.dialect != "sqlite":
            return query
        # On SQLite, one row: sqlite3 releases the GIL around each step, and with many requests in flight
        # 100 steps per request became 100 GIL hand-overs (a 16-client run cost twice the CPU of sequential
        # requests). The ordered subquery is run as a co-routine that the aggregate reads in order.
        ordered = query.subquery()
        return select(func.group_concat(ordered.c.row, ","))

    canonical = str(uuid.UUID(project_id))  # as the column renders it
    rows = db.read_cached("list_datasets", build, {"project_id": project_id, "project_text": canonical})
    if db.dialect == "sqlite":
        joined = rows[0][0] if rows else None
        return orjson.Fragment("[]" if joined is None else f"[{joined}]")
    return [orjson.Fragment(text) for (text,) in rows]


def list_dataset_rows(conn: Connection, *, project_id: str, search: str | None = None) -> list[dict[str, Any]]:
    """Summaries as Python records (for pages), by name; `search` keeps names containing it (any case)."""
    query = select(*_summary_columns).where(datasets.c.project_id == project_id)
    if search:
        query = query.where(func.lower(datasets.c.name).contains(search.lower(), autoescape=True))
    return list(records(conn.execute(query.order_by(datasets.c.name))))


def list_tags(conn: Connection, *, dataset_id: str, limit: int = 200) -> list[str]:
    """The distinct tags used in a dataset, by name. A loose index scan (one index probe per distinct
    tag, as a recursive query) instead of reading every (tag, case) entry of a 100,000-case dataset."""
    first = select(func.min(case_tags.c.tag).label("tag")).where(case_tags.c.dataset_id == dataset_id)
    found = first.cte("found_tags", recursive=True)
    following = (
        select(func.min(case_tags.c.tag))
        .where(case_tags.c.dataset_id == dataset_id, case_tags.c.tag > found.c.tag)
        .scalar_subquery()
    )
    found = found.union_all(select(following).where(found.c.tag.is_not(None)))
    query = select(found.c.tag).where(found.c.tag.is_not(None)).limit(limit)
    return [tag for (tag,) in conn.execute(query)]


def get_dataset(conn: Connection, *, project_id: str, ref: str, for_write: bool = False) -> dict[str, Any]:
    """The dataset called `ref` or with id `ref` in this project; DatasetNotFound otherwise.

    `for_write` locks its row until the transaction ends (FOR NO KEY UPDATE on PostgreSQL; SQLite's
    write transactions hold the whole file already). Every write to a dataset or its cases takes this
    lock first, so writers queue in one order instead of deadlocking, and each reads what the one
    before it committed: no lost update, no name claimed twice, no case slipping past a schema change.
    """
    base = select(datasets).where(datasets.c.project_id == project_id)
    if for_write:
        base = base.with_for_update(key_share=True)
    row = None
    if looks_like_uuid(ref):
        row = first_record(conn.execute(base.where(datasets.c.id == canonical_uuid(ref))))
    if row is None:
        row = first_record(conn.execute(base.where(datasets.c.name == ref)))
    if row is None:
        raise DatasetNotFound()
    return row


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A dataset named {name!r} already exists in this project; choose another name.")


def _name_exists(conn: Connection, *, project_id: str, name: str, other_than: str | None = None) -> bool:
    query = select(datasets.c.id).where(datasets.c.project_id == project_id, datasets.c.name == name)
    if other_than is not None:
        query = query.where(datasets.c.id != other_than)
    return conn.execute(query).first() is not None


def insert_dataset(conn: Connection, *, row: dict[str, Any]) -> None:
    # A concurrent create of the same name makes the INSERT fail on the unique key: the service runs
    # again (storage.Contention) and then finds the name taken here.
    if _name_exists(conn, project_id=row["project_id"], name=row["name"]):
        raise _name_taken(row["name"])
    conn.execute(datasets.insert().values(**row))


def update_dataset(conn: Connection, *, dataset: dict[str, Any], changes: dict[str, Any]) -> None:
    name: str | None = changes.get("name")
    renamed = name is not None and name != dataset["name"]
    if renamed and _name_exists(conn, project_id=dataset["project_id"], name=str(name), other_than=dataset["id"]):
        raise _name_taken(str(name))
    conn.execute(update(datasets).where(datasets.c.id == dataset["id"]).values(**changes))


def delete_dataset(conn: Connection, *, dataset_id: str) -> None:
    conn.execute(delete(datasets).where(datasets.c.id == dataset_id))


def add_case_count(conn: Connection, *, dataset_id: str, delta: int) -> None:
    if delta:
        conn.execute(
            update(datasets).where(datasets.c.id == dataset_id).values(case_count=datasets.c.case_count + delta)
        )


def insert_revision(conn: Connection, *, dataset: dict[str, Any], op: str, at: datetime) -> None:
    conn.execute(dataset_revisions.insert().values(dataset_id=dataset["id"], op=op, state=dataset, at=at))


def revision_as_of(conn: Connection, *, dataset_id: str, at: datetime) -> dict[str, Any] | None:
    """The dataset's state as of `at`, or None if it did not exist yet."""
    query = (
        select(dataset_revisions.c.state)
        .where(dataset_revisions.c.dataset_id == dataset_id, dataset_revisions.c.at <= at)
        .order_by(dataset_revisions.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()
