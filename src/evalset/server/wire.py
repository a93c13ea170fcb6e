"""The server's one JSON encoder: orjson, with every timestamp written the same way.

`2026-11-21T23:25:39.375000+00:00`: always UTC, always six fractional digits, whether the value
is serialised here or rendered by the database (see storage.engine.json_row), so the same moment
never comes back as two different strings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

import orjson

__all__ = ["dumps", "TIMESTAMP_SQLITE_FORMAT"]

TIMESTAMP_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLite stores UTC timestamps (SQLAlchemy's format): sortable as text, six fractional digits."""


@lru_cache(maxsize=1024)  # an import stamps 10,000 cases with the same few moments
def _timestamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _timestamp(value)
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


dumps: Callable[[Any], bytes] = partial(orjson.dumps, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
"""Serialise to JSON bytes (a partial, not a wrapper: it runs for every JSON value written)."""
