"""Experiment rules: a pydantic-evals report as stored results, case status, averages, dataset case matching.

An *experiment* is one run of `Dataset.evaluate`; a *case result* is one run of one case (with
`repeat=n`, each dataset case has n results, named `'{case} [i/n]'`). Results arrive from an uploaded
`EvaluationReport` or, later, from the spans pydantic-evals emits; both become the same records here.
Pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "AsOfSource",
    "CaseStatus",
    "ExperimentFacts",
    "otel_id",
    "task_error_from_report",
    "repeat_index",
    "case_status",
    "result_from_report_case",
    "result_from_report_failure",
    "results_from_report",
    "facts_from_upload",
    "group_key",
    "averages",
    "summary_counts",
    "DatasetLink",
    "case_matcher",
]

CaseStatus = Literal["passed", "failed", "error"]
AsOfSource = Literal["given", "upload", "run_start"]
"""Where an experiment's `dataset_as_of` comes from: sent by the client (the SDK sends the moment its
export was pinned to), the upload's own moment (nothing was sent), or the experiment span's start."""

_ZERO = re.compile(r"^0*$")
_ERROR = re.compile(r"^([A-Za-z_][\w.]*): (.*)$", re.DOTALL)
_LAST_LINE_ERROR = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
_UNNAMED = re.compile(r"^Case (\d+)$")


@dataclass(frozen=True, kw_only=True)
class ExperimentFacts:
    """What one message (an upload, or a span) says about an experiment. `None` means "not said":
    the stored value stays, so the telemetry path can send what it learns as spans arrive."""

    trace_id: str | None = None
    span_id: str | None = None
    name: str | None = None
    task_name: str | None = None
    dataset: str | None = None
    """A hosted dataset's id or name that must exist (404 otherwise): the upload's explicit `dataset`."""
    dataset_name: str | None = None
    """The dataset name pydantic-evals reported; linked to the hosted dataset of that name if there is one."""
    dataset_as_of: datetime | None = None
    as_of_source: AsOfSource | None = None
    metadata: Any = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    complete: bool | None = None
    """True once the run is over (upload; the experiment span ended). An experiment is `running` until then."""
    repeat: int | None = None
    n_cases: int | None = None
    analyses: list[Any] | None = None
    report_evaluator_failures: list[Any] | None = None


def otel_id(value: str | None) -> str | None:
    """A trace or span id in lower-case hex, or None for a missing or all-zero (invalid) id.

    pydantic-evals records zeros when no tracer is configured."""
    if not value or _ZERO.match(value):
        return None
    return value.lower()


def task_error_from_report(message: str, traceback: str) -> dict[str, str]:
    """`{type, message, traceback}` of a failed task: pydantic-evals writes `'{Type}: {message}'`."""
    found = _ERROR.match(message)
    if found:
        return {"type": found.group(1), "message": found.group(2), "traceback": traceback}
    lines = traceback.strip().splitlines()
    last = _LAST_LINE_ERROR.match(lines[-1]) if lines else None
    return {"type": last.group(1) if last else "Exception", "message": message, "traceback": traceback}


def repeat_index(name: str, source_case_name: str | None) -> int | None:
    """Which run of its case a result is (1-based), from pydantic-evals' `'{case} [i/n]'` names."""
    prefix = f"{source_case_name} ["
    if source_case_name is None or not name.startswith(prefix) or not name.endswith("]"):
        return None
    index, slash, total = name[len(prefix) : -1].partition("/")
    return int(index) if slash and index.isdigit() and total.isdigit() else None


def case_status(result: Mapping[str, Any]) -> CaseStatus:
    """`error`: the task raised; `failed`: an assertion is false or an evaluator raised; else `passed`."""
    if result.get("task_error") is not None:
        return "error"
    assertions: Mapping[str, Any] = result.get("assertions") or {}
    if result.get("evaluator_failures") or any(item.get("value") is not True for item in assertions.values()):
        return "failed"
    return "passed"


def _common(item: Mapping[str, Any]) -> dict[str, Any]:
    source = item.get("source_case_name")
    return {
        "name": item["name"],
        "source_case_name": source,
        "repeat_index": repeat_index(item["name"], source),
        "inputs": item.get("inputs"),
        "expected_output": item.get("expected_output"),
        "metadata": item.get("metadata"),
        "trace_id": otel_id(item.get("trace_id")),
        "span_id": otel_id(item.get("span_id")),
    }


def result_from_report_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """A `ReportCase` (its JSON) as a stored case result."""
    result = {
        **_common(case),
        "output": case.get("output"),
        "metrics": dict(case.get("metrics") or {}),
        "attributes": dict(case.get("attributes") or {}),
        "assertions": dict(case.get("assertions") or {}),
        "scores": dict(case.get("scores") or {}),
        "labels": dict(case.get("labels") or {}),
        "task_duration": case.get("task_duration"),
        "total_duration": case.get("total_duration"),
        "task_error": None,
        "evaluator_failures": list(case.get("evaluator_failures") or []),
    }
    result["status"] = case_status(result)
    return result


def result_from_report_failure(failure: Mapping[str, Any]) -> dict[str, Any]:
    """A `ReportCaseFailure` (a task that raised) as a stored case result."""
    return {
        **_common(failure),
        "output": None,
        "metrics": {},
        "attributes": {},
        "assertions": {},
        "scores": {},
        "labels": {},
        "task_duration": None,
        "total_duration": None,
        "task_error": task_error_from_report(failure["error_message"], failure["error_stacktrace"]),
        "evaluator_failures": [],
        "status": "error",
    }


def results_from_report(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every case result of a report: its successful runs, then its failed tasks (the report keeps them
    apart; the store puts results back in their dataset's case order when it knows the dataset)."""
    results = [result_from_report_case(case) for case in report.get("cases") or []]
    return results + [result_from_report_failure(failure) for failure in report.get("failures") or []]


def facts_from_upload(upload: Mapping[str, Any]) -> tuple[ExperimentFacts, list[dict[str, Any]]]:
    """An upload (`{report, dataset?, dataset_as_of?, task_name?, started_at?, ended_at?}`) as the facts of a
    complete experiment and its case results. The report's trace and span ids identify it (both, or none)."""
    report = upload["report"]
    trace_id, span_id = otel_id(report.get("trace_id")), otel_id(report.get("span_id"))
    if trace_id is None or span_id is None:
        trace_id = span_id = None
    facts = ExperimentFacts(
        trace_id=trace_id,
        span_id=span_id,
        name=report["name"],
        task_name=upload.get("task_name"),
        dataset=upload.get("dataset"),
        dataset_name=report.get("dataset_name"),
        dataset_as_of=upload.get("dataset_as_of"),
        metadata=report.get("experiment_metadata"),
        started_at=upload.get("started_at"),
        ended_at=upload.get("ended_at"),
        complete=True,
        analyses=list(report.get("analyses") or []),
        report_evaluator_failures=list(report.get("report_evaluator_failures") or []),
    )
    return facts, results_from_report(report)


def group_key(result: Mapping[str, Any]) -> str:
    """The dataset case a result is a run of: its source case name with repeats, else its own name."""
    return result.get("source_case_name") or result["name"]


# --- averages, exactly as pydantic-evals' EvaluationReport.averages() computes them ---------------


def _mean(values: Sequence[float]) -> float:
    """The mean, dividing before adding: numbers near the largest double do not overflow to infinity
    (which JSON cannot carry)."""
    count = len(values)
    return sum(value / count for value in values)


def _mean_by_name(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    found: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for name, value in row.items():
            found[name].append(value)
    return {name: _mean(values) for name, values in found.items()}


def _aggregate(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`ReportCaseAggregate.average`: means over successful runs; assertions as the passing fraction."""
    label_counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    label_totals: dict[str, int] = defaultdict(int)
    for run in runs:
        for name, item in run["labels"].items():
            label_counts[name][item["value"]] += 1
            label_totals[name] += 1
    n_assertions = sum(len(run["assertions"]) for run in runs)
    passing = sum(1 for run in runs for item in run["assertions"].values() if item["value"])
    return {
        "name": "Averages",
        "scores": _mean_by_name({k: v["value"] for k, v in run["scores"].items()} for run in runs),
        "labels": {
            name: {value: count / label_totals[name] for value, count in values.items()}
            for name, values in label_counts.items()
        },
        "metrics": _mean_by_name(run["metrics"] for run in runs),
        "assertions": passing / n_assertions if n_assertions else None,
        "task_duration": _mean([run["task_duration"] for run in runs]),
        "total_duration": _mean([run["total_duration"] for run in runs]),
    }


def _combine(aggregates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`ReportCaseAggregate.average_from_aggregates`: each case counts once, however often it ran."""
    labels: dict[str, dict[str, float]] = {}
    for name in {name for aggregate in aggregates for name in aggregate["labels"]}:
        present = [aggregate["labels"][name] for aggregate in aggregates if name in aggregate["labels"]]
        combined: dict[str, float] = defaultdict(float)
        for distribution in present:
            for value, fraction in distribution.items():
                combined[value] += fraction
        labels[name] = {value: total / len(present) for value, total in combined.items()}
    assertion_rates = [a["assertions"] for a in aggregates if a["assertions"] is not None]
    return {
        "name": "Averages",
        "scores": _mean_by_name(a["scores"] for a in aggregates),
        "labels": labels,
        "metrics": _mean_by_name(a["metrics"] for a in aggregates),
        "assertions": sum(assertion_rates) / len(assertion_rates) if assertion_rates else None,
        "task_duration": _mean([a["task_duration"] for a in aggregates]),
        "total_duration": _mean([a["total_duration"] for a in aggregates]),
    }


def averages(results: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The experiment's averages as pydantic-evals reports them (`EvaluationReport.averages()`): over the
    successful runs; with repeats, per dataset case first, then across cases. None when nothing ran."""
    runs = [result for result in results if result["task_error"] is None]
    if not any(result.get("source_case_name") for result in results):
        return _aggregate(runs) if runs else None
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        groups.setdefault(group_key(result), [])
        if result["task_error"] is None:
            groups[group_key(result)].append(result)
    summaries = [_aggregate(group) for group in groups.values() if group]
    return _combine(summaries) if summaries else None


def summary_counts(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many results there are, by status, and how many evaluator runs raised."""
    statuses = [result["status"] for result in results]
    return {
        "case_count": len(results),
        "passed_count": statuses.count("passed"),
        "failed_count": statuses.count("failed"),
        "error_count": statuses.count("error"),
        "evaluator_failure_count": sum(len(result["evaluator_failures"]) for result in results),
    }


# --- matching results to the dataset's cases -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatasetLink:
    """Which case of the pinned dataset state a result ran on (and its place in the dataset), and whether
    that case reads the same as what was evaluated."""

    case_id: str | None
    case_version: int | None
    match: Literal["matched", "differs", "unmatched"]
    position: int | None = None


_SAME_FIELDS = ("inputs", "expected_output", "metadata")


def case_matcher(cases: Sequence[Mapping[str, Any]]) -> Callable[[Mapping[str, Any]], DatasetLink]:
    """Match results to the dataset cases (the state the experiment is pinned to, in dataset order) they ran on.

    By name, never by guess: a result belongs to the case named as its source case. pydantic-evals names
    an unnamed case `'Case {i}'` after its 1-based position, so `'Case 3'` is the third case of that state
    if (and only if) no case is called `'Case 3'` and the third one has no name. A match whose inputs,
    expected output or metadata differ from the stored case is `differs`: the report ran on other data.
    """
    by_name = {case["name"]: index for index, case in enumerate(cases) if case.get("name") is not None}

    def link(result: Mapping[str, Any]) -> DatasetLink:
        key = group_key(result)
        index = by_name.get(key)
        unnamed = _UNNAMED.match(key)
        if index is None and unnamed:
            position = int(unnamed.group(1)) - 1
            if 0 <= position < len(cases) and cases[position].get("name") is None:
                index = position
        if index is None:
            return DatasetLink(None, None, "unmatched")
        found = cases[index]
        same = all(found.get(field) == result.get(field) for field in _SAME_FIELDS)
        return DatasetLink(found["id"], found.get("version"), "matched" if same else "differs", index)

    return link
