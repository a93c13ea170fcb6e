"""End-to-end fixtures: the live server (SQLite and PostgreSQL) with a fresh project's key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer


@pytest.fixture
def connect(live_server: LiveServer, key: str) -> dict[str, Any]:
    """Keyword arguments that point a client at the live server with a fresh project's key."""
    return {"api_key": key, "base_url": live_server.base_url}
