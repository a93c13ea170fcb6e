# pyright: strict
"""Python values, types, cases and evaluators to JSON, the way pydantic-evals writes dataset files.

Values dump with pydantic in JSON mode by alias (as `Dataset.to_file` does), so `Dataset.from_dict`
turns an export back into the same objects. Types become JSON Schemas with `TypeAdapter.json_schema()`.
pydantic-evals itself is imported lazily: it is slow to import and only needed for typed exports.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from evalset.types import CaseData, EvaluatorSpec, ExportedDataset

if TYPE_CHECKING:
    from pydantic_evals import Dataset

__all__ = [
    "UNSET",
    "DATASET_NAME_RE",
    "check_dataset_name",
    "type_to_schema",
    "serialize_value",
    "serialize_evaluators",
    "normalize_evaluator",
    "short_form_evaluator",
    "serialize_case",
    "case_payloads",
    "dataset_type_args",
    "local_dataset_payload",
    "to_pydantic_evals",
    "without_stored_unnamed",
]


class _Unset:
    """The default of parameters where `None` means "clear it" and absence means "leave it"."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()
DATASET_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_CASE_VALUE_FIELDS = ("inputs", "expected_output", "metadata")


def check_dataset_name(name: str) -> None:
    """Reject a dataset name the server would refuse, before any request is sent."""
    if not DATASET_NAME_RE.match(name):
        raise ValueError(
            f"Invalid dataset name {name!r}: names start with a letter or digit and contain only letters, "
            "digits, dots, hyphens and underscores (for example 'qa-golden-set')."
        )
    if _UUID_RE.match(name):
        raise ValueError(
            f"Invalid dataset name {name!r}: a name cannot be a UUID, since datasets are looked up by id or name."
        )


@functools.lru_cache(maxsize=512)
def _cached_adapter(type_: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_)


def _adapter(type_: Any) -> TypeAdapter[Any]:
    try:
        return _cached_adapter(type_)
    except TypeError:  # unhashable type forms (e.g. Annotated with a dict) are simply not cached
        return TypeAdapter(type_)


def type_to_schema(type_: Any) -> dict[str, Any] | None:
    """The JSON Schema of any type pydantic can describe (dataclass, BaseModel, TypedDict, union...)."""
    if type_ is None:
        return None
    return _adapter(type_).json_schema()


def serialize_value(value: Any) -> Any:
    """A value as JSON data, dumped like `Dataset.to_file` does (JSON mode, by alias)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return _adapter(type(value)).dump_python(value, mode="json", by_alias=True)


def normalize_evaluator(spec: Any) -> EvaluatorSpec:
    """An evaluator instance, or a spec in any form pydantic-evals files allow, as `{name, arguments}`."""
    if isinstance(spec, str):
        return {"name": spec, "arguments": None}
    if isinstance(spec, Mapping):
        data = cast(Mapping[str, Any], spec)
        if isinstance(data.get("name"), str) and "arguments" in data:
            return {"name": data["name"], "arguments": _arguments(data["arguments"])}
        if len(data) == 1:
            ((name, value),) = data.items()
            if isinstance(value, dict) and all(isinstance(k, str) for k in cast(dict[Any, Any], value)):
                return {"name": name, "arguments": serialize_value(value)}
            return {"name": name, "arguments": [serialize_value(value)]}
        raise ValueError(
            f"Cannot read evaluator spec {spec!r}: use 'Name', {{'Name': argument}}, {{'Name': {{...kwargs}}}} "
            "or {'name': 'Name', 'arguments': ...}."
        )
    as_spec = getattr(spec, "as_spec", None)
    if callable(as_spec):
        named: Any = as_spec()
        return {"name": named.name, "arguments": _arguments(named.arguments)}
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        name = getattr(type(spec), "get_serialization_name", lambda: type(spec).__name__)()
        return {"name": name, "arguments": _arguments(dataclasses.asdict(spec)) or None}
    raise TypeError(f"Cannot serialise evaluator {spec!r}: expected a pydantic-evals Evaluator or a spec dict.")


def _arguments(arguments: Any) -> dict[str, Any] | list[Any] | None:
    if arguments is None:
        return None
    jsonable = to_jsonable_python(arguments, serialize_unknown=True)
    if isinstance(arguments, tuple):
        return list(cast(tuple[Any, ...], jsonable))
    return cast("dict[str, Any] | list[Any]", jsonable)


def serialize_evaluators(evaluators: Iterable[Any]) -> list[EvaluatorSpec]:
    """Evaluators (instances or specs) in the stored `{name, arguments}` form."""
    return [normalize_evaluator(evaluator) for evaluator in evaluators]


def short_form_evaluator(spec: EvaluatorSpec) -> Any:
    """The compact form `Dataset.to_file` writes: `'Name'`, `{'Name': arg}` or `{'Name': {...kwargs}}`."""
    arguments = spec.get("arguments")
    if arguments is None:
        return spec["name"]
    if isinstance(arguments, list):
        if len(arguments) == 1 and not isinstance(arguments[0], dict):
            return {spec["name"]: arguments[0]}
        return dict(spec)
    return {spec["name"]: arguments}


def serialize_case(case: Any, *, tags: Sequence[str] | None = None) -> dict[str, Any]:
    """A `pydantic_evals.Case` or a case dict as the request body of one case."""
    if isinstance(case, Mapping):
        data = dict(cast(Mapping[str, Any], case))
        if "inputs" not in data:
            raise ValueError(f"A case dict needs an 'inputs' key; got keys {sorted(data)}.")
        for field in _CASE_VALUE_FIELDS:
            if field in data:
                data[field] = serialize_value(data[field])
        if data.get("evaluators") is not None:
            data["evaluators"] = serialize_evaluators(data["evaluators"])
    else:
        data = {"inputs": serialize_value(case.inputs)}
        if case.name is not None:
            data["name"] = case.name
        for field in ("expected_output", "metadata"):
            if (value := getattr(case, field)) is not None:
                data[field] = serialize_value(value)
        data["evaluators"] = serialize_evaluators(case.evaluators or ())
    if tags:
        data["tags"] = list(dict.fromkeys([*(data.get("tags") or []), *tags]))
    return data


def dataset_type_args(dataset: Any) -> tuple[Any, Any, Any]:
    """The (inputs, output, metadata) types of a `Dataset[I, O, M]`; None where unknown, `Any` or `None`."""
    metadata = getattr(cast(object, dataset).__class__, "__pydantic_generic_metadata__", None)
    args: Any = cast(dict[str, Any], metadata).get("args") if isinstance(metadata, dict) else None
    if not isinstance(args, tuple) or len(cast(tuple[Any, ...], args)) != 3:
        return None, None, None
    found = cast(tuple[Any, ...], args)
    return cast(tuple[Any, Any, Any], tuple(None if arg in (Any, type(None)) else arg for arg in found))


def local_dataset_payload(dataset: Dataset[Any, Any, Any] | ExportedDataset) -> ExportedDataset:
    """A local dataset (pydantic-evals object or file-format dict) as the export-shaped dict push sends."""
    if isinstance(dataset, Mapping):
        raw = cast(Mapping[str, Any], dataset)
        cases: list[Any] = raw.get("cases") or []
        return {
            "name": raw.get("name") or "",
            "cases": cast(Any, [serialize_case(case) for case in cases]),
            "evaluators": serialize_evaluators(raw.get("evaluators") or []),
            "report_evaluators": serialize_evaluators(raw.get("report_evaluators") or []),
        }
    return {
        "name": dataset.name or "",
        "cases": cast(Any, [serialize_case(case) for case in dataset.cases]),
        "evaluators": serialize_evaluators(dataset.evaluators),
        "report_evaluators": serialize_evaluators(getattr(dataset, "report_evaluators", None) or []),
    }


def to_pydantic_evals(
    data: Any,
    types: tuple[Any, Any, Any],
    custom_evaluator_types: Sequence[type[Any]],
    custom_report_evaluator_types: Sequence[type[Any]],
) -> Any:
    """An export parsed into a typed `pydantic_evals.Dataset[I, O, M]` (evaluators rebuilt too)."""
    from pydantic_evals import Dataset

    typed = cast(Any, Dataset)[types]
    kwargs: dict[str, Any] = {"custom_evaluator_types": list(custom_evaluator_types)}
    if "custom_report_evaluator_types" in inspect.signature(typed.from_dict).parameters:
        kwargs["custom_report_evaluator_types"] = list(custom_report_evaluator_types)
    elif cast(dict[str, Any], data).get("report_evaluators"):  # pragma: no cover - pydantic-evals < 1.58
        raise ValueError("This dataset has report evaluators: upgrade to pydantic-evals >= 1.58 to load them.")
    else:  # pragma: no cover
        data = {key: value for key, value in cast(dict[str, Any], data).items() if key != "report_evaluators"}
    try:
        return typed.from_dict(data, **kwargs)
    except Exception as exc:
        problems: Any = getattr(exc, "exceptions", None)  # pydantic-evals groups evaluator errors
        if not problems:
            raise
        reasons = "; ".join(str(problem).split(". ")[0] for problem in cast(Sequence[BaseException], problems))
        raise ValueError(
            f"Could not rebuild the dataset's evaluators: {reasons}. Pass the classes of custom evaluators with "
            "custom_evaluator_types=[...] (report evaluators: custom_report_evaluator_types=[...])."
        ) from exc


def case_payloads(cases: Iterable[Any], tags: Sequence[str] | None = None) -> list[CaseData]:
    """Many cases as request bodies."""
    return [cast(CaseData, serialize_case(case, tags=tags)) for case in cases]


def _content_key(case: Mapping[str, Any]) -> str:
    content = {field: case.get(field) for field in _CASE_VALUE_FIELDS}
    return json.dumps({**content, "evaluators": case.get("evaluators") or []}, sort_keys=True, default=str)


def without_stored_unnamed(cases: Sequence[Mapping[str, Any]], stored: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The cases to upload, minus unnamed ones already stored with the same content (one stored copy each).

    Named cases are upserted by name on the server; unnamed ones would be created again on every push.
    """
    available = Counter(_content_key(case) for case in stored if not case.get("name"))
    kept: list[Any] = []
    for case in cases:
        key = None if case.get("name") else _content_key(case)
        if key is not None and available[key] > 0:
            available[key] -= 1
            continue
        kept.append(case)
    return kept
