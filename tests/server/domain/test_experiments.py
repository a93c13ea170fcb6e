"""Experiment rules against pydantic-evals' own reports: results, status, averages, case matching."""

from __future__ import annotations

from typing import Any

import pytest

from evalset.server.domain.experiments import averages as experiment_averages
from evalset.server.domain.experiments import (
    case_matcher,
    case_status,
    facts_from_upload,
    otel_id,
    repeat_index,
    results_from_report,
    task_error_from_report,
)
from tests.evals_scenario import calculate, calculate_v2, close, expected_results, report_json, run_locally


@pytest.mark.parametrize("repeat", [1, 2, 3])
@pytest.mark.parametrize("task", [calculate, calculate_v2])
def test_averages_are_pydantic_evals_own(repeat: int, task: Any) -> None:
    report = run_locally(task, repeat=repeat)
    results = results_from_report(report_json(report))
    mine, theirs = experiment_averages(results), report.averages()
    assert theirs is not None
    assert close(mine, theirs.model_dump()), (mine, theirs.model_dump())


def test_averages_of_a_report_without_successful_runs() -> None:
    report = run_locally(lambda _: 1 / 0)
    results = results_from_report(report_json(report))
    assert report.averages() is None and experiment_averages(results) is None
    assert {result["status"] for result in results} == {"error"}


def test_results_keep_every_field() -> None:
    report = run_locally(repeat=2)
    data = report_json(report)
    results = results_from_report(data)
    wanted = expected_results(report)
    assert [r["name"] for r in results][:4] == ["add [1/2]", "add [2/2]", "wrong [1/2]", "wrong [2/2]"]
    assert [r["name"] for r in results][-2:] == ["crash [1/2]", "crash [2/2]"]  # failed tasks come last
    for result in results:
        item = wanted[result["name"]]
        assert result["source_case_name"] == item["source_case_name"]
        assert result["repeat_index"] == int(result["name"].split("[")[1].split("/")[0])
        assert result["trace_id"] is None and result["span_id"] is None  # no tracer: zeros mean none
    crash = next(r for r in results if r["name"] == "crash [1/2]")
    assert crash["task_error"]["type"] == "ValueError"
    assert crash["task_error"]["message"] == "cannot calculate 'boom'"
    assert crash["status"] == "error"
    statuses = {r["source_case_name"]: r["status"] for r in results}
    assert statuses == {
        "add": "passed",
        "wrong": "failed",  # EqualsExpected is false
        "crash": "error",
        "judge-crash": "failed",  # Picky raised
        "Case 5": "passed",
        "gone": "passed",
    }


def test_task_errors_repeat_indexes_and_ids() -> None:
    assert task_error_from_report("KeyError: 'x'", "Traceback...\nKeyError: 'x'\n") == {
        "type": "KeyError",
        "message": "'x'",
        "traceback": "Traceback...\nKeyError: 'x'\n",
    }
    assert (
        task_error_from_report("something odd", "Traceback...\nmy.mod.Oops: something odd\n")["type"] == "my.mod.Oops"
    )
    assert task_error_from_report("odd", "")["type"] == "Exception"
    assert repeat_index("a [2/3]", "a") == 2
    assert repeat_index("a [2/3]", None) is None
    assert repeat_index("b [2/3]", "a") is None
    assert repeat_index("x.y [10/12]", "x.y") == 10  # the source name is matched literally
    assert otel_id("0" * 32) is None and otel_id(None) is None and otel_id("AB" * 8) == "ab" * 8


def test_status_needs_every_assertion_true_and_no_evaluator_failure() -> None:
    ok = {"name": True, "value": True}
    assert case_status({"task_error": None, "assertions": {"a": ok}, "evaluator_failures": []}) == "passed"
    assert case_status({"task_error": None, "assertions": {}, "evaluator_failures": []}) == "passed"
    assert case_status({"task_error": None, "assertions": {"a": {"value": False}}, "evaluator_failures": []}) == (
        "failed"
    )
    assert case_status({"task_error": None, "assertions": {"a": ok}, "evaluator_failures": [{}]}) == "failed"
    assert case_status({"task_error": {"type": "E"}, "assertions": {}, "evaluator_failures": []}) == "error"


STATE = [
    {"id": "c1", "version": 3, "name": "add", "inputs": "2+2", "expected_output": 4, "metadata": None},
    {"id": "c2", "version": 1, "name": None, "inputs": "5-1", "expected_output": 4, "metadata": None},
    {"id": "c3", "version": 1, "name": "Case 4", "inputs": "x", "expected_output": None, "metadata": None},
    {"id": "c4", "version": 1, "name": None, "inputs": "y", "expected_output": None, "metadata": None},
]


def _result(name: str, inputs: Any, expected: Any = None, source: str | None = None) -> dict[str, Any]:
    return {"name": name, "source_case_name": source, "inputs": inputs, "expected_output": expected, "metadata": None}


def test_cases_match_by_name_or_position_never_by_guess() -> None:
    link = case_matcher(STATE)
    assert link(_result("add", "2+2", 4)) == link(_result("add [2/2]", "2+2", 4, source="add"))
    matched = link(_result("add", "2+2", 4))
    assert (matched.case_id, matched.case_version, matched.match, matched.position) == ("c1", 3, "matched", 0)
    assert link(_result("add", "2+3", 4)).match == "differs"  # same name, other data than the pinned state
    assert link(_result("Case 2", "5-1", 4)).case_id == "c2"  # pydantic-evals' name for the unnamed 2nd case
    assert link(_result("Case 4", "x")).case_id == "c3"  # a case really named 'Case 4' wins over position 4
    assert link(_result("Case 1", "2+2", 4)).match == "unmatched"  # position 1 is named 'add': no guess
    assert link(_result("Case 9", "z")).match == "unmatched"
    assert link(_result("nope", "2+2", 4)) == link(_result("Case 0", "?"))
    assert link(_result("nope", "2+2", 4)).case_id is None


def test_upload_facts_need_both_ids_to_identify_a_run() -> None:
    report = report_json(run_locally())
    facts, results = facts_from_upload({"report": {**report, "trace_id": "ab" * 16, "span_id": "0" * 16}})
    assert (facts.trace_id, facts.span_id, facts.complete) == (None, None, True)
    assert facts.name == report["name"] and facts.dataset_name == "arith"
    assert facts.metadata == {"model": "v1"} and facts.analyses == report["analyses"]
    assert len(results) == len(report["cases"]) + len(report["failures"])
    facts, _ = facts_from_upload({"report": {**report, "trace_id": "AB" * 16, "span_id": "cd" * 8}})
    assert (facts.trace_id, facts.span_id) == ("ab" * 16, "cd" * 8)
