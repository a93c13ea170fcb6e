"""A span as the rest of the server sees it, whatever encoding it arrived in.

The OTLP receiver (`server/otlp/`) decodes protobuf or JSON exports into `SpanRecord`s, stores them,
and hands each committed batch to the registered `SpanConsumer`s (the experiments decoder is one).
Attribute values are already decoded: the `logfire` SDK's JSON-string values (described by
`logfire.json_schema`) arrive here as the JSON values they encode. Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from evalset.server.storage import Database

__all__ = ["SpanStatus", "SpanEvent", "SpanRecord", "SpanConsumer"]

SpanStatus = Literal["unset", "ok", "error"]


@dataclass(frozen=True, kw_only=True)
class SpanEvent:
    """An event on a span (an exception, a log line): its name, moment and attributes."""

    name: str
    time: datetime
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SpanRecord:
    """One span of one project's trace. Ids are lower-case hex (32 digits for a trace, 16 for a span)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_time: datetime
    """UTC."""
    end_time: datetime | None
    """UTC; None only for a pending span (the span has started and not yet ended)."""
    status: SpanStatus = "unset"
    status_message: str | None = None
    kind: str = "internal"
    scope: str | None = None
    """The instrumentation scope's name (`pydantic-evals`, `logfire`, ...)."""
    service_name: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    resource: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[SpanEvent] = ()
    pending: bool = False
    """A `logfire` pending span: the real span `(trace_id, parent_span_id)` has started and is running.
    A pending record's `span_id` is its own id; the span it stands for is its `parent_span_id`."""


class SpanConsumer(Protocol):
    """Called by the batch writer after a batch of one project's spans is committed (pending spans
    included), in arrival order. It must be idempotent: an exporter may send a batch again."""

    def __call__(self, db: Database, project_id: str, spans: Sequence[SpanRecord]) -> None: ...
