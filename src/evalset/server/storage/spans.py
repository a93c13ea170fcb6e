"""Spans, pending spans and per-trace summaries: batch writes, a trace's spans, recent traces, retention.

Times are stored as integer nanoseconds (see tables.spans); records come and go as `SpanRecord`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, exists, false, func, or_, select, true, tuple_

from evalset.server.domain.spans import SpanEvent, SpanRecord
from evalset.server.domain.traces import ZERO_SPAN_ID, TraceSearch, TraceSummary, display_name, from_ns, to_ns
from evalset.server.storage._util import chunks, records
from evalset.server.storage.engine import bulk_insert, greatest, json_field_text, least, upsert
from evalset.server.storage.tables import FAILED, pending_spans, spans, traces

__all__ = [
    "insert_spans",
    "get_trace",
    "get_span",
    "list_traces",
    "trace_exists",
    "expire_traces",
    "project_ids_with_traces",
    "span_to_row",
    "find_spans",
]

NAME_CHARS = 1024
SHORT_CHARS = 255
_SPAN_FIELDS = [c.key for c in spans.c if c.key not in ("id", "project_id")]
_PENDING_FIELDS = [c.key for c in pending_spans.c if c.key != "project_id"]


def _cut(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit]


def _events(record: SpanRecord) -> list[dict[str, Any]]:
    return [{"name": e.name, "time": e.time, "attributes": dict(e.attributes)} for e in record.events]


def span_to_row(record: SpanRecord) -> dict[str, Any]:
    """The `spans` row of an ended span (without project_id)."""
    start = to_ns(record.start_time)
    return {
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "parent_span_id": record.parent_span_id,
        "name": _cut(record.name, NAME_CHARS),
        "kind": record.kind,
        "status": record.status,
        "status_message": record.status_message,
        "start_ns": start,
        "end_ns": start if record.end_time is None else to_ns(record.end_time),
        "service_name": _cut(record.service_name, SHORT_CHARS),
        "scope": _cut(record.scope, SHORT_CHARS),
        "attributes": record.attributes,
        "resource": record.resource,
        "events": _events(record),
    }


def _pending_row(record: SpanRecord) -> dict[str, Any]:
    return {
        "trace_id": record.trace_id,
        "real_span_id": record.parent_span_id,
        "span_id": record.span_id,
        "name": _cut(record.name, NAME_CHARS),
        "kind": record.kind,
        "start_ns": to_ns(record.start_time),
        "service_name": _cut(record.service_name, SHORT_CHARS),
        "scope": _cut(record.scope, SHORT_CHARS),
        "attributes": record.attributes,
        "resource": record.resource,
    }


def _real_parent(record: SpanRecord) -> str | None:
    """The parent of the span a record stands for: its own parent, or for a pending record, the running
    span's parent as `logfire` records it (`logfire.pending_parent_id`, zeros for a root)."""
    if not record.pending:
        return record.parent_span_id
    parent = record.attributes.get("logfire.pending_parent_id")
    return None if not isinstance(parent, str) or parent == ZERO_SPAN_ID else parent


def insert_spans(conn: Connection, *, project_id: str, records: Sequence[SpanRecord]) -> None:
    """Store one project's batch in the caller's transaction: ended spans (a span already stored is
    skipped), pending spans whose real span has not arrived, the traces' summaries; ended spans replace
    their pending stand-ins."""
    ended: dict[tuple[str, str], SpanRecord] = {}
    waiting: dict[tuple[str, str], SpanRecord] = {}
    for record in records:
        if not record.pending:
            ended[(record.trace_id, record.span_id)] = record
        elif record.parent_span_id is not None:
            waiting[(record.trace_id, record.parent_span_id)] = record
    for key in ended:
        waiting.pop(key, None)
    if waiting:
        for key in _stored_span_keys(conn, project_id, list(waiting)):
            del waiting[key]
    span_rows = [span_to_row(r) for r in ended.values()]
    if span_rows:
        bulk_insert(
            conn,
            spans,
            span_rows,
            columns=_SPAN_FIELDS,
            constants={"project_id": project_id},
            ignore_conflicts=True,
            multi_values=True,
        )
        if _has_pending(conn, project_id):
            for part in chunks(list(ended)):
                conn.execute(
                    delete(pending_spans).where(
                        pending_spans.c.project_id == project_id,
                        tuple_(pending_spans.c.trace_id, pending_spans.c.real_span_id).in_(list(part)),
                    )
                )
    pending_rows = [_pending_row(r) for r in waiting.values()]
    if pending_rows:
        bulk_insert(
            conn,
            pending_spans,
            pending_rows,
            columns=_PENDING_FIELDS,
            constants={"project_id": project_id},
            ignore_conflicts=True,
        )
    summaries = [(row, row["parent_span_id"] is None, row["status"] == "error") for row in span_rows] + [
        (row, _real_parent(record) is None, False) for row, record in zip(pending_rows, waiting.values(), strict=True)
    ]
    rows = _trace_rows(project_id, summaries)
    if rows:
        conn.execute(_trace_upsert(conn), rows)


def _has_pending(conn: Connection, project_id: str) -> bool:
    """Whether the project has any running span at all: most exporters never send pending spans, and then
    the batch needs no delete."""
    query = select(pending_spans.c.trace_id).where(pending_spans.c.project_id == project_id).limit(1)
    return conn.execute(query).first() is not None


def _stored_span_keys(conn: Connection, project_id: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for part in chunks(keys):
        query = select(spans.c.trace_id, spans.c.span_id).where(
            spans.c.project_id == project_id, tuple_(spans.c.trace_id, spans.c.span_id).in_(list(part))
        )
        found.update((t, s) for t, s in conn.execute(query))
    return found


def _trace_rows(project_id: str, summaries: Iterable[tuple[dict[str, Any], bool, bool]]) -> list[dict[str, Any]]:
    """Per trace of the batch: its start, end, name (as pages call the span) and service (the root's, else
    the earliest span's) and whether a span failed, from (span or pending row, is it the root, did it fail)."""
    by_trace: dict[str, dict[str, Any]] = {}
    for span, rooted, failed in summaries:
        start, end = span["start_ns"], span.get("end_ns", span["start_ns"])
        row = by_trace.get(span["trace_id"])
        if row is None:
            by_trace[span["trace_id"]] = {
                "project_id": project_id,
                "trace_id": span["trace_id"],
                "start_ns": start,
                "end_ns": end,
                "name": display_name(span["name"], span["attributes"] or {}),
                "service_name": span["service_name"],
                "rooted": rooted,
                "has_error": failed,
            }
            continue
        if not row["rooted"] and (rooted or start < row["start_ns"]):
            name = display_name(span["name"], span["attributes"] or {})
            row.update(name=name, service_name=span["service_name"], rooted=rooted)
        row["start_ns"] = min(row["start_ns"], start)
        row["end_ns"] = max(row["end_ns"], end)
        row["has_error"] = row["has_error"] or failed
    return [by_trace[trace_id] for trace_id in sorted(by_trace)]  # one lock order: no deadlock between servers


_trace_upserts: dict[str, Any] = {}


def _trace_upsert(conn: Connection) -> Any:
    """Merging a batch into the traces' summaries, idempotently (a batch sent twice changes nothing more);
    the statement is built once per dialect (building it costs more than a batch's rows)."""
    built = _trace_upserts.get(conn.dialect.name)
    if built is None:
        built = _trace_upserts[conn.dialect.name] = _build_trace_upsert(conn)
    return built


def _build_trace_upsert(conn: Connection) -> Any:
    statement = upsert(conn, traces)
    new, old = statement.excluded, traces.c
    takes_new = and_(old.rooted == false(), or_(new.rooted == true(), new.start_ns < old.start_ns))
    return statement.on_conflict_do_update(
        index_elements=[traces.c.project_id, traces.c.trace_id],
        set_={
            "start_ns": least(conn, old.start_ns, new.start_ns),
            "end_ns": greatest(conn, old.end_ns, new.end_ns),
            "name": case((takes_new, new.name), else_=old.name),
            "service_name": case((takes_new, new.service_name), else_=old.service_name),
            "rooted": or_(old.rooted, new.rooted),
            "has_error": or_(old.has_error, new.has_error),
        },
    )


# --- reads --------------------------------------------------------------------------------------


def _span_record(row: dict[str, Any]) -> SpanRecord:
    return SpanRecord(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        start_time=from_ns(row["start_ns"]),
        end_time=from_ns(row["end_ns"]),
        status=row["status"],
        status_message=row["status_message"],
        kind=row["kind"],
        scope=row["scope"],
        service_name=row["service_name"],
        attributes=row["attributes"],
        resource=row["resource"],
        events=tuple(
            SpanEvent(name=e["name"], time=datetime.fromisoformat(e["time"]), attributes=e.get("attributes") or {})
            for e in row["events"]
        ),
    )


def _pending_record(row: dict[str, Any]) -> SpanRecord:
    return SpanRecord(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["real_span_id"],
        name=row["name"],
        start_time=from_ns(row["start_ns"]),
        end_time=None,
        kind=row["kind"],
        scope=row["scope"],
        service_name=row["service_name"],
        attributes=row["attributes"],
        resource=row["resource"],
        pending=True,
    )


def get_trace(conn: Connection, *, project_id: str, trace_id: str) -> list[SpanRecord]:
    """A trace's spans ordered by start (ended spans, then a pending record for each span still running);
    [] when the project has no such trace."""
    ended = select(*(spans.c[f] for f in _SPAN_FIELDS)).where(
        spans.c.project_id == project_id, spans.c.trace_id == trace_id
    )
    found = [_span_record(row) for row in records(conn.execute(ended))]
    running = select(*(pending_spans.c[f] for f in _PENDING_FIELDS)).where(
        pending_spans.c.project_id == project_id, pending_spans.c.trace_id == trace_id
    )
    arrived = {r.span_id for r in found}
    found.extend(_pending_record(row) for row in records(conn.execute(running)) if row["real_span_id"] not in arrived)
    found.sort(key=lambda r: (r.start_time, r.pending, r.span_id))
    return found


def get_span(conn: Connection, *, project_id: str, trace_id: str, span_id: str) -> SpanRecord | None:
    """One ended span; for a span still running, its pending record (found by either id); else None."""
    query = select(*(spans.c[f] for f in _SPAN_FIELDS)).where(
        spans.c.project_id == project_id, spans.c.trace_id == trace_id, spans.c.span_id == span_id
    )
    row = next(records(conn.execute(query)), None)
    if row is not None:
        return _span_record(row)
    running = select(*(pending_spans.c[f] for f in _PENDING_FIELDS)).where(
        pending_spans.c.project_id == project_id,
        pending_spans.c.trace_id == trace_id,
        or_(pending_spans.c.real_span_id == span_id, pending_spans.c.span_id == span_id),
    )
    row = next(records(conn.execute(running)), None)
    return None if row is None else _pending_record(row)


def trace_exists(conn: Connection, *, project_id: str, trace_id: str) -> bool:
    query = select(traces.c.trace_id).where(traces.c.project_id == project_id, traces.c.trace_id == trace_id)
    return conn.execute(query).first() is not None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _span_conditions(conn: Connection, table: Any, search: TraceSearch) -> list[Any]:
    conditions = []
    if search.text:
        pattern = _like(search.text)
        conditions.append(
            or_(table.c.name.ilike(pattern, escape="\\"), table.c.service_name.ilike(pattern, escape="\\"))
        )
    if search.span_name is not None:
        conditions.append(table.c.name == search.span_name)
    if search.service is not None:
        conditions.append(table.c.service_name == search.service)
    if search.attribute is not None:
        value = json_field_text(conn, table.c.attributes, search.attribute)
        conditions.append(value.is_not(None) if search.attribute_value is None else value == search.attribute_value)
    return conditions


SEARCH_WINDOW = 10_000
"""How many traces one search request looks through (newest first) before it answers with what it found
and a cursor to look further: a rare match in a project of millions of traces costs pages, not minutes."""


def list_traces(
    conn: Connection,
    *,
    project_id: str,
    search: TraceSearch | None = None,
    before: tuple[int, str] | None = None,
    limit: int = 50,
    window: int = SEARCH_WINDOW,
) -> tuple[list[TraceSummary], tuple[int, str] | None]:
    """Traces newest first (by start), up to `limit` of them from the keyset position `before` (start_ns,
    trace_id, exclusive) on, and the position to continue from (None at the end).

    With a search, only traces with a matching span (a running one included). The search walks the traces
    newest first and checks each trace's spans through the trace index, looking through at most `window`
    traces per call: then the page may be short, and the position returned continues the search."""
    where = [traces.c.project_id == project_id]
    if before is not None:
        where.append(tuple_(traces.c.start_ns, traces.c.trace_id) < tuple_(*before))
    newest_first = (traces.c.start_ns.desc(), traces.c.trace_id.desc())
    bound = None
    query = select(traces).where(*where)
    if search is not None and not search.empty:
        edge = select(traces.c.start_ns, traces.c.trace_id).where(*where).order_by(*newest_first).offset(window - 1)
        bound = conn.execute(edge.limit(1)).first()
        if bound is not None:
            query = query.where(tuple_(traces.c.start_ns, traces.c.trace_id) >= tuple_(*bound))
        query = query.where(or_(*(_matches(conn, table, search) for table in (spans, pending_spans))))
    rows = list(records(conn.execute(query.order_by(*newest_first).limit(limit + 1))))
    if len(rows) > limit:
        rows = rows[:limit]
        resume: tuple[int, str] | None = (rows[-1]["start_ns"], rows[-1]["trace_id"])
    else:
        resume = None if bound is None else (bound[0], bound[1])
    return _summaries(conn, project_id, rows), resume


def _matches(conn: Connection, table: Any, search: TraceSearch) -> Any:
    """A trace has a span of `table` meeting the search (looked up through the trace's own spans)."""
    conditions = _span_conditions(conn, table, search)
    return exists().where(table.c.project_id == traces.c.project_id, table.c.trace_id == traces.c.trace_id, *conditions)


def _counts(conn: Connection, table: Any, project_id: str, trace_ids: list[str]) -> dict[str, int]:
    if not trace_ids:
        return {}
    query = (
        select(table.c.trace_id, func.count())
        .where(table.c.project_id == project_id, table.c.trace_id.in_(trace_ids))
        .group_by(table.c.trace_id)
    )
    return {row[0]: row[1] for row in conn.execute(query)}


def _summaries(conn: Connection, project_id: str, rows: list[dict[str, Any]]) -> list[TraceSummary]:
    ids = [row["trace_id"] for row in rows]
    ended, running = _counts(conn, spans, project_id, ids), _counts(conn, pending_spans, project_id, ids)
    return [
        TraceSummary(
            trace_id=row["trace_id"],
            name=row["name"],
            service_name=row["service_name"],
            start_time=from_ns(row["start_ns"]),
            end_time=from_ns(row["end_ns"]),
            span_count=ended.get(row["trace_id"], 0) + running.get(row["trace_id"], 0),
            has_error=bool(row["has_error"]),
            running=row["trace_id"] in running,
        )
        for row in rows
    ]


def project_ids_with_traces(conn: Connection) -> list[str]:
    """Every project that has stored traces (for retention cleanup)."""
    return [str(p) for (p,) in conn.execute(select(traces.c.project_id).distinct())]


def expire_traces(conn: Connection, *, project_id: str, started_before_ns: int, limit: int = 500) -> int:
    """Delete up to `limit` of a project's traces that started before the cutoff, whole (spans, pending
    spans, summary), oldest first; returns how many traces went. Call again until it returns 0."""
    query = (
        select(traces.c.trace_id)
        .where(traces.c.project_id == project_id, traces.c.start_ns < started_before_ns)
        .order_by(traces.c.start_ns)
        .limit(limit)
    )
    ids = list(conn.execute(query).scalars())
    if not ids:
        return 0
    for table in (spans, pending_spans, traces):
        conn.execute(delete(table).where(table.c.project_id == project_id, table.c.trace_id.in_(ids)))
    return len(ids)


def find_spans(
    conn: Connection,
    *,
    project_id: str,
    trace_id: str,
    span_ids: Iterable[str] = (),
    parent_ids: Iterable[str] = (),
    name: str | None = None,
    failed_only: bool = False,
) -> list[SpanRecord]:
    """Ended spans of one trace with one of `span_ids` or whose parent is one of `parent_ids`, of this `name`
    if given, failed ones only with `failed_only` (found through the index of failed spans by parent: the
    experiments decoder reads case spans, and their failed evaluators, back this way)."""
    found: dict[str, SpanRecord] = {}
    where = [spans.c.project_id == project_id, spans.c.trace_id == trace_id]
    where += [spans.c.name == name] if name is not None else []
    where += [FAILED] if failed_only else []
    for column, wanted in ((spans.c.span_id, list(span_ids)), (spans.c.parent_span_id, list(parent_ids))):
        for part in chunks(wanted):
            query = select(*(spans.c[f] for f in _SPAN_FIELDS)).where(*where, column.in_(part))
            for row in records(conn.execute(query)):
                found[row["span_id"]] = _span_record(row)
    return list(found.values())
