"""The harness itself: a response the clients cannot validate must fail the suite, not just warn."""

from __future__ import annotations

import warnings

import httpx
import pytest
from logfire.experimental.api_client import LogfireAPIClient

from .conftest import fail_on_warnings


def test_a_response_the_client_cannot_validate_fails_even_when_warnings_are_ignored() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    client = LogfireAPIClient(client=httpx.Client(transport=transport, base_url="http://drift.invalid"))
    with client, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert client.list_datasets() == {"items": []}  # the client alone only warns
        with pytest.raises(UserWarning, match="did not match the expected schema"):
            fail_on_warnings(client.list_datasets)()
