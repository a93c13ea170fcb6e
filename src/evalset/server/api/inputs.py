"""What the JSON API accepts, checked in one place before any route runs (docs/input.md has the rules).

- `json_body(adapter)`: a request body is JSON (`Content-Type: application/json`, else 415), valid
  UTF-8 and standard JSON (else 422), with no field the route does not know (422, with a "did you
  mean" hint), and values the databases can hold (`domain.values`: no NUL, no lone surrogate, 64-bit
  integers, finite numbers, bounded nesting; else 422 naming the field and pointer).
- `raw_json_body(adapter)`: the same rules, for a body read as bytes and parsed later, a part at a time
  (case imports: `api.case_batches`), or whole as `json_body` parses it.
- `check_request`: on every /v1 route, query parameters the route does not declare are refused
  (422, naming them), and no path segment or query value may hold text that cannot be stored.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from anyio import to_thread
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from evalset.server.domain import values
from evalset.server.errors import InvalidInput, UnsupportedMediaType, Violation

__all__ = [
    "json_body",
    "raw_json_body",
    "RawBody",
    "component_schemas",
    "check_request",
    "check_text",
    "is_json_media_type",
]

T = TypeVar("T")
_INLINE_LIMIT = 64 * 1024  # bodies larger than this are parsed off the event loop


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or any `application/*+json`, parameters (charset) ignored."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _known_fields(schema: dict[str, Any]) -> list[str]:
    names: set[str] = set(schema.get("properties", {}))
    for definition in schema.get("$defs", {}).values():
        names.update(definition.get("properties", {}))
    return sorted(names)


def _explain_unknown(errors: list[Any], known: list[str]) -> list[Any]:
    """Unknown fields: say which, and suggest the closest known field ("did you mean 'input_schema'?")."""
    explained = []
    for error in errors:
        if error.get("type") == "extra_forbidden" and error.get("loc"):
            name = str(error["loc"][-1])
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(known)}"
            error = {**error, "msg": f"unknown field {name!r} ({hint})"}
        explained.append(error)
    return explained


def json_body(adapter: TypeAdapter[T], *, check_values: bool = True) -> tuple[Any, dict[str, Any]]:
    """A dependency parsing the body with `adapter` from raw bytes, and the OpenAPI text describing it.

    Use as `body: Annotated[X, dep]` with `openapi_extra=doc` on the route. `check_values=False` leaves
    the value rules to the service (case writes check them per case, naming the case).
    """
    body = _Body(adapter)

    async def parse(request: Request) -> T:
        _require_json(request)
        raw = await request.body()
        if len(raw) > _INLINE_LIMIT:
            return await to_thread.run_sync(_parse, body, raw, check_values)
        return _parse(body, raw, check_values)

    return Depends(parse), body.doc


@dataclass(slots=True)
class RawBody:
    """A JSON request body as bytes, not parsed yet. `parse_whole()` parses it all at once exactly as
    `json_body` would (its 422s included); `release()` drops the bytes once the route is done with them
    (the worker thread that ran the route keeps its arguments until its next job)."""

    data: bytearray
    _parse_whole: Callable[[bytearray], Any]

    def parse_whole(self) -> Any:
        return self._parse_whole(self.data)

    def release(self) -> None:
        self.data = bytearray()


def raw_json_body(adapter: TypeAdapter[Any], *, check_values: bool = True) -> tuple[Any, dict[str, Any]]:
    """Like `json_body`, but the dependency gives the body as a RawBody: checked as JSON by content type
    only, read into one buffer (never twice its size, as joining the received chunks would take)."""
    body = _Body(adapter)

    def parse_whole(raw: bytearray) -> Any:
        return _parse(body, raw, check_values)

    async def read(request: Request) -> RawBody:
        _require_json(request)
        return RawBody(await _read_body(request), parse_whole)

    return Depends(read), body.doc


async def _read_body(request: Request) -> bytearray:
    """The body in one buffer of its declared size (Content-Length, within the configured limit), filled
    in place: growing it chunk by chunk would over-allocate, and joining the chunks would hold them twice."""
    declared = request.headers.get("content-length", "")
    settings = getattr(request.app.state, "settings", None)
    limit = settings.max_body_bytes if settings is not None else 0
    size = int(declared) if declared.isdigit() and int(declared) <= limit else 0
    data = bytearray(size)
    filled = 0
    async for chunk in request.stream():
        end = filled + len(chunk)
        if end <= size:
            data[filled:end] = chunk
        else:  # more than declared (the server would have refused it), or no Content-Length
            data[filled:] = chunk
        filled = end
    del data[filled:]
    return data


class _Body:
    """A body's adapter, and what its JSON Schema gives: the known field names (for "did you mean" hints), the
    route's OpenAPI text (`doc`, filled in here), the schemas it refers to. Worked out when first needed (an
    unknown field, the OpenAPI document), not when the route is declared: the schema and, for a model with
    `defer_build`, the adapter's validator are built then, and a start need not build those of every route."""

    def __init__(self, adapter: TypeAdapter[Any]) -> None:
        self.adapter = adapter
        self.doc: dict[str, Any] = {}
        self.known: list[str] = []
        self.defs: dict[str, Any] = {}
        self.described = False
        _bodies.append(self)

    def describe(self) -> _Body:
        with _describing:
            if not self.described:
                schema = self.adapter.json_schema(ref_template="#/components/schemas/{model}")
                self.known = _known_fields(schema)
                self.defs = schema.pop("$defs", {})
                self.doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
                self.described = True
        return self


_bodies: list[_Body] = []
_describing = threading.Lock()


def build_deferred() -> None:
    """Build every declared body's validator now (the models of `defer_build`), as its first request would.
    `evalset serve` calls it on a thread once it listens (serve.finish_start_up): the first answer does not
    wait for it, and a first import no longer builds them (about 0.5 MiB, counted against its body)."""
    for body in list(_bodies):
        body.adapter.rebuild()


def _require_json(request: Request) -> None:
    if not is_json_media_type(request.headers.get("content-type")):
        sent = request.headers.get("content-type")
        raise UnsupportedMediaType(
            f"The request body must be JSON, sent with 'Content-Type: application/json' "
            f"({'no Content-Type was sent' if sent is None else f'got {sent!r}'})."
        )


def _parse(body: _Body, raw: bytes | bytearray, check_values: bool) -> Any:
    try:
        parsed = body.adapter.validate_json(raw)
    except ValidationError as exc:
        errors = _explain_unknown(list(exc.errors(include_url=False)), body.describe().known)
        errors = [{**error, "loc": ("body", *error["loc"])} for error in errors]
        raise RequestValidationError(errors, body=_best_effort(raw)) from None  # names the cases in errors
    if check_values:
        values.check_fields(parsed if isinstance(parsed, dict) else {"body": parsed})
    return parsed


def _best_effort(raw: bytes | bytearray) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def component_schemas() -> dict[str, Any]:
    """Schemas referenced by `json_body` request bodies, for the OpenAPI document's components. Call it before
    FastAPI builds the document: it also fills in each body's OpenAPI text (the routes' `openapi_extra`)."""
    components: dict[str, Any] = {}
    for body in list(_bodies):  # in the order the routes were declared, as the document always listed them
        components.update(body.describe().defs)
    return components


_declared: dict[int, frozenset[str]] = {}


def _declared_query(route: Any) -> frozenset[str]:
    key = id(route)
    names = _declared.get(key)
    if names is None:
        found: set[str] = set()
        pending = [route.dependant]
        while pending:  # the route's own query parameters and those of its dependencies
            dependant = pending.pop()
            found.update(param.alias for param in dependant.query_params)
            pending.extend(dependant.dependencies)
        names = _declared[key] = frozenset(found)
    return names


async def check_request(request: Request) -> None:
    """Refuse undeclared query parameters and unstorable text in the path or query (422), before auth."""
    route = request.scope.get("route")
    if route is not None:
        unknown = sorted({name for name in request.query_params if name not in _declared_query(route)})
        if unknown:
            allowed = sorted(_declared_query(route))
            known = f"this route takes {', '.join(repr(a) for a in allowed)}" if allowed else "this route takes none"
            message = f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            close = [m for name in unknown for m in difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)]
            hint = f"did you mean {close[0]!r}?" if close else known
            raise InvalidInput(
                f"Invalid query: {message} ({hint}).",
                [
                    Violation(case_index=None, case_name=None, field=name, pointer="", message=message)
                    for name in unknown
                ],
            )
    await check_text(request)


async def check_text(request: Request) -> None:
    """Refuse (422) a path segment or query value holding text that cannot be stored (NUL, lone surrogate):
    looked up as it is, it would fail in the database rather than simply not be found."""
    texts = [(name, f"path parameter {name!r}", str(value)) for name, value in request.path_params.items()]
    query = request.query_params.multi_items()
    texts += [(name, f"query parameter {name!r}", value) for name, value in query]
    values.check_texts(texts)
