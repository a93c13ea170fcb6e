"""JSON Schema rules: check a dataset's schemas, validate case data against them, cache validators.

Validation uses jsonschema-rs (Rust, draft 2020-12 with `$defs`/`$ref`), compiled once per
dataset schema version and reused for every case written afterwards.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from threading import Lock
from typing import Any

import jsonschema_rs

from evalset.server.errors import InvalidInput, Violation, json_pointer

__all__ = ["SCHEMA_FIELDS", "check_schema", "CaseValidator", "validator_for_dataset", "summarize", "infer_schema"]

SCHEMA_FIELDS: dict[str, str] = {
    "inputs": "input_schema",
    "expected_output": "output_schema",
    "metadata": "metadata_schema",
}
"""Case field -> the dataset schema it is validated against."""

_CACHE_SIZE = 256


def check_schema(schema: Any, field: str) -> None:
    """Raise InvalidInput unless `schema` is a valid JSON Schema (draft 2020-12 unless it names another)."""
    if schema is None:
        return
    if not isinstance(schema, (dict, bool)):
        message = f"must be a JSON Schema object, not {type(schema).__name__}"
        raise InvalidInput(
            f"Invalid {field}: {message}.",
            [Violation(case_index=None, case_name=None, field=field, pointer="", message=message)],
        )
    try:
        jsonschema_rs.meta.validate(schema)
        jsonschema_rs.validator_for(schema)
    except jsonschema_rs.ValidationError as exc:
        pointer = json_pointer(exc.instance_path)
        message = exc.message
        raise InvalidInput(
            f"Invalid {field}: the schema is not a valid JSON Schema at '{pointer or '/'}': {message}.",
            [Violation(case_index=None, case_name=None, field=field, pointer=pointer, message=message)],
        ) from None
    except (jsonschema_rs.ReferencingError, ValueError) as exc:
        message = str(exc).splitlines()[0]
        raise InvalidInput(
            f"Invalid {field}: {message}.",
            [Violation(case_index=None, case_name=None, field=field, pointer="", message=message)],
        ) from None


class CaseValidator:
    """The compiled validators of one dataset; checks the data fields of cases."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self._validators = [
            (field, jsonschema_rs.validator_for(schemas[schema_field]))
            for field, schema_field in SCHEMA_FIELDS.items()
            if schemas.get(schema_field) is not None
        ]

    @property
    def empty(self) -> bool:
        return not self._validators

    def violations(self, case: Mapping[str, Any], index: int | None = None) -> list[Violation]:
        """Everything wrong with `case`'s data; [] when it is valid. Null outputs and metadata are not checked."""
        found: list[Violation] = []
        for field, validator in self._validators:
            if field not in case:
                continue
            value = case[field]
            if value is None and field != "inputs":
                continue
            if validator.is_valid(value):
                continue
            for error in validator.iter_errors(value):
                found.append(
                    Violation(
                        case_index=index,
                        case_name=case.get("name"),
                        field=field,
                        pointer=json_pointer(error.instance_path),
                        message=error.message,
                    )
                )
        return found


_cache: OrderedDict[tuple[str, str], CaseValidator] = OrderedDict()
_cache_lock = Lock()


def validator_for_dataset(dataset: Mapping[str, Any]) -> CaseValidator:
    """The validator for a dataset, compiled once per (dataset id, updated_at) and then reused.

    Any dataset update moves `updated_at`, so a changed schema is never served from the cache.
    """
    key = (str(dataset["id"]), str(dataset["updated_at"]))
    with _cache_lock:
        validator = _cache.get(key)
        if validator is not None:
            _cache.move_to_end(key)
            return validator
    validator = CaseValidator(dataset)
    with _cache_lock:
        _cache[key] = validator
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return validator


def _where(v: Violation) -> str:
    who = "case"
    if v["case_index"] is not None:
        who += f" {v['case_index']}"
        if v["case_name"] is not None:
            who += f" ({v['case_name']!r})"
    elif v["case_name"] is not None:
        who += f" {v['case_name']!r}"
    return f"{who}, {v['field']} at '{v['pointer'] or '/'}'"


def summarize(violations: list[Violation], *, action: str = "Case data does not match the dataset schema") -> str:
    """One readable sentence for a list of violations: the first in full, then how many more."""
    first = violations[0]
    more = len(violations) - 1
    tail = f" (and {more} more violation{'s' if more > 1 else ''}, listed in 'errors')" if more else ""
    return f"{action}: {_where(first)}: {first['message']}{tail}."


def infer_schema(example: Any) -> dict[str, Any]:
    """A JSON Schema proposed from one example value: its types, with every key of an object required
    and an array's items shaped like its first item. A starting point to edit, not a final answer."""
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    if isinstance(example, str):
        return {"type": "string"}
    if example is None:
        return {"type": "null"}
    if isinstance(example, list):
        return {"type": "array", "items": infer_schema(example[0]) if example else {}}
    if isinstance(example, dict):
        return {
            "type": "object",
            "properties": {key: infer_schema(value) for key, value in example.items()},
            "required": list(example),
        }
    raise TypeError(f"not a JSON value: {type(example).__name__}")
