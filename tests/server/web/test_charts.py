"""The evaluator charts' geometry and the number formats of the Evals pages (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from evalset.server.web.charts import (
    BINS,
    LABEL_ROWS,
    WIDTH,
    evaluator_charts,
    failures_without_chart,
    number,
    percent,
    seconds,
)


def result(
    assertions: dict[str, bool] | None = None,
    scores: dict[str, float] | None = None,
    labels: dict[str, str] | None = None,
    failures: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "assertions": {k: {"name": k, "value": v} for k, v in (assertions or {}).items()},
        "scores": {k: {"name": k, "value": v} for k, v in (scores or {}).items()},
        "labels": {k: {"name": k, "value": v} for k, v in (labels or {}).items()},
        "evaluator_failures": [{"name": name, "error_message": "boom"} for name in failures],
    }


def test_one_chart_per_evaluator_assertions_then_scores_then_labels() -> None:
    results = [
        result({"exact": True, "nice": False}, {"close": 0.5}, {"tone": "calm"}),
        result({"exact": False}, {"close": 1.0}, {"tone": "calm"}, failures=("nice", "judge")),
        result({"exact": True}),
    ]
    charts = evaluator_charts(results)
    assert [(c.kind, c.name) for c in charts] == [
        ("assertion", "exact"),
        ("assertion", "nice"),
        ("score", "close"),
        ("label", "tone"),
    ]
    exact, nice = charts[0], charts[1]
    assert exact.summary == "Assertion exact: 2 of 3 passed, 1 failed"
    passed, failed = exact.bars
    assert passed.width == pytest.approx(2 * failed.width) and passed.width + failed.width == pytest.approx(WIDTH - 2)
    assert (nice.summary, nice.failures) == ("Assertion nice: 0 of 1 passed, 1 failed", 1)
    assert failures_without_chart(results, charts) == {"judge": 1}


def test_histogram_bins_cover_every_value_once() -> None:
    values = [0.0, 0.05, 0.1, 0.55, 1.0, 1.0]
    (chart,) = evaluator_charts([result(scores={"s": v}) for v in values])
    assert len(chart.bars) == BINS
    heights = [bar.height for bar in chart.bars]
    tallest = max(heights)
    counts = [round(h / tallest * 2) for h in heights]  # the tallest bin holds 2 values
    assert sum(counts) == len(values)
    assert counts[0] == 2 and counts[5] == 1 and counts[-1] == 2  # 1.0 falls in the last bin, not past it
    assert chart.summary == "Score s: histogram of 6 values from 0 to 1, mean 0.45"
    assert chart.bars[0].title == "0 to 0.1: 2 values"


@pytest.mark.parametrize(("values", "bounds"), [([3.0, 3.0], ("2.5", "3.5")), ([-2.0, 8.0], ("-2", "8"))])
def test_histogram_range_outside_zero_to_one(values: list[float], bounds: tuple[str, str]) -> None:
    (chart,) = evaluator_charts([result(scores={"s": v}) for v in values])
    axis = [text.text for text in chart.texts]
    assert axis[0] == bounds[0] and axis[2] == bounds[1]


def test_labels_most_frequent_first_and_the_rest_grouped() -> None:
    values = [f"v{i}" for i in range(LABEL_ROWS + 3)] + ["v0"] * 4
    (chart,) = evaluator_charts([result(labels={"l": v}) for v in values])
    names = [text.text for text in chart.texts[::2]]
    assert names[0] == "v0" and names[-1] == "other values" and len(names) == LABEL_ROWS
    assert chart.texts[1].text == "5" and chart.texts[-1].text == "4"  # v0 5 times; 4 values grouped
    long = "a label far longer than the room beside its bar"
    (chart,) = evaluator_charts([result(labels={"l": long})])
    assert chart.texts[0].text.endswith("…") and long in chart.summary and long in chart.bars[0].title


def test_number_formats() -> None:
    assert [number(v) for v in (None, 3.0, 0.5, 1 / 3, 12345.678, 0.0001234)] == [
        "—",
        "3",
        "0.5",
        "0.333",
        "12,345.7",
        "1.23e-04",
    ]
    assert [percent(v) for v in (None, 1.0, 0.8888, 0.5)] == ["—", "100%", "88.9%", "50%"]
    assert [seconds(v) for v in (None, 0.0005, 0.0123, 0.01, 1.5, 125)] == [
        "—",
        "500 µs",
        "12.3 ms",
        "10 ms",
        "1.50 s",
        "2 min 05 s",
    ]
