"""End-to-end fixtures: the live server (SQLite and PostgreSQL) with a fresh project's key."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import LiveServer


@pytest.fixture
def connect(live_server: LiveServer, key: str) -> dict[str, Any]:
    """Keyword arguments that point a client at the live server with a fresh project's key."""
    return {"api_key": key, "base_url": live_server.base_url}


def run_cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the real `evalset ...` command in a subprocess; returns (exit code, stdout, stderr)."""
    environment = {**os.environ, **(env or {})}
    command = [sys.executable, "-m", "evalset.server.cli", *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def cli(live_server: LiveServer, key: str):  # noqa: ANN201
    """`evalset ...` with --api-key/--base-url of a fresh project, as a subprocess: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        return run_cli(*argv, "--api-key", key, "--base-url", live_server.base_url)

    return run
