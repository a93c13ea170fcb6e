"""The real `logfire` SDK pointed at the server: /v1/info, then traces (pending spans, JSON-encoded values)
and metrics. It runs in a subprocess, so its global set-up stays out of the test process; the script
reports what it saw (the trace while a span ran, the trace after, every warning and log line)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson

from tests.conftest import READ, LiveServer

SCRIPT = r"""
import json, logging, sys, time, warnings
import httpx

url, key, read_key = sys.argv[1:4]
lines = []

class Keep(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())

logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.WARNING)
reader = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {read_key}"})

def spans_of(trace_id, ready):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = reader.get(f"/v1/traces/{trace_id}")
        if answer.status_code == 200 and ready(answer.json()):
            return answer.json()
        time.sleep(0.05)
    return reader.get(f"/v1/traces/{trace_id}").json()

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import logfire

    logfire.configure(
        token=key,
        advanced=logfire.AdvancedOptions(base_url=url),
        send_to_logfire=True,
        console=False,
        service_name="shop",
        inspect_arguments=False,  # the script runs from -c: no source to inspect
    )

    @logfire.instrument("add {a} and {b}", record_return=True)
    def add(a, b, extra):
        return {"sum": a + b, "parts": [a, b]}

    with logfire.span("checkout {order}", order={"id": 7, "lines": [1, 2]}) as outer:
        trace_id = format(outer.get_span_context().trace_id, "032x")
        outer_id = format(outer.get_span_context().span_id, "016x")
        logfire.force_flush()
        running = spans_of(trace_id, lambda spans: any(s["running"] for s in spans))
        add(2, 3, extra=None)
        logfire.info("paid {amount}", amount=12.5, tags_seen=("a", "b"))
    logfire.force_flush()
    final = spans_of(trace_id, lambda spans: len(spans) >= 3 and not any(s["running"] for s in spans))
    logfire.shutdown()

print(json.dumps({
    "trace_id": trace_id, "outer_id": outer_id, "running": running, "final": final,
    "warnings": [str(w.message) for w in caught], "lines": lines,
}))
"""


def run_logfire(live_server: LiveServer) -> dict[str, Any]:
    writer, project = live_server.new_key("project:write_traces")
    reader, _ = live_server.new_key(READ, project=project)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, live_server.base_url, writer, reader],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def test_the_logfire_sdk_sends_spans_that_come_back_decoded(live_server: LiveServer) -> None:
    seen = run_logfire(live_server)
    complaints = [m for m in [*seen["warnings"], *seen["lines"]] if live_server.base_url in m or "Logfire" in m]
    assert complaints == [], complaints

    running = [s for s in seen["running"] if s["running"]]
    assert [s["span_id"] for s in running] == [seen["outer_id"]]  # shown as the real span, still running
    assert running[0]["end_time"] is None and running[0]["parent_span_id"] is None

    final = {s["name"]: s for s in seen["final"]}
    assert len(seen["final"]) == len(final) == 3, [s["name"] for s in seen["final"]]  # never twice
    outer = next(s for s in seen["final"] if s["span_id"] == seen["outer_id"])
    assert not outer["running"] and outer["end_time"] is not None
    assert outer["attributes"]["order"] == {"id": 7, "lines": [1, 2]}  # JSON text decoded
    assert outer["service_name"] == "shop"
    add = next(s for s in seen["final"] if s["attributes"].get("logfire.msg_template") == "add {a} and {b}")
    assert add["parent_span_id"] == seen["outer_id"]
    assert add["attributes"]["return"] == {"sum": 5, "parts": [2, 3]} and add["attributes"]["extra"] is None
    paid = next(s for s in seen["final"] if s["attributes"].get("logfire.span_type") == "log")
    assert paid["attributes"]["amount"] == 12.5 and paid["attributes"]["tags_seen"] == ["a", "b"]
