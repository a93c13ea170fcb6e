"""API keys and scopes: key format, hashing, constant-time checks. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = [
    "READ_DATASETS",
    "WRITE_DATASETS",
    "WRITE_TRACES",
    "ADMIN",
    "SCOPES",
    "KEY_PREFIX",
    "Principal",
    "NewKey",
    "generate_key",
    "split_key",
    "hash_key",
    "key_matches",
]

READ_DATASETS = "project:read_datasets"
WRITE_DATASETS = "project:write_datasets"
WRITE_TRACES = "project:write_traces"
ADMIN = "project:admin"
"""Manage the project's API keys (the web UI's keys page); the admin password has it for every project."""
SCOPES = (READ_DATASETS, WRITE_DATASETS, WRITE_TRACES, ADMIN)

KEY_PREFIX = "evalset_"
_LOOKUP_LEN = 12


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key (None for the admin password's sessions), its project and what it may do."""

    key_id: str | None
    key_name: str
    project_id: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: the secret (shown once) and what is stored of it."""

    secret: str
    lookup: str
    secret_hash: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> NewKey:
    """`evalset_<12 hex lookup>_<43 chars, 256 bits of randomness>`; only its SHA-256 is stored."""
    lookup = secrets.token_hex(_LOOKUP_LEN // 2)
    secret = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return NewKey(secret=secret, lookup=lookup, secret_hash=hash_key(secret))


def split_key(key: str) -> str | None:
    """The lookup part of a well-formed key, or None when the key is malformed."""
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + _LOOKUP_LEN + 2:
        return None
    rest = key[len(KEY_PREFIX) :]
    if rest[_LOOKUP_LEN] != "_":
        return None
    return rest[:_LOOKUP_LEN]


def key_matches(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with the stored hash."""
    return hmac.compare_digest(hash_key(key), stored_hash)
