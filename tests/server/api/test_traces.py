"""Trace API over real HTTP (both databases): cases from spans, the recent-traces list, a full queue."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import BACKENDS, READ, WRITE, LiveServer, _backend_url, _reset_postgres, start_server, stop_server

TRACES = "project:write_traces"
JSON = {"Content-Type": "application/json"}


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, str):
        return {"key": key, "value": {"stringValue": value}}
    return {"key": key, "value": {"stringValue": orjson.dumps(value).decode()}}


def export(spans: list[dict[str, Any]], service: str = "svc") -> bytes:
    resource = {"attributes": [attr("service.name", service)]}
    return orjson.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]})


def otlp_span(trace_id: str, name: str, attributes: dict[str, Any], *, parent: str = "") -> dict[str, Any]:
    now = time.time_ns()
    schema = {k: {"type": "object"} for k, v in attributes.items() if not isinstance(v, (str, bool, int, float))}
    pairs = [attr(k, v) for k, v in attributes.items()]
    if schema:
        pairs.append(attr("logfire.json_schema", orjson.dumps({"type": "object", "properties": schema}).decode()))
    return {
        "traceId": trace_id,
        "spanId": os.urandom(8).hex(),
        "parentSpanId": parent,
        "name": name,
        "startTimeUnixNano": now,
        "endTimeUnixNano": now + 1_000_000,
        "attributes": pairs,
    }


@pytest.fixture
def project(live_server: LiveServer) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """(a client sending traces, a read+write client) of a fresh project."""
    sender, name = live_server.new_key(TRACES)
    user, _ = live_server.new_key(READ, WRITE, project=name)
    with live_server.client(sender) as send, live_server.client(user) as api:
        yield send, api


def stored(api: httpx.Client, trace_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        answer = api.get(f"/v1/traces/{trace_id}/")
        if answer.status_code == 200 and len(answer.json()) >= count:
            return answer.json()
        time.sleep(0.05)
    raise AssertionError(f"trace {trace_id} not stored")


def test_case_from_a_pydantic_evals_case_span_keeps_its_source(project: tuple[httpx.Client, httpx.Client]) -> None:
    send, api = project
    trace_id = os.urandom(16).hex()
    case_span = otlp_span(
        trace_id, "case: q1", {"case_name": "q1", "inputs": {"question": "2+2?"}, "output": "4", "metadata": {"d": 1}}
    )
    assert send.post("/v1/traces", content=export([case_span]), headers=JSON).status_code == 200
    stored(api, trace_id, 1)
    schema = {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}
    assert api.post("/v1/datasets/", json={"name": "math", "input_schema": schema}).status_code in (200, 201)
    created = api.post(
        "/v1/datasets/math/cases/from-span/", json={"trace_id": trace_id, "span_id": case_span["spanId"]}
    )
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["inputs"] == {"question": "2+2?"} and case["expected_output"] == "4" and case["metadata"] == {"d": 1}
    assert (case["source_trace_id"], case["source_span_id"]) == (trace_id, case_span["spanId"])
    snapshot = case["source_span"]
    assert snapshot["name"] == "case: q1" and snapshot["attributes"]["inputs"] == {"question": "2+2?"}
    assert snapshot["start_time"].endswith("+00:00")

    edited = api.patch(f"/v1/datasets/math/cases/{case['id']}/", json={"inputs": {"question": "3+3?"}}).json()
    assert edited["source_span"] == snapshot  # edits keep the evidence
    listed = api.get("/v1/datasets/math/cases/").json()
    assert listed[0]["source_span"] == snapshot
    exported = api.get("/v1/datasets/math/export/").json()
    assert "source_span" not in exported["cases"][0]


def test_overrides_mappings_and_several_spans(project: tuple[httpx.Client, httpx.Client]) -> None:
    send, api = project
    trace_id = os.urandom(16).hex()
    first = otlp_span(trace_id, "chat", {"gen_ai.input.messages": [{"role": "user", "content": "hi"}], "n": 1})
    second = otlp_span(trace_id, "chat", {"gen_ai.input.messages": [{"role": "user", "content": "yo"}], "n": 2})
    send.post("/v1/traces", content=export([first, second]), headers=JSON)
    stored(api, trace_id, 2)
    api.post("/v1/datasets/", json={"name": "chats"})
    one = api.post(
        "/v1/datasets/chats/cases/from-span/",
        json={
            "trace_id": trace_id,
            "span_id": first["spanId"],
            "name": "greeting",
            "tags": ["prod"],
            "expected_output": "hello",
            "mapping": {"inputs": '$["gen_ai.input.messages"][0].content', "metadata": "$.n"},
        },
    ).json()
    assert (one["name"], one["inputs"], one["expected_output"], one["metadata"], one["tags"]) == (
        "greeting",
        "hi",
        "hello",
        1,
        ["prod"],
    )
    both = api.post(
        "/v1/datasets/chats/cases/from-span/",
        json={
            "spans": [{"trace_id": trace_id, "span_id": s["spanId"]} for s in (first, second)],
            "mapping": {"inputs": "$.gen_ai.input.messages[0].content", "expected_output": "none"},
        },
    )
    assert both.status_code == 201
    assert [c["inputs"] for c in both.json()] == ["hi", "yo"]
    bad_path = api.post(
        "/v1/datasets/chats/cases/from-span/",
        json={"trace_id": trace_id, "span_id": first["spanId"], "mapping": {"inputs": "$.nothing.here"}},
    )
    assert bad_path.status_code == 422 and "nothing" in bad_path.json()["detail"]
    assert len(api.get("/v1/datasets/chats/cases/").json()) == 3


def test_from_span_errors(project: tuple[httpx.Client, httpx.Client], live_server: LiveServer) -> None:
    send, api = project
    trace_id = os.urandom(16).hex()
    span = otlp_span(trace_id, "work", {"inputs": 5, "case_name": "x"})
    send.post("/v1/traces", content=export([span]), headers=JSON)
    stored(api, trace_id, 1)
    api.post("/v1/datasets/", json={"name": "typed", "input_schema": {"type": "string"}})
    url = "/v1/datasets/typed/cases/from-span/"
    invalid = api.post(url, json={"trace_id": trace_id, "span_id": span["spanId"]})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "inputs"
    fixed = api.post(url, json={"trace_id": trace_id, "span_id": span["spanId"], "inputs": "five"})
    assert fixed.status_code == 201
    missing = api.post(url, json={"trace_id": os.urandom(16).hex(), "span_id": span["spanId"]})
    assert missing.status_code == 404 and missing.json()["detail"] == "Trace not found"
    no_span = api.post(url, json={"trace_id": trace_id, "span_id": os.urandom(8).hex()})
    assert no_span.status_code == 404 and no_span.json()["detail"] == "Span not found"
    assert api.post("/v1/datasets/nope/cases/from-span/", json={"trace_id": trace_id, "span_id": "1" * 16}).json() == {
        "detail": "Dataset not found"
    }
    assert api.post(url, json={"span_id": span["spanId"]}).status_code == 422
    reader, _ = live_server.new_key(READ)
    with live_server.client(reader) as client:
        assert client.post(url, json={"trace_id": trace_id, "span_id": span["spanId"]}).status_code in (403, 404)


def test_recent_traces_list_pages_and_searches(project: tuple[httpx.Client, httpx.Client]) -> None:
    send, api = project
    ids = [os.urandom(16).hex() for _ in range(5)]
    for index, trace_id in enumerate(ids):
        attributes = {"user.id": index}
        send.post("/v1/traces", content=export([otlp_span(trace_id, f"job {index}", attributes)]), headers=JSON)
        time.sleep(0.002)
    stored(api, ids[-1], 1)
    deadline = time.monotonic() + 10
    while len(api.get("/v1/traces", params={"limit": 10}).json()["traces"]) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    first = api.get("/v1/traces", params={"limit": 3}).json()
    second = api.get("/v1/traces", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [t["trace_id"] for t in first["traces"] + second["traces"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert [t["trace_id"] for t in api.get("/v1/traces", params={"q": "attr:user.id=3"}).json()["traces"]] == [ids[3]]
    assert api.get("/v1/traces", params={"cursor": "x"}).status_code == 422
    assert api.get("/v1/traces/not-a-trace-id").status_code == 404


@pytest.fixture(params=BACKENDS)
def tiny_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose span queue holds 3 spans."""
    url = _backend_url(request, request.param, tmp_path)
    if request.param == "postgresql":
        _reset_postgres(url)
    server = start_server(url, tmp_path / "server.log", env={"EVALSET_TRACE_QUEUE_SPANS": "3"}, backend=request.param)
    yield server
    stop_server(server)


def test_a_full_queue_answers_503_with_retry_after_and_datasets_still_work(tiny_queue: LiveServer) -> None:
    from sqlalchemy import text

    sender, name = tiny_queue.new_key(TRACES)
    user, _ = tiny_queue.new_key(READ, WRITE, project=name)
    trace_id = os.urandom(16).hex()
    batch = export([otlp_span(trace_id, "a", {}), otlp_span(trace_id, "b", {})])
    held = threading.Event()
    release = threading.Event()

    def hold_the_span_table() -> None:  # the writer cannot commit while this transaction holds the lock
        with tiny_queue.db.write() as conn:  # on SQLite, BEGIN IMMEDIATE: the file's write lock
            if tiny_queue.backend == "postgresql":
                conn.execute(text("LOCK TABLE spans IN ACCESS EXCLUSIVE MODE"))
            held.set()
            release.wait(20)

    holder = threading.Thread(target=hold_the_span_table)
    holder.start()
    try:
        assert held.wait(10)
        with tiny_queue.client(sender) as send:
            assert send.post("/v1/traces", content=batch, headers=JSON).status_code == 200  # the writer takes it
            time.sleep(0.3)
            assert send.post("/v1/traces", content=batch, headers=JSON).status_code == 200  # queued
            full = send.post("/v1/traces", content=batch, headers=JSON)
        assert full.status_code == 503 and full.headers["Retry-After"].isdigit()
        assert "queue" in full.json()["detail"].lower() or "holding" in full.json()["detail"]
        if tiny_queue.backend == "postgresql":  # dataset reads go on meanwhile (SQLite's lock here is the whole file)
            with tiny_queue.client(user) as api:
                assert api.get("/v1/datasets/").status_code == 200
    finally:
        release.set()
        holder.join()
    with tiny_queue.client(user) as api:
        assert len(stored(api, trace_id, 2)) == 2
