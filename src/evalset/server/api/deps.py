"""Request plumbing shared by the routes: the database, the caller, JSON responses, dual paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response, StreamingResponse

from evalset.server.domain.auth import READ_DATASETS, WRITE_DATASETS, Principal
from evalset.server.services import keys
from evalset.server.storage import Database

__all__ = ["DB", "Reader", "Writer", "json_response", "stream_response", "dual_route"]


def _db(request: Request) -> Database:
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


def dual_route(router: APIRouter, method: str, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a route at `path` (ending in '/') and without the slash: the clients never follow redirects."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, func, methods=[method], **kwargs)
        router.add_api_route(path.rstrip("/"), func, methods=[method], include_in_schema=False, **kwargs)
        return func

    return decorator
