# pyright: strict
"""Client construction shared by both clients: API key, base URL, timeout, headers."""

from __future__ import annotations

import os
from typing import TypeVar

import httpx

from evalset._version import __version__

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "configure"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
API_KEY_ENV = "EVALSET_API_KEY"
BASE_URL_ENV = "EVALSET_BASE_URL"

ClientT = TypeVar("ClientT", httpx.Client, httpx.AsyncClient)


def configure(
    factory: type[ClientT],
    client: ClientT | None,
    api_key: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
) -> ClientT:
    """The httpx client to send through: the one given (completed with key and URL if it lacks them) or a new one."""
    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    base_url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if client is not None:
        if api_key and "authorization" not in client.headers:
            client.headers["authorization"] = f"Bearer {api_key}"
        if not str(client.base_url):
            client.base_url = httpx.URL(base_url)
        return client
    if not api_key:
        raise ValueError(
            f"No evalset API key: pass api_key=... or set {API_KEY_ENV}. Create one on the server with "
            "`evalset keys create --project NAME --scope project:read_datasets --scope project:write_datasets`."
        )
    headers = {"authorization": f"Bearer {api_key}", "user-agent": f"evalset-python/{__version__}"}
    return factory(base_url=base_url, headers=headers, timeout=timeout)
