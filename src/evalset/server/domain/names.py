"""Name rules, the same for datasets and projects."""

from __future__ import annotations

import re
import uuid

__all__ = [
    "DATASET_NAME_PATTERN",
    "MAX_NAME_LENGTH",
    "looks_like_uuid",
    "canonical_uuid",
    "name_problem",
    "not_a_uuid",
]

DATASET_NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
MAX_NAME_LENGTH = 255
NAME_RULE = (
    "names start with a letter or digit, contain only letters, digits, dots, hyphens and underscores "
    f"(at most {MAX_NAME_LENGTH} characters), and are not UUIDs"
)

_NAME = re.compile(DATASET_NAME_PATTERN)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_UUID_MESSAGE = "a name cannot be a UUID: datasets and projects are looked up by id or by name"


def looks_like_uuid(value: str) -> bool:
    """True when `value` is a UUID string (with or without dashes)."""
    return bool(_UUID.match(value))


def canonical_uuid(value: str) -> str:
    """A UUID string as ids are stored (lower case, with dashes), so `ABCD…` and `abcd…` find the same
    record on both databases; any other text is returned unchanged."""
    return str(uuid.UUID(value)) if looks_like_uuid(value) else value


def not_a_uuid(value: str) -> str:
    """A validator for names: a UUID would make `{ds}` (an id or a name) ambiguous."""
    if looks_like_uuid(value):
        raise ValueError(_UUID_MESSAGE)
    return value


def name_problem(value: str) -> str | None:
    """Why `value` cannot name a dataset or a project, or None when it can."""
    if len(value) > MAX_NAME_LENGTH or not _NAME.match(value):
        return f"{NAME_RULE} (for example 'qa-golden-set')"
    if looks_like_uuid(value):
        return _UUID_MESSAGE
    return None
