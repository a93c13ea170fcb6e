"""The comparison rules: repeats, errors, the primary metric and its direction, labels, one-sided cases."""

from __future__ import annotations

from typing import Any

import pytest

from evalset.server.domain.compare import (
    available_primaries,
    case_outcome,
    compare_results,
    overview,
    parse_primary,
    summarize_runs,
)
from evalset.server.domain.experiments import averages, results_from_report, summary_counts
from tests.evals_scenario import calculate, calculate_v2, report_json, run_locally

DEFAULT = parse_primary(None, None)


def run(
    case: str,
    *,
    passed: bool | list[bool] | None = None,
    score: float | None = None,
    label: str | None = None,
    error: bool = False,
    evaluator_failed: bool = False,
    duration: float = 1.0,
    index: int | None = None,
) -> dict[str, Any]:
    """One run of `case` (with `index`: run `index` of a repeated case)."""
    checks = passed if isinstance(passed, list) else [] if passed is None else [passed]
    item = {
        "name": case if index is None else f"{case} [{index}/9]",
        "source_case_name": None if index is None else case,
    }
    if error:
        return {**item, "task_error": {"type": "E"}, "assertions": {}, "scores": {}, "labels": {}, "metrics": {},
                "evaluator_failures": [], "task_duration": None, "total_duration": None}  # fmt: skip
    return {
        **item,
        "task_error": None,
        "assertions": {f"a{i}": {"value": value} for i, value in enumerate(checks)},
        "scores": {} if score is None else {"s": {"value": score}},
        "labels": {} if label is None else {"l": {"value": label}},
        "metrics": {"tokens": 10},
        "evaluator_failures": [{"name": "x"}] if evaluator_failed else [],
        "task_duration": duration,
        "total_duration": duration + 1,
    }


def outcome(baseline: list[dict[str, Any]], candidate: list[dict[str, Any]], primary: str | None = None, **kw: Any):
    chosen = parse_primary(primary, kw.get("direction"))
    b = summarize_runs(baseline) if baseline else None
    c = summarize_runs(candidate) if candidate else None
    return case_outcome(b, c, chosen)


def test_assertions_decide_by_default() -> None:
    assert outcome([run("a", passed=False)], [run("a", passed=True)]) == "improved"
    assert outcome([run("a", passed=True)], [run("a", passed=False)]) == "regressed"
    assert outcome([run("a", passed=True)], [run("a", passed=True, score=0.1)]) == "unchanged"
    # the pass rate over all of the case's assertions: one flips up, one down -> unchanged (deltas show both)
    assert outcome([run("a", passed=[True, False])], [run("a", passed=[False, True])]) == "unchanged"
    assert outcome([run("a", passed=[True, False])], [run("a", passed=[True, True])]) == "improved"


def test_repeats_aggregate_as_pass_fractions_and_means() -> None:
    half = [run("a", passed=True, index=1, score=0.2), run("a", passed=False, index=2, score=0.4)]
    full = [run("a", passed=True, index=1, score=0.1), run("a", passed=True, index=2, score=0.1)]
    summary = summarize_runs(half)
    assert (summary["runs"], summary["assertion_pass_rate"], summary["scores"]["s"]) == (2, 0.5, pytest.approx(0.3))
    assert outcome(half, full) == "improved"
    assert outcome(full, half) == "regressed"
    assert outcome(half, full, "score:s") == "regressed"  # higher is better: the mean fell from 0.3 to 0.1
    assert outcome(half, full, "score:s", direction="lower") == "improved"


def test_task_errors_and_evaluator_failures_come_before_the_metric() -> None:
    assert outcome([run("a", passed=True)], [run("a", error=True)]) == "regressed"
    assert outcome([run("a", error=True)], [run("a", passed=False)]) == "improved"  # it runs now, even if failing
    both = [run("a", passed=True, index=1), run("a", error=True, index=2)]
    assert outcome(both, [run("a", passed=False, index=1), run("a", passed=False, index=2)]) == "improved"
    assert outcome([run("a", error=True)], [run("a", error=True)]) == "unchanged"
    assert outcome([run("a", passed=True)], [run("a", passed=True, evaluator_failed=True)]) == "regressed"
    assert outcome([run("a", passed=False, evaluator_failed=True)], [run("a", passed=False)]) == "improved"


def test_durations_are_better_lower_by_default_and_missing_values_are_not_compared() -> None:
    assert outcome([run("a", duration=2.0)], [run("a", duration=1.0)], "task_duration") == "improved"
    assert outcome([run("a", duration=1.0)], [run("a", duration=2.0)], "total_duration") == "regressed"
    assert outcome([run("a", duration=1.0)], [run("a", duration=2.0)], "task_duration", direction="higher") == (
        "improved"
    )
    assert outcome([run("a", score=0.5)], [run("a")], "score:s") == "unchanged"  # the evaluator was removed
    assert outcome([run("a")], [run("a", score=0.5)], "metric:tokens") == "unchanged"
    assert outcome([run("a", passed=True)], [run("a", passed=True)]) == "unchanged"
    assert outcome([run("a", score=0.1 + 0.2)], [run("a", score=0.3)], "score:s") == "unchanged"  # float noise


def test_labels_never_decide_but_are_reported_as_changed() -> None:
    (row,) = compare_results([run("a", passed=True, label="x")], [run("a", passed=True, label="y")], DEFAULT)
    assert row["outcome"] == "unchanged"
    assert row["labels"] == {"l": {"baseline": {"x": 1.0}, "candidate": {"y": 1.0}, "changed": True}}


def test_cases_on_one_side_only_and_the_order_regressions_first() -> None:
    baseline = [
        run("kept", passed=True),
        run("worse", passed=True),
        run("gone", passed=True),
        run("fixed", passed=False),
    ]
    candidate = [
        run("kept", passed=True),
        run("worse", passed=False),
        run("fixed", passed=True),
        run("new", passed=True),
    ]
    rows = compare_results(baseline, candidate, DEFAULT)
    assert [(row["case"], row["outcome"]) for row in rows] == [
        ("worse", "regressed"),
        ("fixed", "improved"),
        ("new", "added"),
        ("gone", "removed"),
        ("kept", "unchanged"),
    ]
    gone = rows[3]
    assert gone["candidate"] is None and gone["candidate_runs"] == [] and len(gone["baseline_runs"]) == 1
    assert rows[1]["assertions"]["a0"] == {"baseline": 0.0, "candidate": 1.0, "delta": 1.0}
    assert rows[1]["primary"] == {"baseline": 0.0, "candidate": 1.0, "delta": 1.0}


def test_primary_parsing() -> None:
    assert parse_primary(None, None).label == "assertions"
    assert parse_primary("score:Closeness", None).direction == "higher"
    assert parse_primary("task_duration", None).direction == "lower"
    assert parse_primary("metric:tokens", "lower").label == "metric:tokens"
    for bad in ("score", "score:", "tokens", "assertions:x", "task_duration:x"):
        with pytest.raises(ValueError, match="Unknown primary metric"):
            parse_primary(bad, None)
    with pytest.raises(ValueError, match="direction"):
        parse_primary(None, "up")
    assert available_primaries([run("a", passed=[True], score=1.0)]) == [
        "assertions",
        "task_duration",
        "total_duration",
        "assertion:a0",
        "score:s",
        "metric:tokens",
    ]


def test_two_real_runs() -> None:
    """calculate_v2 fixes 'wrong' and breaks 'add'; the rest behaves the same."""
    before = results_from_report(report_json(run_locally(calculate, repeat=2)))
    after = results_from_report(report_json(run_locally(calculate_v2, repeat=2)))
    rows = compare_results(before, after, DEFAULT)
    outcomes = {row["case"]: row["outcome"] for row in rows}
    assert outcomes == {
        "add": "regressed",
        "wrong": "improved",
        "crash": "unchanged",
        "judge-crash": "unchanged",
        "Case 5": "unchanged",
        "gone": "unchanged",
    }
    add = rows[0]
    assert add["assertions"]["EqualsExpected"] == {"baseline": 1.0, "candidate": 0.0, "delta": -1.0}
    assert add["scores"]["Closeness"]["delta"] == pytest.approx(0.5 - 1.0)
    assert add["labels"]["Parity"]["changed"] is True
    experiments = [{**summary_counts(side), "averages": averages(side)} for side in (before, after)]
    for experiment in experiments:
        experiment["assertion_pass_rate"] = experiment["averages"]["assertions"]
    summary = overview(*experiments, rows)
    assert summary["outcomes"] == {"regressed": 1, "improved": 1, "added": 0, "removed": 0, "unchanged": 4}
    assert summary["counts"]["error_count"] == {"baseline": 2, "candidate": 2, "delta": 0}
    assert summary["assertion_pass_rate"]["delta"] == pytest.approx(0.0)
    assert summary["scores"]["Closeness"]["delta"] == pytest.approx(0.0)  # 'add' lost what 'wrong' gained
