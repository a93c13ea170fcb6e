"""Request and response records of the trace routes (OTLP receiver, traces, cases from spans)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter
from typing_extensions import NotRequired, TypedDict

from evalset.server.api.v1.models import ErrorBody, Record

__all__ = [
    "ProjectInfo",
    "SpanRead",
    "TraceSummaryRead",
    "TracePageRead",
    "FromSpanBody",
    "FROM_SPAN_BODY",
    "trace_errors",
    "OTLP_BODY_DOC",
]


class ProjectInfo(Record):
    project_name: str
    project_url: str = Field(description="This server's web address (the logfire SDK builds its links from it).")


class EventRead(Record):
    name: str
    time: datetime
    attributes: dict[str, Any]


class SpanRead(Record):
    """A span. A running span (its `logfire` pending span received, the span itself not yet) has
    `running: true` and `end_time: null`."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time: datetime
    end_time: datetime | None
    duration_ms: float | None
    running: bool
    status: Literal["unset", "ok", "error"]
    status_message: str | None
    service_name: str | None
    scope: str | None
    attributes: dict[str, Any] = Field(description="Decoded: the logfire SDK's JSON-encoded values as JSON.")
    resource: dict[str, Any]
    events: list[EventRead]


class TraceSummaryRead(Record):
    trace_id: str
    name: str = Field(description="The root span's name (the earliest span's while the root has not arrived).")
    service_name: str | None
    start_time: datetime
    end_time: datetime
    duration_ms: float
    span_count: int
    has_error: bool
    running: bool


class TracePageRead(Record):
    traces: list[TraceSummaryRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    searched_to: datetime | None = Field(
        description="A search looks through 10,000 traces per request: when it stopped there before filling "
        "the page, the start of the oldest trace it looked at (next_cursor searches on). Null otherwise."
    )


class SpanRefBody(TypedDict):
    trace_id: str
    span_id: str


class FromSpanBody(TypedDict):
    """One case from one span (`trace_id` and `span_id`), or one case per span (`spans`), all or none.

    `name`, `inputs`, `expected_output`, `metadata` and `tags`, when present (null included), replace what
    the span proposes; `mapping` says per field what to take from the span: "auto" (the proposal; the
    default), "attributes" (all of them), "none" (null) or a JSON path into the attributes
    (`$.inputs.question`, `$["gen_ai.input.messages"][0]`)."""

    __pydantic_config__ = ConfigDict(defer_build=True)  # type: ignore[misc]  # as models.Record
    trace_id: NotRequired[str]
    span_id: NotRequired[str]
    spans: NotRequired[list[SpanRefBody]]
    name: NotRequired[str | None]
    inputs: NotRequired[Any]
    expected_output: NotRequired[Any]
    metadata: NotRequired[Any]
    tags: NotRequired[list[str] | None]
    mapping: NotRequired[dict[Literal["inputs", "expected_output", "metadata"], str]]


FROM_SPAN_BODY: TypeAdapter[FromSpanBody] = TypeAdapter(FromSpanBody)

_TEXT = {
    400: "The export cannot be read (not protobuf or JSON as its Content-Type says, or bad gzip); nothing stored.",
    401: "Missing, malformed, unknown or revoked key.",
    403: "The key lacks the scope.",
    404: "No such trace, span or dataset in the key's project.",
    409: "A case name given is already taken in the dataset.",
    413: "Body over the configured limit (after decompression for OTLP).",
    415: "Content-Type other than application/x-protobuf or application/json, or an unknown Content-Encoding.",
    422: "Invalid body or case data: the detail names the case, the field and the JSON pointer.",
    503: "The span queue is full: retry after the Retry-After seconds (exporters do).",
}


def trace_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error body."""
    return {status: {"description": _TEXT[status], "model": ErrorBody} for status in statuses}


def OTLP_BODY_DOC(message: str) -> dict[str, Any]:  # noqa: N802 - reads as a constant at the call site
    """The OpenAPI text of an OTLP/HTTP request body and its answer."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "description": f"An OTLP `{message}`, protobuf or JSON (hex ids), optionally gzip-compressed.",
            "content": {"application/x-protobuf": binary, "application/json": {"schema": {"type": "object"}}},
        },
        "responses": {
            "200": {
                "description": "Accepted, in the request's encoding; `partial_success` counts the items left out.",
                "content": {"application/x-protobuf": binary, "application/json": {"schema": {"type": "object"}}},
            }
        },
    }
