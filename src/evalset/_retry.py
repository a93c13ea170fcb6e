# pyright: strict
"""When to send a request again, and after how long. Shared by both clients; no I/O here."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

__all__ = ["RetryPolicy", "RETRY_STATUSES", "RETRY_ERRORS"]

RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
"""Failures where the request may not have reached the server (or the connection broke): read timeouts
are not retried, as the server may still be working on the request."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for idempotent requests (GET, PUT, DELETE) only.

    POST and PATCH are never resent: a create or an import that reached the server before the
    connection broke must not run twice.
    """

    retries: int = 3
    backoff: float = 0.5
    max_delay: float = 8.0

    def delay(
        self,
        *,
        idempotent: bool,
        attempt: int,
        status: int | None = None,
        error: BaseException | None = None,
        retry_after: str | None = None,
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up (return or raise as is)."""
        if not idempotent or attempt >= self.retries:
            return None
        if error is not None:
            if not isinstance(error, RETRY_ERRORS):
                return None
        elif status not in RETRY_STATUSES:
            return None
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_delay)
        return min(self.backoff * 2**attempt, self.max_delay) * random.uniform(0.5, 1.0)
