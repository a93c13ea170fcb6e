"""What a span proposes for a case (inputs, expected output, metadata), and the field mappings. Pure.

The rules, first match wins (`Proposal.rule` names it):

- `pydantic-evals case` (attributes `case_name` and `inputs`): inputs `inputs`; expected output
  `expected_output`, else `output`; metadata `metadata`.
- `pydantic-ai agent run` (attribute `final_result`): inputs `gen_ai.input.messages`, else
  `pydantic_ai.all_messages`, else `all_messages_events`; expected output `final_result`; metadata the
  model and agent names.
- `gen_ai` (`gen_ai.input.messages` or `gen_ai.output.messages`): those two; metadata the model names.
- `openinference` (`input.value` or `output.value`): those two; no metadata.
- `logfire.instrument` (`code.function` and `logfire.msg_template`): inputs the function's arguments (the
  attributes outside logfire's own); expected output `return`; no metadata.
- `attributes` (anything else): inputs the span's own attributes (without logfire's and OpenTelemetry's
  bookkeeping); no expected output or metadata.

OpenInference values whose `*.mime_type` is `application/json` are parsed from their JSON text.

A **field mapping** overrides the rule for one field: `"auto"` (the rule's value), `"attributes"` (every
attribute, as a dict), `"none"` (null), or a JSON path into the attributes (see `resolve_path`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from evalset.server.domain.spans import SpanRecord

__all__ = ["FIELDS", "Proposal", "propose", "apply_mapping", "resolve_path", "PathError", "user_attributes", "snapshot"]

Field = Literal["inputs", "expected_output", "metadata"]
FIELDS: tuple[Field, ...] = ("inputs", "expected_output", "metadata")
MAPPING_WORDS = ("auto", "attributes", "none")

_BOOKKEEPING_PREFIXES = ("logfire.", "code.", "otel.", "telemetry.", "thread.", "process.", "service.")
_BOOKKEEPING_KEYS = frozenset({"logfire.json_schema", "logfire.msg", "logfire.msg_template", "logfire.span_type"})


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """Values proposed for a case from one span, which rule produced them, and where each came from."""

    inputs: Any
    expected_output: Any
    metadata: Any
    rule: str
    sources: Mapping[str, str] = field(default_factory=dict)
    """Per field, a readable origin: a JSON path into the attributes, or a phrase ("function arguments")."""
    name: str | None = None
    """A case name the span suggests (a pydantic-evals case span's `case_name`); the web form starts with it."""

    def value(self, name: Field) -> Any:
        return getattr(self, name)


def user_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes a person set, without logfire's and OpenTelemetry's bookkeeping keys."""
    return {
        key: value
        for key, value in attributes.items()
        if key not in _BOOKKEEPING_KEYS and not key.startswith(_BOOKKEEPING_PREFIXES)
    }


def _quoted(key: str) -> str:
    return "$" + ("." + key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else "[" + orjson.dumps(key).decode() + "]")


def _first(attributes: Mapping[str, Any], *keys: str) -> tuple[Any, str | None]:
    for key in keys:
        if attributes.get(key) is not None:
            return attributes[key], _quoted(key)
    return None, None


def _openinference_value(attributes: Mapping[str, Any], key: str) -> Any:
    value = attributes.get(f"{key}.value")
    if isinstance(value, str) and attributes.get(f"{key}.mime_type") == "application/json":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _models(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    keys = ("gen_ai.request.model", "gen_ai.response.model", "gen_ai.system", "model_name", "agent_name")
    found = {key: attributes[key] for key in keys if attributes.get(key) is not None}
    return found or None


def propose(span: SpanRecord) -> Proposal:
    """The case a span suggests, by the first rule (see the module's table) that recognises it."""
    a = span.attributes
    if "case_name" in a and "inputs" in a:
        expected, expected_from = _first(a, "expected_output", "output")
        return Proposal(
            inputs=a.get("inputs"),
            expected_output=expected,
            metadata=a.get("metadata"),
            rule="pydantic-evals case",
            sources={"inputs": "$.inputs", "expected_output": expected_from or "", "metadata": "$.metadata"},
            name=str(a.get("logfire.experiment.source_case_name") or a["case_name"]),
        )
    if "final_result" in a:
        inputs, inputs_from = _first(a, "gen_ai.input.messages", "pydantic_ai.all_messages", "all_messages_events")
        return Proposal(
            inputs=inputs,
            expected_output=a.get("final_result"),
            metadata=_models(a),
            rule="pydantic-ai agent run",
            sources={"inputs": inputs_from or "", "expected_output": "$.final_result", "metadata": "model names"},
        )
    if "gen_ai.input.messages" in a or "gen_ai.output.messages" in a:
        return Proposal(
            inputs=a.get("gen_ai.input.messages"),
            expected_output=a.get("gen_ai.output.messages"),
            metadata=_models(a),
            rule="gen_ai",
            sources={
                "inputs": _quoted("gen_ai.input.messages"),
                "expected_output": _quoted("gen_ai.output.messages"),
                "metadata": "model names",
            },
        )
    if "input.value" in a or "output.value" in a:
        return Proposal(
            inputs=_openinference_value(a, "input"),
            expected_output=_openinference_value(a, "output"),
            metadata=None,
            rule="openinference",
            sources={"inputs": _quoted("input.value"), "expected_output": _quoted("output.value")},
        )
    if "code.function" in a and "logfire.msg_template" in a:
        arguments = {k: v for k, v in user_attributes(a).items() if k != "return"}
        return Proposal(
            inputs=arguments,
            expected_output=a.get("return"),
            metadata=None,
            rule="logfire.instrument",
            sources={"inputs": "function arguments", "expected_output": "$.return"},
        )
    return Proposal(
        inputs=user_attributes(a),
        expected_output=None,
        metadata=None,
        rule="attributes",
        sources={"inputs": "span attributes"},
    )


class PathError(ValueError):
    """A JSON path that cannot be read, or that leads nowhere in the span's attributes."""


_TOKEN = re.compile(r'\.([^.\[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\[\'([^\']*)\'\]')


def _tokens(path: str) -> list[str | int]:
    if not path.startswith("$"):
        raise PathError(
            f"A JSON path starts with '$' (got {path!r}), e.g. $.inputs or $[\"gen_ai.input.messages\"][0]."
        )
    tokens: list[str | int] = []
    position = 1
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None:
            raise PathError(f"Cannot read the JSON path {path!r} at character {position + 1}: {path[position:]!r}.")
        name, index, quoted, single = match.groups()
        if index is not None:
            tokens.append(int(index))
        elif quoted is not None:
            tokens.append(orjson.loads(quoted))
        else:
            tokens.append(name if name is not None else single)
        position = match.end()
    return tokens


def resolve_path(attributes: Mapping[str, Any], path: str) -> Any:
    """The value at a JSON path into a span's attributes: `$` is the attributes object; `.name` or
    `["name"]` a member, `[0]` an array item. Attribute names contain dots (`gen_ai.input.messages`): at
    the top level, dotted names join up to the longest attribute name that exists, so
    `$.gen_ai.input.messages[0].content` works as well as `$["gen_ai.input.messages"][0].content`.
    Raises PathError when the path is malformed or leads nowhere."""
    tokens = _tokens(path)
    current: Any = attributes
    start = 0
    if tokens and isinstance(tokens[0], str):
        names = []
        for token in tokens:
            if not isinstance(token, str):
                break
            names.append(token)
        for end in range(len(names), 0, -1):
            if ".".join(names[:end]) in attributes:
                current, start = attributes[".".join(names[:end])], end
                break
    for token in tokens[start:]:
        if isinstance(token, int) and isinstance(current, list) and token < len(current):
            current = current[token]
            continue
        if isinstance(token, str) and isinstance(current, Mapping) and token in current:
            current = current[token]
            continue
        raise PathError(f"The JSON path {path!r} leads nowhere in the span's attributes (no {token!r}).")
    return current


def apply_mapping(span: SpanRecord, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The three fields for a case from `span`, each by its mapping (default `"auto"`; see the module doc).
    Raises PathError for a bad path, ValueError for a field name that is not one of FIELDS."""
    mapping = mapping or {}
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ValueError(f"Unknown field {unknown[0]!r} in the mapping; map inputs, expected_output or metadata.")
    proposal = propose(span)
    values: dict[str, Any] = {}
    for name in FIELDS:
        how = mapping.get(name, "auto")
        if how == "auto":
            values[name] = proposal.value(name)
        elif how == "attributes":
            values[name] = dict(span.attributes)
        elif how == "none":
            values[name] = None
        else:
            values[name] = resolve_path(span.attributes, how)
    return values


def snapshot(span: SpanRecord) -> dict[str, Any]:
    """What a case keeps of its source span: ids, name, service, times, status and attributes."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "service_name": span.service_name,
        "scope": span.scope,
        "kind": span.kind,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status,
        "status_message": span.status_message,
        "attributes": dict(span.attributes),
    }
