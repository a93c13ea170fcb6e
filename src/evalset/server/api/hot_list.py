"""`GET /v1/datasets/`, the API's hot read, answered without FastAPI's routing and dependency resolution.

Those cost about three times what the request costs otherwise once the list is remembered
(`services.datasets.list_datasets`). `HotList` is an ASGI middleware inside the access log: for a plain
list request (GET, no query, no body, a well-formed `Authorization` header, nothing mounted above the app,
FastAPI's own telemetry off) it calls the same services as the route (`api.v1.datasets.list_datasets`):

- from memory on the event loop, when the database's stamp can be read there without blocking it (SQLite: a
  PRAGMA reading shared memory; PostgreSQL: libpq's asynchronous calls; see storage.stamp), the key is
  remembered under it and the list too;
- else on the API's threads, as the route would, in one hop (with the stamp read on the loop, if it was).

It answers only a success, as the route would: same status, headers and body. Anything else (a refused
key, a missing scope, a database that cannot answer, any other request) goes on to the route, which
answers it, errors included: one code path for everything but the success. `tests/server/api/test_hot_list.py`
compares its answers with the route's.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from evalset.server.api.deps import on_endpoint_thread
from evalset.server.domain.auth import READ_DATASETS
from evalset.server.errors import EvalsetError
from evalset.server.logs import ACCESS_KEY
from evalset.server.services import datasets, keys
from evalset.server.storage import Database, Stamp, Unavailable

__all__ = ["HotList"]

_PATHS = frozenset({"/v1/datasets/", "/v1/datasets"})  # app.TrailingSlash serves the second as the first
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class HotList:
    """Answer plain `GET /v1/datasets/` requests as the route would, before FastAPI (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] in _PATHS
            and not scope.get("query_string")
            and not scope.get("root_path")
            and scope.get("fastapi.telemetry") is None
        ):
            authorization = _authorization(scope["headers"])
            if authorization is not None:
                body = await _list(scope, authorization)
                if body is not None:
                    await Response(body, media_type="application/json")(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first Authorization header (as Starlette's `headers.get` gives it), or None when there is none
    or the request has a body."""
    found = None
    for name, value in headers:
        if name == b"authorization":
            if found is None:
                found = value.decode("latin-1")
        elif name in _BODY_HEADERS:
            return None
    return found


async def _list(scope: Scope, authorization: str) -> bytes | None:
    try:
        key, lookup = keys.check_header(authorization)
    except EvalsetError:
        return None
    db: Database = scope["app"].state.db
    access = scope.get(ACCESS_KEY)
    stamp = await db.stamp_on_loop()
    if stamp is not None:
        body = _from_memory(db, key, lookup, stamp, access)
        if body is not None:
            return body
    return await on_endpoint_thread(_read, db, key, lookup, access, stamp)


def _from_memory(db: Database, key: str, lookup: str, stamp: Stamp, access: dict[str, Any] | None) -> bytes | None:
    principal = keys.remembered_principal(db, key, lookup, stamp)
    if principal is None or READ_DATASETS not in principal.scopes:
        return None
    body = datasets.remembered_list(db, principal, stamp)
    if body is not None and access is not None:
        access["project"] = principal.project_id
    return body


def _read(db: Database, key: str, lookup: str, access: dict[str, Any] | None, stamp: Stamp | None) -> bytes | None:
    """What the route does (Caller.principal_seen, then the service), or None where it would not answer 200.
    `stamp`: read on the loop already (before everything read here), else None."""
    try:
        if stamp is None:
            stamp = db.stamp()  # (PostgreSQL: this connects the reader that later loop reads use)
        principal = keys.principal_seen(db, key, lookup, stamp)
        keys.require_scope(principal, READ_DATASETS)
        body = datasets.list_datasets(db, principal, seen=stamp)
    except (EvalsetError, Unavailable):
        return None
    if access is not None:
        access["project"] = principal.project_id
    return body
