"""The HTTP side of OTLP: content types and compression of requests, and the answers (in the request's
encoding; errors to protobuf exports as a protobuf `google.rpc.Status`, as the OTLP specification asks)."""

from __future__ import annotations

import zlib

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsPartialSuccess, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from evalset.server.otlp.decode import Decoded, Encoding, MalformedExport

__all__ = [
    "MEDIA_TYPES",
    "UnsupportedEncoding",
    "BodyTooLarge",
    "encoding_of",
    "decompress",
    "traces_response",
    "logs_response",
    "metrics_response",
    "wants_status_body",
    "status_body",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA_TYPES: dict[Encoding, str] = {"protobuf": PROTOBUF, "json": JSON}


class UnsupportedEncoding(ValueError):
    """A content type or content encoding the receiver does not speak."""


class BodyTooLarge(ValueError):
    """The body, once decompressed, is over the limit."""


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
