"""Comparing two experiments case by case: what improved, what regressed, and by how much. Pure functions.

The rules, in the order they decide a case's outcome:

1. **Cases** are dataset cases, not runs: with `repeat=n` a case's runs are aggregated first (assertions
   as the fraction of runs passing, scores and metrics as means, labels as a distribution of values).
   A case in the candidate only is `added`; in the baseline only, `removed`.
2. **Task errors** come first: a case whose task raised in a larger fraction of its runs than before has
   `regressed`, in a smaller fraction `improved`, whatever its scores (a run that raised has none).
3. **Evaluator failures** next, the same way (a crashed evaluator leaves the case unjudged).
4. **The primary metric** then decides: by default the assertion pass rate (passing assertions over all
   assertions of the case's runs); or one assertion's pass rate, a score, a metric, or a duration.
   It moves in the better direction (`higher` by default, `lower` for durations) → `improved`, the other
   way → `regressed`, by no more than 1e-9 → `unchanged`. A value present on one side only (an evaluator
   added or removed between the runs) is not compared: `unchanged`.
5. **Labels** have no order: they never make a case better or worse; a changed label distribution is
   reported as `changed` beside the outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalset.server.domain.experiments import group_key

__all__ = [
    "Outcome",
    "OUTCOMES",
    "Primary",
    "parse_primary",
    "available_primaries",
    "summarize_runs",
    "case_outcome",
    "compare_results",
    "overview",
]

Outcome = Literal["regressed", "improved", "added", "removed", "unchanged"]
OUTCOMES: tuple[Outcome, ...] = ("regressed", "improved", "added", "removed", "unchanged")
"""Also the order cases are listed in: regressions first."""
Direction = Literal["higher", "lower"]
PrimaryKind = Literal["assertions", "assertion", "score", "metric", "task_duration", "total_duration"]
EPSILON = 1e-9
_NAMED_KINDS = ("assertion", "score", "metric")
_DURATIONS = ("task_duration", "total_duration")


@dataclass(frozen=True, slots=True)
class Primary:
    """The value that decides whether a case got better: its kind, the evaluator or metric name, the direction."""

    kind: PrimaryKind
    name: str | None
    direction: Direction

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}" if self.name is not None else self.kind


def parse_primary(text: str | None, direction: str | None) -> Primary:
    """`assertions` (default), `assertion:NAME`, `score:NAME`, `metric:NAME`, `task_duration` or
    `total_duration`; the direction defaults to `lower` for durations and `higher` otherwise."""
    text = text or "assertions"
    kind, _, name = text.partition(":")
    if kind in _NAMED_KINDS and name:
        parsed: tuple[Any, str | None] = (kind, name)
    elif kind in ("assertions", *_DURATIONS) and not name:
        parsed = (kind, None)
    else:
        raise ValueError(
            f"Unknown primary metric {text!r}: use 'assertions', 'assertion:NAME', 'score:NAME', 'metric:NAME', "
            "'task_duration' or 'total_duration'."
        )
    if direction not in (None, "higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}.")
    chosen = direction or ("lower" if parsed[0] in _DURATIONS else "higher")
    return Primary(kind=parsed[0], name=parsed[1], direction=chosen)  # type: ignore[arg-type]


def available_primaries(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every primary metric these results can be compared by."""
    found: dict[str, None] = {"assertions": None, "task_duration": None, "total_duration": None}
    for result in results:
        for kind, field in (("assertion", "assertions"), ("score", "scores"), ("metric", "metrics")):
            for name in result[field]:
                found[f"{kind}:{name}"] = None
    return list(found)


def _mean(values: Sequence[float]) -> float | None:
    # dividing before adding: numbers near the largest double do not overflow to infinity (JSON's null)
    return sum(value / len(values) for value in values) if values else None


def _one(value: float) -> float:
    return 0 + value / 1  # exactly what _mean([value]) gives (sum() starts at the integer 0: -0.0 becomes 0.0)


def _summarize_one(run: Mapping[str, Any]) -> dict[str, Any]:
    """`summarize_runs([run])` without the per-name lists: the common case (no repeats) of a large comparison."""
    failed = 1 if run["evaluator_failures"] else 0
    if run["task_error"] is not None:
        return {
            "runs": 1,
            "task_errors": 1,
            "evaluator_failures": failed,
            "assertion_pass_rate": None,
            **{field: {} for field in ("assertions", "scores", "metrics", "labels")},
            "task_duration": None,
            "total_duration": None,
        }
    assertions = {name: 1.0 if item["value"] is True else 0.0 for name, item in run["assertions"].items()}
    return {
        "runs": 1,
        "task_errors": 0,
        "evaluator_failures": failed,
        "assertion_pass_rate": _mean(list(assertions.values())),
        "assertions": assertions,  # 0 + 1.0 / 1 is 1.0, and 0.0 stays 0.0
        "scores": {name: _one(item["value"]) for name, item in run["scores"].items()},
        "metrics": {name: _one(value) for name, value in run["metrics"].items()},
        "labels": {name: {item["value"]: 1 / 1} for name, item in run["labels"].items()},
        "task_duration": _one(run["task_duration"]),
        "total_duration": _one(run["total_duration"]),
    }


def summarize_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One case's runs as one record: counts, pass rates, means and label distributions (runs that raised
    count in `task_errors` only)."""
    return _summarize_one(runs[0]) if len(runs) == 1 else _summarize_many(runs)


def _summarize_many(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ok = [run for run in runs if run["task_error"] is None]
    assertion_runs: dict[str, list[float]] = defaultdict(list)
    scores: dict[str, list[float]] = defaultdict(list)
    metrics: dict[str, list[float]] = defaultdict(list)
    labels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run in ok:
        for name, item in run["assertions"].items():
            assertion_runs[name].append(1.0 if item["value"] is True else 0.0)
        for name, item in run["scores"].items():
            scores[name].append(item["value"])
        for name, value in run["metrics"].items():
            metrics[name].append(value)
        for name, item in run["labels"].items():
            labels[name][item["value"]] += 1
    all_assertions = [value for values in assertion_runs.values() for value in values]
    return {
        "runs": len(runs),
        "task_errors": len(runs) - len(ok),
        "evaluator_failures": sum(1 for run in runs if run["evaluator_failures"]),
        "assertion_pass_rate": _mean(all_assertions),
        "assertions": {name: _mean(values) for name, values in assertion_runs.items()},
        "scores": {name: _mean(values) for name, values in scores.items()},
        "metrics": {name: _mean(values) for name, values in metrics.items()},
        "labels": {name: {v: n / sum(counts.values()) for v, n in counts.items()} for name, counts in labels.items()},
        "task_duration": _mean([run["task_duration"] for run in ok]),
        "total_duration": _mean([run["total_duration"] for run in ok]),
    }


def _primary_value(summary: Mapping[str, Any], primary: Primary) -> float | None:
    if primary.kind == "assertions":
        return summary["assertion_pass_rate"]
    if primary.kind in _DURATIONS:
        return summary[primary.kind]
    return summary[primary.kind + "s"].get(primary.name)


def _value(summary: Mapping[str, Any] | None, primary: Primary) -> float | None:
    return None if summary is None else _primary_value(summary, primary)


_TASK_DURATION = Primary(kind="task_duration", name=None, direction="lower")


def _delta(baseline: float | None, candidate: float | None) -> dict[str, float | None]:
    change = None if baseline is None or candidate is None else candidate - baseline
    if change is not None and change - change != 0.0:  # beyond a double: say "unknown", not a JSON error
        change = None
    return {"baseline": baseline, "candidate": candidate, "delta": change}


def _versus(baseline: float | None, candidate: float | None, direction: Direction) -> Outcome:
    if baseline is None or candidate is None or abs(candidate - baseline) <= EPSILON:
        return "unchanged"
    return "improved" if (candidate > baseline) == (direction == "higher") else "regressed"


def case_outcome(baseline: Mapping[str, Any] | None, candidate: Mapping[str, Any] | None, primary: Primary) -> Outcome:
    """The outcome of one case from its two run summaries (see the module's rules)."""
    if baseline is None:
        return "added"
    if candidate is None:
        return "removed"
    for field in ("task_errors", "evaluator_failures"):
        rates = baseline[field] / baseline["runs"], candidate[field] / candidate["runs"]
        verdict = _versus(*rates, "lower")
        if verdict != "unchanged":
            return verdict
    return _versus(_primary_value(baseline, primary), _primary_value(candidate, primary), primary.direction)


def _pairs(baseline: Mapping[str, Any] | None, candidate: Mapping[str, Any] | None, field: str):
    b, c = (baseline or {}).get(field) or {}, (candidate or {}).get(field) or {}
    return {name: _delta(b.get(name), c.get(name)) for name in dict.fromkeys([*b, *c])}


def _label_changes(baseline: Mapping[str, Any] | None, candidate: Mapping[str, Any] | None) -> dict[str, Any]:
    b, c = (baseline or {}).get("labels") or {}, (candidate or {}).get("labels") or {}
    return {
        name: {"baseline": b.get(name), "candidate": c.get(name), "changed": b.get(name) != c.get(name)}
        for name in dict.fromkeys([*b, *c])
    }


def _grouped(results: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        groups.setdefault(group_key(result), []).append(result)
    return groups


def _dataset_case(runs: Sequence[Mapping[str, Any]]) -> str | None:
    return next((run.get("dataset_case_id") for run in runs if run.get("dataset_case_id")), None)


def compare_results(
    baseline: Sequence[Mapping[str, Any]], candidate: Sequence[Mapping[str, Any]], primary: Primary
) -> list[dict[str, Any]]:
    """Every case of either experiment with both sides' runs, their summaries, deltas and outcome;
    regressions first, then improvements, additions, removals and the unchanged, each in case order."""
    before, after = _grouped(baseline), _grouped(candidate)
    rows = []
    for key in dict.fromkeys([*before, *after]):
        b_runs, c_runs = before.get(key, []), after.get(key, [])
        b, c = (summarize_runs(b_runs) if b_runs else None), (summarize_runs(c_runs) if c_runs else None)
        rows.append(
            {
                "case": key,
                "outcome": case_outcome(b, c, primary),
                "dataset_case_id": _dataset_case(c_runs) or _dataset_case(b_runs),
                "primary": _delta(_value(b, primary), _value(c, primary)),
                "assertions": _pairs(b, c, "assertions"),
                "scores": _pairs(b, c, "scores"),
                "metrics": _pairs(b, c, "metrics"),
                "labels": _label_changes(b, c),
                "task_duration": _delta(_value(b, _TASK_DURATION), _value(c, _TASK_DURATION)),
                "baseline": b,
                "candidate": c,
                "baseline_runs": list(b_runs),
                "candidate_runs": list(c_runs),
            }
        )
    rows.sort(key=lambda row: OUTCOMES.index(row["outcome"]))  # stable: case order within each outcome
    return rows


def _side_mean(cases: Sequence[Mapping[str, Any]], side: str) -> float | None:
    return _mean([case["primary"][side] for case in cases if case["primary"][side] is not None])


_COUNTS = ("case_count", "passed_count", "failed_count", "error_count", "evaluator_failure_count")


def overview(
    baseline: Mapping[str, Any], candidate: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Baseline → candidate for the whole experiments: outcome counts, the primary metric (the mean of its
    per-case values on each side), and from pydantic-evals' averages the assertion pass rate, average
    scores, metrics and durations; then the result counts."""
    b_avg, c_avg = baseline.get("averages") or {}, candidate.get("averages") or {}
    return {
        "outcomes": {outcome: sum(1 for case in cases if case["outcome"] == outcome) for outcome in OUTCOMES},
        "primary": _delta(_side_mean(cases, "baseline"), _side_mean(cases, "candidate")),
        "assertion_pass_rate": _delta(baseline.get("assertion_pass_rate"), candidate.get("assertion_pass_rate")),
        "scores": _pairs(b_avg, c_avg, "scores"),
        "metrics": _pairs(b_avg, c_avg, "metrics"),
        "task_duration": _delta(b_avg.get("task_duration"), c_avg.get("task_duration")),
        "total_duration": _delta(b_avg.get("total_duration"), c_avg.get("total_duration")),
        "counts": {field: _delta(baseline[field], candidate[field]) for field in _COUNTS},
    }
