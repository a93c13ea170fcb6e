"""Small helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Text, cast, type_coerce
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")

IN_CHUNK = 500
"""Values per IN (...) list: well under SQLite's bound-parameter limit."""


def json_text(conn: Connection, column: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON column selected as its serialised text, so responses can embed it without re-parsing."""
    if conn.dialect.name == "postgresql":
        return cast(column, Text).label(column.key)
    return type_coerce(column, Text).label(column.key)


def fragment(text: str | None) -> Any:
    """Serialised JSON from the database, embedded as-is by orjson.dumps (None stays null)."""
    return None if text is None else orjson.Fragment(text)


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
