"""Value rules: what a JSON value or a text may hold, the same on SQLite and PostgreSQL.

Everything a client sends is checked here before it reaches storage, so both databases store (or
refuse) exactly the same things, and nothing is stored differently from what was sent:

- **text** (names, tags, descriptions, object keys, string values, path segments, query values):
  no NUL character (`\\u0000`; PostgreSQL's `text` and `jsonb` cannot hold it) and no lone
  surrogate (`\\ud800`; not Unicode, so not UTF-8 either);
- **integers** between -2**63 and 2**63 - 1 (what the JSON encoder and both databases' drivers
  hold exactly);
- **floats** finite: `NaN`, `Infinity` and numbers beyond a double (`1e400`) are refused;
- **timestamps** (parsed from a body) expressible in UTC between years 1 and 9999;
- **nesting** at most `MAX_DEPTH` levels of arrays and objects in one value (a case's inputs,
  expected output or metadata, a schema, evaluator arguments), checked before anything recurses.

A value breaking a rule is refused with 422; the violation names the field and the JSON pointer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from evalset.server.errors import InvalidInput, Violation, json_pointer

__all__ = [
    "MAX_DEPTH",
    "MIN_INT",
    "MAX_INT",
    "MAX_VIOLATIONS",
    "value_problems",
    "text_problem",
    "check_fields",
    "check_cases",
    "is_clean",
    "check_texts",
    "check_instant",
]

MAX_DEPTH = 64
"""How deep arrays and objects may nest inside one field's value (pydantic's schemas use a few levels)."""
MIN_INT, MAX_INT = -(2**63), 2**63 - 1
MAX_VIOLATIONS = 20
"""Stop looking after this many problems: enough to fix a request, cheap to report."""

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE = frozenset({type(None), bool})
"""Types that need no check at all."""


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    at = found.start()
    if found.group() == "\x00":
        return f"contains a NUL character (\\u0000) at position {at}, which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}) at position {at}, which is not valid Unicode"


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if MIN_INT <= value <= MAX_INT:
            return None
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else "thousands of"
        return (
            f"integer with {digits} digits is outside the 64-bit range (-2**63 to 2**63-1); "
            "send it as a string to keep it exactly"
        )
    if isinstance(value, float):
        if value - value == 0.0:  # finite: inf - inf and nan - nan are nan
            return None
        return "number is not finite (NaN, Infinity, or beyond a double such as 1e400)"
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value.astimezone(timezone.utc)
        except OverflowError:
            return "the instant is outside the years 1 to 9999 once converted to UTC"
    return None


def _clean_text(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or _SURROGATE.search(text) is None)


def _clean(value: Any, depth: int) -> bool:
    """True when `value` breaks no rule: the fast check (no paths built) that every write pays for; the
    precise walk below runs only when this says no. Recursion stops at MAX_DEPTH, so it cannot overflow."""
    kind = type(value)
    if kind is str:
        return _clean_text(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, child in value.items():
            if not _clean_text(key) or (type(child) not in _SIMPLE and not _clean(child, depth + 1)):
                return False
        return True
    if kind is list:
        if depth >= MAX_DEPTH:
            return False
        return all(type(child) in _SIMPLE or _clean(child, depth + 1) for child in value)
    if kind is int:
        return MIN_INT <= value <= MAX_INT
    if kind is float:
        return value - value == 0.0
    return value is None or kind is bool or _scalar_problem(value) is None  # timestamps parsed from a body


def value_problems(value: Any, *, limit: int = MAX_VIOLATIONS) -> list[tuple[list[str | int], str]]:
    """Every (path, message) where `value` breaks a rule above, at most `limit`; [] when it is fine.

    Iterative, so a value nested far deeper than MAX_DEPTH is reported, never a RecursionError.
    """
    if _clean(value, 0):
        return []
    found: list[tuple[list[str | int], str]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack and len(found) < limit:
        item, path = stack.pop()
        if isinstance(item, dict):
            if len(path) >= MAX_DEPTH:
                found.append((list(path), f"nested deeper than {MAX_DEPTH} levels of arrays and objects"))
                continue
            for key, child in item.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem is not None:
                    found.append(([*path, key], f"object key {problem}"))
                    continue
                if isinstance(child, (dict, list)) or (child is not None and not isinstance(child, bool)):
                    stack.append((child, (*path, key)))
        elif isinstance(item, list):
            if len(path) >= MAX_DEPTH:
                found.append((list(path), f"nested deeper than {MAX_DEPTH} levels of arrays and objects"))
                continue
            stack.extend((child, (*path, index)) for index, child in enumerate(item))
        else:
            problem = _scalar_problem(item)
            if problem is not None:
                found.append((list(path), problem))
    found.sort(key=lambda pair: [str(p) for p in pair[0]])
    return found


def _violations(
    value: Any, field: str, *, case_index: int | None = None, case_name: Any = None, limit: int = MAX_VIOLATIONS
) -> list[Violation]:
    name = case_name if isinstance(case_name, str) and text_problem(case_name) is None else None
    return [
        Violation(case_index=case_index, case_name=name, field=field, pointer=json_pointer(path), message=message)
        for path, message in value_problems(value, limit=limit)
    ]


def _refuse(violations: list[Violation]) -> None:
    if not violations:
        return
    first = violations[0]
    where = f"case {first['case_index']}, " if first["case_index"] is not None else ""
    where += first["field"] + (f" at '{first['pointer']}'" if first["pointer"] else "")
    more = len(violations) - 1
    tail = f" (and {more} more, listed in 'errors')" if more else ""
    raise InvalidInput(f"Invalid value in {where}: {first['message']}{tail}.", violations)


def is_clean(fields: Mapping[str, Any]) -> bool:
    """True when a record of fields (a case) breaks no rule: what check_fields and check_cases accept (one
    fast pass; a field's value is nesting level 0)."""
    return _clean(fields, -1)


def check_fields(fields: Mapping[str, Any]) -> None:
    """Refuse (422) a record of fields (a dataset's, an upload's) holding anything the rules above forbid.
    Nesting is counted within each field."""
    if is_clean(fields):
        return
    violations: list[Violation] = []
    for field, value in fields.items():
        violations.extend(_violations(value, field))
    _refuse(violations)


def check_cases(items: Sequence[Mapping[str, Any]], *, single: bool = False) -> None:
    """Refuse (422) a list of cases if any of them breaks a rule, naming the case, field and pointer."""
    if all(is_clean(item) for item in items):  # the common case
        return
    violations: list[Violation] = []
    for index, item in enumerate(items):
        for field, value in item.items():
            if value is None or isinstance(value, bool):
                continue
            violations.extend(
                _violations(value, field, case_index=None if single else index, case_name=item.get("name"))
            )
            if len(violations) >= MAX_VIOLATIONS:
                _refuse(violations)
    _refuse(violations)


def check_texts(texts: Iterable[tuple[str, str, str]]) -> None:
    """Refuse (422) the first (field, where, text) whose text cannot be stored; `where` says what the field is
    ("query parameter 'tags'")."""
    for field, where, text in texts:
        problem = text_problem(text)
        if problem is not None:
            raise InvalidInput(
                f"Invalid {where}: it {problem}.",
                [Violation(case_index=None, case_name=None, field=field, pointer="", message=problem)],
            )


def check_instant(value: datetime, field: str) -> datetime:
    """`value` in UTC (naive means UTC); 422 when it cannot be expressed in UTC between years 1 and 9999."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        message = "the instant is outside the years 1 to 9999 once converted to UTC"
        raise InvalidInput(
            f"Invalid {field}: {message}.",
            [Violation(case_index=None, case_name=None, field=field, pointer="", message=message)],
        ) from None
