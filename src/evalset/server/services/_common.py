"""What every service needs: the clock, the acting principal, streaming reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TypeVar

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import Actor
from evalset.server.storage import Conn, Database

__all__ = ["utcnow", "actor_of", "streamed_read"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def actor_of(principal: Principal) -> Actor:
    return Actor(id=principal.key_id, name=principal.key_name)


def streamed_read(
    db: Database, resolve: Callable[[Conn], T], produce: Callable[[Conn, T], Iterator[ItemT]]
) -> Iterator[ItemT]:
    """Run `resolve` now in a read transaction, so its errors (404s) come before any byte is sent;
    then return an iterator that streams `produce` from the same snapshot and closes it at the end."""
    scope = db.read()
    conn = scope.__enter__()
    try:
        items = produce(conn, resolve(conn))  # queries run now: a failure is an error response, not a cut stream
    except BaseException:
        scope.__exit__(None, None, None)
        raise

    def stream() -> Iterator[ItemT]:
        try:
            yield from items
        finally:
            scope.__exit__(None, None, None)

    return stream()
