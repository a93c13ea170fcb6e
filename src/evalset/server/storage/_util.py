"""Small helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

IN_CHUNK = 500
"""Values per IN (...) list: well under SQLite's bound-parameter limit."""


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def records(result: Any) -> Iterator[dict[str, Any]]:
    """Rows of a result as plain dicts (str keys: SQLAlchemy's quoted_name keys trip orjson)."""
    keys = [str(k) for k in result.keys()]  # noqa: SIM118 - a Result, not a dict
    for row in result:
        yield dict(zip(keys, row, strict=True))


def first_record(result: Any) -> dict[str, Any] | None:
    return next(records(result), None)
