"""Trace routes: the OTLP/HTTP receiver (/v1/traces, /v1/metrics, /v1/logs), /v1/info for the logfire SDK,
reading traces, and cases from spans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Query, Request, Response

from evalset.server.api.deps import DB, AnyKey, ApiRoute, Caller, Reader, TraceWriter, Writer, json_response
from evalset.server.api.inputs import json_body
from evalset.server.api.v1.models import CaseDetail
from evalset.server.api.v1.trace_models import (
    FROM_SPAN_BODY,
    OTLP_BODY_DOC,
    FromSpanBody,
    ProjectInfo,
    SpanRead,
    TracePageRead,
    trace_errors,
)
from evalset.server.errors import BadRequest, InvalidInput, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType
from evalset.server.services import keys, traces

if TYPE_CHECKING:
    from evalset.server.otlp.decode import Encoding

router = APIRouter(tags=["traces"], route_class=ApiRoute)
FROM_SPAN, FROM_SPAN_DOC = json_body(FROM_SPAN_BODY)
OTLP_ERRORS = trace_errors(400, 401, 403, 413, 415, 503)
RETRY_AFTER = 2
DECODERS = 4
"""Worker threads decoding exports at once: the rest of the thread pool stays free for the dataset API."""


def _decoders(request: Request) -> CapacityLimiter:
    limiter = getattr(request.app.state, "otlp_decoders", None)
    if limiter is None:  # made inside the event loop, on the first export
        limiter = request.app.state.otlp_decoders = CapacityLimiter(DECODERS)
    return limiter


# The OTLP decoders (protobuf and the OpenTelemetry message classes) are imported by the first export,
# not at start-up: a server that receives no traces never loads them.


def _decode_request(request: Request, body: bytes) -> tuple[bytes, Encoding]:
    from evalset.server.otlp import decode, transport

    try:
        encoding = transport.encoding_of(request.headers.get("content-type"))
        limit = request.app.state.settings.max_body_bytes
        return transport.decompress(body, request.headers.get("content-encoding"), limit), encoding
    except transport.UnsupportedEncoding as error:
        raise UnsupportedMediaType(str(error)) from None
    except transport.BodyTooLarge as error:
        raise PayloadTooLarge(str(error)) from None
    except decode.MalformedExport as error:
        raise BadRequest(str(error)) from None


def _otlp(request: Request, caller: Caller, body: bytes, signal: Literal["traces", "logs"]) -> tuple[bytes, str]:
    """Authenticate, decode, queue: the answer's bytes and media type. Runs in a worker thread."""
    from evalset.server.otlp import decode, transport

    read = decode.decode_traces if signal == "traces" else decode.decode_logs
    principal = caller.principal()
    data, encoding = _decode_request(request, body)
    try:
        decoded, total = read(data, encoding)
    except decode.MalformedExport as error:
        raise BadRequest(str(error)) from None
    if not request.app.state.span_writer.offer(principal.project_id, decoded.records):
        raise ServiceUnavailable(
            "The server is holding as many received spans as it may (EVALSET_TRACE_QUEUE_SPANS) and is writing "
            "them; nothing of this export was taken. Send it again shortly.",
            retry_after=RETRY_AFTER,
        )
    answer = transport.traces_response if signal == "traces" else transport.logs_response
    return answer(decoded, total, encoding), transport.MEDIA_TYPES[encoding]


@router.post("/traces/", openapi_extra=OTLP_BODY_DOC("ExportTraceServiceRequest"), responses=OTLP_ERRORS)
async def export_traces(request: Request, caller: TraceWriter) -> Response:
    """OTLP/HTTP trace export (key with project:write_traces, `Bearer <key>` or the bare key). The spans are
    queued and written within moments; a full queue answers 503 with Retry-After."""
    body = await request.body()
    content, media = await to_thread.run_sync(_otlp, request, caller, body, "traces", limiter=_decoders(request))
    return Response(content, media_type=media)


@router.post("/logs/", openapi_extra=OTLP_BODY_DOC("ExportLogsServiceRequest"), responses=OTLP_ERRORS)
async def export_logs(request: Request, caller: TraceWriter) -> Response:
    """OTLP/HTTP log export: each log record is stored as a zero-length span (`logfire.span_type` "log") in
    its trace, under the span it was logged in."""
    body = await request.body()
    content, media = await to_thread.run_sync(_otlp, request, caller, body, "logs", limiter=_decoders(request))
    return Response(content, media_type=media)


def _metrics(request: Request, caller: Caller, body: bytes) -> tuple[bytes, str]:
    from evalset.server.otlp import decode, transport

    caller.principal()
    data, encoding = _decode_request(request, body)
    try:
        decode.check_metrics(data, encoding)
    except decode.MalformedExport as error:
        raise BadRequest(str(error)) from None
    return transport.metrics_response(encoding), transport.MEDIA_TYPES[encoding]


@router.post("/metrics/", openapi_extra=OTLP_BODY_DOC("ExportMetricsServiceRequest"), responses=OTLP_ERRORS)
async def export_metrics(request: Request, caller: TraceWriter) -> Response:
    """OTLP/HTTP metrics export: acknowledged and not stored (the logfire SDK sends metrics by default)."""
    body = await request.body()
    content, media = await to_thread.run_sync(_metrics, request, caller, body, limiter=_decoders(request))
    return Response(content, media_type=media)


@router.get("/info/", response_model=ProjectInfo, responses=trace_errors(401))
def project_info(request: Request, db: DB, caller: AnyKey) -> Response:
    """The key's project, as the logfire SDK asks for it first (any valid key, Bearer or bare)."""
    project = keys.get_project(db, id=caller.principal().project_id)
    base = request.app.state.settings.public_url or str(request.base_url)
    return json_response({"project_name": project["name"], "project_url": base.rstrip("/")})


@router.get("/traces/", response_model=TracePageRead, responses=trace_errors(401, 403, 422))
def list_traces(
    db: DB,
    caller: Reader,
    q: Annotated[
        str, Query(description="Search: free text (part of a span or service name), `name:`, `service:`, `attr:k=v`.")
    ] = "",
    cursor: Annotated[str | None, Query(description="The previous page's next_cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Recent traces of the key's project, newest first, with a search over their spans."""
    page = traces.list_traces(db, caller.principal(), search=q, cursor=cursor, limit=limit)
    rows = [{**vars(t), "duration_ms": t.duration_ms} for t in page.traces]
    return json_response({"traces": rows, "next_cursor": page.next_cursor, "searched_to": page.searched_to})


@router.get("/traces/{trace_id}/", response_model=list[SpanRead], responses=trace_errors(401, 403, 404))
def get_trace(trace_id: str, db: DB, caller: Reader) -> Response:
    """The spans of a trace (by start time), running spans included; 404 for another project's trace."""
    return json_response([traces.span_json(s) for s in traces.get_trace(db, caller.principal(), trace_id)])


def _refs(body: FromSpanBody) -> list[traces.SpanRef]:
    overrides = {k: v for k, v in body.items() if k in ("name", "inputs", "expected_output", "metadata", "tags")}
    if "spans" in body:
        if "trace_id" in body or "span_id" in body or not body["spans"]:
            raise InvalidInput("Send either trace_id and span_id, or a non-empty list of spans; not both.")
        if "name" in overrides and overrides["name"] is not None and len(body["spans"]) > 1:
            raise InvalidInput("A name can only be given when adding one span: case names are unique.")
        return [
            traces.SpanRef(trace_id=s["trace_id"], span_id=s["span_id"], overrides=overrides) for s in body["spans"]
        ]
    if "trace_id" not in body or "span_id" not in body:
        raise InvalidInput("Missing trace_id or span_id: say which span to make a case of.")
    return [traces.SpanRef(trace_id=body["trace_id"], span_id=body["span_id"], overrides=overrides)]


@router.post(
    "/datasets/{ds}/cases/from-span/",
    response_model=CaseDetail | list[CaseDetail],
    status_code=201,
    openapi_extra=FROM_SPAN_DOC,
    responses=trace_errors(401, 403, 404, 409, 422),
)
def case_from_span(ds: str, body: Annotated[FromSpanBody, FROM_SPAN], db: DB, caller: Writer) -> Response:
    """Add a case made from a span (or, with `spans`, one per span, all or none), validated like any case;
    it keeps `source_trace_id`, `source_span_id` and a snapshot of the span (`source_span`). Answers the case,
    or the list of cases when `spans` was sent."""
    mapping = {str(field): how for field, how in (body.get("mapping") or {}).items()}
    created = traces.create_cases_from_spans(db, caller.principal(), ds, _refs(body), mapping=mapping)
    content: Any = created if "spans" in body else created[0]
    return json_response(content, status_code=201)
