"""Domain errors and the one handler that turns them into HTTP responses.

```
EvalsetError                      (500, never raised on purpose)
├── Unauthorized                  401  missing, malformed, unknown or revoked key
├── Forbidden                     403  the key lacks the scope
├── NotFound                      404
│   ├── DatasetNotFound                "Dataset not found"
│   ├── CaseNotFound                   "Case not found"
│   ├── ExperimentNotFound             "Experiment not found"
│   ├── TraceNotFound                  "Trace not found"
│   └── SpanNotFound                   "Span not found"
├── BadRequest                    400  an OTLP export that cannot be read
├── Conflict                      409  a name is taken; an import conflict
├── PreconditionFailed            412  If-Match names a stale version
├── PayloadTooLarge               413  body over the configured limit
├── UriTooLong                    414  request target over the limit
├── UnsupportedMediaType          415  a JSON body not sent as JSON; an OTLP export in another encoding
├── InvalidInput                  422  bad JSON, field, name, schema or case data (with `errors`)
└── ServiceUnavailable            503  the write could not get through now (with Retry-After)
```
Services raise these; routes never build error responses themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, ClassVar, TypedDict

__all__ = [
    "EvalsetError",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "DatasetNotFound",
    "CaseNotFound",
    "ExperimentNotFound",
    "TraceNotFound",
    "SpanNotFound",
    "Conflict",
    "BadRequest",
    "PreconditionFailed",
    "PayloadTooLarge",
    "UriTooLong",
    "UnsupportedMediaType",
    "InvalidInput",
    "ServiceUnavailable",
    "Violation",
    "json_pointer",
    "for_pages",
]


class Violation(TypedDict):
    """One thing wrong with a request: which case, which field, where in it, and what."""

    case_index: int | None
    case_name: str | None
    field: str
    pointer: str
    message: str


def json_pointer(path: Iterable[str | int]) -> str:
    """An RFC 6901 pointer: `/a/0/b`, with `~` and `/` inside a key escaped as `~0` and `~1`."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


class EvalsetError(Exception):
    """Base of every error the server reports to clients."""

    status_code: ClassVar[int] = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, **self.extra}

    def headers(self) -> dict[str, str] | None:
        return None


class Unauthorized(EvalsetError):
    status_code = 401


class Forbidden(EvalsetError):
    status_code = 403


class NotFound(EvalsetError):
    status_code = 404


class DatasetNotFound(NotFound):
    def __init__(self) -> None:
        # Fixed text: clients tell dataset from case 404s by the word "case", so it must not appear here.
        super().__init__("Dataset not found")


class CaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Case not found")


class ExperimentNotFound(NotFound):
    def __init__(self, detail: str = "Experiment not found") -> None:
        super().__init__(detail)


class TraceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Trace not found")


class SpanNotFound(NotFound):
    def __init__(self, detail: str = "Span not found") -> None:
        super().__init__(detail)


class Conflict(EvalsetError):
    status_code = 409


class PreconditionFailed(EvalsetError):
    status_code = 412


class PayloadTooLarge(EvalsetError):
    status_code = 413


class UriTooLong(EvalsetError):
    status_code = 414


class UnsupportedMediaType(EvalsetError):
    status_code = 415


class BadRequest(EvalsetError):
    """A body that cannot be read at all (an OTLP export that is not protobuf or JSON as claimed): 400."""

    status_code = 400


class InvalidInput(EvalsetError):
    status_code = 422

    def __init__(self, detail: str, errors: list[Violation] | None = None) -> None:
        super().__init__(detail, errors=errors or [])
        self.errors = errors or []


class ServiceUnavailable(EvalsetError):
    status_code = 503

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


# --- the one exception handler -------------------------------------------------------------

_FIELD_ROOTS = {"cases"}
PROTOBUF = "application/x-protobuf"


def _violations_from_pydantic(errors: list[dict[str, Any]], body: Any) -> list[Violation]:
    found: list[Violation] = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part != "body"]
        case_index: int | None = None
        if len(loc) >= 2 and loc[0] in _FIELD_ROOTS and isinstance(loc[1], int):
            case_index = loc[1]
            loc = loc[2:]
        field = str(loc[0]) if loc and error.get("type") != "json_invalid" else "body"
        case_name = None
        if case_index is not None and isinstance(body, dict):
            try:
                candidate = body["cases"][case_index].get("name")
                case_name = candidate if isinstance(candidate, str) else None
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        pointer = json_pointer(loc[1:])
        found.append(
            Violation(case_index=case_index, case_name=case_name, field=field, pointer=pointer, message=error["msg"])
        )
    return found


def _request_error_detail(errors: list[dict[str, Any]], violations: list[Violation]) -> str:
    first, violation = errors[0], violations[0]
    loc = first.get("loc", ("body",))
    if first.get("type") == "json_invalid":
        return f"Malformed JSON body: {first.get('ctx', {}).get('error', first['msg'])}."
    if loc and loc[0] != "body":
        return f"Invalid {loc[0]} parameter {'.'.join(map(str, loc[1:]))!r}: {first['msg']}."
    where = ""
    if violation["case_index"] is not None:
        where = f"case {violation['case_index']}"
        where += f" ({violation['case_name']!r}), " if violation["case_name"] else ", "
    where += violation["field"] + (f" at {violation['pointer']!r}" if violation["pointer"] else "")
    more = len(violations) - 1
    tail = f" (and {more} more, listed in 'errors')" if more else ""
    return f"Invalid request body: {where}: {violation['message']}{tail}."


def for_pages(request: Any) -> bool:
    """Browser routes (everything but the JSON API and its docs) get pages, when the web UI is installed."""
    path: str = request.url.path
    api = path.startswith(("/v1/", "/openapi.json", "/docs", "/redoc", "/health")) or path == "/v1"
    return not api and hasattr(request.app.state, "render_error")


def _allowed_methods(request: Any, fallback: str) -> str:
    """Every method the API answers on this path, from the OpenAPI document (Starlette's own Allow
    header names only the first matching route's methods); `fallback` for paths outside it (pages).
    Literal paths win over templated ones (`/compare/` over `/{experiment_id}/`), as in OpenAPI."""
    import re

    state = request.app.state
    table = getattr(state, "allowed_methods", None)
    if table is None:
        rows = []
        for path, item in request.app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
            rows.append((path.count("{"), pattern, sorted(method.upper() for method in item)))
        table = state.allowed_methods = sorted(rows, key=lambda row: row[0])
    paths = (request.url.path, request.url.path.rstrip("/") + "/")  # /v1/... is served with or without "/"
    matches = [(rank, found) for rank, pattern, found in table if any(map(pattern.match, paths))]
    if not matches:
        return fallback
    return ", ".join(sorted({method for rank, found in matches if rank == matches[0][0] for method in found}))


def install_handlers(app: Any) -> None:
    """Map every error to a JSON body `{"detail": ...}` with the right status; never HTML or plain text.
    On browser routes, the web UI's `app.state.render_error(request, error)` renders a page or fragment."""
    import orjson
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response

    def respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)

    def otlp_status(
        request: Request, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> Response | None:
        """OTLP exports sent as protobuf get their errors as a protobuf google.rpc.Status, as the spec asks."""
        from evalset.server.otlp.transport import status_body, wants_status_body

        if not wants_status_body(request.method, request.url.path, request.headers.get("content-type")):
            return None
        return Response(status_body(status, detail), status_code=status, media_type=PROTOBUF, headers=headers)

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EvalsetError)
        if for_pages(request):
            return await request.app.state.render_error(request, exc)
        return otlp_status(request, exc.status_code, exc.detail, exc.headers()) or respond(
            exc.status_code, exc.body(), exc.headers()
        )

    async def request_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [dict(e) for e in exc.errors()]
        violations = _violations_from_pydantic(errors, getattr(exc, "body", None))
        detail = _request_error_detail(errors, violations)
        if for_pages(request):
            return await request.app.state.render_error(request, InvalidInput(detail, violations))
        return respond(422, {"detail": detail, "errors": violations})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:  # Starlette's Allow names the first matching route's methods only
            allowed = _allowed_methods(request, (headers or {}).get("Allow", ""))
            headers = {**(headers or {}), "Allow": allowed}
            detail = f"Method {request.method} is not allowed on this path; it allows {allowed}."
        if for_pages(request):
            if exc.status_code == 404 and detail == "Not Found":  # Starlette's words for an unknown path
                detail = f"There is no page at {request.url.path}. The datasets are at /, sign-in at /signin."
            error = EvalsetError(detail)
            error.status_code = exc.status_code  # type: ignore[misc]
            return await request.app.state.render_error(request, error)
        return otlp_status(request, exc.status_code, detail, headers) or respond(
            exc.status_code, {"detail": detail}, headers
        )

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        logging.getLogger("evalset.error").warning(
            "%s %s: the database cannot be reached now: %s", request.method, request.url.path, exc
        )
        error = ServiceUnavailable("The database cannot be reached now; try again shortly.", retry_after=2)
        return await domain_error(request, error)

    from evalset.server.storage import Unavailable  # the storage layer's word for it; no SQLAlchemy here

    app.add_exception_handler(EvalsetError, domain_error)
    app.add_exception_handler(Unavailable, database_unavailable)
    app.add_exception_handler(RequestValidationError, request_error)
    app.add_exception_handler(HTTPException, http_error)
    # Anything else is a bug: `evalset.server.failures.InternalErrors` answers 500 and logs it once.
