"""Request plumbing shared by the routes: the database, the caller, JSON responses, dual paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

import orjson
from anyio import to_thread
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from evalset.server.domain.auth import READ_DATASETS, WRITE_DATASETS, Principal
from evalset.server.services import keys
from evalset.server.storage import Database

__all__ = ["DB", "Reader", "Writer", "json_response", "stream_response", "json_body", "component_schemas"]


async def _db(request: Request) -> Database:  # async: a sync dependency costs a thread hop
    return request.app.state.db


DB = Annotated[Database, Depends(_db)]


def _principal(scope: str) -> Callable[..., Principal]:
    def dependency(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        principal = keys.authenticate(request.app.state.db, authorization)
        keys.require_scope(principal, scope)
        return principal

    return dependency


Reader = Annotated[Principal, Depends(_principal(READ_DATASETS))]
Writer = Annotated[Principal, Depends(_principal(WRITE_DATASETS))]


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json", headers=headers)


def stream_response(chunks: Iterator[bytes]) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="application/json")


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
