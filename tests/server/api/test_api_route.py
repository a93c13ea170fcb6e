"""ApiRoute: the API's sync endpoints run on its own threads, and otherwise exactly as FastAPI runs them."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse

from evalset.server.api.deps import ApiRoute

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


async def _mark() -> str:
    _seen.set("set by a dependency")
    return "dep"


class Refused(Exception):
    pass


def _app(route_class: type[Any]) -> FastAPI:
    router = APIRouter(route_class=route_class, tags=["t"])

    @router.get("/items/{item}/", summary="An item")
    def item(item: int, dep: Annotated[str, Depends(_mark)], q: Annotated[str, Query(description="q")] = "") -> Any:
        """Docstring becomes the description."""
        if item == 0:
            raise Refused("zero")
        return {"item": item, "q": q, "dep": dep, "thread": threading.current_thread().name, "ctx": _seen.get()}

    @router.get("/async/")
    async def asynchronous() -> Any:
        return {"thread": threading.current_thread().name}

    app = FastAPI()
    app.include_router(router, prefix="/v1")

    @app.exception_handler(Refused)
    async def refused(_: Any, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    return app


def _get(app: FastAPI, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_sync_endpoints_run_on_the_api_threads_with_the_request_context() -> None:
    response = _get(_app(ApiRoute), "/v1/items/7/?q=x")
    assert response.status_code == 200
    body = response.json()
    assert body["thread"].startswith("evalset-api")
    assert body | {"thread": None} == {"item": 7, "q": "x", "dep": "dep", "thread": None, "ctx": "set by a dependency"}
    assert not _get(_app(ApiRoute), "/v1/async/").json()["thread"].startswith("evalset-api")  # async ones stay put


def test_validation_errors_exceptions_and_openapi_are_fastapis() -> None:
    ours, theirs = _app(ApiRoute), _app(APIRouter().route_class)
    for path in ("/v1/items/0/", "/v1/items/zz/", "/v1/items/3/?q=1"):
        a, b = _get(ours, path), _get(theirs, path)
        assert (a.status_code, a.json() | {"thread": None}) == (b.status_code, b.json() | {"thread": None})
    assert _get(ours, "/v1/items/0/").status_code == 409
    assert _get(ours, "/v1/items/zz/").status_code == 422
    assert ours.openapi() == theirs.openapi()
