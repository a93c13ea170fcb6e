"""The OTLP/HTTP receiver against the real server (both databases), fed by the real OpenTelemetry SDK and
its OTLP exporter; JSON exports are the same spans in OTLP/JSON (hex ids), plus hand-made edge cases."""

from __future__ import annotations

import base64
import gzip
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from tests.conftest import READ, WRITE, LiveServer

TRACES = "project:write_traces"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def make_spans(service: str = "checkout") -> list[ReadableSpan]:
    """A small real trace made by the OpenTelemetry SDK: a root, a child with an error and an event."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.otlp", "1.0")
    root = tracer.start_as_current_span("POST /orders", attributes={"http.method": "POST", "order.items": 3})
    with root, tracer.start_as_current_span("charge card") as child:
        child.set_attribute("amounts", [1.5, 2.5])
        child.add_event("retry", {"attempt": 2})
        child.set_status(Status(StatusCode.ERROR, "card declined"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def hex_ids(value: Any) -> Any:
    """protobuf's JSON (base64 ids) -> OTLP/JSON (hex ids), as OTLP/JSON exporters send it."""
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else hex_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [hex_ids(v) for v in value]
    return value


def otlp_json(spans: list[ReadableSpan]) -> dict[str, Any]:
    return hex_ids(json_format.MessageToDict(encode_spans(spans)))


def trace_id_of(spans: list[ReadableSpan]) -> str:
    assert spans[0].context is not None
    return format(spans[0].context.trace_id, "032x")


def error_text(response: httpx.Response) -> str:
    """An error answer's message: a google.rpc.Status for protobuf exports (as OTLP says), else JSON."""
    from google.rpc.status_pb2 import Status

    if response.headers["content-type"] == "application/x-protobuf":
        return Status.FromString(response.content).message
    return response.json()["detail"]


def wait_for_trace(client: httpx.Client, trace_id: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/traces/{trace_id}")
        if response.status_code == 200 and len(response.json()) >= count:
            return response.json()
        assert time.monotonic() < deadline, f"trace {trace_id} not stored in {timeout} s: {response.text}"
        time.sleep(0.05)


@pytest.fixture
def keys(live_server: LiveServer) -> tuple[str, str]:
    """(a trace-writing key, a reading key) of a fresh project."""
    writer, project = live_server.new_key(TRACES)
    reader, _ = live_server.new_key(READ, WRITE, project=project)
    return writer, reader


@pytest.fixture
def reader(live_server: LiveServer, keys: tuple[str, str]) -> Iterator[httpx.Client]:
    with live_server.client(keys[1]) as client:
        yield client


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_real_exporter_sends_a_trace_that_comes_back(
    live_server: LiveServer, keys: tuple[str, str], reader: httpx.Client, compression: Compression
) -> None:
    spans = make_spans()
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.base_url}/v1/traces",
        headers={"Authorization": f"Bearer {keys[0]}"},
        compression=compression,
    )
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    stored = wait_for_trace(reader, trace_id_of(spans), 2)
    by_name = {s["name"]: s for s in stored}
    root, child = by_name["POST /orders"], by_name["charge card"]
    assert root["parent_span_id"] is None and child["parent_span_id"] == root["span_id"]
    assert root["attributes"] == {"http.method": "POST", "order.items": 3}
    assert root["service_name"] == "checkout" and root["resource"]["service.name"] == "checkout"
    assert child["attributes"]["amounts"] == [1.5, 2.5]
    assert child["status"] == "error" and child["status_message"] == "card declined"
    assert child["events"][0]["name"] == "retry" and child["events"][0]["attributes"] == {"attempt": 2}
    assert root["scope"] == "tests.otlp" and root["kind"] == "internal" and root["duration_ms"] >= 0
    listed = reader.get("/v1/traces", params={"q": "service:checkout"}).json()["traces"]
    assert [(t["trace_id"], t["span_count"], t["has_error"]) for t in listed] == [(trace_id_of(spans), 2, True)]


def test_json_export_with_hex_ids_string_integers_and_unknown_fields(
    live_server: LiveServer, keys: tuple[str, str], reader: httpx.Client
) -> None:
    spans = make_spans("json-service")
    payload = otlp_json(spans)
    first = payload["resourceSpans"][0]
    first["someFutureField"] = {"x": 1}  # unknown fields are ignored
    for span in first["scopeSpans"][0]["spans"]:
        span["startTimeUnixNano"] = str(span["startTimeUnixNano"])  # 64-bit integers as strings
    with live_server.client(keys[0]) as client:
        response = client.post("/v1/traces", content=orjson.dumps(payload), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    stored = wait_for_trace(reader, trace_id_of(spans), 2)
    assert {s["span_id"] for s in stored} == {format(s.context.span_id, "016x") for s in spans if s.context}


def test_protobuf_answer_is_protobuf_and_an_empty_export_succeeds(
    live_server: LiveServer, keys: tuple[str, str]
) -> None:
    with live_server.client(keys[0]) as client:
        empty = client.post("/v1/traces", content=b"", headers=PROTOBUF)
        assert empty.status_code == 200 and empty.headers["content-type"] == "application/x-protobuf"
        answer = ExportTraceServiceResponse.FromString(empty.content)
        assert not answer.HasField("partial_success")
        assert client.post("/v1/traces", content=b"{}", headers=JSON).json() == {}
        assert client.post("/v1/traces", content=b"", headers=JSON).json() == {}
        exemplar = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "gauge": {"dataPoints": [
            {"asDouble": 1.0, "exemplars": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "asDouble": 1.0}]}
        ]}}]}]}]}  # fmt: skip
        assert client.post("/v1/metrics", content=orjson.dumps(exemplar), headers=JSON).json() == {}


def test_partly_invalid_export_stores_the_valid_spans_and_counts_the_rest(
    live_server: LiveServer, keys: tuple[str, str], reader: httpx.Client
) -> None:
    spans = make_spans()
    payload = otlp_json(spans)
    bad = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bad.append({**bad[0], "spanId": "zz", "name": "bad id"})
    bad.append({**bad[0], "spanId": os.urandom(8).hex(), "traceId": "00" * 16, "name": "zero trace"})
    with live_server.client(keys[0]) as client:
        response = client.post("/v1/traces", content=orjson.dumps(payload), headers=JSON)
        protobuf = client.post(
            "/v1/traces",
            content=json_format.ParseDict(
                {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "no ids", "startTimeUnixNano": "1"}]}]}]},
                encode_spans([]),
            ).SerializeToString(),
            headers=PROTOBUF,
        )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] in ("2", 2)
    assert "bad id" in partial["errorMessage"] and "trace_id" in partial["errorMessage"]
    assert len(wait_for_trace(reader, trace_id_of(spans), 2)) == 2
    answer = ExportTraceServiceResponse.FromString(protobuf.content)
    assert answer.partial_success.rejected_spans == 1 and "trace_id" in answer.partial_success.error_message


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"\x0a\xff\xff\xff", PROTOBUF, 400, "protobuf"),
        (b"{not json", JSON, 400, "JSON"),
        (b"[1, 2]", JSON, 400, "object"),
        (b'{"resourceSpans": "nope"}', JSON, 400, "OTLP/JSON"),
        (b"not gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, 400, "gzip"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (b"{}", {**JSON, "Content-Encoding": "br"}, 415, "Content-Encoding"),
    ],
)
def test_malformed_exports_get_a_clear_4xx_and_store_nothing(
    live_server: LiveServer, keys: tuple[str, str], body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    with live_server.client(keys[0]) as client:
        response = client.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert words in error_text(response)
    with live_server.client(keys[1]) as client:
        assert client.get("/v1/traces").json()["traces"] == []


def test_a_malformed_export_after_good_spans_stores_none_of_it(
    live_server: LiveServer, keys: tuple[str, str], reader: httpx.Client
) -> None:
    payload = otlp_json(make_spans())
    payload["resourceSpans"].append({"scopeSpans": [{"spans": [{"name": 5, "attributes": "x"}]}]})
    with live_server.client(keys[0]) as client:
        assert client.post("/v1/traces", content=orjson.dumps(payload), headers=JSON).status_code == 400
    time.sleep(0.3)
    assert reader.get("/v1/traces").json()["traces"] == []


def test_size_limit_applies_after_decompression(live_server: LiveServer, keys: tuple[str, str]) -> None:
    from tests.conftest import TEST_BODY_LIMIT

    payload = otlp_json(make_spans())
    payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "big", "value": {"stringValue": "x" * (TEST_BODY_LIMIT + 10)}}
    )
    squeezed = gzip.compress(orjson.dumps(payload))
    assert len(squeezed) < TEST_BODY_LIMIT
    with live_server.client(keys[0]) as client:
        response = client.post("/v1/traces", content=squeezed, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]


def test_keys_need_the_trace_scope_and_may_be_bare(live_server: LiveServer, keys: tuple[str, str]) -> None:
    body = encode_spans(make_spans()).SerializeToString()
    with httpx.Client(base_url=live_server.base_url) as client:
        assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 401
        wrong = client.post("/v1/traces", content=body, headers={**PROTOBUF, "Authorization": f"Bearer {keys[1]}"})
        assert wrong.status_code == 403 and "project:write_traces" in error_text(wrong)
        assert wrong.headers["content-type"] == "application/x-protobuf"  # a google.rpc.Status
        as_json = client.post("/v1/traces", content=b"{}", headers={**JSON, "Authorization": f"Bearer {keys[1]}"})
        assert as_json.status_code == 403 and "project:write_traces" in as_json.json()["detail"]
        bare = client.post("/v1/traces", content=body, headers={**PROTOBUF, "Authorization": keys[0]})
        assert bare.status_code == 200
        reading = client.get(f"/v1/traces/{trace_id_of(make_spans())}", headers={"Authorization": f"Bearer {keys[0]}"})
        assert reading.status_code == 403  # writing traces does not allow reading them


def test_another_projects_trace_is_404(live_server: LiveServer, keys: tuple[str, str], reader: httpx.Client) -> None:
    spans = make_spans()
    with live_server.client(keys[0]) as client:
        client.post("/v1/traces", content=encode_spans(spans).SerializeToString(), headers=PROTOBUF)
    wait_for_trace(reader, trace_id_of(spans), 2)
    stranger, _ = live_server.new_key(READ)
    with live_server.client(stranger) as client:
        response = client.get(f"/v1/traces/{trace_id_of(spans)}")
        assert response.status_code == 404 and response.json() == {"detail": "Trace not found"}
        assert client.get("/v1/traces").json()["traces"] == []


def test_info_metrics_and_logs_as_the_logfire_sdk_uses_them(
    live_server: LiveServer, keys: tuple[str, str], reader: httpx.Client
) -> None:
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs  # noqa: F401 - encoder exists
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    with httpx.Client(base_url=live_server.base_url, headers={"Authorization": keys[0]}) as client:
        info = client.get("/v1/info")
        assert info.status_code == 200
        assert info.json()["project_url"] == live_server.base_url
        assert info.json()["project_name"].startswith("p-")
        metrics = client.post(
            "/v1/metrics", content=ExportMetricsServiceRequest().SerializeToString(), headers=PROTOBUF
        )
        assert metrics.status_code == 200 and metrics.headers["content-type"] == "application/x-protobuf"
        trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
        log = {
            "resourceLogs": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "logger"}}]},
                    "scopeLogs": [
                        {
                            "logRecords": [
                                {
                                    "timeUnixNano": str(time.time_ns()),
                                    "severityNumber": 17,
                                    "severityText": "ERROR",
                                    "body": {"stringValue": "disk full\nmore detail"},
                                    "traceId": trace_id,
                                    "spanId": span_id,
                                }
                            ]
                        }
                    ],
                }
            ]
        }
        assert client.post("/v1/logs", content=orjson.dumps(log), headers=JSON).json() == {}
    (stored,) = wait_for_trace(reader, trace_id, 1)
    assert stored["name"] == "disk full" and stored["parent_span_id"] == span_id and stored["status"] == "error"
    assert stored["attributes"]["log.body"] == "disk full\nmore detail" and stored["service_name"] == "logger"
