"""Trace storage and services on both databases: batches, dedup, pending spans, listing, search, retention."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from evalset.server.domain.auth import Principal
from evalset.server.domain.spans import SpanRecord
from evalset.server.errors import InvalidInput, SpanNotFound, TraceNotFound
from evalset.server.otlp.writer import SpanWriter
from evalset.server.services import datasets as dataset_service
from evalset.server.services import keys as key_service
from evalset.server.services import traces
from evalset.server.storage import Database

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def tid() -> str:
    return os.urandom(16).hex()


def sid() -> str:
    return os.urandom(8).hex()


def span(
    trace_id: str,
    name: str = "work",
    *,
    span_id: str | None = None,
    parent: str | None = None,
    start: datetime = NOW,
    ms: float = 10,
    **fields: Any,
) -> SpanRecord:
    end = None if fields.get("pending") else start + timedelta(milliseconds=ms)
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id or sid(),
        parent_span_id=parent,
        name=name,
        start_time=start,
        end_time=end,
        **fields,
    )


def pending_for(real: SpanRecord, real_parent: str | None) -> SpanRecord:
    """What logfire sends when `real` starts."""
    return span(
        real.trace_id,
        real.name,
        parent=real.span_id,
        start=real.start_time,
        pending=True,
        attributes={
            **real.attributes,
            "logfire.span_type": "pending_span",
            "logfire.pending_parent_id": real_parent or "0" * 16,
        },
    )


def member(db: Database, project: str, scopes: Sequence[str] = ("project:read_datasets", "project:write_datasets")):
    _, row = key_service.create_key(db, project=project, scopes=list(scopes))
    return Principal(key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset(scopes))


@pytest.fixture
def me(db: Database) -> Principal:
    return member(db, "traces")


def store(db: Database, principal: Principal, *records: SpanRecord) -> None:
    traces.store_batches(db, {principal.project_id: list(records)})


def test_a_trace_comes_back_as_stored_and_a_resent_batch_changes_nothing(db: Database, me: Principal) -> None:
    t = tid()
    root = span(t, "request", ms=50, service_name="api", attributes={"n": 1, "nested": {"a": [1, 2]}})
    child = span(t, "query", parent=root.span_id, start=NOW + timedelta(milliseconds=5), status="error")
    store(db, me, root, child)
    store(db, me, root, child)  # an exporter's retry
    found = traces.get_trace(db, me, t)
    assert [s.span_id for s in found] == [root.span_id, child.span_id]
    assert found[0].attributes == {"n": 1, "nested": {"a": [1, 2]}}
    assert found[0].start_time == root.start_time and found[0].end_time == root.end_time
    assert found[1].status == "error" and found[1].parent_span_id == root.span_id
    page = traces.list_traces(db, me)
    (summary,) = page.traces
    assert (summary.trace_id, summary.name, summary.service_name) == (t, "request", "api")
    assert summary.span_count == 2 and summary.has_error and not summary.running
    assert summary.duration_ms == pytest.approx(50)
    assert page.next_cursor is None


def test_root_name_wins_whatever_order_spans_arrive_in(db: Database, me: Principal) -> None:
    t = tid()
    root = span(t, "root", ms=100)
    child = span(t, "child", parent=root.span_id, start=NOW - timedelta(milliseconds=1))  # clock skew
    store(db, me, child)
    assert traces.list_traces(db, me).traces[0].name == "child"
    store(db, me, root)
    (summary,) = traces.list_traces(db, me).traces
    assert summary.name == "root" and summary.span_count == 2


def test_a_pending_span_shows_until_its_span_arrives_then_never_again(db: Database, me: Principal) -> None:
    t = tid()
    root = span(t, "agent run", ms=200, attributes={"prompt": "hi"})
    child = span(t, "model call", parent=root.span_id, start=NOW + timedelta(milliseconds=1))
    store(db, me, pending_for(root, None))
    (running,) = traces.get_trace(db, me, t)
    assert running.pending and running.parent_span_id == root.span_id and running.end_time is None
    assert traces.span_json(running)["span_id"] == root.span_id
    assert traces.span_json(running)["parent_span_id"] is None and traces.span_json(running)["running"]
    (summary,) = traces.list_traces(db, me).traces
    assert summary.running and summary.name == "agent run" and summary.span_count == 1
    assert traces.get_span(db, me, t, root.span_id).pending

    store(db, me, child, root)
    found = traces.get_trace(db, me, t)
    assert [(s.span_id, s.pending) for s in found] == [(root.span_id, False), (child.span_id, False)]
    assert not traces.list_traces(db, me).traces[0].running
    store(db, me, pending_for(root, None))  # a late or re-sent pending span: the real span is there
    assert len(traces.get_trace(db, me, t)) == 2


def test_pending_and_real_span_in_one_batch(db: Database, me: Principal) -> None:
    t = tid()
    root = span(t, "quick")
    store(db, me, pending_for(root, None), root)
    assert [s.pending for s in traces.get_trace(db, me, t)] == [False]


def test_another_projects_trace_is_not_found(db: Database, me: Principal) -> None:
    t = tid()
    root = span(t)
    store(db, me, root)
    other = member(db, "other")
    with pytest.raises(TraceNotFound):
        traces.get_trace(db, other, t)
    with pytest.raises(TraceNotFound):
        traces.get_span(db, other, t, root.span_id)
    assert traces.list_traces(db, other).traces == []
    with pytest.raises(SpanNotFound):
        traces.get_span(db, me, t, sid())
    with pytest.raises(TraceNotFound):
        traces.get_trace(db, me, "not-hex")


def test_recent_traces_page_newest_first(db: Database, me: Principal) -> None:
    ids = [tid() for _ in range(7)]
    store(db, me, *(span(t, f"t{i}", start=NOW + timedelta(seconds=i)) for i, t in enumerate(ids)))
    seen: list[str] = []
    cursor = None
    while True:
        page = traces.list_traces(db, me, limit=3, cursor=cursor)
        seen.extend(s.trace_id for s in page.traces)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids[::-1]
    with pytest.raises(InvalidInput):
        traces.list_traces(db, me, cursor="nonsense")


def test_search_by_span_name_service_and_attribute(db: Database, me: Principal) -> None:
    a, b, c = tid(), tid(), tid()
    store(
        db,
        me,
        span(a, "GET /users", service_name="api", attributes={"user.id": 42, "tier": "gold"}),
        span(b, "Chat Completion", service_name="worker", attributes={"tier": "free", "flag": True}),
        span(c, "root", service_name="api"),
        span(c, "retrieval step", parent=None, service_name="api", attributes={"docs": [1, 2]}),
    )

    def found(query: str) -> set[str]:
        return {s.trace_id for s in traces.list_traces(db, me, search=query).traces}

    assert found("") == {a, b, c}
    assert found("chat") == {b}  # any case, part of the name
    assert found("service:api") == {a, c}
    assert found("WORK") == {b}  # part of a service name
    assert found('name:"GET /users"') == {a}
    assert found("attr:user.id=42") == {a}
    assert found("attr:tier=free") == {b}
    assert found("attr:flag=true") == {b}
    assert found("attr:docs") == {c}
    assert found("attr:docs=[1,2]") == {c}
    assert found("attr:tier service:worker") == {b}
    assert found("100%_") == set()  # LIKE wildcards are matched literally


def test_a_search_looks_through_a_window_of_traces_and_continues(db: Database, me: Principal) -> None:
    from evalset.server.domain.traces import parse_search
    from evalset.server.storage import spans as span_store

    ids = [tid() for _ in range(10)]
    store(
        db,
        me,
        *(span(t, "rare" if i in (1, 6) else "common", start=NOW + timedelta(seconds=i)) for i, t in enumerate(ids)),
    )
    search = parse_search("rare")
    found, before = [], None
    calls = 0
    while True:
        calls += 1
        with db.read() as conn:
            page, before = span_store.list_traces(
                conn, project_id=me.project_id, search=search, before=before, limit=5, window=3
            )
        found.extend(s.trace_id for s in page)
        if before is None:
            break
    assert found == [ids[6], ids[1]] and calls == 4  # 10 traces, 3 per look
    first = traces.list_traces(db, me, search="rare", limit=5)
    assert [s.trace_id for s in first.traces] == [ids[6], ids[1]] and first.searched_to is None  # window 10,000


def test_retention_deletes_whole_old_traces_only(db: Database, me: Principal) -> None:
    old, new = tid(), tid()
    old_root = span(old, "old", start=NOW - timedelta(days=40))
    store(db, me, old_root, span(old, "late child", parent=old_root.span_id, start=NOW))  # a late span
    store(db, me, pending_for(span(old, "old running", start=NOW - timedelta(days=40)), old_root.span_id))
    store(db, me, span(new, "new", start=NOW - timedelta(days=1)))
    assert traces.expire_old_traces(db, retention=timedelta(days=30), batch=1) == 1
    assert [s.trace_id for s in traces.list_traces(db, me).traces] == [new]
    with pytest.raises(TraceNotFound):
        traces.get_trace(db, me, old)
    assert traces.expire_old_traces(db, retention=timedelta(days=30)) == 0


def test_writer_commits_batches_and_calls_consumers_after_commit(db: Database, me: Principal) -> None:
    seen: list[tuple[str, int, int]] = []

    def consumer(database: Database, project_id: str, records: Sequence[SpanRecord]) -> None:
        stored = len(traces.get_trace(database, me, records[0].trace_id))  # committed already
        seen.append((project_id, len(records), stored))

    def broken(database: Database, project_id: str, records: Sequence[SpanRecord]) -> None:
        raise RuntimeError("consumer bug")

    writer = SpanWriter(db, consumers=[broken, consumer], max_queued_spans=10, retention=None)
    t = tid()
    try:
        assert writer.offer(me.project_id, [span(t, "a"), span(t, "b")])
        assert writer.flush(10)
        assert seen == [(me.project_id, 2, 2)]
        assert len(traces.get_trace(db, me, t)) == 2
    finally:
        writer.stop()


def test_the_writer_runs_retention_by_itself(db: Database, me: Principal) -> None:
    old = tid()
    store(db, me, span(old, "old", start=NOW - timedelta(days=31)))
    writer = SpanWriter(db, retention=timedelta(days=30), cleanup_interval=0.05)
    writer._next_cleanup = 0  # due now, rather than a minute after start
    try:
        writer.start()
        deadline = datetime.now() + timedelta(seconds=10)
        while traces.list_traces(db, me).traces and datetime.now() < deadline:
            threading.Event().wait(0.05)
        assert traces.list_traces(db, me).traces == []
    finally:
        writer.stop()


def test_a_full_queue_refuses_offers_without_blocking(db: Database, me: Principal) -> None:
    gate = threading.Event()

    def slow(database: Database, project_id: str, records: Sequence[SpanRecord]) -> None:
        gate.wait(10)

    writer = SpanWriter(db, consumers=[slow], max_queued_spans=5, batch_spans=5, retention=None)
    try:
        t = tid()
        assert writer.offer(me.project_id, [span(t) for _ in range(5)])  # taken by the thread, held in `slow`
        deadline = datetime.now() + timedelta(seconds=10)
        while writer.queued_spans and datetime.now() < deadline:
            pass
        assert writer.offer(me.project_id, [span(t) for _ in range(5)])  # fills the queue
        assert not writer.offer(me.project_id, [span(t)])  # full: refused at once
        gate.set()
        assert writer.flush(10)
        assert len(traces.get_trace(db, me, t)) == 10
    finally:
        gate.set()
        writer.stop()


def test_cases_from_spans_keep_a_snapshot_and_are_validated(db: Database, me: Principal) -> None:
    dataset_service.create_dataset(db, me, {"name": "qa", "input_schema": {"type": "object", "required": ["question"]}})
    t = tid()
    good = span(t, "case: one", attributes={"case_name": "one", "inputs": {"question": "2+2"}, "output": "4"})
    bad = span(t, "case: two", attributes={"case_name": "two", "inputs": {"q": 1}, "expected_output": "x"})
    store(db, me, good, bad)
    (case,) = traces.create_cases_from_spans(db, me, "qa", [traces.SpanRef(trace_id=t, span_id=good.span_id)])
    assert case["inputs"] == {"question": "2+2"} and case["expected_output"] == "4"
    assert (case["source_trace_id"], case["source_span_id"]) == (t, good.span_id)
    assert case["source_span"]["name"] == "case: one"
    assert case["source_span"]["attributes"]["output"] == "4"
    with pytest.raises(InvalidInput) as refused:
        traces.create_cases_from_spans(
            db,
            me,
            "qa",
            [traces.SpanRef(trace_id=t, span_id=good.span_id), traces.SpanRef(trace_id=t, span_id=bad.span_id)],
        )
    assert refused.value.errors[0]["case_index"] == 1
    assert dataset_service.get_dataset(db, me, "qa")["case_count"] == 1  # all or none
    assert traces.trace_exists(db, me, t) and not traces.trace_exists(db, member(db, "x"), t)
    traces.expire_old_traces(db, retention=timedelta(0))
    assert not traces.trace_exists(db, me, t)
    from evalset.server.services import cases as case_service

    kept = case_service.get_case(db, me, "qa", case["id"])
    assert kept["source_span"]["attributes"]["inputs"] == {"question": "2+2"}  # the trace is gone; the copy stays
