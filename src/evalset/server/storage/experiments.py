"""Experiments and their case results: lookups within a project, writes, filtered and paged reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, update

from evalset.server.domain.names import looks_like_uuid
from evalset.server.errors import ExperimentNotFound
from evalset.server.storage._util import chunks, first_record, records
from evalset.server.storage.engine import bulk_insert
from evalset.server.storage.tables import experiment_cases, experiments

__all__ = [
    "EXPERIMENT_FIELDS",
    "SUMMARY_FIELDS",
    "RESULT_FIELDS",
    "LINK_FIELDS",
    "get_experiment",
    "find_by_span",
    "insert_experiment",
    "update_experiment",
    "delete_experiment",
    "list_experiments",
    "results",
    "results_by_names",
    "insert_results",
    "update_results",
    "set_links",
    "find_result_by_span",
    "count_results",
    "get_result",
    "status_counts",
]

EXPERIMENT_FIELDS = tuple(str(column.key) for column in experiments.columns)  # str: orjson refuses quoted_name keys
_DETAIL_ONLY = ("metadata", "analyses", "report_evaluator_failures")
SUMMARY_FIELDS = tuple(field for field in EXPERIMENT_FIELDS if field not in _DETAIL_ONLY)
RESULT_FIELDS = tuple(str(column.key) for column in experiment_cases.columns if column.key != "seq")
LINK_FIELDS = ("dataset_case_id", "dataset_case_version", "dataset_case_match")


def get_experiment(conn: Connection, *, project_id: str, experiment_id: str, for_write: bool = False) -> dict[str, Any]:
    """The experiment with this id in this project (locked until the transaction ends with `for_write`)."""
    if not looks_like_uuid(experiment_id):
        raise ExperimentNotFound()
    query = select(experiments).where(experiments.c.project_id == project_id, experiments.c.id == experiment_id)
    row = first_record(conn.execute(query.with_for_update() if for_write else query))
    if row is None:
        raise ExperimentNotFound()
    return row


def find_by_span(
    conn: Connection, *, project_id: str, trace_id: str, span_id: str, for_write: bool = False
) -> dict[str, Any] | None:
    """The experiment whose `evaluate` span this is (pydantic-evals' trace and span ids), if stored."""
    query = select(experiments).where(
        experiments.c.project_id == project_id, experiments.c.trace_id == trace_id, experiments.c.span_id == span_id
    )
    return first_record(conn.execute(query.with_for_update() if for_write else query))


def insert_experiment(conn: Connection, *, row: dict[str, Any]) -> None:
    conn.execute(experiments.insert().values(**row))


def update_experiment(conn: Connection, *, experiment_id: str, changes: dict[str, Any]) -> None:
    conn.execute(update(experiments).where(experiments.c.id == experiment_id).values(**changes))


def delete_experiment(conn: Connection, *, experiment_id: str) -> None:
    conn.execute(delete(experiments).where(experiments.c.id == experiment_id))


def list_experiments(
    conn: Connection,
    *,
    project_id: str,
    dataset_id: str | None = None,
    dataset_name: str | None = None,
    status: str | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of experiment summaries, newest first, and how many match in all.

    `dataset_id` selects the experiments linked to a hosted dataset; else `dataset_name` the unlinked
    ones reported under that name (their dataset was never hosted here, or has been deleted)."""
    where = [experiments.c.project_id == project_id]
    if dataset_id is not None:
        where.append(experiments.c.dataset_id == dataset_id)
    elif dataset_name is not None:
        where.append(and_(experiments.c.dataset_id.is_(None), experiments.c.dataset_name == dataset_name))
    for column, value in (("status", status), ("trace_id", trace_id), ("span_id", span_id)):
        if value is not None:
            where.append(experiments.c[column] == value)
    total = conn.execute(select(func.count()).select_from(experiments).where(*where)).scalar_one()
    query = (
        select(*(experiments.c[f] for f in SUMMARY_FIELDS))
        .where(*where)
        .order_by(experiments.c.created_at.desc(), experiments.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(records(conn.execute(query))), total


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def results(
    conn: Connection,
    *,
    experiment_id: str,
    status: Sequence[str] | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    fields: Sequence[str] = RESULT_FIELDS,
) -> list[dict[str, Any]]:
    """An experiment's case results in their stored order; filtered by status and a name search, paged.

    A page is found by position first (on the `(experiment_id, seq)` index and the filtered columns), so
    skipping thousands of results does not read their documents."""
    where = [experiment_cases.c.experiment_id == experiment_id]
    if status:
        where.append(experiment_cases.c.status.in_(list(status)))
    if search:
        where.append(func.lower(experiment_cases.c.name).like(_like(search), escape="\\"))
    columns = [experiment_cases.c[f] for f in fields]
    if offset or limit is not None:
        positions = select(experiment_cases.c.seq).where(*where).order_by(experiment_cases.c.seq).offset(offset)
        if limit is not None:
            positions = positions.limit(limit)
        query = select(*columns).where(experiment_cases.c.seq.in_(positions.scalar_subquery()))
    else:
        query = select(*columns).where(*where)
    return list(records(conn.execute(query.order_by(experiment_cases.c.seq))))


def results_by_names(conn: Connection, *, experiment_id: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored results of an experiment with these names, by name."""
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(list(names)):
        query = select(experiment_cases.c.id, experiment_cases.c.name, experiment_cases.c.created_at).where(
            experiment_cases.c.experiment_id == experiment_id, experiment_cases.c.name.in_(part)
        )
        for row in records(conn.execute(query)):
            found[row["name"]] = row
    return found


def insert_results(conn: Connection, *, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(conn, experiment_cases, rows, columns=RESULT_FIELDS)


def _update_by_id(conn: Connection, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
    if not rows:
        return
    statement = (
        update(experiment_cases)
        .where(experiment_cases.c.id == bindparam("_id"))
        .values({field: bindparam(field) for field in fields})
    )
    conn.execute(statement, [{"_id": row["id"], **{field: row[field] for field in fields}} for row in rows])


_REPLACED = tuple(f for f in RESULT_FIELDS if f not in ("id", "experiment_id", "created_at"))


def update_results(conn: Connection, *, rows: Sequence[dict[str, Any]]) -> None:
    """Replace stored results (matched by `id`) with these complete records."""
    _update_by_id(conn, rows, _REPLACED)


def set_links(conn: Connection, *, rows: Sequence[dict[str, Any]]) -> None:
    """Set which dataset case each result (by `id`) ran on."""
    _update_by_id(conn, rows, LINK_FIELDS)


def find_result_by_span(conn: Connection, *, project_id: str, trace_id: str, span_id: str) -> dict[str, Any] | None:
    """The case result recorded for this case span, with its experiment's id (for spans of its evaluators)."""
    query = (
        select(*(experiment_cases.c[f] for f in RESULT_FIELDS))
        .join(experiments, experiments.c.id == experiment_cases.c.experiment_id)
        .where(
            experiments.c.project_id == project_id,
            experiment_cases.c.trace_id == trace_id,
            experiment_cases.c.span_id == span_id,
        )
    )
    return first_record(conn.execute(query))


def count_results(
    conn: Connection, *, experiment_id: str, status: Sequence[str] | None = None, search: str | None = None
) -> int:
    """How many of an experiment's results match these filters (as `results` applies them)."""
    query = select(func.count()).select_from(experiment_cases).where(experiment_cases.c.experiment_id == experiment_id)
    if status:
        query = query.where(experiment_cases.c.status.in_(list(status)))
    if search:
        query = query.where(func.lower(experiment_cases.c.name).like(_like(search), escape="\\"))
    return conn.execute(query).scalar_one()


def get_result(conn: Connection, *, experiment_id: str, result_id: str) -> dict[str, Any] | None:
    """One case result of an experiment, by its id."""
    if not looks_like_uuid(result_id):
        return None
    query = select(*(experiment_cases.c[f] for f in RESULT_FIELDS)).where(
        experiment_cases.c.experiment_id == experiment_id, experiment_cases.c.id == result_id
    )
    return first_record(conn.execute(query))


def status_counts(conn: Connection, *, experiment_id: str) -> dict[str, int]:
    """How many results an experiment has, by status (a count: no result's JSON is read)."""
    query = (
        select(experiment_cases.c.status, func.count())
        .where(experiment_cases.c.experiment_id == experiment_id)
        .group_by(experiment_cases.c.status)
    )
    return {str(status): int(count) for status, count in conn.execute(query).all()}
