"""What every service needs: the clock, the acting principal, record shapes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import Actor

__all__ = ["utcnow", "actor_of", "case_out", "dataset_out"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def actor_of(principal: Principal) -> Actor:
    return Actor(id=principal.key_id, name=principal.key_name)


def case_out(record: dict[str, Any]) -> dict[str, Any]:
    """A stored case record as the API returns it (no storage-internal keys)."""
    record.pop("seq", None)
    return record


def dataset_out(record: dict[str, Any]) -> dict[str, Any]:
    return record
