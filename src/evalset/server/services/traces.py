"""Trace use cases: store a batch of spans, list recent traces, read a trace or a span, propose and create
cases from spans, expire old traces.

The Live view and the JSON API call these; the OTLP receiver's batch writer calls `store_batches`.
Reads are scoped to the principal's project: another project's trace is simply not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from evalset.server.domain import proposals
from evalset.server.domain.auth import Principal
from evalset.server.domain.proposals import PathError, Proposal
from evalset.server.domain.spans import SpanRecord
from evalset.server.domain.traces import (
    TraceSearch,
    TraceSummary,
    from_ns,
    is_span_id,
    is_trace_id,
    parse_search,
    to_ns,
)
from evalset.server.errors import InvalidInput, SpanNotFound, TraceNotFound, Violation
from evalset.server.services._common import retry_on_contention, utcnow
from evalset.server.services.cases import insert_new_cases
from evalset.server.storage import Conn, Database
from evalset.server.storage import datasets as dataset_store
from evalset.server.storage import spans as store

__all__ = [
    "store_batches",
    "TracePage",
    "list_traces",
    "get_trace",
    "get_span",
    "trace_exists",
    "propose_from_span",
    "SpanRef",
    "create_cases_from_spans",
    "expire_old_traces",
    "span_json",
]


@retry_on_contention
def store_batches(db: Database, batches: Mapping[str, Sequence[SpanRecord]]) -> None:
    """Store spans of several projects (project id -> records) in one transaction; a span already stored
    is skipped, so storing a batch twice is harmless."""
    with db.write() as conn:
        for project_id, records in batches.items():
            store.insert_spans(conn, project_id=project_id, records=records)


@dataclass(frozen=True, kw_only=True)
class TracePage:
    """A page of recent traces, newest first; `next_cursor` fetches the following page (None at the end)."""

    traces: list[TraceSummary]
    next_cursor: str | None
    searched_to: datetime | None = None
    """For a search that stopped at its window before filling the page: the start time of the oldest trace
    it looked at (the next cursor searches on from there)."""


def _parse_cursor(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    start, _, trace_id = cursor.partition("-")
    if not start.isdigit() or not is_trace_id(trace_id):
        raise InvalidInput(f"Invalid cursor {cursor!r}: use the next_cursor of the previous page.")
    return int(start), trace_id


def list_traces(
    db: Database,
    principal: Principal,
    *,
    search: TraceSearch | str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> TracePage:
    """Recent traces of the principal's project, newest first (by start), `limit` per page. `search` is a
    TraceSearch or a search box's text (see domain.traces.parse_search: span name, service, attribute)."""
    wanted = parse_search(search) if isinstance(search, str) else search
    before = _parse_cursor(cursor)
    limit = max(1, min(limit, 500))
    with db.read() as conn:
        found, resume = store.list_traces(
            conn, project_id=principal.project_id, search=wanted, before=before, limit=limit
        )
    cursor_out = None if resume is None else f"{resume[0]}-{resume[1]}"
    stopped = resume is not None and len(found) < limit
    return TracePage(
        traces=found, next_cursor=cursor_out, searched_to=from_ns(resume[0]) if stopped and resume else None
    )


def get_trace(db: Database, principal: Principal, trace_id: str) -> list[SpanRecord]:
    """The spans of a trace of the principal's project, by start: ended spans, and a pending record
    (`pending=True`) for each span still running. TraceNotFound otherwise (another project's included)."""
    trace_id = trace_id.lower()
    if not is_trace_id(trace_id):
        raise TraceNotFound()
    with db.read() as conn:
        found = store.get_trace(conn, project_id=principal.project_id, trace_id=trace_id)
    if not found:
        raise TraceNotFound()
    return found


def trace_exists(db: Database, principal: Principal, trace_id: str) -> bool:
    """Whether the principal's project still holds this trace (a case page links to it while it does)."""
    trace_id = trace_id.lower()
    if not is_trace_id(trace_id):
        return False
    with db.read() as conn:
        return store.trace_exists(conn, project_id=principal.project_id, trace_id=trace_id)


def get_span(db: Database, principal: Principal, trace_id: str, span_id: str) -> SpanRecord:
    """One span (or, while it runs, its pending record) of the principal's project; TraceNotFound when the
    trace is unknown, SpanNotFound when the trace has no such span."""
    with db.read() as conn:
        return _find_span(conn, principal.project_id, trace_id, span_id)


def _find_span(conn: Conn, project_id: str, trace_id: str, span_id: str) -> SpanRecord:
    trace_id, span_id = trace_id.lower(), span_id.lower()
    if not is_trace_id(trace_id):
        raise TraceNotFound()
    span = store.get_span(conn, project_id=project_id, trace_id=trace_id, span_id=span_id)
    if span is None and not store.trace_exists(conn, project_id=project_id, trace_id=trace_id):
        raise TraceNotFound()
    if span is None or not is_span_id(span_id):
        raise SpanNotFound()
    return span


def propose_from_span(span: SpanRecord, mapping: Mapping[str, str] | None = None) -> tuple[Proposal, dict[str, Any]]:
    """What the span proposes (the rule's values and their sources) and the values after `mapping`
    (per field: "auto", "attributes", "none" or a JSON path into the attributes). A bad mapping is 422."""
    try:
        return proposals.propose(span), proposals.apply_mapping(span, mapping)
    except (PathError, ValueError) as error:
        where = next((f for f, how in (mapping or {}).items() if how.startswith("$") and how in str(error)), "mapping")
        raise InvalidInput(
            f"Invalid field mapping: {error}",
            [Violation(case_index=None, case_name=None, field=where, pointer="", message=str(error))],
        ) from None


@dataclass(frozen=True, kw_only=True)
class SpanRef:
    """A span to make a case of, with what the person set themselves (`overrides`: any of name, inputs,
    expected_output, metadata, tags; a key present wins over the mapping, even when null)."""

    trace_id: str
    span_id: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


def _case_item(span: SpanRecord, mapping: Mapping[str, str] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    _, values = propose_from_span(span, mapping)
    real_span_id = span.parent_span_id if span.pending and span.parent_span_id else span.span_id
    item: dict[str, Any] = {
        **values,
        "name": None,
        "tags": [],
        "source_trace_id": span.trace_id,
        "source_span_id": real_span_id,
        "source_span": proposals.snapshot(span),
    }
    item.update({k: v for k, v in overrides.items() if k in ("name", "inputs", "expected_output", "metadata", "tags")})
    return item


@retry_on_contention
def create_cases_from_spans(
    db: Database,
    principal: Principal,
    ref: str,
    spans: Sequence[SpanRef],
    *,
    mapping: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Add one case per span to the dataset `ref`, all or none: fields proposed by the same `mapping`,
    overridden per span, validated against the dataset's schemas like any case; each case keeps its
    source ids and a snapshot of its span (`source_span`). Raises DatasetNotFound, TraceNotFound,
    SpanNotFound, InvalidInput (422, naming the case index) or Conflict (a name taken)."""
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        found = [_find_span(conn, principal.project_id, s.trace_id, s.span_id) for s in spans]
        items = [_case_item(span, mapping, s.overrides) for span, s in zip(found, spans, strict=True)]
        return insert_new_cases(conn, principal, dataset, items, single=len(items) == 1)


def expire_old_traces(db: Database, *, retention: timedelta, batch: int = 500) -> int:
    """Delete every trace that started more than `retention` ago, whole, a batch of traces per
    transaction (so other writers get the database in between); returns how many went."""
    cutoff = to_ns(utcnow() - retention)
    with db.read() as conn:
        project_ids = store.project_ids_with_traces(conn)
    removed = 0
    for project_id in project_ids:
        while True:
            with db.write() as conn:
                count = store.expire_traces(conn, project_id=project_id, started_before_ns=cutoff, limit=batch)
            removed += count
            if count < batch:
                break
    return removed


def span_json(span: SpanRecord) -> dict[str, Any]:
    """A span as the JSON API shows it. A pending record shows as the running span it stands for: its
    `span_id` is the real span's, `end_time` is null and `running` true."""
    span_id, parent = span.span_id, span.parent_span_id
    if span.pending:
        real_parent = span.attributes.get("logfire.pending_parent_id")
        span_id = parent or span.span_id
        parent = real_parent if isinstance(real_parent, str) and is_span_id(real_parent) else None
    duration = None if span.end_time is None else (span.end_time - span.start_time) / timedelta(milliseconds=1)
    return {
        "trace_id": span.trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": span.name,
        "kind": span.kind,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "duration_ms": duration,
        "running": span.pending,
        "status": span.status,
        "status_message": span.status_message,
        "service_name": span.service_name,
        "scope": span.scope,
        "attributes": dict(span.attributes),
        "resource": dict(span.resource),
        "events": [{"name": e.name, "time": e.time, "attributes": dict(e.attributes)} for e in span.events],
    }
