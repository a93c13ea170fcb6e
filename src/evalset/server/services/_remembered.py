"""Reads remembered per process, and given again only while the database's stamp shows no commit since.

A read made after a read of the stamp (`db.stamp()`, which the key check makes first on every request)
holds at least everything committed before that stamp. While a later read of the stamp gives the same
`data`, nothing was committed in between, by any connection of any process, so the same read would give
the same answer: the remembered one is exact. Kept as the bytes the API answers; bounded in entries and
bytes (then forgotten all at once: after a commit most entries are stale anyway).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from evalset.server.storage import Database, Stamp

__all__ = ["remembered", "read_through", "REMEMBERED_ENTRIES", "REMEMBERED_BYTES"]

REMEMBERED_ENTRIES = 2000
REMEMBERED_BYTES = 64 * 1024 * 1024
"""At most this many answers and bytes remembered per process; an answer over 1/16 of it is not kept."""
_storing = threading.Lock()


def remembered(db: Database, kind: str, key: Hashable, seen: Stamp) -> bytes | None:
    """The answer remembered for (`kind`, `key`) under this stamp, or None."""
    hit = db.memo.get("remembered", {}).get((kind, key))
    return hit[1] if hit is not None and seen.data is not None and hit[0] == seen.data else None


def read_through(db: Database, kind: str, key: Hashable, seen: Stamp | None, read: Callable[[], bytes]) -> bytes:
    """The answer remembered under `seen` (the stamp read before this request's reads), else `read()`,
    remembered under `seen`. Without a stamp (None, or no `data`), always `read()`."""
    if seen is None or seen.data is None:
        return read()
    body = remembered(db, kind, key, seen)
    if body is None:
        body = read()
        _remember(db, (kind, key), seen.data, body)
    return body


def _remember(db: Database, key: tuple[str, Hashable], data: Any, body: bytes) -> None:
    if len(body) > REMEMBERED_BYTES // 16:  # a few large answers would push out all the others
        return
    with _storing:
        entries: dict[tuple[str, Hashable], tuple[Any, bytes]] = db.memo.setdefault("remembered", {})
        replaced = entries.get(key)
        size = db.memo.get("remembered_bytes", 0) + len(body) - (len(replaced[1]) if replaced is not None else 0)
        if size > REMEMBERED_BYTES or (replaced is None and len(entries) >= REMEMBERED_ENTRIES):
            entries.clear()
            size = len(body)
        entries[key] = (data, body)
        db.memo["remembered_bytes"] = size
