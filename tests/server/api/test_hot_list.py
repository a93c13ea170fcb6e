"""api.hot_list answers `GET /v1/datasets/` exactly as the route does: each request below is sent to an app with
it and to one without it (two processes' worth: each app has its own Database), and the answers are compared."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from evalset.server.api import hot_list
from evalset.server.app import create_app
from evalset.server.services import keys
from evalset.server.settings import Settings
from evalset.server.storage import Database, Unavailable
from evalset.server.storage import datasets as store

READ, WRITE = "project:read_datasets", "project:write_datasets"


def _apps(db_url: str) -> Iterator[tuple[FastAPI, FastAPI]]:
    settings = Settings(database_url=db_url)
    hot = create_app(settings, db=Database(db_url))
    route = create_app(settings, db=Database(db_url))
    route.user_middleware = [m for m in route.user_middleware if m.cls is not hot_list.HotList]
    assert len(route.user_middleware) == len(hot.user_middleware) - 1
    yield hot, route
    keys.settle()
    for app in (hot, route):
        app.state.db.dispose()


@pytest.fixture
def apps(db_url: str) -> Iterator[tuple[FastAPI, FastAPI]]:
    yield from _apps(db_url)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each request HotList looked at: whether it answered (True) or left it to the route (False)."""
    seen: list[bool] = []
    real = hot_list._list

    async def spying(scope: Any, authorization: str) -> bytes | None:
        body = await real(scope, authorization)
        seen.append(body is not None)
        return body

    monkeypatch.setattr(hot_list, "_list", spying)
    return seen


def _send(app: FastAPI, method: str, path: str, headers: list[tuple[str, str]], content: bytes | None = None) -> Any:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, headers=headers, content=content)

    response = asyncio.run(go())
    return response.status_code, response.headers.multi_items(), response.content


def _both(apps: tuple[FastAPI, FastAPI], method: str, path: str, headers: list[tuple[str, str]], **kw: Any) -> Any:
    hot, route = (_send(app, method, path, headers, **kw) for app in apps)
    assert hot == route, (method, path, headers)
    return hot


def _bearer(secret: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {secret}")]


def _create(app: FastAPI, secret: str, name: str) -> None:
    headers = [*_bearer(secret), ("Content-Type", "application/json")]
    assert _send(app, "POST", "/v1/datasets/", headers, content=b'{"name": "%s"}' % name.encode())[0] == 201


def test_answers_as_the_route_does(apps: tuple[FastAPI, FastAPI], answered: list[bool]) -> None:
    hot, _ = apps
    db = hot.state.db
    reader, _ = keys.create_key(db, project="p", scopes=[READ])
    writer, _ = keys.create_key(db, project="p", scopes=[WRITE])
    empty, _ = keys.create_key(db, project="empty", scopes=[READ, WRITE])
    for name in ("b", "a"):
        _create(hot, writer, name)
    forged = reader[:-4] + ("AAAA" if not reader.endswith("AAAA") else "BBBB")
    unknown = keys.check_header(f"Bearer {reader}")[1]
    # method, path, headers, and whether HotList answers (True), leaves it to the route (False), or lets it by
    requests: list[tuple[str, str, list[tuple[str, str]], bool | None]] = [
        ("GET", "/v1/datasets/", _bearer(reader), True),  # first: read on a thread
        ("GET", "/v1/datasets/", _bearer(reader), True),  # then from memory
        ("GET", "/v1/datasets", _bearer(reader), True),
        ("GET", "/v1/datasets/", [("Authorization", f"bearer   {reader}  ")], True),
        ("GET", "/v1/datasets/", _bearer(empty), True),
        ("GET", "/v1/datasets/", [("Authorization", f"Bearer {reader}"), ("Authorization", "Bearer x")], True),
        ("GET", "/v1/datasets/", [("Authorization", "Bearer x"), ("Authorization", f"Bearer {reader}")], False),
        ("GET", "/v1/datasets/", [], None),
        ("GET", "/v1/datasets/", [("Authorization", reader)], False),  # a bare key: only for traces and /v1/info
        ("GET", "/v1/datasets/", [("Authorization", f"Basic {reader}")], False),
        ("GET", "/v1/datasets/", _bearer(forged), False),
        ("GET", "/v1/datasets/", _bearer(reader.replace(unknown, "0" * 12)), False),
        ("GET", "/v1/datasets/", _bearer(writer), False),  # lacks the read scope: 403
        ("GET", "/v1/datasets/?limit=5", _bearer(reader), None),
        ("GET", "/v1/datasets/?", _bearer(reader), True),
        ("HEAD", "/v1/datasets/", _bearer(reader), None),
        ("GET", "/v1/datasets//", _bearer(reader), None),
        ("GET", "/v1/datasets/", [*_bearer(reader), ("Content-Length", "0")], None),
    ]
    statuses = []
    for method, path, headers, answers in requests:
        before = len(answered)
        statuses.append(_both(apps, method, path, headers)[0])
        assert answered[before:] == ([] if answers is None else [answers]), (method, path, headers)
    assert statuses == [200] * 6 + [401] * 6 + [403, 422, 200, 405, 404, 200]


def test_a_revoked_key_and_a_new_dataset_are_seen_at_once(
    apps: tuple[FastAPI, FastAPI], answered: list[bool], db_url: str
) -> None:
    hot, _ = apps
    other = Database(db_url)  # a third process
    try:
        secret, _ = keys.create_key(other, project="p", scopes=[READ, WRITE])
        assert _both(apps, "GET", "/v1/datasets/", _bearer(secret))[2] == b"[]"
        assert _both(apps, "GET", "/v1/datasets/", _bearer(secret))[2] == b"[]"
        _create(hot, secret, "new")
        _, _, body = _both(apps, "GET", "/v1/datasets/", _bearer(secret))
        assert [row["name"] for row in orjson.loads(body)] == ["new"]
        keys.revoke_key(other, key=secret)
        keys.settle()
        assert _both(apps, "GET", "/v1/datasets/", _bearer(secret))[0] == 401
        assert answered == [True, True, True, False]
    finally:
        other.dispose()


def test_the_access_line_is_the_routes(
    apps: tuple[FastAPI, FastAPI], answered: list[bool], caplog: pytest.LogCaptureFixture
) -> None:
    secret, _ = keys.create_key(apps[0].state.db, project="p", scopes=[READ])
    lines = []
    for app in apps:
        for headers in (_bearer(secret), _bearer(secret), []):
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="evalset.access"):
                _send(app, "GET", "/v1/datasets", headers)
            (record,) = [r for r in caplog.records if r.name == "evalset.access"]
            lines.append((record.levelno, {**record.fields, "duration_ms": None}))  # type: ignore[attr-defined]
    assert lines[:3] == lines[3:]
    assert lines[0][1]["project"] is not None and lines[0][1]["path"] == "/v1/datasets"
    assert answered == [True, True]  # (no key: not looked at)


def test_a_database_that_cannot_answer_is_the_routes_503(
    apps: tuple[FastAPI, FastAPI], answered: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, _ = keys.create_key(apps[0].state.db, project="p", scopes=[READ])

    def down(db: Database, *, project_id: str) -> Any:
        raise Unavailable("connection refused")

    monkeypatch.setattr(store, "list_datasets", down)
    status, headers, _ = _both(apps, "GET", "/v1/datasets/", _bearer(secret))
    assert status == 503 and ("retry-after", "2") in headers
    assert answered == [False]


def test_the_openapi_document_is_unchanged(apps: tuple[FastAPI, FastAPI]) -> None:
    assert _both(apps, "GET", "/openapi.json", [])[0] == 200
