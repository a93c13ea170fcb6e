"""The first requests a freshly started server answers are right, whichever part of the app they reach first.

Start-up builds only what the first API answer needs: FastAPI analyses a router's routes on the first
request that reaches it, and the web UI's routes and modules are made on the first request to a page (or
the first error page). Each test starts `evalset serve` on its own and sends its requests in one order.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import READ, WRITE, LiveServer, start_server, stop_server

TRACES = "project:write_traces"


@pytest.fixture
def fresh_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(db_url, tmp_path / "server.log")
    yield server
    stop_server(server)


def _page(server: LiveServer) -> None:
    key, _ = server.new_key(READ, WRITE)
    with server.client() as browser:
        signin = browser.get("/signin")
        assert signin.status_code == 200
        assert signin.headers["content-type"].startswith("text/html")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', signin.text)
        assert csrf is not None
        signed_in = browser.post("/signin", data={"csrf_token": csrf.group(1), "next": "", "api_key": key})
        assert signed_in.status_code in (302, 303), signed_in.text
        home = browser.get("/")
        assert home.status_code == 200
        assert home.headers["content-type"].startswith("text/html")
        assert "Sign out" in home.text or "signout" in home.text


def _error_page(server: LiveServer) -> None:
    with server.client() as browser:
        missing = browser.get("/no-such-page")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "There is no page at /no-such-page" in missing.text


def _otlp(server: LiveServer) -> None:
    sender, project = server.new_key(TRACES)
    now = time.time_ns()
    span = {
        "traceId": os.urandom(16).hex(),
        "spanId": os.urandom(8).hex(),
        "name": "first",
        "startTimeUnixNano": now,
        "endTimeUnixNano": now + 1_000,
    }
    body = orjson.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]})
    with server.client(sender) as client:
        answer = client.post("/v1/traces", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        assert "rejectedSpans" not in answer.text  # every span accepted
        refused = client.post("/v1/traces", content=b"{not json", headers={"Content-Type": "application/json"})
        assert refused.status_code == 400


def _api(server: LiveServer) -> None:
    key, _ = server.new_key(READ, WRITE)
    with server.client(key) as client:
        assert client.get("/v1/datasets/").json() == []
        created = client.post("/v1/datasets/", json={"name": "first"})
        assert created.status_code == 201, created.text
        assert [d["name"] for d in client.get("/v1/datasets").json()] == ["first"]  # without the slash too
        assert client.get("/v1/datasets/", headers={"Authorization": "Bearer nope"}).status_code == 401
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.get("/health").json() == {"status": "ok"}
        document = anonymous.get("/openapi.json").json()
        assert "/v1/datasets/" in document["paths"]
        assert list(document["paths"])[-1] == "/health"


ORDERS: dict[str, list[Callable[[LiveServer], None]]] = {
    "page-otlp-api": [_page, _otlp, _api],
    "api-otlp-page": [_api, _otlp, _page],
    "otlp-page-api": [_otlp, _page, _api],
    "error-page-api": [_error_page, _api, _page],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_the_first_requests_reach_every_part(fresh_server: LiveServer, order: str) -> None:
    for step in ORDERS[order]:
        step(fresh_server)
