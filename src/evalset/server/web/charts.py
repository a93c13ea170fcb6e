"""Charts of an experiment's evaluator results, laid out on the server: one chart per evaluator.

Assertions get pass/fail bars, scores a histogram, labels a bar per value. This module computes the
geometry (pure functions over the stored results); `templates/_charts.html` draws it as SVG, with an
accessible name that says what the chart shows in words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Bar", "Chart", "evaluator_charts", "number", "percent", "seconds"]

WIDTH = 320
BINS = 10
LABEL_ROWS = 8


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    tone: str
    """CSS class: pass, fail, score, label, error."""
    title: str


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    tone: str = ""


@dataclass
class Chart:
    kind: Literal["assertion", "score", "label"]
    name: str
    summary: str
    """The chart in words: its accessible name."""
    height: float
    bars: list[Bar] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[tuple[float, float, float, float, str]] = field(default_factory=list)
    failures: int = 0
    width: float = WIDTH


def number(value: float | None) -> str:
    """A score or metric for people: integers as they are, else up to 3 decimals."""
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) >= 0.001 else f"{value:.2e}"


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:.1f}".removesuffix(".0")
    return f"{text}%"


def seconds(value: float | None) -> str:
    """A duration: '850 µs', '12.3 ms', '1.25 s', '2 min 05 s'."""
    if value is None:
        return "—"
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms".replace(".0 ms", " ms")
    if value < 60:
        return f"{value:.2f} s"
    minutes, rest = divmod(int(round(value)), 60)
    return f"{minutes} min {rest:02d} s"


def _short(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _assertion(name: str, passed: int, failed: int, failures: int) -> Chart:
    total = passed + failed
    summary = f"Assertion {name}: {passed} of {total} passed, {failed} failed"
    chart = Chart("assertion", name, summary, height=58, failures=failures)
    span = WIDTH - 2
    x = 1.0
    for count, tone, word in ((passed, "pass", "passed"), (failed, "fail", "failed")):
        width = span * count / total if total else 0
        if width:
            chart.bars.append(Bar(x, 6, width, 26, tone, f"{count} {word}"))
        x += width
    chart.texts.append(Text(1, 50, f"✓ {passed} passed", tone="pass"))
    chart.texts.append(Text(WIDTH - 1, 50, f"✗ {failed} failed", anchor="end", tone="fail"))
    return chart


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    if low == high:
        return low - 0.5, high + 0.5
    return low, high


def _histogram(name: str, values: Sequence[float], failures: int) -> Chart:
    low, high = _bounds(values)
    step = (high - low) / BINS
    counts = [0] * BINS
    for value in values:
        counts[min(BINS - 1, int((value - low) / step))] += 1
    mean = sum(values) / len(values)
    summary = (
        f"Score {name}: histogram of {len(values)} values from {number(min(values))} to {number(max(values))}, "
        f"mean {number(mean)}"
    )
    chart = Chart("score", name, summary, height=150, failures=failures)
    left, right, top, bottom = 28.0, WIDTH - 6.0, 8.0, 118.0
    width = (right - left) / BINS
    tallest = max(counts)
    for index, count in enumerate(counts):
        height = (bottom - top) * count / tallest if tallest else 0
        start = low + index * step
        title = f"{number(start)} to {number(start + step)}: {_plural(count, 'value')}"
        chart.bars.append(Bar(left + index * width + 1, bottom - height, width - 2, height, "score", title))
    chart.lines.append((left, bottom, right, bottom, "axis"))
    x_mean = left + (right - left) * (mean - low) / (high - low)
    chart.lines.append((x_mean, top - 4, x_mean, bottom, "mean"))
    chart.texts += [
        Text(left, bottom + 16, number(low)),
        Text((left + right) / 2, bottom + 16, number((low + high) / 2), anchor="middle"),
        Text(right, bottom + 16, number(high), anchor="end"),
        Text(left - 4, top + 8, str(tallest), anchor="end", tone="muted"),
        Text(left - 4, bottom, "0", anchor="end", tone="muted"),
        Text(right, bottom + 30, f"mean {number(mean)} (dashed)", anchor="end", tone="muted"),
    ]
    return chart


def _labels(name: str, counts: Counter[str], failures: int) -> Chart:
    common = counts.most_common(LABEL_ROWS)
    rest = sum(counts.values()) - sum(count for _, count in common)
    if rest:
        common = [*common[: LABEL_ROWS - 1], ("other values", rest + common[-1][1])]
    words = ", ".join(f"{value} {count}" for value, count in common)
    chart = Chart("label", name, f"Label {name}: {words}", height=24 * len(common) + 6, failures=failures)
    left, right = 118.0, WIDTH - 40.0
    tallest = max(count for _, count in common)
    for row, (value, count) in enumerate(common):
        y = 4 + row * 24
        width = max(2.0, (right - left) * count / tallest)
        chart.bars.append(Bar(left, y, width, 18, "label", f"{value}: {count}"))
        chart.texts.append(Text(left - 6, y + 13, _short(value, 16), anchor="end"))
        chart.texts.append(Text(left + width + 5, y + 13, str(count)))
    return chart


def evaluator_charts(results: Sequence[Mapping[str, Any]]) -> list[Chart]:
    """One chart per evaluator result name, in the order they first appear: assertions, scores, labels.
    Each counts the evaluator failures of the same name (runs it could not judge)."""
    passed: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    scores: dict[str, list[float]] = defaultdict(list)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    failures: Counter[str] = Counter()
    for result in results:
        for name, item in result["assertions"].items():
            (passed if item["value"] is True else failed)[name] += 1
        for name, item in result["scores"].items():
            scores[name].append(float(item["value"]))
        for name, item in result["labels"].items():
            labels[name][str(item["value"])] += 1
        for failure in result["evaluator_failures"]:
            failures[str(failure.get("name"))] += 1
    charts = [_assertion(name, passed[name], failed[name], failures[name]) for name in {**passed, **failed}]
    charts += [_histogram(name, values, failures[name]) for name, values in scores.items()]
    charts += [_labels(name, counts, failures[name]) for name, counts in labels.items()]
    return charts


def failures_without_chart(results: Sequence[Mapping[str, Any]], charts: Sequence[Chart]) -> dict[str, int]:
    """Evaluators that only failed (no result of that name to chart): name -> failures."""
    charted = {chart.name for chart in charts}
    counts: Counter[str] = Counter()
    for result in results:
        for failure in result["evaluator_failures"]:
            if str(failure.get("name")) not in charted:
                counts[str(failure.get("name"))] += 1
    return dict(counts)
