"""A trace's spans as a tree for the trace page: nesting, order, durations and waterfall bars. Pure.

```
build_tree(spans)  -> TraceTree
  .rows            every node, depth first (children by start time): what the page lists
  .roots           the top-level nodes (the root span, and spans whose parent never arrived)
  node.depth       0 for a root
  node.running     a `logfire` pending span stands for it: started, not ended yet
  node.duration    end - start; None while running
  node.offset      start within the trace, 0..1 (where its waterfall bar starts)
  node.width       length within the trace, 0..1 (running: up to the last moment the trace knows)
```

Pending spans: the `logfire` SDK sends one when a span starts (`SpanRecord.pending`, its own span id,
parented to the real span, the real span's parent in `logfire.pending_parent_id`). Once the real span
has arrived the pending one is dropped; until then the tree shows the real span (its id, name, start,
attributes) as running. So a span is never shown twice, whether or not storage already dropped them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from evalset.server.domain.spans import SpanRecord
from evalset.server.domain.traces import display_name

__all__ = ["SpanNode", "TraceTree", "build_tree", "format_duration", "span_label", "PENDING_PARENT"]

PENDING_PARENT = "logfire.pending_parent_id"
"""On a pending span: the hex id of the real span's parent (all zeros for a root span)."""
_NO_SPAN = "0" * 16
MIN_WIDTH = 0.004
"""The narrowest bar drawn (an instant span still shows as a sliver)."""
"""A `logfire` span's message: its name template filled in."""


def span_label(span: SpanRecord) -> str:
    """What to call a span on the page: `logfire` names spans by their template (`case: {case_name}`) and
    sends the filled-in message (`case: wrong [1/2]`) as `logfire.msg`; other spans by their name."""
    return display_name(span.name, span.attributes)


@dataclass
class SpanNode:
    """One span in the tree."""

    span: SpanRecord
    depth: int = 0
    running: bool = False
    orphan: bool = False
    """Its parent is not (yet) part of the trace; shown at the top level."""
    children: list[SpanNode] = field(default_factory=list)
    offset: float = 0.0
    width: float = 0.0

    @property
    def span_id(self) -> str:
        return self.span.span_id

    @property
    def duration(self) -> timedelta | None:
        if self.running or self.span.end_time is None:
            return None
        return self.span.end_time - self.span.start_time

    @property
    def error(self) -> bool:
        return self.span.status == "error"

    @property
    def descendants(self) -> int:
        return sum(1 + child.descendants for child in self.children)


@dataclass
class TraceTree:
    """All spans of one trace, arranged for display."""

    roots: list[SpanNode]
    rows: list[SpanNode]
    start: datetime | None
    end: datetime | None
    """The last moment the trace knows of (the latest end, or start of a running span)."""

    @property
    def duration(self) -> timedelta | None:
        return None if self.start is None or self.end is None else self.end - self.start

    @property
    def running(self) -> bool:
        return any(node.running for node in self.rows)

    @property
    def errors(self) -> int:
        return sum(node.error for node in self.rows)

    def find(self, span_id: str | None) -> SpanNode | None:
        return next((node for node in self.rows if node.span_id == span_id), None)


def _real_spans(spans: Iterable[SpanRecord]) -> dict[str, tuple[SpanRecord, bool]]:
    """span id -> (record, running): real spans, then a running stand-in for each pending span whose
    real span has not arrived (the latest pending record wins; a real span always wins)."""
    real: dict[str, tuple[SpanRecord, bool]] = {}
    pending: dict[str, SpanRecord] = {}
    for span in spans:
        if span.pending:
            if span.parent_span_id:
                pending[span.parent_span_id] = span
        else:
            real[span.span_id] = (span, False)
    for real_id, stand_in in pending.items():
        if real_id in real:
            continue
        parent = stand_in.attributes.get(PENDING_PARENT)
        parent = parent if isinstance(parent, str) and parent and parent != _NO_SPAN else None
        attributes = {k: v for k, v in stand_in.attributes.items() if k not in (PENDING_PARENT, "logfire.span_type")}
        running = replace(
            stand_in, span_id=real_id, parent_span_id=parent, end_time=None, pending=False, attributes=attributes
        )
        real[real_id] = (running, True)
    return real


def _order(node: SpanNode) -> tuple[datetime, str]:
    return (node.span.start_time, node.span_id)


def build_tree(spans: Iterable[SpanRecord]) -> TraceTree:
    """Arrange one trace's spans (any order, pending spans included) as a tree; see the module doc."""
    nodes = {span_id: SpanNode(span, running=running) for span_id, (span, running) in _real_spans(spans).items()}
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = nodes.get(node.span.parent_span_id or "")
        if parent is None or parent is node:
            node.orphan = bool(node.span.parent_span_id) and parent is None
            roots.append(node)
        else:
            parent.children.append(node)
    rows: list[SpanNode] = []
    placed: set[str] = set()

    def walk(node: SpanNode, depth: int) -> None:
        placed.add(node.span_id)
        node.depth = depth
        rows.append(node)
        node.children.sort(key=_order)
        for child in node.children:
            if child.span_id not in placed:
                walk(child, depth + 1)

    roots.sort(key=_order)
    for root in roots:
        walk(root, 0)
    for node in sorted(nodes.values(), key=_order):  # parents forming a loop: cut it, show them at the top
        if node.span_id not in placed:
            node.orphan = True
            roots.append(node)
            walk(node, 0)
    for node in rows:  # a child cut from a loop is listed once, under the node that reached it
        node.children = [child for child in node.children if child.depth == node.depth + 1]
    start, end = _window(rows)
    _place_bars(rows, start, end)
    return TraceTree(roots=roots, rows=rows, start=start, end=end)


def _window(rows: list[SpanNode]) -> tuple[datetime | None, datetime | None]:
    if not rows:
        return None, None
    start = min(node.span.start_time for node in rows)
    end = max(node.span.end_time or node.span.start_time for node in rows)
    return start, max(end, start)


def _place_bars(rows: list[SpanNode], start: datetime | None, end: datetime | None) -> None:
    if start is None or end is None:
        return
    total = (end - start).total_seconds()
    for node in rows:
        finish = end if node.running else (node.span.end_time or node.span.start_time)
        if total <= 0:
            node.offset, node.width = 0.0, 1.0
            continue
        offset = (node.span.start_time - start).total_seconds() / total
        width = max((finish - node.span.start_time).total_seconds() / total, 0.0)
        node.offset = min(max(offset, 0.0), 1.0)
        node.width = max(min(width, 1.0 - node.offset), MIN_WIDTH)


def format_duration(value: timedelta | float | None) -> str:
    """A duration for people: `850 µs`, `12.3 ms`, `4.56 s`, `3 min 05 s`, `2 h 03 min`."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        seconds = 0.0
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min"
