"""Fuzz fixtures: the real server on both databases (tests/conftest.py's `live_server`), a key, and the
number of generated examples per operation (`FUZZ_EXAMPLES`, default 15, so CI stays fast; raise it
locally for a deeper search)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import LiveServer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="session")
def fuzz_key(live_server: LiveServer) -> str:
    """A read+write key in a project of its own: generated requests only ever touch that project."""
    return live_server.new_key()[0]
