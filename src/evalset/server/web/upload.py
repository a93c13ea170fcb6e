"""CSV / JSONL upload: rows and their columns, a column -> case field mapping, cases built from it.

Pure functions; the route checks every built case against the dataset's schemas before anything
is written, and imports all of them in one transaction (or none).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from evalset.server.web.caseform import DATA_FIELDS, parse_tags

__all__ = ["parse_rows", "targets", "default_mapping", "build_cases", "MAX_ROWS"]

MAX_ROWS = 100_000
_CASE_COLUMNS = ("name", "tags", *DATA_FIELDS)


def parse_rows(text: str, filename: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of a CSV (header row first) or JSONL (one JSON object per line) file, and their columns.
    ValueError names the line when the file cannot be read."""
    is_jsonl = filename.lower().endswith((".jsonl", ".ndjson")) or text.lstrip().startswith("{")
    rows: list[dict[str, Any]] = []
    if is_jsonl:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"Line {number} is not valid JSON: {exc.msg} (column {exc.colno}).") from None
            if not isinstance(row, dict):
                raise ValueError(f"Line {number} is not a JSON object; each line must be one case's fields.")
            rows.append(row)
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise ValueError("The file is empty: a CSV file needs a header row naming its columns.")
        for row in reader:
            if None in row:
                raise ValueError(f"Line {reader.line_num} has more cells than the header has columns.")
            rows.append(dict(row))
    if not rows:
        raise ValueError("The file has no rows.")
    if len(rows) > MAX_ROWS:
        raise ValueError(f"The file has {len(rows):,} rows; upload at most {MAX_ROWS:,} at a time.")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return rows, columns


def _properties(dataset: Mapping[str, Any], field: str) -> list[str]:
    schema = dataset.get(DATA_FIELDS[field][1])
    props = schema.get("properties") if isinstance(schema, dict) else None
    return list(props) if isinstance(props, dict) else []


def targets(dataset: Mapping[str, Any], columns: list[str]) -> list[tuple[str, str]]:
    """Where a column can go: (value, text) pairs — ignore, a case field, or a property of one."""
    options = [("ignore", "(ignore)"), ("name", "case name"), ("tags", "tags")]
    for field, (label, _) in DATA_FIELDS.items():
        options.append((field, f"{label.lower()} (whole value)"))
    for field, (label, _) in DATA_FIELDS.items():
        for prop in dict.fromkeys([*_properties(dataset, field), *columns]):
            options.append((f"{field}/{prop}", f"{label.lower()} › {prop}"))
    return options


def default_mapping(dataset: Mapping[str, Any], columns: list[str]) -> dict[str, str]:
    """A first guess: columns named like case fields go there, columns named like a schema property go
    to it (expected output and metadata before inputs), and the rest become properties of inputs."""
    mapping = {}
    for column in columns:
        if column in _CASE_COLUMNS:
            mapping[column] = column
            continue
        owner = next((f for f in ("expected_output", "metadata", "inputs") if column in _properties(dataset, f)), None)
        mapping[column] = f"{owner or 'inputs'}/{column}"
    return mapping


def _cell(value: Any, schema_type: Any) -> Any:
    """A CSV cell as JSON when it reads as JSON (and the schema does not ask for a string), else the text."""
    if not isinstance(value, str) or schema_type == "string":
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _property_type(dataset: Mapping[str, Any], field: str, prop: str) -> Any:
    schema = dataset.get(DATA_FIELDS[field][1])
    props = schema.get("properties") if isinstance(schema, dict) else None
    node = props.get(prop) if isinstance(props, dict) else None
    return node.get("type") if isinstance(node, dict) else None


def build_cases(dataset: Mapping[str, Any], rows: list[dict[str, Any]], mapping: Mapping[str, str]) -> list[dict]:
    """One case per row, following `mapping` (column -> target from `targets`)."""
    built = []
    for row in rows:
        case: dict[str, Any] = {}
        for column, target in mapping.items():
            if target == "ignore" or column not in row:
                continue
            value = row[column]
            if target == "name":
                case["name"] = str(value).strip() or None if value is not None else None
            elif target == "tags":
                case["tags"] = value if isinstance(value, list) else parse_tags(str(value or ""))
            elif "/" in target:
                field, prop = target.split("/", 1)
                if value == "" and field != "inputs":
                    continue
                bucket = case.setdefault(field, {})
                if isinstance(bucket, dict):
                    bucket[prop] = _cell(value, _property_type(dataset, field, prop))
            elif not (value == "" and target != "inputs"):
                case[target] = _cell(value, None)
        built.append(case)
    return built
