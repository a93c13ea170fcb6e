"""The case form, as a reusable component: JSON Schema -> form fields, form data -> JSON, errors -> fields.

```
build_form(dataset, case, mode)          -> CaseForm (fields of name, inputs, expected output, metadata, tags)
read_form(dataset, form, mode)           -> (case data, {slot name: message})   conversion errors only
CaseForm.with_errors(violations)         -> errors from the server's schema check, each on its field
templates/_caseform.html: case_form(form, ...)  renders it (labels, required markers, error slots)
```

Each JSON Schema node becomes one `Field`: an input for strings, numbers, integers, booleans and
enums; a fieldset for objects with `properties`; a list of item fields with Add/Remove buttons for
arrays; a JSON editor (a textarea) for anything beyond that (unions, free-form objects, no schema).
Pydantic's `$defs`/`$ref`, single-item `allOf` and `anyOf [X, {"type": "null"}]` are resolved.
A field's form name is its JSON pointer under the case field (`inputs/question`, `inputs/tags/0`),
so a server violation at `/question` of `inputs` lands on `inputs/question` (or its nearest ancestor).

Used by the dataset pages (Add case, Edit case, New dataset's first case) and meant for any page
that proposes a case (traces' "Add to Dataset" pre-fills `case` and picks the dataset on its page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evalset.server.errors import Violation, json_pointer

__all__ = ["Field", "CaseForm", "DATA_FIELDS", "build_form", "read_form", "apply_action", "slot_for", "resolve_node"]

DATA_FIELDS: dict[str, tuple[str, str]] = {
    "inputs": ("Inputs", "input_schema"),
    "expected_output": ("Expected output", "output_schema"),
    "metadata": ("Metadata", "metadata_schema"),
}
"""Case field -> (label, dataset schema field)."""

_SCALARS = {"string", "integer", "number", "boolean"}
_MAX_DEPTH = 8
_ABSENT: Any = object()


@dataclass
class Field:
    """One form field generated from a schema node."""

    name: str
    label: str
    kind: str  # string | text | integer | number | boolean | enum | object | array | json
    required: bool = False
    nullable: bool = False
    description: str = ""
    value: str = ""  # what the input shows (scalars, enum: the option's JSON, json: the editor's text)
    options: list[tuple[str, str]] = field(default_factory=list)  # enum: (value as JSON, label)
    children: list[Field] = field(default_factory=list)  # object properties; array items
    attrs: dict[str, Any] = field(default_factory=dict)  # HTML constraints: min, max, minlength, pattern...
    error: str = ""
    schema: Any = None  # the resolved node (arrays build new items from its `items`)
    root: Any = None  # the schema document, for `$ref`s of items added later
    html_required: bool = False  # required, and so are all its enclosing objects (the browser checks it)


@dataclass
class CaseForm:
    """The whole form of one case: name, data fields, tags, and the version it was read at."""

    name: str = ""
    tags: str = ""
    fields: list[Field] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # slot name -> message, for slots outside `fields`
    version: int | None = None
    mode: str = "form"  # "json": every data field as a JSON editor

    def slots(self) -> set[str]:
        names = {"name", "tags"}
        stack = list(self.fields)
        while stack:
            node = stack.pop()
            names.add(node.name)
            stack.extend(node.children)
        return names

    def with_errors(self, errors: Mapping[str, str], violations: Sequence[Violation] = ()) -> CaseForm:
        """The form with messages on fields: `errors` by slot name, then server violations placed on
        the field their pointer names or its nearest ancestor. A slot keeps its first message."""
        placed = dict(errors)
        slots = self.slots()
        for violation in violations:
            slot = slot_for(violation["field"] + violation["pointer"], slots)
            placed.setdefault(slot, violation["message"])
        self.errors = placed
        stack = list(self.fields)
        while stack:
            node = stack.pop()
            node.error = placed.get(node.name, "")
            stack.extend(node.children)
        return self


def slot_for(name: str, slots: set[str]) -> str:
    """The nearest slot at or above the pointer-like `name` (`inputs/a/0/b` -> `inputs/a` if that exists)."""
    while name not in slots and "/" in name:
        name = name.rsplit("/", 1)[0]
    return name if name in slots else "form"


# --- schema -> fields ----------------------------------------------------------------------------


def resolve_node(node: Any, root: Mapping[str, Any]) -> Any:
    """A schema node as the form sees it: `$ref`s followed, a one-item `allOf` and `X | None` unwrapped."""
    return _resolve(node, root)[0]


def _resolve(node: Any, root: Mapping[str, Any], depth: int = 0) -> tuple[Any, bool]:
    """Follow `$ref` into `$defs`, unwrap a one-item `allOf`, and turn `anyOf/oneOf [X, null]` into X
    (reporting nullable). Unresolvable nodes come back as they are (and become JSON editors)."""
    nullable = False
    for _ in range(_MAX_DEPTH):
        if not isinstance(node, dict):
            return node, nullable
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
            if target is None:
                return node, nullable
            extra = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **extra}
            continue
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            node = {**{k: v for k, v in node.items() if k != "allOf"}, **all_of[0]}
            continue
        for key in ("anyOf", "oneOf"):
            options = node.get(key)
            if isinstance(options, list):
                rest = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                if len(rest) == 1 and len(rest) < len(options):
                    nullable = True
                    node = {**{k: v for k, v in node.items() if k != key}, **rest[0]}
                    break
        else:
            types = node.get("type")
            if isinstance(types, list) and "null" in types and len(types) == 2:
                nullable = True
                node = {**node, "type": next(t for t in types if t != "null")}
            return node, nullable
    return node, nullable


def _kind(node: Any) -> str:
    if not isinstance(node, dict):
        return "json"
    if "enum" in node and isinstance(node["enum"], list) and node["enum"]:
        return "enum"
    if "const" in node:
        return "enum"
    kind = node.get("type")
    if kind in _SCALARS:
        if kind == "string" and (node.get("format") == "textarea" or node.get("maxLength", 0) > 200):
            return "text"
        return kind
    if kind == "object" and isinstance(node.get("properties"), dict) and node["properties"]:
        extra = node.get("additionalProperties", False)
        return "object" if extra in (False, None) or "patternProperties" not in node else "json"
    if kind == "array" and isinstance(node.get("items"), dict):
        return "array"
    return "json"


def _as_text(value: Any, kind: str) -> str:
    if value is _ABSENT or value is None:
        return ""
    if kind in ("string", "text") and isinstance(value, str):
        return value
    if kind in ("integer", "number", "boolean", "enum"):
        return json.dumps(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def _constraints(node: Mapping[str, Any], kind: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if kind in ("integer", "number"):
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(node.get(key), (int, float)):
                attrs[attr] = node[key]
        attrs["step"] = "1" if kind == "integer" else "any"
    if kind in ("string", "text"):
        for key, attr in (("minLength", "minlength"), ("maxLength", "maxlength")):
            if isinstance(node.get(key), int):
                attrs[attr] = node[key]
        if kind == "string" and isinstance(node.get("pattern"), str):
            attrs["pattern"] = node["pattern"]
    return attrs


def _field(
    name: str,
    label: str,
    node: Any,
    root: Mapping[str, Any],
    value: Any,
    *,
    required: bool,
    depth: int = 0,
    within_optional: bool = False,
) -> Field:
    node, nullable = _resolve(node, root)
    kind = _kind(node) if depth < _MAX_DEPTH else "json"
    schema_node: dict[str, Any] = node if isinstance(node, dict) else {}
    title = schema_node.get("title")
    made = Field(
        name=name,
        label=title if isinstance(title, str) and title else label,
        kind=kind,
        required=required,
        nullable=nullable,
        description=str(schema_node.get("description") or ""),
        attrs=_constraints(schema_node, kind),
        schema=node,
        root=root,
    )
    made.html_required = required and not nullable and not within_optional
    inner_optional = within_optional or not made.html_required
    if kind == "enum":
        choices = schema_node["enum"] if "enum" in schema_node else [schema_node["const"]]
        made.options = [(json.dumps(c), c if isinstance(c, str) else json.dumps(c)) for c in choices]
        made.value = "" if value is _ABSENT or (value is None and nullable) else json.dumps(value)
    elif kind == "object":
        props: dict[str, Any] = schema_node["properties"]
        needed = set(schema_node.get("required") or [])
        current = value if isinstance(value, dict) else {}
        made.children = [
            _field(
                f"{name}/{json_pointer([key])[1:]}",
                key,
                sub,
                root,
                current.get(key, _ABSENT),
                required=key in needed,
                depth=depth + 1,
                within_optional=inner_optional,
            )
            for key, sub in props.items()
        ]
    elif kind == "array":
        items = value if isinstance(value, list) else []
        made.children = [
            _field(
                f"{name}/{i}",
                f"Item {i + 1}",
                schema_node["items"],
                root,
                item,
                required=True,
                depth=depth + 1,
                within_optional=inner_optional,
            )
            for i, item in enumerate(items)
        ]
    else:
        made.value = _as_text(value, kind)
    return made


def build_form(
    dataset: Mapping[str, Any], case: Mapping[str, Any] | None = None, *, mode: str = "form", version: int | None = None
) -> CaseForm:
    """The form for a new case (`case` None) or for editing `case`; mode "json" shows JSON editors only."""
    case = case or {}
    form = CaseForm(
        name=case.get("name") or "",
        tags=", ".join(case.get("tags") or []),
        version=version if version is not None else case.get("version"),
        mode=mode,
    )
    for case_field, (label, schema_field) in DATA_FIELDS.items():
        schema = dataset.get(schema_field)
        value = case.get(case_field, _ABSENT)
        required = case_field == "inputs"
        if mode == "json" or schema is None or not isinstance(schema, dict):
            made = Field(name=case_field, label=label, kind="json", required=required, value=_as_text(value, "json"))
        else:
            made = _field(case_field, label, schema, schema, value, required=required)
            made.label = label  # the section keeps its own name; the schema's title goes to the hint
            if made.description == "" and isinstance(schema.get("title"), str):
                made.description = f"Schema: {schema['title']}"
        form.fields.append(made)
    return form


# --- form data -> JSON ---------------------------------------------------------------------------


class _Reader:
    def __init__(self, form: Mapping[str, Sequence[str]]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str | None:
        values = self.form.get(name)
        return None if not values else values[-1]

    def read(self, node: Field) -> Any:
        """The value of `node` from the form, _ABSENT when left empty (errors collected on the way)."""
        if node.kind == "object":
            before = dict(self.errors)
            result = {}
            for child in node.children:
                value = self.read(child)
                if value is not _ABSENT:
                    result[child.name.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")] = value
            if not result and not node.required:  # an optional object left empty: absent, its fields not required
                self.errors = before
                return _ABSENT
            if not result and node.nullable:
                self.errors = before
                return None
            return result
        if node.kind == "array":
            items = [self.read(child) for child in node.children]
            return [item for item in items if item is not _ABSENT]
        raw = self.text(node.name)
        if raw is None or raw == "":  # left empty: not given
            if node.required and node.nullable:
                return None
            if node.required:
                self.errors.setdefault(node.name, "This field is required.")
            return _ABSENT
        return self._convert(node, raw)

    def _convert(self, node: Field, raw: str) -> Any:
        try:
            if node.kind in ("string", "text"):
                return raw
            if node.kind == "integer":
                return int(raw.strip())
            if node.kind == "number":
                number = float(raw.strip())
                return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
            if node.kind in ("boolean", "enum"):
                return json.loads(raw)
            return json.loads(raw)
        except ValueError as exc:
            self.errors[node.name] = _conversion_message(node.kind, exc)
            return _ABSENT


def _conversion_message(kind: str, exc: ValueError) -> str:
    if kind == "integer":
        return "Enter a whole number."
    if kind == "number":
        return "Enter a number."
    if isinstance(exc, json.JSONDecodeError):
        return f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    return "Choose one of the options."


MAX_ITEMS = 1000
"""Most items an array field of the form takes (a bigger list is edited as JSON)."""


def _new_item(array: Field, index: int) -> Field:
    return _field(
        f"{array.name}/{index}", f"Item {index + 1}", array.schema["items"], array.root, _ABSENT, required=True
    )


def _sized(node: Field, form: Mapping[str, Sequence[str]]) -> Field:
    """Rebuild array fields with as many items as the form has (its `name/#` count)."""
    if node.kind == "object":
        node.children = [_sized(child, form) for child in node.children]
    elif node.kind == "array":
        values = form.get(node.name + "/#")
        count = int(values[-1]) if values and values[-1].isdigit() else len(node.children)
        node.children = [_sized(_new_item(node, i), form) for i in range(min(count, MAX_ITEMS))]
    return node


def read_form(
    dataset: Mapping[str, Any], form: Mapping[str, Sequence[str]], *, mode: str = "form"
) -> tuple[dict[str, Any], CaseForm, dict[str, str]]:
    """Read a posted case form. Returns the case data (only what was filled in), the form rebuilt with
    what was typed (to show again), and conversion errors by slot name (empty when it all parsed)."""
    shape = build_form(dataset, mode=mode)
    shape.fields = [_sized(node, form) for node in shape.fields]
    reader = _Reader(form)
    data: dict[str, Any] = {}
    for node in shape.fields:
        value = reader.read(node)
        if value is not _ABSENT:
            data[node.name] = value
    if "inputs" not in data and "inputs" not in reader.errors:
        reader.errors["inputs"] = "Every case needs inputs."
    name = (reader.text("name") or "").strip()
    data["name"] = name or None
    data["tags"] = parse_tags(reader.text("tags") or "")
    _refill(shape, form)
    shape.name = name
    shape.tags = reader.text("tags") or ""
    version = reader.text("version")
    shape.version = int(version) if version and version.isdigit() else None
    return data, shape, reader.errors


def _refill(shape: CaseForm, form: Mapping[str, Sequence[str]]) -> None:
    stack = list(shape.fields)
    while stack:
        node = stack.pop()
        if node.kind not in ("object", "array"):
            values = form.get(node.name)
            node.value = values[-1] if values else ""
        stack.extend(node.children)


def parse_tags(text: str) -> list[str]:
    """Tags typed as a comma-separated list: trimmed, empties dropped, duplicates once, order kept."""
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def apply_action(shape: CaseForm, action: str) -> bool:
    """Apply an array button (`add:<array name>` or `remove:<item name>`) to the form; False if unknown."""
    verb, _, target = action.partition(":")
    stack = list(shape.fields)
    while stack:
        node = stack.pop()
        if node.kind == "array" and verb == "add" and node.name == target:
            if len(node.children) < MAX_ITEMS:
                node.children.append(_new_item(node, len(node.children)))
            return True
        if node.kind == "array" and verb == "remove" and target.rsplit("/", 1)[0] == node.name:
            kept = [child for child in node.children if child.name != target]
            node.children = [_renamed(child, f"{node.name}/{i}", f"Item {i + 1}") for i, child in enumerate(kept)]
            return True
        stack.extend(node.children)
    return False


def _renamed(node: Field, name: str, label: str) -> Field:
    old = node.name
    moved = replace(node, name=name, label=label)
    moved.children = [_renamed(c, name + c.name[len(old) :], c.label) for c in node.children]
    return moved
