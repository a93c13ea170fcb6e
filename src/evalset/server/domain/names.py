"""Dataset and case name rules."""

from __future__ import annotations

import re

__all__ = ["DATASET_NAME_PATTERN", "MAX_NAME_LENGTH", "looks_like_uuid"]

DATASET_NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
MAX_NAME_LENGTH = 255

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def looks_like_uuid(value: str) -> bool:
    """True when `value` is a UUID string (with or without dashes)."""
    return bool(_UUID.match(value))
