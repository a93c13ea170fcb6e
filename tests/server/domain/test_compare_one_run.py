"""A case with one run (no repeats: most cases of a large comparison) is summarised by a shorter path;
it must give exactly what the general one gives, value for value and type for type."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evalset.server.domain.compare import _summarize_many, summarize_runs

NAMES = st.text(min_size=1, max_size=4)
NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # includes -0.0 and numbers near the largest double
    st.integers(min_value=-(2**53), max_value=2**53),
    st.booleans(),
)
RUNS = st.fixed_dictionaries(
    {
        "name": NAMES,
        "source_case_name": st.none(),
        "task_error": st.one_of(st.none(), st.just({"type": "ValueError"})),
        "assertions": st.dictionaries(NAMES, st.fixed_dictionaries({"value": st.one_of(st.booleans(), st.none())})),
        "scores": st.dictionaries(NAMES, st.fixed_dictionaries({"value": NUMBERS})),
        "metrics": st.dictionaries(NAMES, NUMBERS),
        "labels": st.dictionaries(NAMES, st.fixed_dictionaries({"value": st.sampled_from(["a", "b", ""])})),
        "evaluator_failures": st.lists(st.just({"name": "x"}), max_size=2),
        "task_duration": NUMBERS,
        "total_duration": NUMBERS,
    }
)


def _typed(value: Any) -> Any:
    """A value with every number's type and exact repr, so 0.0 and -0.0 (or 1 and 1.0) differ."""
    if isinstance(value, dict):
        return [(key, _typed(item)) for key, item in value.items()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (type(value).__name__, repr(value))
    return value


@settings(max_examples=300, deadline=None)
@given(RUNS)
def test_one_run_is_summarised_as_the_general_rule_does(run: dict[str, Any]) -> None:
    assert _typed(summarize_runs([run])) == _typed(_summarize_many([run]))


def test_negative_zero_and_integers_come_out_as_the_general_rule_gives_them() -> None:
    run = {
        "task_error": None,
        "assertions": {"a": {"value": True}, "b": {"value": "yes"}},
        "scores": {"s": {"value": -0.0}},
        "metrics": {"tokens": 10},
        "labels": {"l": {"value": "x"}},
        "evaluator_failures": [],
        "task_duration": -0.0,
        "total_duration": 3,
    }
    summary = summarize_runs([run])
    assert _typed(summary) == _typed(_summarize_many([run]))
    assert repr(summary["scores"]["s"]) == "0.0" and repr(summary["metrics"]["tokens"]) == "10.0"
    assert summary["assertion_pass_rate"] == 0.5 and summary["labels"] == {"l": {"x": 1.0}}
