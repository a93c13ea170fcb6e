"""Request plumbing shared by the routes: the database, the caller, JSON responses (bodies: `inputs`)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPBearer

from evalset.server.domain.auth import READ_DATASETS, WRITE_DATASETS, WRITE_TRACES, Principal
from evalset.server.logs import ACCESS_KEY
from evalset.server.routing import DeclaredRoute
from evalset.server.services import keys
from evalset.server.storage import Database, Stamp
from evalset.server.wire import dumps

__all__ = [
    "DB",
    "Caller",
    "Reader",
    "Writer",
    "TraceWriter",
    "AnyKey",
    "ApiRoute",
    "json_response",
    "json_bytes_response",
    "on_endpoint_thread",
    "stream_response",
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
        return self.principal_seen()[0]

    def principal_seen(self) -> tuple[Principal, Stamp | None]:
        """The principal, and the database's stamp read before its key was checked (for a service that
        remembers what it read: `services.datasets.list_datasets`)."""
        stamp = self.db.stamp()
        principal = keys.principal_seen(self.db, self.key, self.lookup, stamp)
        if self.access is not None:
            self.access["project"] = principal.project_id
        if self.scope is not None:
            keys.require_scope(principal, self.scope)
        return principal, stamp


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


def json_bytes_response(body: bytes) -> Response:
    """A 200 whose body is JSON already serialised."""
    return Response(body, media_type="application/json")


def stream_response(chunks: Iterator[bytes], headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="application/json", headers=headers)


# --- the thread a route's blocking work runs on ------------------------------------------------------
# A sync endpoint does a request's database work (and its key check: Caller.principal) in one go, off
# the event loop. FastAPI would send it through anyio's to_thread, whose capacity limiter, cancel scopes
# and worker queue cost about twice a plain executor's hop (~120 against ~55 us of CPU per request on a
# small machine); with a 0.2 ms request that is a large share. Same semantics otherwise: the endpoint
# runs in a copy of the request's context, its exceptions reach the same handlers, and at most
# ENDPOINT_THREADS run at once (anyio's default is 40; the connection pool holds 32).

ENDPOINT_THREADS = 32
T = TypeVar("T")
_endpoints = ThreadPoolExecutor(max_workers=ENDPOINT_THREADS, thread_name_prefix="evalset-api")


async def on_endpoint_thread(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` on the API's threads, in a copy of the caller's context."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_endpoints, call)


def _in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the signature and annotations through __wrapped__
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await on_endpoint_thread(endpoint, *args, **kwargs)

    return run


class ApiRoute(DeclaredRoute):
    """The API's routes (`APIRouter(route_class=ApiRoute)`): a sync endpoint runs on the API's own
    threads (see ENDPOINT_THREADS) instead of anyio's; analysed when first reached (`DeclaredRoute`);
    everything else is FastAPI's."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)
