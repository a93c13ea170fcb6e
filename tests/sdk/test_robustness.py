"""Retries (idempotent requests only), chunked uploads with progress, and the sync client inside an event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from evalset import AsyncDatasetsClient, DatasetApiError, DatasetsClient
from evalset._retry import RetryPolicy
from tests.conftest import LiveServer
from tests.sdk.models import QuestionInput

FAST = RetryPolicy(retries=3, backoff=0.001)
DETAIL = {"id": "6f1c3d0e-8d3b-4a51-9d7e-0f3a0c6f5b21", "name": "ds"}

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*steps: int | type[Exception]) -> tuple[Handler, list[str]]:
    """A transport answering with these statuses (or raising these errors) in turn, then 200; logs each method."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        step = steps[len(seen) - 1] if len(seen) <= len(steps) else 200
        if isinstance(step, type):
            raise step("scripted failure", request=request)  # type: ignore[call-arg]
        body = [] if request.url.path == "/v1/datasets/" and request.method == "GET" else DETAIL
        return httpx.Response(step, json=body if step < 400 else {"detail": "Service unavailable"})

    return handler, seen


def sync_client(handler: Handler) -> DatasetsClient:
    client = DatasetsClient(api_key="k", client=httpx.Client(transport=httpx.MockTransport(handler)))
    client.retry_policy = FAST
    return client


def run_async(handler: Handler, call: Callable[[AsyncDatasetsClient], Any]) -> Any:
    async def main() -> Any:
        transport = httpx.MockTransport(handler)
        async with AsyncDatasetsClient(api_key="k", client=httpx.AsyncClient(transport=transport)) as client:
            client.retry_policy = FAST
            return await call(client)

    return asyncio.run(main())


@pytest.mark.parametrize("status", [502, 503, 504])
def test_idempotent_requests_are_retried_on_gateway_errors(status: int) -> None:
    handler, seen = scripted(status, status)
    with sync_client(handler) as client:
        assert client.get_dataset("ds")["name"] == "ds"
        assert client.delete_dataset("ds") is None
    assert seen == ["GET", "GET", "GET", "DELETE"]
    handler, seen = scripted(status)
    assert run_async(handler, lambda client: client.list_datasets()) == []
    assert seen == ["GET", "GET"]


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError])
def test_idempotent_requests_are_retried_on_connection_errors(error: type[Exception]) -> None:
    handler, seen = scripted(error, error, error)
    with sync_client(handler) as client:
        assert client.list_datasets() == []
    assert seen == ["GET"] * 4
    handler, seen = scripted(error, error, error, error)
    with sync_client(handler) as client, pytest.raises(error):
        client.list_datasets()
    assert seen == ["GET"] * 4  # one try and three retries, then the error surfaces


def test_post_and_patch_are_never_resent() -> None:
    for call, method in [
        (lambda c: c.create_dataset("ds"), "POST"),
        (lambda c: c.update_dataset("ds", description="x"), "PATCH"),
        (lambda c: c.import_cases("ds", [{"inputs": 1}]), "POST"),
    ]:
        handler, seen = scripted(503)
        with sync_client(handler) as client, pytest.raises(DatasetApiError) as caught:
            call(client)
        assert caught.value.status_code == 503 and seen == [method]
        handler, seen = scripted(httpx.ConnectError)
        with pytest.raises(httpx.ConnectError):
            run_async(handler, call)
        assert seen == [method]


def test_other_errors_are_not_retried() -> None:
    handler, seen = scripted(500)
    with sync_client(handler) as client, pytest.raises(DatasetApiError):
        client.list_datasets()
    handler, seen = scripted(httpx.ReadTimeout)
    with sync_client(handler) as client, pytest.raises(httpx.ReadTimeout):
        client.list_datasets()
    assert seen == ["GET"]


def test_backoff_grows_and_honours_retry_after() -> None:
    policy = RetryPolicy(retries=4, backoff=1.0, max_delay=5.0)
    delays = [policy.delay(idempotent=True, attempt=n, status=503) or 0.0 for n in range(4)]
    bounds = [(0.5, 1), (1, 2), (2, 4), (2.5, 5)]  # base * 2**attempt, capped, times jitter in [0.5, 1]
    assert all(low <= delay <= high for delay, (low, high) in zip(delays, bounds, strict=True)), delays
    assert policy.delay(idempotent=True, attempt=4, status=503) is None
    assert policy.delay(idempotent=True, attempt=0, status=503, retry_after="3") == 3.0
    assert policy.delay(idempotent=True, attempt=0, status=503, retry_after="120") == 5.0
    assert policy.delay(idempotent=False, attempt=0, status=503) is None
    assert RetryPolicy(retries=0).delay(idempotent=True, attempt=0, status=503) is None


def _counting_client(live_server: LiveServer, key: str, requests: list[str]) -> DatasetsClient:
    def log(request: httpx.Request) -> None:
        requests.append(f"{request.method} {request.url.path}")

    http = httpx.Client(base_url=live_server.base_url, event_hooks={"request": [log]})
    return DatasetsClient(api_key=key, client=http)


def test_large_uploads_go_in_chunks_with_progress(live_server: LiveServer, key: str) -> None:
    requests: list[str] = []
    progress: list[tuple[int, int]] = []
    with _counting_client(live_server, key, requests) as client:
        client.create_dataset("big", input_type=QuestionInput)
        cases = [{"name": f"c{i}", "inputs": {"question": f"q{i}"}} for i in range(7)]
        saved = client.add_cases("big", cases, chunk_size=3, on_progress=lambda *p: progress.append(p))
        assert [case["name"] for case in saved] == [f"c{i}" for i in range(7)]
        assert requests.count("POST /v1/datasets/big/import/") == 3
        assert progress == [(3, 7), (6, 7), (7, 7)]
        with pytest.raises(ValueError, match="chunk_size must be at least 1"):
            client.import_cases("big", cases, chunk_size=0)


def test_a_failing_chunk_says_what_was_saved(live_server: LiveServer, key: str) -> None:
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        client.create_dataset("big", input_type=QuestionInput)
        cases: list[dict[str, Any]] = [{"name": f"c{i}", "inputs": {"question": f"q{i}"}} for i in range(6)]
        cases[4]["inputs"] = {"question": 4}
        with pytest.raises(DatasetApiError) as caught:
            client.import_cases("big", cases, chunk_size=2)
        error = caught.value
        assert [(e["case_index"], e["case_name"]) for e in error.errors] == [(4, "c4")]
        assert "chunk 3 of 3 (cases 4-5" in str(error) and "the 4 cases before it were saved" in str(error)
        assert "case 4 ('c4'), field 'inputs' at '/question'" in str(error)
        assert [case["name"] for case in client.list_cases("big")] == ["c0", "c1", "c2", "c3"]


def test_push_dataset_uploads_in_chunks(live_server: LiveServer, key: str) -> None:
    from pydantic_evals import Case, Dataset

    local = Dataset[QuestionInput, None, None](
        name="pushed", cases=[Case(name=f"c{i}", inputs=QuestionInput(f"{i}")) for i in range(5)]
    )
    progress: list[tuple[int, int]] = []

    async def main() -> dict[str, Any]:
        async with AsyncDatasetsClient(api_key=key, base_url=live_server.base_url) as client:
            return dict(await client.push_dataset(local, chunk_size=2, on_progress=lambda *p: progress.append(p)))

    assert asyncio.run(main())["case_count"] == 5
    assert progress == [(2, 5), (4, 5), (5, 5)]


def test_the_sync_client_works_inside_a_running_event_loop(live_server: LiveServer, key: str) -> None:
    """It never starts a loop of its own, so it works in Jupyter and in async code."""

    async def main() -> list[str]:
        with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
            client.create_dataset("in-loop")
            return [ds["name"] for ds in client.list_datasets()]

    assert asyncio.run(main()) == ["in-loop"]


def test_async_client_runs_concurrent_requests(live_server: LiveServer, key: str) -> None:
    async def main() -> list[int]:
        async with AsyncDatasetsClient(api_key=key, base_url=live_server.base_url) as client:
            await client.create_dataset("conc", input_type=QuestionInput)
            await asyncio.gather(
                *(client.create_case("conc", inputs=QuestionInput(f"{i}"), name=f"n{i}") for i in range(8))
            )
            details = await asyncio.gather(*(client.get_dataset("conc") for _ in range(4)))
            return [detail["case_count"] for detail in details]

    assert asyncio.run(main()) == [8, 8, 8, 8]
