"""What every service needs: the clock, the acting principal, retried writes, streaming reads."""

from __future__ import annotations

import functools
import gc
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TypeVar

from typing_extensions import ParamSpec

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import Actor
from evalset.server.errors import ServiceUnavailable
from evalset.server.storage import Conn, Contention, Database

__all__ = ["utcnow", "actor_of", "retry_on_contention", "streamed_read", "gc_paused"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")
P = ParamSpec("P")

CONTENTION_ATTEMPTS = 8
"""How often a use case runs before a lost race is reported (503). Writers to one dataset queue on its
row lock, so a race is rare (a deadlock or a key taken meanwhile) and one re-run almost always ends it."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def actor_of(principal: Principal) -> Actor:
    return Actor(id=principal.key_id, name=principal.key_name)


def retry_on_contention(service: Callable[P, T]) -> Callable[P, T]:
    """Run a write use case again, whole, when its transaction lost a race (storage.Contention).

    Each run is its own transaction, rolled back before the next, so a re-run starts from what the
    winner committed: an upsert then updates the case the other writer created, a create of a name
    taken meanwhile answers 409, as if the requests had arrived one after the other.
    """

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(CONTENTION_ATTEMPTS):
            try:
                return service(*args, **kwargs)
            except Contention as lost:
                if attempt == CONTENTION_ATTEMPTS - 1:
                    raise ServiceUnavailable(
                        f"The database stayed too busy to complete this write ({lost}); nothing was written. "
                        "Retry the request.",
                        retry_after=1,
                    ) from lost
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # jitter: racers do not collide again
        raise AssertionError("unreachable")

    return run


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


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the block runs (on again when the last such block in
    any thread ends, if it was on). For reads that build tens of thousands of small dicts and keep them
    (a comparison of two 10,000-result experiments): each full collection walks every one of them, and
    they set collections off again and again, which cost about half the comparison's CPU time. Nothing
    they make is cyclic garbage; reference counting still frees everything as usual."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()
