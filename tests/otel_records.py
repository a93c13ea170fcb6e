"""Spans printed by `tests/telemetry_run.py` as `SpanRecord`s, decoded as the OTLP receiver decodes them.

The `logfire` SDK sends a non-scalar attribute value as a JSON string and describes it in the span's
`logfire.json_schema` attribute (`{"type": "object", "properties": {key: schema}}`): a key whose schema is
not empty holds JSON; an empty schema (`{}`) marks a plain string, number or boolean sent as it is.
A span whose `logfire.span_type` is `pending_span` is the pending record of a span that has started.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from evalset.server.domain.spans import SpanEvent, SpanRecord, SpanStatus

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc(nanoseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=nanoseconds // 1000)


def decoded_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values with logfire's JSON strings decoded (per `logfire.json_schema`)."""
    try:
        properties = json.loads(attributes.get("logfire.json_schema") or "{}").get("properties") or {}
    except json.JSONDecodeError:
        properties = {}
    decoded = {}
    for key, value in attributes.items():
        if properties.get(key) and isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        decoded[key] = value
    return decoded


def span_record(raw: dict[str, Any]) -> SpanRecord:
    attributes = decoded_attributes(raw["attributes"])
    pending = attributes.get("logfire.span_type") == "pending_span"
    status: SpanStatus = raw["status"] if raw["status"] in ("ok", "error") else "unset"
    return SpanRecord(
        trace_id=raw["trace_id"],
        span_id=raw["span_id"],
        parent_span_id=raw["parent_span_id"],
        name=raw["name"],
        start_time=utc(raw["start_ns"]),
        end_time=None if pending or raw["end_ns"] is None else utc(raw["end_ns"]),
        status=status,
        status_message=raw["status_message"],
        scope=raw["scope"],
        attributes=attributes,
        events=[SpanEvent(name=e["name"], time=utc(e["time_ns"]), attributes=e["attributes"]) for e in raw["events"]],
        pending=pending,
    )


def start_scenario(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m tests.telemetry_run ARGV` (see that module)."""
    command = [sys.executable, "-m", "tests.telemetry_run", *argv]
    environment = {**os.environ, **(env or {})}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def scenario_result(process: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    """The JSON a started scenario printed (spans as `SpanRecord`s, if any), once it has finished."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    if "spans" in result:
        result["spans"] = [span_record(raw) for raw in result["spans"]]
    return result


def run_scenario(*argv: str, timeout: float = 120) -> dict[str, Any]:
    """Run `python -m tests.telemetry_run ARGV` and return its JSON (spans as `SpanRecord`s, if any)."""
    return scenario_result(start_scenario(*argv), timeout)
