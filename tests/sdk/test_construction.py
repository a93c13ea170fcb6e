"""Building clients: key and URL from arguments or the environment, a pre-built httpx client, closing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from evalset import AsyncDatasetsClient, DatasetsClient
from tests.conftest import LiveServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALSET_API_KEY", raising=False)
    monkeypatch.delenv("EVALSET_BASE_URL", raising=False)


@pytest.mark.parametrize("cls", [DatasetsClient, AsyncDatasetsClient])
def test_a_missing_key_fails_at_construction(cls: type) -> None:
    with pytest.raises(ValueError, match="No evalset API key: pass api_key=... or set EVALSET_API_KEY"):
        cls()
    with pytest.raises(ValueError, match="evalset keys create"):
        cls(api_key="", base_url="http://127.0.0.1:1")


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    client = DatasetsClient(api_key="k")
    assert str(client.client.base_url) == "http://127.0.0.1:8000"
    assert client.client.headers["authorization"] == "Bearer k"
    assert client.client.headers["user-agent"].startswith("evalset-python/")
    assert client.client.timeout == httpx.Timeout(30.0)
    client.close()
    assert client.client.is_closed

    monkeypatch.setenv("EVALSET_API_KEY", "from-env")
    monkeypatch.setenv("EVALSET_BASE_URL", "http://evalset.internal:9000/prefix")
    with DatasetsClient(timeout=5) as client:
        assert client.client.headers["authorization"] == "Bearer from-env"
        assert str(client.client.base_url) == "http://evalset.internal:9000/prefix/"
        assert client.client.timeout == httpx.Timeout(5)
    with DatasetsClient(api_key="explicit", base_url="http://other:1") as client:
        assert client.client.headers["authorization"] == "Bearer explicit"
        assert str(client.client.base_url) == "http://other:1"


def test_environment_reaches_a_live_server(monkeypatch: pytest.MonkeyPatch, live_server: LiveServer, key: str) -> None:
    monkeypatch.setenv("EVALSET_API_KEY", key)
    monkeypatch.setenv("EVALSET_BASE_URL", live_server.base_url)
    with DatasetsClient() as client:
        client.create_dataset("from-env")
        assert [ds["name"] for ds in client.list_datasets()] == ["from-env"]


def test_a_prebuilt_client_is_used_and_completed(live_server: LiveServer, key: str) -> None:
    http = httpx.Client(timeout=7)
    with DatasetsClient(api_key=key, base_url=live_server.base_url, client=http) as client:
        assert client.client is http
        assert client.list_datasets() == []
    assert http.is_closed  # the with block closes the connection

    own_auth = httpx.Client(base_url=live_server.base_url, headers={"Authorization": f"Bearer {key}"})
    with DatasetsClient(api_key="ignored-because-the-client-has-one", client=own_auth) as client:
        assert client.list_datasets() == []
        assert client.client.headers["authorization"] == f"Bearer {key}"


def test_async_client_context_manager_closes(live_server: LiveServer, key: str) -> None:
    async def main() -> tuple[bool, bool]:
        async with AsyncDatasetsClient(api_key=key, base_url=live_server.base_url) as client:
            await client.list_datasets()
            open_inside = not client.client.is_closed
        other = AsyncDatasetsClient(api_key=key, base_url=live_server.base_url)
        await other.aclose()
        return open_inside and client.client.is_closed, other.client.is_closed

    assert asyncio.run(main()) == (True, True)
