"""Traces as the Live view and the API show them: summaries, the search syntax, time conversions. Pure."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "TraceSummary",
    "TraceSearch",
    "parse_search",
    "to_ns",
    "from_ns",
    "is_trace_id",
    "is_span_id",
    "ZERO_SPAN_ID",
    "MESSAGE",
    "display_name",
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ZERO_SPAN_ID = "0" * 16
MESSAGE = "logfire.msg"


def display_name(name: str, attributes: Mapping[str, Any]) -> str:
    """What to call a span on a page: `logfire` names a span by its template (`case: {case_name}`) and
    sends the filled-in message (`case: wrong [1/2]`) as `logfire.msg`; other spans go by their name."""
    message = attributes.get(MESSAGE)
    return message if isinstance(message, str) and message.strip() else name


_MICROSECOND = timedelta(microseconds=1)
_HEX = frozenset("0123456789abcdef")


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch (UTC) of an aware datetime (to the microsecond)."""
    return (moment - EPOCH) // _MICROSECOND * 1000


def from_ns(ns: int) -> datetime:
    """The UTC datetime of nanoseconds since the epoch (to the microsecond)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def is_trace_id(value: str) -> bool:
    """32 lower-case hex digits, not all zero (the form trace ids take everywhere in evalset)."""
    return len(value) == 32 and set(value) <= _HEX and value != "0" * 32


def is_span_id(value: str) -> bool:
    """16 lower-case hex digits, not all zero."""
    return len(value) == 16 and set(value) <= _HEX and value != ZERO_SPAN_ID


@dataclass(frozen=True, kw_only=True)
class TraceSummary:
    """One line of the recent-traces list."""

    trace_id: str
    name: str
    """The root span's name; while the root has not arrived, the earliest span's."""
    service_name: str | None
    start_time: datetime
    end_time: datetime
    """The latest end among its spans (a running span counts with its start)."""
    span_count: int
    """Spans received, running ones included."""
    has_error: bool
    running: bool
    """Some span of the trace has started and not yet ended (a `logfire` pending span stands for it)."""

    @property
    def duration_ms(self) -> float:
        return (self.end_time - self.start_time) / timedelta(milliseconds=1)


@dataclass(frozen=True, kw_only=True)
class TraceSearch:
    """Which traces to list: those with at least one span matching every condition given.

    - `text`: part of a span's name or service name, any case;
    - `span_name`, `service`: exact;
    - `attribute` with `attribute_value`: the span attribute `attribute` has this value (its JSON text for
      non-strings, e.g. `42`, `true`); `attribute` alone: the span has that attribute.
    """

    text: str = ""
    span_name: str | None = None
    service: str | None = None
    attribute: str | None = None
    attribute_value: str | None = None

    @property
    def empty(self) -> bool:
        return not self.text and self.span_name is None and self.service is None and self.attribute is None


def parse_search(query: str) -> TraceSearch:
    """A search box's text as a TraceSearch: `service:api name:"chat gpt" attr:user.id=42 free text`.

    `name:`, `service:` and `attr:` (also `span:` and `attribute:`) take one word or a quoted phrase;
    `attr:KEY=VALUE` or `attr:KEY`. The remaining words are the free text, matched as one phrase.
    """
    try:
        words = shlex.split(query)
    except ValueError:  # an unclosed quote: take the text literally
        words = query.split()
    fields: dict[str, str | None] = {}
    text: list[str] = []
    for word in words:
        prefix, sep, value = word.partition(":")
        key = {"name": "span_name", "span": "span_name", "service": "service", "attr": "attribute"}.get(
            prefix.lower(), "attribute" if prefix.lower() == "attribute" else None
        )
        if not sep or key is None or not value:
            text.append(word)
            continue
        if key == "attribute":
            name, eq, wanted = value.partition("=")
            fields["attribute"] = name
            fields["attribute_value"] = wanted if eq else None
        else:
            fields[key] = value
    return TraceSearch(text=" ".join(text), **fields)
