"""Server logs: one access line per request, text or JSON, at a configurable level.

```
2026-11-22T04:30:00.123Z INFO  evalset.access GET /v1/datasets/ 200 3.1ms project=4f1c... client=127.0.0.1
{"time": "2026-11-22T04:30:00.123Z", "level": "info", "logger": "evalset.access", "message": "GET ...",
 "method": "GET", "path": "/v1/datasets/", "status": 200, "duration_ms": 3.1, "project": "4f1c...", ...}
```
Successes log at INFO, 4xx at WARNING, 5xx at ERROR, so client and server errors show at the default
level (INFO) and at WARNING too. The API key is never logged (nor any header). Start-up lines go to
stdout through the `evalset.start` logger (plain text, or JSON); everything else to stderr.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LEVELS", "FORMATS", "configure_logging", "AccessLog", "JsonFormatter", "ACCESS_KEY", "start_log"]

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
ACCESS_KEY = "evalset.access"
"""The ASGI scope key of a request's access record: what the route learns (its project) goes there."""

access_log = logging.getLogger("evalset.access")
start_log = logging.getLogger("evalset.start")
_FIELDS = ("method", "path", "status", "duration_ms", "project", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's `fields` (access lines)."""

    def format(self, record: logging.LogRecord) -> str:
        import orjson

        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class _TextFormatter(logging.Formatter):
    formatTime = JsonFormatter.formatTime  # noqa: N815 - one timestamp format for both


def configure_logging(level: str = "info", fmt: Literal["text", "json"] = "text") -> None:
    """Route evalset's and uvicorn's loggers to stderr (start-up lines to stdout) in the chosen format."""
    numeric = getattr(logging, level.upper())
    text = fmt == "text"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if not text else _TextFormatter("%(asctime)s %(levelname)-7s %(name)s %(message)s")
    )
    # Neither format shows where a line was logged from, nor the thread or process: logging's documented
    # switches spare gathering them for every record (a stack walk, among others): about a fifth of an
    # access line's cost, which is paid on every request.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        # their start-up chatter ("Running upgrade", "Waiting for application startup") only when debugging
        logger.setLevel(logging.DEBUG if numeric <= logging.DEBUG else max(numeric, logging.WARNING))
    start = logging.StreamHandler(sys.stdout)
    start.setFormatter(JsonFormatter() if not text else logging.Formatter("%(message)s"))
    start_log.handlers[:] = [start]
    start_log.propagate = False
    start_log.setLevel(logging.INFO)  # what the operator needs to find the server, whatever the level


class AccessLog:
    """ASGI middleware writing one line per HTTP request once its response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record: dict[str, Any] = {"status": 500}
        scope[ACCESS_KEY] = record

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            status = record["status"]
            level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
            if access_log.isEnabledFor(level):
                _log(level, scope, record, (time.perf_counter() - started) * 1000)


def _log(level: int, scope: Scope, record: dict[str, Any], duration_ms: float) -> None:
    path = scope["path"]
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")
    client = scope.get("client")
    values = (
        scope["method"],
        path,
        record["status"],
        round(duration_ms, 1),
        record.get("project"),
        client and client[0],
    )
    fields = dict(zip(_FIELDS, values, strict=True))
    text = [value if value is not None else "-" for value in values]
    access_log.log(level, "%s %s %d %.1fms project=%s client=%s", *text, extra={"fields": fields})
