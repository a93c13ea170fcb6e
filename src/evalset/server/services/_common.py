"""What every service needs: the clock, the acting principal, record shapes."""

from __future__ import annotations

from datetime import datetime, timezone

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import Actor

__all__ = ["utcnow", "actor_of"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def actor_of(principal: Principal) -> Actor:
    return Actor(id=principal.key_id, name=principal.key_name)
