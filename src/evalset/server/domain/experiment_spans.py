"""pydantic-evals' spans as experiments: what each span says, in the shape an uploaded report takes.

`Dataset.evaluate` (scope `pydantic-evals`) emits, per run:

- `evaluate {name}` (`gen_ai.operation.name="experiment"`): the experiment. At its start `name`,
  `task_name`, `dataset_name`, `n_cases`, `metadata`, `logfire.experiment.repeat` (only when > 1); at
  its end `logfire.experiment.metadata` (`n_cases`, `repeat`, `metadata`, `averages`),
  `assertion_pass_rate`, `logfire.experiment.analyses` and `logfire.experiment.report_evaluator_failures`
  (each only when there are any).
- `case: {case_name}` (a child of the experiment span), one per case and repeat: `case_name`, `inputs`,
  `expected_output`, `metadata`, `logfire.experiment.source_case_name` (with repeats), and once the task
  ran `output`, `task_duration`, `metrics`, `attributes`, `assertions`, `scores`, `labels`. A task that
  raised leaves an ERROR span with an `exception` event instead.
- `evaluator: {evaluator_name}` (a child of a case span), one per evaluator; one that raised is an ERROR
  span with an `exception` event. Its failure is part of its case's result, not of the case span.

The `logfire` SDK also sends a *pending* span when a span starts (its start attributes, no end). The
functions here turn these `SpanRecord`s into `ExperimentFacts` and case results built by the same
functions as an upload's (`result_from_report_case`, `result_from_report_failure`), so an experiment
reads the same whichever way it arrived. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from evalset.server.domain.experiments import (
    ExperimentFacts,
    otel_id,
    result_from_report_case,
    result_from_report_failure,
)
from evalset.server.domain.spans import SpanRecord

__all__ = [
    "SCOPE",
    "EVALUATOR_SPAN",
    "ExperimentKey",
    "ExperimentBatch",
    "is_experiment_span",
    "is_case_span",
    "is_evaluator_span",
    "experiment_key",
    "experiment_facts",
    "facts_from_case",
    "evaluator_failure",
    "case_result",
    "group_batch",
]

SCOPE = "pydantic-evals"
_CASE_SPAN = "case: {case_name}"
EVALUATOR_SPAN = "evaluator: {evaluator_name}"
_EXPERIMENT_SPAN = "evaluate {name}"
# one frame of a formatted traceback: its `  File "...", line N, in function` line and the indented lines after it
_FRAME = re.compile(r'  File "[^\n]*\n(?:    [^\n]*\n)*')
_LAST_TRACEBACK = "Traceback (most recent call last):\n"
_STATUS = re.compile(r"^([A-Za-z_][\w.]*): (.*)$", re.DOTALL)

ExperimentKey = tuple[str, str]
"""An experiment's trace id and its `evaluate` span's id (lower-case hex)."""


def _scoped(span: SpanRecord) -> bool:
    return span.scope == SCOPE


def is_experiment_span(span: SpanRecord) -> bool:
    """pydantic-evals' `evaluate {name}` span (or its pending span): marked `gen_ai.operation.name="experiment"`,
    and by its span name too (for a pydantic-evals that does not set that attribute)."""
    marked = span.attributes.get("gen_ai.operation.name") == "experiment"
    return _scoped(span) and (marked or span.name == _EXPERIMENT_SPAN)


def is_case_span(span: SpanRecord) -> bool:
    """A `case: {case_name}` span (or its pending span)."""
    return _scoped(span) and span.name == _CASE_SPAN and isinstance(span.attributes.get("case_name"), str)


def is_evaluator_span(span: SpanRecord) -> bool:
    """An `evaluator: {evaluator_name}` span (or its pending span)."""
    return _scoped(span) and span.name == EVALUATOR_SPAN


def _real_id(span: SpanRecord) -> str | None:
    """The id of the span a record stands for: its own, or for a pending record the span it announces."""
    return otel_id(span.parent_span_id if span.pending else span.span_id)


def experiment_key(span: SpanRecord) -> ExperimentKey | None:
    """The experiment a span belongs to: an experiment span's own ids, a case span's parent."""
    trace_id = otel_id(span.trace_id)
    if trace_id is None:
        return None
    if is_experiment_span(span):
        span_id = _real_id(span)
    elif is_case_span(span):  # its parent; a pending record's parent is its own span: logfire names the real one
        parent = span.attributes.get("logfire.pending_parent_id") if span.pending else span.parent_span_id
        span_id = otel_id(parent if isinstance(parent, str) else None)
    else:
        return None
    return (trace_id, span_id) if span_id else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def experiment_facts(span: SpanRecord) -> ExperimentFacts:
    """What an experiment span says: at its start (a pending span says only that), and at its end.

    The run's start is the dataset moment it ran on (`as_of_source="run_start"`). At the end, analyses and
    report evaluator failures are said even when absent (pydantic-evals leaves them out when empty)."""
    attributes = span.attributes
    key = experiment_key(span)
    facts = ExperimentFacts(
        trace_id=key[0] if key else None,
        span_id=key[1] if key else None,
        name=attributes.get("name") if isinstance(attributes.get("name"), str) else None,
        task_name=attributes.get("task_name") if isinstance(attributes.get("task_name"), str) else None,
        dataset_name=attributes.get("dataset_name") if isinstance(attributes.get("dataset_name"), str) else None,
        metadata=attributes.get("metadata"),
        started_at=span.start_time,
        dataset_as_of=span.start_time,
        as_of_source="run_start",
        n_cases=_int(attributes.get("n_cases")),
        repeat=_int(attributes.get("logfire.experiment.repeat")) or 1,  # pydantic-evals sets it only when > 1
    )
    if span.pending or span.end_time is None:
        return facts
    return _ended(facts, span)


def _ended(facts: ExperimentFacts, span: SpanRecord) -> ExperimentFacts:
    attributes = span.attributes
    return replace(
        facts,
        ended_at=span.end_time,
        complete=True,
        analyses=_list(attributes.get("logfire.experiment.analyses")),
        report_evaluator_failures=_list(attributes.get("logfire.experiment.report_evaluator_failures")),
    )


def facts_from_case(span: SpanRecord) -> ExperimentFacts | None:
    """What a case span says about its experiment before the experiment span is known: that it exists and is
    running. (Its `task_name` is the task function's name, not necessarily the experiment's: not said.)"""
    key = experiment_key(span)
    return ExperimentFacts(trace_id=key[0], span_id=key[1]) if key else None


def _exception(span: SpanRecord) -> Mapping[str, Any] | None:
    """The last `exception` event's attributes (a retried task records one per attempt)."""
    found = [event.attributes for event in span.events if event.name == "exception"]
    return found[-1] if found else None


def _report_traceback(stacktrace: str) -> str:
    """The traceback as pydantic-evals' report has it. An evaluator's exception passes through
    pydantic-evals' `logfire_span` context manager, which records it on the span: the span's traceback has
    that one frame first, where the report's (`traceback.format_exc()` in the caller) starts at the caller."""
    head, found, tail = stacktrace.rpartition(_LAST_TRACEBACK)
    first = _FRAME.match(tail) if found else None
    if first is None or not first.group(0).splitlines()[0].endswith(", in logfire_span"):
        return stacktrace
    return head + found + tail[first.end() :]


def _error_text(span: SpanRecord) -> tuple[str, str, str]:
    """`(type, message, stacktrace)` of the exception an ERROR span recorded (without its `exception` event,
    from the status message, which `logfire` writes as `'{Type}: {message}'`)."""
    event = _exception(span)
    if event is not None:
        error_type = str(event.get("exception.type") or "Exception")
        return error_type, str(event.get("exception.message") or ""), str(event.get("exception.stacktrace") or "")
    status = span.status_message or ""
    found = _STATUS.match(status)
    return (found.group(1), found.group(2), "") if found else ("Exception", status, "")


def evaluator_failure(span: SpanRecord) -> dict[str, Any] | None:
    """An ERROR `evaluator:` span as pydantic-evals' `EvaluatorFailure` (JSON); None for one that worked.

    The span names the evaluator (`evaluator_name`: its default evaluation name) but not its arguments or
    version: `source` is `{name, arguments: null}`, `evaluator_version` null."""
    if span.pending or span.status != "error":
        return None
    name = str(span.attributes.get("evaluator_name") or "")
    error_type, message, stacktrace = _error_text(span)
    return {
        "name": name,
        "error_message": f"{error_type}: {message}",
        "error_stacktrace": _report_traceback(stacktrace),
        "source": {"name": name, "arguments": None},
        "evaluator_version": None,
        "error_type": error_type,
    }


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def case_result(case: SpanRecord, evaluators: Iterable[SpanRecord] = ()) -> dict[str, Any] | None:
    """A finished case span (and its evaluator spans: any order, any number) as a stored case result,
    exactly as the report's `ReportCase` or `ReportCaseFailure` would be stored; None for a pending span."""
    if case.pending or case.end_time is None:
        return None
    attributes = case.attributes
    common = {
        "name": attributes["case_name"],
        "source_case_name": attributes.get("logfire.experiment.source_case_name"),
        "inputs": attributes.get("inputs"),
        "expected_output": attributes.get("expected_output"),
        "metadata": attributes.get("metadata"),
        "trace_id": case.trace_id,
        "span_id": case.span_id,
    }
    if case.status == "error" and "task_duration" not in attributes:
        error_type, message, stacktrace = _error_text(case)
        return result_from_report_failure(
            {**common, "error_message": f"{error_type}: {message}", "error_stacktrace": stacktrace}
        )
    mine = [span for span in evaluators if span.parent_span_id == case.span_id and not span.pending]
    mine.sort(key=lambda span: (span.start_time, span.span_id))  # pydantic-evals starts them in order
    failures = [failure for failure in map(evaluator_failure, mine) if failure is not None]
    return result_from_report_case(
        {
            **common,
            "output": attributes.get("output"),
            "metrics": _mapping(attributes.get("metrics")),
            "attributes": _mapping(attributes.get("attributes")),
            "assertions": _mapping(attributes.get("assertions")),
            "scores": _mapping(attributes.get("scores")),
            "labels": _mapping(attributes.get("labels")),
            "task_duration": attributes.get("task_duration"),
            "total_duration": (case.end_time - case.start_time).total_seconds(),
            "evaluator_failures": failures,
        }
    )


@dataclass
class ExperimentBatch:
    """What one batch of spans says about one experiment: facts from its experiment spans (the ended
    span's win over the pending one's; a case span alone says the experiment exists), and its case spans
    that ended, by span id."""

    key: ExperimentKey
    facts: ExperimentFacts
    cases: dict[str, SpanRecord] = field(default_factory=dict[str, SpanRecord])


def _merge(old: ExperimentFacts, new: ExperimentFacts) -> ExperimentFacts:
    """`new`'s facts over `old`'s, field by field (None = not said)."""
    said = {item.name: getattr(new, item.name) for item in fields(new)}
    return replace(old, **{name: value for name, value in said.items() if value is not None})


def group_batch(spans: Sequence[SpanRecord]) -> tuple[dict[ExperimentKey, ExperimentBatch], list[SpanRecord]]:
    """A batch's pydantic-evals spans by experiment, plus its failed evaluator spans (their case spans, and
    so their experiment, may be in this batch or another). Other spans are left out."""
    batches: dict[ExperimentKey, ExperimentBatch] = {}
    failed_evaluators: list[SpanRecord] = []

    def batch_of(key: ExperimentKey) -> ExperimentBatch:
        if key not in batches:
            batches[key] = ExperimentBatch(key, ExperimentFacts(trace_id=key[0], span_id=key[1]))
        return batches[key]

    # ended experiment spans last, so their facts win over a pending span's
    for span in sorted(spans, key=lambda s: is_experiment_span(s) and not s.pending):
        if is_evaluator_span(span):
            if evaluator_failure(span) is not None:
                failed_evaluators.append(span)
            continue
        key = experiment_key(span)
        if key is None:
            continue
        batch = batch_of(key)
        if is_experiment_span(span):
            batch.facts = _merge(batch.facts, experiment_facts(span))
        elif not span.pending:
            batch.cases[otel_id(span.span_id) or span.span_id] = span
    return batches, failed_evaluators
