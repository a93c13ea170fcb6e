"""Request plumbing shared by the routes: the database, the caller, JSON bodies and responses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from anyio import to_thread
from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import TypeAdapter, ValidationError

from evalset.server.domain.auth import READ_DATASETS, WRITE_DATASETS, WRITE_TRACES, Principal
from evalset.server.logs import ACCESS_KEY
from evalset.server.services import keys
from evalset.server.storage import Database
from evalset.server.wire import dumps

__all__ = [
    "DB",
    "Caller",
    "Reader",
    "Writer",
    "TraceWriter",
    "AnyKey",
    "json_response",
    "stream_response",
    "json_body",
    "component_schemas",
]


async def _db(request: Request) -> Database:  # async: a sync dependency costs a thread hop
    return request.app.state.db


DB = Annotated[Database, Depends(_db)]


@dataclass(frozen=True, slots=True)
class Caller:
    """A request's credentials. A missing or malformed header is refused before anything else; the key
    itself is looked up when the route asks (`principal()`), inside the route's worker thread, so a
    request costs one thread hop instead of two (a hop costs more than the lookup on small machines)."""

    db: Database
    key: str
    lookup: str
    scope: str | None  # None: any valid key will do
    access: dict[str, Any] | None = None  # the request's access-log record: it names the project

    def principal(self) -> Principal:
        principal = keys.principal_for(self.db, self.key, self.lookup)
        if self.access is not None:
            self.access["project"] = principal.project_id
        if self.scope is not None:
            keys.require_scope(principal, self.scope)
        return principal


_bearer = HTTPBearer(auto_error=False, description="An evalset API key: `Authorization: Bearer evalset_...`")


def _caller(scope: str | None, *, allow_bare: bool = False) -> Callable[..., Any]:
    async def dependency(request: Request, _: Annotated[Any, Security(_bearer)]) -> Caller:
        key, lookup = keys.check_header(request.headers.get("authorization"), allow_bare=allow_bare)
        access = request.scope.get(ACCESS_KEY)
        return Caller(db=request.app.state.db, key=key, lookup=lookup, scope=scope, access=access)

    return dependency


Reader = Annotated[Caller, Depends(_caller(READ_DATASETS))]
Writer = Annotated[Caller, Depends(_caller(WRITE_DATASETS))]
TraceWriter = Annotated[Caller, Depends(_caller(WRITE_TRACES, allow_bare=True))]
"""OTLP exports: a key with project:write_traces, as `Bearer <key>` or the bare key (the logfire SDK's way)."""
AnyKey = Annotated[Caller, Depends(_caller(None, allow_bare=True))]
"""Any valid key, Bearer or bare (GET /v1/info)."""


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(content), status_code=status_code, media_type="application/json", headers=headers)


def stream_response(chunks: Iterator[bytes], headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="application/json", headers=headers)


T = TypeVar("T")
_components: dict[str, Any] = {}
_INLINE_LIMIT = 64 * 1024  # bodies larger than this are parsed off the event loop


def json_body(adapter: TypeAdapter[T]) -> tuple[Any, dict[str, Any]]:
    """A dependency parsing the body with `adapter` from raw bytes, and the OpenAPI text describing it.

    Use as `body: Annotated[X, dep]` with `openapi_extra=doc` on the route.
    """

    async def parse(request: Request) -> T:
        raw = await request.body()
        try:
            if len(raw) > _INLINE_LIMIT:
                return await to_thread.run_sync(adapter.validate_json, raw)
            return adapter.validate_json(raw)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
            raise RequestValidationError(errors, body=_best_effort(raw)) from None

    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    _components.update(schema.pop("$defs", {}))
    doc = {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
    return Depends(parse), doc


def _best_effort(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def component_schemas() -> dict[str, Any]:
    """Schemas referenced by `json_body` request bodies, for the OpenAPI document's components."""
    return dict(_components)
