"""Case rules: building new cases, applying updates and upserts, versions, the export shape."""

from __future__ import annotations

import os
import time
import unicodedata
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

__all__ = [
    "Actor",
    "SeenNames",
    "CONTENT_FIELDS",
    "EXPORT_FIELDS",
    "new_ids",
    "normalize_evaluators",
    "new_case",
    "apply_patch",
    "apply_upsert",
    "parse_if_match",
    "export_case",
    "public_case",
    "PUBLIC_FIELDS",
    "SEARCH_FIELD_CHARS",
    "search_text",
    "search_pattern",
]

CONTENT_FIELDS = ("inputs", "expected_output", "metadata", "evaluators")
"""What an upsert replaces; tags and source links are kept when an upsert does not send them."""

EXPORT_FIELDS = ("name", "inputs", "metadata", "expected_output", "evaluators")
"""The only case keys pydantic-evals accepts in a dataset file."""

PUBLIC_FIELDS = (
    "id",
    "dataset_id",
    "name",
    "inputs",
    "expected_output",
    "metadata",
    "evaluators",
    "tags",
    "source_trace_id",
    "source_span_id",
    "source_span",
    "version",
    "created_at",
    "created_by",
    "created_by_name",
    "updated_at",
    "updated_by",
    "updated_by_name",
)
"""A case as clients see it (stored records also carry `last_op` and `seq`)."""

_CLEARED: dict[str, Any] = {"evaluators": [], "tags": []}
"""Fields whose 'null' means 'empty list' rather than null."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change (an API key, a user, or the system)."""

    id: str | None
    name: str | None


def new_ids(count: int) -> list[str]:
    """`count` time-ordered (version 7) UUID strings: the current millisecond, then 74 random bits, from
    one read of the OS's random source.

    Time-ordered, so the new rows of an import go to the end of the unique id index instead of to random
    pages all over it: with random (version 4) ids, a 10,000-case import into a 1,000,000-case SQLite
    dataset dirtied a page per row and took 7x longer than with these (bench/bench_imports.py,
    docs/performance.md)."""
    ms = f"{time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF:012x}"
    raw = os.urandom(10 * count).hex()
    ids = []
    for start in range(0, 20 * count, 20):
        h = raw[start : start + 20]
        variant = "89ab"[int(h[3], 16) & 3]
        ids.append(f"{ms[:8]}-{ms[8:]}-7{h[:3]}-{variant}{h[4:7]}-{h[7:19]}")
    return ids


def normalize_evaluators(evaluators: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every evaluator as `{name, arguments}`: pydantic-evals misreads `{"name": X}` without arguments."""
    if not evaluators:
        return []
    return [e if "arguments" in e else {"name": e["name"], "arguments": None} for e in evaluators]


def new_case(
    data: Mapping[str, Any], *, dataset_id: str, actor: Actor, now: datetime, id: str | None = None
) -> dict[str, Any]:
    """A complete case record, version 1, from request data."""
    return {
        "id": id or new_ids(1)[0],
        "dataset_id": dataset_id,
        "name": data.get("name"),
        "inputs": data.get("inputs"),
        "expected_output": data.get("expected_output"),
        "metadata": data.get("metadata"),
        "evaluators": normalize_evaluators(data.get("evaluators")),
        "tags": data.get("tags") or [],
        "source_trace_id": data.get("source_trace_id"),
        "source_span_id": data.get("source_span_id"),
        "source_span": data.get("source_span"),
        "version": 1,
        "created_at": now,
        "created_by": actor.id,
        "created_by_name": actor.name,
        "updated_at": now,
        "updated_by": actor.id,
        "updated_by_name": actor.name,
    }


def _touched(current: Mapping[str, Any], changes: Mapping[str, Any], *, actor: Actor, now: datetime) -> dict[str, Any]:
    updated = dict(current)
    for field, value in changes.items():
        updated[field] = _CLEARED[field] if value is None and field in _CLEARED else value
    updated["evaluators"] = normalize_evaluators(updated["evaluators"])
    updated["version"] = current["version"] + 1
    updated["last_op"] = "update"
    updated["updated_at"] = now
    updated["updated_by"] = actor.id
    updated["updated_by_name"] = actor.name
    return updated


def apply_patch(current: Mapping[str, Any], patch: Mapping[str, Any], *, actor: Actor, now: datetime) -> dict[str, Any]:
    """PUT/PATCH: only keys present change; null clears; the version always moves on."""
    return _touched(current, patch, actor=actor, now=now)


def apply_upsert(
    current: Mapping[str, Any], incoming: Mapping[str, Any], *, actor: Actor, now: datetime
) -> dict[str, Any] | None:
    """Import upsert: replace content fields, keep tags/sources unless sent; None when nothing changes."""
    changes: dict[str, Any] = {field: incoming.get(field) for field in CONTENT_FIELDS}
    changes["evaluators"] = normalize_evaluators(changes["evaluators"])
    for field in ("tags", "source_trace_id", "source_span_id"):
        if incoming.get(field) is not None:
            changes[field] = incoming[field]
    if all(current.get(field) == value for field, value in changes.items()):
        return None
    return _touched(current, changes, actor=actor, now=now)


def parse_if_match(header: str | None) -> int | None:
    """The version in an If-Match header (`3`, `"3"` or `W/"3"`); None when absent or `*`."""
    if header is None:
        return None
    value = header.strip()
    if value in ("", "*"):
        return None
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise ValueError(f'If-Match must be a case version number such as "3", got {header!r}')
    return int(value)


def export_case(case: Mapping[str, Any], *, include_tags: bool = False) -> dict[str, Any]:
    """The pydantic-evals file shape of a case: no keys beyond EXPORT_FIELDS (and `tags` if asked for)."""
    exported = {field: case.get(field) if field != "evaluators" else case.get(field) or [] for field in EXPORT_FIELDS}
    if include_tags:
        exported["tags"] = case.get("tags") or []
    return exported


def public_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """The client-facing fields of a case record (`source_span` is absent from records made before it existed)."""
    return {field: case[field] if field != "source_span" else case.get(field) for field in PUBLIC_FIELDS}


SEARCH_FIELD_CHARS = 1000
"""How much of each field the case search looks at (the start of it)."""


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def search_text(case: Mapping[str, Any]) -> str:
    """What a case search matches: the name, then the JSON text of inputs, expected output and metadata,
    each cut to its first SEARCH_FIELD_CHARS characters, case-folded. Strings inside the JSON are
    written without escapes for non-ASCII, so 'café' finds café."""
    parts = [case.get("name") or ""]
    for field in ("inputs", "expected_output", "metadata"):
        value = case.get(field)
        if value is None:
            parts.append("")
        elif isinstance(value, str):
            parts.append(value[:SEARCH_FIELD_CHARS])
        else:
            parts.append(orjson.dumps(value).decode()[:SEARCH_FIELD_CHARS])
    return _fold("\n".join(parts))


def search_pattern(query: str) -> str:
    """A search box's text folded the way search_text folds what it searches."""
    return _fold(query.strip())


class SeenNames:
    """The case names met so far in a request written a batch at a time, kept as their 64-bit hashes in one
    flat table: 12 to 24 bytes a name, where a set of the names costs about 100 (the string and the slot).

    `add(name)` and `add_all(names)` are False when a name was met before. They are also False, rarely, for a
    new name whose hash another name met before has (with 10,000 names, about one request in 10^11): a
    caller takes False as "maybe a duplicate" and checks the names exactly (`import_cases` does) before
    saying so.
    """

    __slots__ = ("_table", "_mask", "_count")

    def __init__(self) -> None:
        self._table = array("q", bytes(8 * 1024))  # 0 marks an empty slot; hashes of 0 are stored as 1
        self._mask = len(self._table) - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, name: str) -> bool:
        """Remember `name`; False if it (or, rarely, another name with its hash) was added before."""
        return self.add_all((name,))

    def add_all(self, names: Sequence[str]) -> bool:
        """Remember `names` in order; False at the first one met before (in this call or an earlier one), or,
        rarely, whose hash another name met before has. One call a batch: a call costs more than a name."""
        while 3 * (self._count + len(names)) > 2 * self._mask:  # at most two thirds full: probes stay short
            self._grow()
        table, mask = self._table, self._mask
        added = 0
        for name in names:
            code = hash(name) or 1
            slot = code & mask
            while (held := table[slot]) != 0:
                if held == code:
                    self._count += added
                    return False
                slot = (slot + 1) & mask
            table[slot] = code
            added += 1
        self._count += added
        return True

    def _grow(self) -> None:
        old = self._table
        self._table = array("q", bytes(16 * len(old)))
        self._mask = len(self._table) - 1
        table, mask = self._table, self._mask
        for code in old:
            if code:
                slot = code & mask
                while table[slot] != 0:
                    slot = (slot + 1) & mask
                table[slot] = code
