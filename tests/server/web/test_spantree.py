"""The trace page's span tree, pure: nesting and order, pending spans, durations and waterfall bars."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from evalset.server.domain.spans import SpanRecord
from evalset.server.web.spantree import PENDING_PARENT, build_tree, format_duration, span_label

T0 = datetime(2026, 11, 22, 7, 0, tzinfo=timezone.utc)
TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(span_id: str, parent: str | None, start_ms: float, end_ms: float | None, **extra: Any) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE,
        span_id=span_id.ljust(16, "0"),
        parent_span_id=parent.ljust(16, "0") if parent else None,
        name=extra.pop("name", f"span {span_id}"),
        start_time=T0 + timedelta(milliseconds=start_ms),
        end_time=None if end_ms is None else T0 + timedelta(milliseconds=end_ms),
        **extra,
    )


def shape(tree: Any) -> list[tuple[str, int]]:
    return [(node.span.span_id.rstrip("0"), node.depth) for node in tree.rows]


def test_nesting_depth_first_with_children_by_start_time_whatever_the_arrival_order() -> None:
    spans = [
        span("c2", "b", 60, 90),
        span("b", "a", 10, 95),
        span("a", None, 0, 100),
        span("c1", "b", 20, 50),
        span("d", "a", 96, 99),
        span("e", "c1", 25, 30),
    ]
    tree = build_tree(spans)
    assert shape(tree) == [("a", 0), ("b", 1), ("c1", 2), ("e", 3), ("c2", 2), ("d", 1)]
    assert [r.span.span_id.rstrip("0") for r in tree.roots] == ["a"]
    assert tree.roots[0].descendants == 5
    assert tree.duration == timedelta(milliseconds=100)
    assert [c.span.name for c in tree.find("b".ljust(16, "0")).children] == ["span c1", "span c2"]  # type: ignore[union-attr]


def test_bars_are_offsets_and_widths_within_the_trace() -> None:
    tree = build_tree([span("a", None, 0, 200), span("b", "a", 50, 150), span("c", "a", 200, 200)])
    a, b, c = tree.rows
    assert (a.offset, a.width) == (0.0, 1.0)
    assert (b.offset, b.width) == (0.25, 0.5)
    assert b.duration == timedelta(milliseconds=100)
    assert c.offset == 1.0 and c.width > 0  # an instant at the very end still shows
    assert c.duration == timedelta(0)


def test_a_span_whose_parent_has_not_arrived_is_shown_at_the_top_marked_orphan() -> None:
    tree = build_tree([span("b", "missing", 10, 20), span("a", None, 0, 5)])
    assert shape(tree) == [("a", 0), ("b", 0)]
    assert [n.orphan for n in tree.rows] == [False, True]


def pending(for_id: str, real_parent: str | None, start_ms: float, **extra: Any) -> SpanRecord:
    attributes = {PENDING_PARENT: (real_parent or "").ljust(16, "0"), "logfire.span_type": "pending_span", "x": 1}
    return span(f"p{for_id}", for_id, start_ms, start_ms, pending=True, attributes=attributes, **extra)


def test_a_pending_span_shows_its_real_span_running_in_its_real_place() -> None:
    tree = build_tree([span("a", None, 0, 10), pending("b", "a", 5, name="slow step"), span("c", "b", 6, 8)])
    assert shape(tree) == [("a", 0), ("b", 1), ("c", 2)]
    b = tree.rows[1]
    assert b.running and b.duration is None and b.span.name == "slow step"
    assert b.span.attributes == {"x": 1}  # the pending bookkeeping is not shown as the span's attributes
    assert b.offset == 0.5 and b.width == pytest.approx(0.5)  # up to the last moment the trace knows
    assert tree.running


def test_a_running_root_comes_from_a_pending_span_with_the_zero_parent() -> None:
    tree = build_tree([pending("a", None, 0)])
    assert shape(tree) == [("a", 0)]
    assert tree.rows[0].span.parent_span_id is None and not tree.rows[0].orphan
    assert tree.rows[0].width == 1.0


def test_once_the_real_span_arrives_the_pending_one_is_dropped_so_no_span_shows_twice() -> None:
    spans = [pending("a", None, 0), span("a", None, 0, 40), span("b", "a", 1, 2)]
    tree = build_tree(spans)
    assert shape(tree) == [("a", 0), ("b", 1)]
    assert not tree.running and tree.rows[0].duration == timedelta(milliseconds=40)
    assert build_tree(list(reversed(spans))).rows[0].running is False  # whatever the order


def test_errors_are_counted_and_a_parent_loop_is_cut_not_followed_forever() -> None:
    tree = build_tree([span("a", "b", 0, 10, status="error"), span("b", "a", 1, 5)])
    assert shape(tree) == [("a", 0), ("b", 1)]
    assert tree.errors == 1
    assert tree.rows[0].children == [tree.rows[1]] and tree.rows[1].children == []


def test_an_empty_trace() -> None:
    tree = build_tree([])
    assert tree.rows == [] and tree.duration is None and not tree.running


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.00085, "850 µs"),
        (0.0123, "12.3 ms"),
        (0.5, "500 ms"),
        (4.567, "4.57 s"),
        (185, "3 min 05 s"),
        (7380, "2 h 03 min"),
    ],
)
def test_durations_read_like_people_write_them(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("attributes", "label"),
    [
        ({"logfire.msg": "case: wrong [1/2]", "logfire.msg_template": "case: {case_name}"}, "case: wrong [1/2]"),
        ({}, "case: {case_name}"),  # not from logfire: the span's own name, braces and all
        ({"logfire.msg": "  "}, "case: {case_name}"),
        ({"logfire.msg": 3}, "case: {case_name}"),
    ],
)
def test_a_logfire_span_is_labelled_by_its_message(attributes: dict[str, Any], label: str) -> None:
    assert span_label(span("a", None, 0, 1, name="case: {case_name}", attributes=attributes)) == label
