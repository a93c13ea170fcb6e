"""The last line of defence: ASGI middleware for what no route or handler answered.

- `InternalErrors` (outermost): any exception that escapes the application becomes a 500 with the
  JSON error shape `{"detail": ..., "request_id": ...}` (an error page on browser paths), and one log
  line carrying the same request id, so an operator finds the failure a user reports. The traceback is
  logged at DEBUG (or inside the line's JSON when the log format is JSON).
- `TargetLimit`: a request target (path and query) longer than `MAX_TARGET_BYTES` is refused with 414
  and the JSON error shape. Much longer request lines (around 64 KiB and more) are refused by the
  HTTP layer (uvicorn's parser) before the application sees them, with its own plain-text 400.
"""

from __future__ import annotations

import logging
import traceback
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["InternalErrors", "TargetLimit", "MAX_TARGET_BYTES", "send_json"]

MAX_TARGET_BYTES = 8 * 1024
"""The longest path plus query string answered (dataset and case names are at most 255 characters)."""

error_log = logging.getLogger("evalset.error")


async def send_json(send: Send, status: int, body: dict[str, object], headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    import orjson

    raw = orjson.dumps(body)
    all_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": raw})


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/site-packages/', 1)[-1]}:{last.lineno} in {last.name}"


class InternalErrors:
    """Turn an unexpected exception into a 500 with a request id, logged once on one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - the point: nothing escapes unanswered
            request_id = uuid.uuid4().hex[:16]
            error_log.error(
                "request_id=%s %s %s failed: %s: %s (at %s)%s",
                request_id,
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
                str(exc).splitlines()[0][:300] if str(exc) else "",
                _where(exc),
                "; the response had started, so it was cut short" if started else "",
                extra={"fields": {"request_id": request_id, "exception": "".join(traceback.format_exception(exc))}},
            )
            error_log.debug("request_id=%s traceback", request_id, exc_info=exc)
            if not started:
                await self._answer(scope, receive, send, exc, request_id)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, exc: Exception, request_id: str) -> None:
        detail = (
            f"Internal server error ({type(exc).__name__}); the server log has the details under "
            f"request id {request_id}."
        )
        headers = [(b"x-request-id", request_id.encode())]
        app = scope.get("app")
        render = getattr(getattr(app, "state", None), "render_error", None)
        if render is not None:
            from starlette.requests import Request

            from evalset.server.errors import EvalsetError, for_pages

            request = Request(scope, receive)
            if for_pages(request):
                try:
                    response = await render(request, EvalsetError(detail))
                    response.headers["x-request-id"] = request_id
                    await response(scope, receive, send)
                    return
                except Exception:  # noqa: BLE001 - the error page itself failed: answer in JSON
                    error_log.debug("request_id=%s the error page failed", request_id, exc_info=True)
        await send_json(send, 500, {"detail": detail, "request_id": request_id}, headers)


class TargetLimit:
    """Refuse request targets over MAX_TARGET_BYTES with 414 and the JSON error shape."""

    def __init__(self, app: ASGIApp, limit: int = MAX_TARGET_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
            if target > self.limit:
                detail = (
                    f"The request target (path and query) is {target:,} bytes long; the limit is "
                    f"{self.limit:,} bytes. Names are at most 255 characters; send long data in a JSON body."
                )
                await send_json(send, 414, {"detail": detail})
                return
        await self.app(scope, receive, send)
