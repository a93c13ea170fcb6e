"""The ASGI application, built by `create_app(settings)`; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evalset import __version__
from evalset.server.domain.spans import SpanConsumer
from evalset.server.errors import install_handlers
from evalset.server.failures import InternalErrors, TargetLimit
from evalset.server.logs import AccessLog
from evalset.server.settings import Settings
from evalset.server.storage import Database, migrate

__all__ = ["create_app"]


_SLASHED = ("/v1/datasets", "/v1/experiments", "/v1/traces", "/v1/logs", "/v1/metrics", "/v1/info")


class TrailingSlash:
    """Serve `/v1/datasets...`, `/v1/experiments...` and the trace paths (`/v1/traces`, `/v1/logs`,
    `/v1/metrics`, `/v1/info`: OTLP exporters post without a slash) without the trailing slash exactly as
    with it: no redirect, since Logfire's clients do not follow redirects, and no second copy of every route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_SLASHED) and not path.endswith("/"):
                scope = {**scope, "path": path + "/", "raw_path": scope.get("raw_path", path.encode()) + b"/"}
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413, f"Request body is larger than the {self.limit:,}-byte limit (EVALSET_MAX_BODY_BYTES)."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _send_json(send, 413, str(self._too_large().detail))
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)


async def _send_json(send: Send, status: int, detail: str) -> None:
    import orjson

    body = orjson.dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Health(BaseModel):
    status: Literal["ok"]


def _document_json_bodies(app: FastAPI) -> None:
    """Add the schemas of bodies parsed by `json_body` (not FastAPI) to the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from evalset.server.api.inputs import component_schemas
            from evalset.server.api.openapi import complete_document

            bodies = component_schemas()  # first: this fills in the routes' request body texts
            schema = generate()
            paths = schema.get("paths", {})
            if "/health" in paths:  # listed last, as the document always had it (it is routed first)
                paths["/health"] = paths.pop("/health")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(bodies)
            app.openapi_schema = complete_document(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def builtin_span_consumers(settings: Settings) -> list[SpanConsumer]:
    """The consumers every server runs on each committed batch of spans (the experiments decoder, ...).
    Add a built-in consumer here; tests and embedders pass more to `create_app(span_consumers=...)`."""
    from evalset.server.services.experiment_telemetry import record_experiments

    return [record_experiments]


def create_span_writer(settings: Settings, database: Database, consumers: Sequence[SpanConsumer]) -> Any:
    from evalset.server.otlp.writer import SpanWriter

    retention = timedelta(days=settings.trace_retention_days) if settings.trace_retention_days else None
    return SpanWriter(
        database,
        consumers=[*builtin_span_consumers(settings), *consumers],
        max_queued_spans=settings.trace_queue_spans,
        retention=retention,
    )


def _install_health(app: FastAPI) -> None:
    @app.get(
        "/health",
        tags=["server"],
        summary="Health check",
        response_model=Health,
        responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
    )
    def health() -> dict[str, Any]:
        """Answers 200 `{"status": "ok"}` while the server runs; needs no key (for load balancers and Docker)."""
        return {"status": "ok"}


def create_app(
    settings: Settings | None = None, *, db: Database | None = None, span_consumers: Sequence[SpanConsumer] = ()
) -> FastAPI:
    """Build the application: connect, migrate, mount the API, set up the span writer (`app.state.span_writer`,
    which calls `span_consumers` after each committed batch). Tests inject their own settings or database."""
    from evalset.server.api import v1
    from evalset.server.api.hot_list import HotList
    from evalset.server.web import install_web

    settings = settings or Settings()
    database = db or Database(settings.resolved_database_url())
    migrate(database)
    writer = create_span_writer(settings, database, span_consumers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        writer.start()
        yield
        writer.stop()  # commits what is still queued

    app = FastAPIOffline(  # FastAPI, with /docs and /redoc assets served from the package: no CDN
        lifespan=lifespan,
        title="evalset",
        version=__version__,
        description="Managed evaluation datasets for pydantic-evals; wire-compatible with Logfire's dataset clients.",
        redirect_slashes=False,
    )
    app.state.db = database
    app.state.settings = settings
    app.state.span_writer = writer
    install_handlers(app)
    _install_health(app)  # before the API and the pages: answering it builds none of their routes
    app.include_router(v1.router, prefix=v1.PREFIX)
    install_web(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(TrailingSlash)
    app.add_middleware(TargetLimit)
    app.add_middleware(HotList)  # the dataset list before FastAPI's routing (inside the access log)
    app.add_middleware(AccessLog)  # every response is logged, 413s from BodyLimit and 414s included
    app.add_middleware(InternalErrors)  # outermost: an exception that escapes everything becomes a logged 500
    _document_json_bodies(app)
    return app
