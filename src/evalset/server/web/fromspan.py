"""Add to Dataset from spans, the page's own logic: the mapping choices and the form round trip. Pure.

```
read_mapping(params)      -> {case field: FieldChoice}  each field takes the proposal, the attributes, a path or nothing
mapping_params(mapping)   -> {param: value}             the same as query/hidden fields, to carry it along
fits_form(dataset, case)  -> bool                       the schema-driven form shows these values losslessly
snapshot_span(snapshot)   -> SpanRecord | None          a case's stored copy of its source span, to show
```

A proposal that the form cannot show as it is (a string where the schema wants an object, keys the schema
does not list, a null in a required field) opens in the JSON editors instead, so no proposed value is
silently dropped; the schema check then marks what needs fixing beside the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from evalset.server.domain.spans import SpanRecord
from evalset.server.web.caseform import DATA_FIELDS, CaseForm, Field, build_form, read_form, resolve_node

__all__ = ["FieldChoice", "SOURCES", "read_mapping", "mapping_params", "fits_form", "form_values", "snapshot_span"]

SOURCES = ("proposal", "attributes", "path", "none")
"""A field takes the value proposed from the span, all its attributes, the value at a JSON path into its
attributes, or nothing."""


@dataclass
class FieldChoice:
    source: str = "proposal"
    path: str = ""


def _last(params: Mapping[str, Sequence[str]], key: str) -> str:
    values = params.get(key)
    return values[-1] if values else ""


def read_mapping(params: Mapping[str, Sequence[str]]) -> dict[str, FieldChoice]:
    """Each case field's choice from `<field>_from` (proposal | attributes | path | none) and `<field>_path`."""
    mapping = {}
    for name in DATA_FIELDS:
        source = _last(params, f"{name}_from")
        path = _last(params, f"{name}_path").strip()
        mapping[name] = FieldChoice(source=source if source in SOURCES else "proposal", path=path)
    return mapping


def mapping_params(mapping: Mapping[str, FieldChoice]) -> dict[str, str]:
    params = {}
    for name, choice in mapping.items():
        params[f"{name}_from"] = choice.source
        if choice.path:
            params[f"{name}_path"] = choice.path
    return params


def form_values(form: CaseForm) -> dict[str, list[str]]:
    """The form as the browser would post it untouched: {field name: [value]} and array sizes."""
    values: dict[str, list[str]] = {"name": [form.name], "tags": [form.tags]}
    stack: list[Field] = list(form.fields)
    while stack:
        node = stack.pop()
        if node.kind == "array":
            values[node.name + "/#"] = [str(len(node.children))]
        elif node.kind != "object":
            values[node.name] = [node.value]
        stack.extend(node.children)
    return values


def fits_form(dataset: Mapping[str, Any], case: Mapping[str, Any]) -> bool:
    """Whether the form built for `case` posts back exactly its inputs, expected output and metadata."""
    shape = build_form(dataset, case)
    data, _, _ = read_form(dataset, form_values(shape))  # a missing required value: shown empty, marked
    return all(
        _same(data.get(name), case.get(name), dataset.get(schema_key), dataset.get(schema_key))
        for name, (_, schema_key) in DATA_FIELDS.items()
    )


def _same(posted: Any, original: Any, node: Any, root: Any) -> bool:
    """Equal, except that the form posts an empty list for a list the original left out, and leaves out an
    optional property (not in its object's `required`) that the original holds as null: an empty optional
    field, the same case for a pydantic `X | None = None`."""
    node = resolve_node(node, root) if isinstance(root, Mapping) else None
    if not isinstance(node, Mapping):
        node = {}
    if isinstance(posted, dict) and isinstance(original, dict):
        required: Any = node.get("required")
        required = required if isinstance(required, list) else []
        properties: Any = node.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        return all(
            (key not in original and posted[key] == [])
            or (key not in posted and original[key] is None and key not in required)
            or (key in posted and _same(posted[key], original.get(key), properties.get(key), root))
            for key in set(posted) | set(original)
        )
    if isinstance(posted, list) and isinstance(original, list):
        items = node.get("items")
        return len(posted) == len(original) and all(
            _same(a, b, items, root) for a, b in zip(posted, original, strict=True)
        )
    return posted == original and type(posted) is type(original)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def snapshot_span(snapshot: Any) -> SpanRecord | None:
    """A case's stored copy of its source span (`source_span`, times as ISO text) as a span record to
    show; None when the case has none or it cannot be read."""
    if not isinstance(snapshot, Mapping):
        return None
    start = _moment(snapshot.get("start_time"))
    if start is None:
        return None
    attributes = snapshot.get("attributes")
    status = snapshot.get("status")
    return SpanRecord(
        trace_id=str(snapshot.get("trace_id") or ""),
        span_id=str(snapshot.get("span_id") or ""),
        parent_span_id=snapshot.get("parent_span_id") or None,
        name=str(snapshot.get("name") or ""),
        start_time=start,
        end_time=_moment(snapshot.get("end_time")),
        status=status if status in ("unset", "ok", "error") else "unset",
        status_message=snapshot.get("status_message"),
        kind=str(snapshot.get("kind") or "internal"),
        scope=snapshot.get("scope"),
        service_name=snapshot.get("service_name"),
        attributes=attributes if isinstance(attributes, Mapping) else {},
    )
