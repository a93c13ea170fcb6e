"""OTLP/HTTP export requests (protobuf or JSON, gzip or not) -> `SpanRecord`s, and the answers.

Uses the official protobuf definitions (`opentelemetry-proto`) for both encodings. OTLP/JSON differs
from protobuf's JSON mapping in one way that matters: trace and span ids are hex, not base64, so they
are rewritten before protobuf's parser sees them (its parser would base64-decode them into wrong bytes).
64-bit integers may come as strings or numbers, and unknown fields are ignored.

A request that cannot be read at all is `MalformedExport` (400, nothing stored). Spans that can be read
but are invalid (ids of the wrong length or zero, no start time, an end before the start) are left out
and counted, for the answer's `partial_success`.

The `logfire` SDK sends attribute values other than str/bool/int/float as JSON text, listing those
attributes in `logfire.json_schema`: they are decoded here, so the rest of the server sees the values.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from evalset.server.domain.spans import SpanEvent, SpanRecord, SpanStatus
from evalset.server.domain.traces import from_ns

__all__ = [
    "Encoding",
    "MalformedExport",
    "UnsupportedEncoding",
    "BodyTooLarge",
    "Decoded",
    "encoding_of",
    "decompress",
    "decode_traces",
    "decode_logs",
    "check_metrics",
    "traces_response",
    "logs_response",
    "metrics_response",
    "decode_attributes",
]

Encoding = Literal["protobuf", "json"]
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA_TYPES: dict[Encoding, str] = {"protobuf": PROTOBUF, "json": JSON}


class MalformedExport(ValueError):
    """The body is not an OTLP export in the encoding it claims."""


class UnsupportedEncoding(ValueError):
    """A content type or content encoding the receiver does not speak."""


class BodyTooLarge(ValueError):
    """The body, once decompressed, is over the limit."""


@dataclass
class Decoded:
    """What an export carried: the valid records, and how many items were left out and why."""

    records: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < 3:
            self.reasons.append(reason)

    def message(self, what: str, total: int) -> str:
        more = " ..." if self.rejected > len(self.reasons) else ""
        return f"{self.rejected} of {total} {what} rejected: " + "; ".join(self.reasons) + more


def encoding_of(content_type: str | None) -> Encoding:
    """protobuf or json from a Content-Type header; UnsupportedEncoding otherwise."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == PROTOBUF or media == "application/protobuf":
        return "protobuf"
    if media == JSON:
        return "json"
    raise UnsupportedEncoding(f"Unsupported Content-Type {content_type!r}: send OTLP as {PROTOBUF} or {JSON}.")


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body without its gzip (or deflate) content encoding, refused beyond `limit` bytes once expanded."""
    coding = (content_encoding or "identity").strip().lower()
    if coding in ("identity", ""):
        if len(body) > limit:
            raise BodyTooLarge(f"The export is larger than the {limit:,}-byte limit (EVALSET_MAX_BODY_BYTES).")
        return body
    if coding not in ("gzip", "deflate"):
        raise UnsupportedEncoding(f"Unsupported Content-Encoding {content_encoding!r}: use gzip or none.")
    inflater = zlib.decompressobj(wbits=31 if coding == "gzip" else 15)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise MalformedExport(f"The body is not valid {coding} data ({error}).") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(
            f"The export is larger than the {limit:,}-byte limit (EVALSET_MAX_BODY_BYTES) once decompressed."
        )
    if not inflater.eof:
        raise MalformedExport(f"The {coding} data is cut short.")
    return data


# --- parsing -------------------------------------------------------------------------------------

_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
_INVALID_ID = "AAAA"  # three zero bytes in base64: a length no id has, so the item is rejected, not the request


def _hex_to_base64(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # protobuf's parser reports the wrong type
    if value == "":
        return ""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return _INVALID_ID
    return base64.b64encode(raw).decode()


def _fix_ids(items: Any) -> None:
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        for key in _ID_FIELDS:
            if key in item:
                item[key] = _hex_to_base64(item[key])
        links = item.get("links")
        if isinstance(links, list):
            _fix_ids(links)


def _children(value: Any, *keys: str) -> Iterator[Any]:
    if not isinstance(value, dict):
        return
    for key in keys:
        found = value.get(key)
        if isinstance(found, list):
            yield from found


def _parse(body: bytes, encoding: Encoding, message: Message, groups: tuple[str, ...]) -> None:
    """Fill `message` from the body. `groups` names the JSON path to the items whose ids are hex:
    (resource key, scope key, items key) in both spellings."""
    if encoding == "protobuf":
        try:
            message.ParseFromString(body)
        except DecodeError as error:
            raise MalformedExport(f"The body is not a valid OTLP protobuf message ({error}).") from None
        return
    try:
        data = orjson.loads(body) if body.strip() else {}  # an empty body: an empty export
    except orjson.JSONDecodeError as error:
        raise MalformedExport(f"The body is not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise MalformedExport('An OTLP/JSON export is a JSON object, e.g. {"resourceSpans": [...]}.')
    resource_keys, scope_keys, item_keys = groups[0:2], groups[2:4], groups[4:6]
    for resource in _children(data, *resource_keys):
        for scope in _children(resource, *scope_keys):
            if isinstance(scope, dict):
                for key in dict.fromkeys(item_keys):
                    _fix_ids(scope.get(key))
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise MalformedExport(f"The body is not a valid OTLP/JSON export: {error}") from None


# --- values ------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _attributes(pairs: Iterable[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for kv in pairs:  # the common scalar kinds inline: this runs for every attribute of every span
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            found[kv.key] = value.string_value
        elif kind == "int_value":
            found[kv.key] = value.int_value
        else:
            found[kv.key] = _value(value)
    return found


@functools.lru_cache(maxsize=512)
def _json_keys(schema_text: str) -> tuple[str, ...]:
    """The attributes a `logfire.json_schema` lists with a non-empty schema (their values are JSON text).
    Cached: a program sends the same few schemas over and over."""
    try:
        properties = orjson.loads(schema_text).get("properties") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ()
    if not isinstance(properties, dict):
        return ()
    return tuple(key for key, schema in properties.items() if schema)


def decode_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Decode the `logfire` SDK's JSON-encoded values in place (those `logfire.json_schema` lists with a
    non-empty schema); a value that is not valid JSON stays the text it was. Returns `attributes`."""
    schema_text = attributes.get("logfire.json_schema")
    if not isinstance(schema_text, str):
        return attributes
    for key in _json_keys(schema_text):
        value = attributes.get(key)
        if isinstance(value, str):
            with contextlib.suppress(orjson.JSONDecodeError):
                attributes[key] = orjson.loads(value)
    return attributes


def _clean(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text  # PostgreSQL text cannot hold NUL


_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUSES: dict[int, SpanStatus] = {0: "unset", 1: "ok", 2: "error"}
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


def _span_problem(span: Any) -> str | None:
    if len(span.trace_id) != 16 or span.trace_id == _ZERO_TRACE:
        return "trace_id must be 16 bytes (32 hex digits), not all zero"
    if len(span.span_id) != 8 or span.span_id == _ZERO_SPAN:
        return "span_id must be 8 bytes (16 hex digits), not all zero"
    if len(span.parent_span_id) not in (0, 8):
        return "parent_span_id must be 8 bytes (16 hex digits) or empty"
    if span.start_time_unix_nano == 0:
        return "start_time_unix_nano is missing"
    if span.end_time_unix_nano and span.end_time_unix_nano < span.start_time_unix_nano:
        return "end_time_unix_nano is before start_time_unix_nano"
    return None


def _span(span: Any, resource: dict[str, Any], service: str | None, scope: str | None) -> SpanRecord:
    attributes = decode_attributes(_attributes(span.attributes))
    pending = attributes.get("logfire.span_type") == "pending_span" and bool(span.parent_span_id)
    parent = span.parent_span_id.hex() if span.parent_span_id and span.parent_span_id != _ZERO_SPAN else None
    start = from_ns(span.start_time_unix_nano)
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=parent,
        name=_clean(span.name),
        start_time=start,
        end_time=None if pending else from_ns(span.end_time_unix_nano) if span.end_time_unix_nano else start,
        status=_STATUSES.get(span.status.code, "unset"),
        status_message=_clean(span.status.message) or None,
        kind=_KINDS.get(span.kind, "unspecified"),
        scope=scope,
        service_name=service,
        attributes=attributes,
        resource=resource,
        events=tuple(
            SpanEvent(name=_clean(e.name), time=from_ns(e.time_unix_nano), attributes=_attributes(e.attributes))
            for e in span.events
        ),
        pending=pending,
    )


def _resource(group: Any) -> tuple[dict[str, Any], str | None]:
    resource = _attributes(group.resource.attributes)
    service = resource.get("service.name")
    return resource, _clean(service) if isinstance(service, str) else None


def decode_traces(body: bytes, encoding: Encoding) -> tuple[Decoded, int]:
    """The spans of a trace export, and how many spans it held in all."""
    request = ExportTraceServiceRequest()
    _parse(body, encoding, request, ("resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans", "spans"))
    decoded = Decoded()
    total = 0
    for group in request.resource_spans:
        resource, service = _resource(group)
        for scope_group in group.scope_spans:
            scope = _clean(scope_group.scope.name) or None
            for span in scope_group.spans:
                total += 1
                problem = _span_problem(span)
                if problem is not None:
                    decoded.reject(f"span {span.name!r}: {problem}")
                    continue
                decoded.records.append(_span(span, resource, service, scope))
    return decoded, total


def _log_ids(record: Any) -> tuple[str, str]:
    """A log record's own ids: its trace when it has one, and an id derived from its content, so a log
    sent twice is stored once."""
    digest = hashlib.blake2b(record.SerializeToString(deterministic=True), digest_size=24).digest()
    trace = record.trace_id if len(record.trace_id) == 16 and record.trace_id != _ZERO_TRACE else digest[:16]
    return trace.hex(), digest[16:].hex()


def _log(record: Any, resource: dict[str, Any], service: str | None, scope: str | None) -> SpanRecord:
    body = _value(record.body)
    text = body if isinstance(body, str) else orjson.dumps(body).decode() if body is not None else ""
    name = _clean(text.splitlines()[0][:200] if text.strip() else record.event_name or "log")
    trace_id, span_id = _log_ids(record)
    parent = record.span_id.hex() if len(record.span_id) == 8 and record.span_id != _ZERO_SPAN else None
    moment = from_ns(record.time_unix_nano or record.observed_time_unix_nano)
    attributes = decode_attributes(_attributes(record.attributes))
    attributes.update({"logfire.span_type": "log", "log.severity_number": record.severity_number, "log.body": body})
    if record.severity_text:
        attributes["log.severity_text"] = record.severity_text
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time=moment,
        end_time=moment,
        status="error" if record.severity_number >= 17 else "unset",  # ERROR and above
        kind="internal",
        scope=scope,
        service_name=service,
        attributes=attributes,
        resource=resource,
    )


def decode_logs(body: bytes, encoding: Encoding) -> tuple[Decoded, int]:
    """A log export as zero-length spans (`logfire.span_type` = "log"), parented to the span they were
    logged in, and how many log records it held."""
    request = ExportLogsServiceRequest()
    _parse(
        body,
        encoding,
        request,
        ("resourceLogs", "resource_logs", "scopeLogs", "scope_logs", "logRecords", "log_records"),
    )
    decoded = Decoded()
    total = 0
    for group in request.resource_logs:
        resource, service = _resource(group)
        for scope_group in group.scope_logs:
            scope = _clean(scope_group.scope.name) or None
            for record in scope_group.log_records:
                total += 1
                if not (record.time_unix_nano or record.observed_time_unix_nano):
                    decoded.reject("a log record has neither time_unix_nano nor observed_time_unix_nano")
                    continue
                decoded.records.append(_log(record, resource, service, scope))
    return decoded, total


def check_metrics(body: bytes, encoding: Encoding) -> None:
    """Read a metrics export (MalformedExport when it cannot be read); metrics are not stored. JSON is only
    checked to be an object: exemplars carry hex ids that protobuf's JSON parser would refuse."""
    if encoding == "protobuf":
        _parse(body, encoding, ExportMetricsServiceRequest(), ())
        return
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as error:
        raise MalformedExport(f"The body is not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise MalformedExport('An OTLP/JSON export is a JSON object, e.g. {"resourceMetrics": [...]}.')


# --- answers -----------------------------------------------------------------------------------


def _encode(message: Message, encoding: Encoding) -> bytes:
    if encoding == "protobuf":
        return message.SerializeToString()
    return orjson.dumps(json_format.MessageToDict(message))


def traces_response(decoded: Decoded, total: int, encoding: Encoding) -> bytes:
    response = ExportTraceServiceResponse()
    if decoded.rejected:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=decoded.rejected, error_message=decoded.message("spans", total))
        )
    return _encode(response, encoding)


def logs_response(decoded: Decoded, total: int, encoding: Encoding) -> bytes:
    response = ExportLogsServiceResponse()
    if decoded.rejected:
        response.partial_success.CopyFrom(
            ExportLogsPartialSuccess(
                rejected_log_records=decoded.rejected, error_message=decoded.message("log records", total)
            )
        )
    return _encode(response, encoding)


def metrics_response(encoding: Encoding) -> bytes:
    return _encode(ExportMetricsServiceResponse(), encoding)


OTLP_PATHS = ("/v1/traces", "/v1/logs", "/v1/metrics")
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 422: 3, 429: 8, 503: 14}


def wants_status_body(method: str, path: str, content_type: str | None) -> bool:
    """An OTLP export sent as protobuf, whose error answers are a protobuf `google.rpc.Status`."""
    if method != "POST" or path.rstrip("/") not in OTLP_PATHS:
        return False
    try:
        return encoding_of(content_type) == "protobuf"
    except UnsupportedEncoding:
        return False


def status_body(http_status: int, message: str) -> bytes:
    """The protobuf `google.rpc.Status` that OTLP/HTTP answers errors with (the gRPC code nearest the status)."""
    from google.rpc.status_pb2 import Status

    return Status(code=_GRPC_CODES.get(http_status, 13), message=message).SerializeToString()
