"""The evaluation scenario (`tests/evals_scenario.py`) run with the real `logfire` SDK, in a process of its own.

`logfire.configure` sets process-wide state that cannot be undone, so tests run this module in a
subprocess and read its one line of JSON output: `{"report": <EvaluationReportAdapter JSON>, "spans": [...]}`.

    python -m tests.telemetry_run capture [REPEAT]   # spans kept in memory (logfire's TestExporter) and printed
    python -m tests.telemetry_run send URL KEY [v2]  # spans sent to an evalset server by logfire's exporter
                                                     # (with $EVALSET_TEST_GATE, the last case waits for that file;
                                                     # with v2, the task is `calculate_v2`: other outcomes)
    python -m tests.telemetry_run client URL KEY     # the same, through `DatasetsClient.evaluate` (uploads too)

Spans are printed as plain JSON (ids in hex, times in nanoseconds, attributes as OTLP carries them:
JSON strings described by `logfire.json_schema`); `tests/otel_records.py` makes `SpanRecord`s of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import logfire
from logfire.testing import TestExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.evals_scenario import EVALUATORS, calculate, calculate_v2, hosted_dataset, report_json
from tests.sdk.models import CaseCount

REPEAT = 2
METADATA = {"model": "v1"}


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def span_json(span: ReadableSpan) -> dict[str, Any]:
    """A finished (or pending) span as the OTLP exporter would describe it."""
    context = span.get_span_context()
    assert context is not None
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name.lower(),
        "status_message": span.status.description,
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
        "attributes": {key: _value(value) for key, value in (span.attributes or {}).items()},
        "events": [
            {
                "name": e.name,
                "time_ns": e.timestamp,
                "attributes": {k: _value(v) for k, v in (e.attributes or {}).items()},
            }
            for e in span.events
        ],
    }


def _dataset() -> Any:
    dataset = hosted_dataset()
    for evaluator in EVALUATORS:
        dataset.add_evaluator(evaluator)
    return dataset


def capture(repeat: str = str(REPEAT)) -> dict[str, Any]:
    exporter = TestExporter()  # logfire sends pending spans to this exporter type too
    logfire.configure(send_to_logfire=False, console=False, additional_span_processors=[SimpleSpanProcessor(exporter)])
    options: dict[str, Any] = {"metadata": METADATA} if repeat != "1" else {}  # repeat=1: no metadata either
    report = asyncio.run(_dataset().evaluate(calculate, progress=False, repeat=int(repeat), **options))
    return {"report": report_json(report), "spans": [span_json(span) for span in exporter.exported_spans]}


def _configure(url: str, key: str) -> None:
    logfire.configure(
        token=key,
        send_to_logfire=True,
        console=False,
        service_name="telemetry-loop",
        advanced=logfire.AdvancedOptions(base_url=url),
        metrics=False,
    )


def gated(expression: str) -> int:
    """`calculate`, except that case `gone` (the last) waits until the file `$EVALSET_TEST_GATE` exists: the
    rest of the run has been sent by then, and a test can look at the experiment while it runs."""
    if expression == "7+0":
        gate = Path(os.environ["EVALSET_TEST_GATE"])
        deadline = time.monotonic() + 60
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return calculate(expression)


def send(url: str, key: str, version: str = "v1") -> dict[str, Any]:
    _configure(url, key)
    task = gated if os.environ.get("EVALSET_TEST_GATE") else {"v1": calculate, "v2": calculate_v2}[version]
    report = asyncio.run(_dataset().evaluate(task, progress=False, repeat=REPEAT, metadata=METADATA))
    logfire.force_flush()
    return {"report": report_json(report)}


def client(url: str, key: str) -> dict[str, Any]:
    from evalset import DatasetsClient

    _configure(url, key)
    with DatasetsClient(base_url=url, api_key=key) as evalset:
        run = evalset.evaluate(
            "arith",
            calculate,
            input_type=str,
            output_type=int,
            evaluators=EVALUATORS,
            custom_report_evaluator_types=[CaseCount],
            repeat=REPEAT,
            metadata=METADATA,
        )
    logfire.force_flush()
    return {"report": report_json(run.report), "experiment_id": str(run.id)}


def main(argv: list[str]) -> None:
    mode, *rest = argv
    result = {"capture": capture, "send": send, "client": client}[mode](*rest)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
