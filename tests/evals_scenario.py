"""A small, deterministic evaluation to store and compare: an arithmetic 'model', its dataset and evaluators.

Chosen so one run shows every kind of result pydantic-evals produces: a passing and a failing assertion
(`EqualsExpected`), a score (`Closeness`), a label (`Parity`), a task that raises (case `crash`), an
evaluator that raises (`Picky` on case `judge-crash`), an unnamed case (pydantic-evals calls it `Case 5`)
and a report evaluator's analysis (`CaseCount`).
"""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass
from typing import Any

from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import EqualsExpected, EvaluationReason, Evaluator, EvaluatorContext
from pydantic_evals.reporting import EvaluationReport, EvaluationReportAdapter

from tests.sdk.models import CaseCount

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def calculate(expression: str) -> int:
    """The system under test: `'2+2'` -> 4; anything else raises."""
    for symbol, op in OPS.items():
        left, found, right = expression.partition(symbol)
        if found:
            return op(int(left), int(right))
    raise ValueError(f"cannot calculate {expression!r}")


def calculate_v2(expression: str) -> int:
    """A 'new version': fixes 3*3 (to what the dataset expects), breaks 2+2."""
    if expression == "3*3":
        return 10
    if expression == "2+2":
        return 5
    return calculate(expression)


@dataclass
class Closeness(Evaluator[str, int, Any]):
    """A score: 1 for the expected answer, less the further off."""

    def evaluate(self, ctx: EvaluatorContext[str, int, Any]) -> float | dict[str, Any]:
        if ctx.expected_output is None:
            return {}
        return 1 / (1 + abs(ctx.output - ctx.expected_output))


@dataclass
class Parity(Evaluator[str, int, Any]):
    """A label, with a reason."""

    def evaluate(self, ctx: EvaluatorContext[str, int, Any]) -> EvaluationReason:
        return EvaluationReason(value="even" if ctx.output % 2 == 0 else "odd", reason=f"{ctx.output} % 2")


@dataclass
class Picky(Evaluator[str, int, Any]):
    """An assertion whose evaluator raises on one case."""

    def evaluate(self, ctx: EvaluatorContext[str, int, Any]) -> bool:
        if ctx.inputs == "1+1":
            raise RuntimeError("the judge is unavailable")
        return True


EVALUATORS = [Closeness(), Parity(), Picky()]
CASES = [
    Case(name="add", inputs="2+2", expected_output=4),
    Case(name="wrong", inputs="3*3", expected_output=10),
    Case(name="crash", inputs="boom"),
    Case(name="judge-crash", inputs="1+1", expected_output=2),
    Case(inputs="5-1", expected_output=4, metadata={"note": "unnamed"}),
    Case(name="gone", inputs="7+0", expected_output=7),
]


def hosted_dataset(name: str = "arith") -> Dataset[str, int, Any]:
    """The dataset to push: cases, `EqualsExpected` for all, and a report evaluator."""
    return Dataset[str, int, Any](
        name=name, cases=list(CASES), evaluators=[EqualsExpected()], report_evaluators=[CaseCount("cases")]
    )


def run_locally(
    task: Any = calculate, *, repeat: int = 1, name: str | None = None, dataset: Dataset[str, int, Any] | None = None
) -> EvaluationReport[str, int, Any]:
    """A report run without any server (as 'elsewhere'), with the scenario's evaluators."""
    local = dataset or hosted_dataset()
    for evaluator in EVALUATORS:
        local.add_evaluator(evaluator)
    return asyncio.run(local.evaluate(task, progress=False, repeat=repeat, name=name, metadata={"model": "v1"}))


def close(left: Any, right: Any, tolerance: float = 1e-9) -> bool:
    """Equal, floats within `tolerance` (a sum in another order can differ in the last bit), nested in dicts
    and lists."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(close(left[k], right[k], tolerance) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(close(a, b, tolerance) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) or isinstance(right, float):
        return isinstance(left, (int, float)) and isinstance(right, (int, float)) and abs(left - right) <= tolerance
    return left == right


def report_json(report: EvaluationReport[Any, Any, Any]) -> dict[str, Any]:
    """The report as the upload sends it: exactly `EvaluationReportAdapter.dump_json`."""
    import json

    return json.loads(EvaluationReportAdapter.dump_json(report))


def expected_results(report: EvaluationReport[Any, Any, Any]) -> dict[str, dict[str, Any]]:
    """Every run of the report as JSON, by name: the successful ones and the failed tasks."""
    data = report_json(report)
    return {item["name"]: item for item in [*data["cases"], *data["failures"]]}


def _otel_id(value: str | None) -> str | None:
    """As stored: pydantic-evals writes zeros when no tracer is configured."""
    return None if not value or set(value) == {"0"} else value


def assert_stored_matches_report(
    experiment: dict[str, Any],
    cases: list[dict[str, Any]],
    report: EvaluationReport[Any, Any, Any],
    *,
    duration_tolerance: float = 0.0,
) -> None:
    """The stored experiment and its case results, value by value against pydantic-evals' own report.

    `duration_tolerance`: how far a total duration may be off (from spans, it is known to the microsecond)."""
    import pytest

    data = report_json(report)
    assert experiment["name"] == report.name
    assert (experiment["trace_id"], experiment["span_id"]) == (_otel_id(report.trace_id), _otel_id(report.span_id))
    assert experiment["metadata"] == report.experiment_metadata
    assert experiment["analyses"] == data["analyses"]
    assert experiment["report_evaluator_failures"] == data["report_evaluator_failures"]
    averages = report.averages()
    assert averages is not None
    assert close(experiment["averages"], averages.model_dump(), max(duration_tolerance, 1e-9))
    assert experiment["assertion_pass_rate"] == pytest.approx(averages.assertions)
    assert experiment["case_count"] == len(report.cases) + len(report.failures)
    assert experiment["error_count"] == len(report.failures)
    assert experiment["evaluator_failure_count"] == sum(len(case.evaluator_failures) for case in report.cases)
    wanted = expected_results(report)
    assert sorted(case["name"] for case in cases) == sorted(wanted)
    for case in cases:
        item = wanted[case["name"]]
        for field in ("inputs", "expected_output", "metadata", "source_case_name"):
            assert case[field] == item[field], (case["name"], field)
        assert (case["trace_id"], case["span_id"]) == (_otel_id(item["trace_id"]), _otel_id(item["span_id"]))
        if "error_message" in item:
            error = case["task_error"]
            assert case["status"] == "error" and case["output"] is None
            assert f"{error['type']}: {error['message']}" == item["error_message"]
            assert error["traceback"] == item["error_stacktrace"]
            continue
        for field in ("output", "metrics", "attributes", "assertions", "scores", "labels", "evaluator_failures"):
            assert case[field] == item[field], (case["name"], field)
        assert case["task_duration"] == item["task_duration"]
        assert abs(case["total_duration"] - item["total_duration"]) <= duration_tolerance, case["name"]
        assert case["task_error"] is None
