"""Logfire's own dataset clients, sync and async, driving the real evalset server.

Every scenario runs under both `LogfireAPIClient` and `AsyncLogfireAPIClient` (the `lf` fixture)
on both backends (the `live_server` fixture). The async client is driven by `AsyncDriver`, which
awaits each real coroutine method on one private event loop, so a scenario is written once.

The clients need `logfire-sdk==5.4.0` and its dependencies: see `tests/compat/requirements.txt`.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import LiveServer

try:
    # Not skipped when missing: a compatibility suite that silently does nothing proves nothing.
    import logfire.experimental.api_client as api_client
except ImportError as exc:  # pragma: no cover - a set-up error, reported loudly
    raise ImportError(
        "the compatibility suite needs Logfire's clients: `make install`, or install "
        "tests/compat/requirements.txt with --no-deps and then tests/compat/requirements-deps.txt"
    ) from exc

CLIENT_KINDS = ("sync", "async")


class SyncDriver:
    """`LogfireAPIClient` with `base_url` pointing at the live server."""

    def __init__(self, key: str, base_url: str) -> None:
        self.client = api_client.LogfireAPIClient(api_key=key, base_url=base_url)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return fail_on_warnings(getattr(self.client, name))

    def close(self) -> None:
        self.client.client.close()


class AsyncDriver:
    """`AsyncLogfireAPIClient` with each method run to completion on one event loop of its own."""

    def __init__(self, key: str, base_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = api_client.AsyncLogfireAPIClient(api_key=key, base_url=base_url)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.loop.run_until_complete(method(*args, **kwargs))

        return fail_on_warnings(call)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.client.aclose())
        self.loop.close()


Driver = SyncDriver | AsyncDriver


def fail_on_warnings(call: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every warning into an error during the call.

    The clients validate each response against their TypedDicts and, when it does not match,
    only warn and hand back the raw data; this makes such a mismatch fail whatever pytest's
    warning filters are.
    """

    def strict_call(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return call(*args, **kwargs)

    return strict_call


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_lf(live_server: LiveServer, client_kind: str) -> Iterator[Callable[[str], Driver]]:
    """Build a Logfire client of this test's kind for any key: make_lf(key)."""
    opened: list[Driver] = []

    def make(key: str) -> Driver:
        driver = (
            SyncDriver(key, live_server.base_url) if client_kind == "sync" else AsyncDriver(key, live_server.base_url)
        )
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        driver.close()


@pytest.fixture
def lf(make_lf: Callable[[str], Driver], key: str) -> Driver:
    """A Logfire client (sync or async) with a read+write key of a fresh project."""
    return make_lf(key)
