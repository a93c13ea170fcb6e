# pyright: strict
"""Dataset files: pydantic-evals YAML/JSON (as `Dataset.to_file` writes them), JSONL and CSV.

```python
data = read_dataset_file('golden.yaml')       # the file-format dict, evaluators as {name, arguments}
client.push_dataset(data, name='qa-golden-set')
write_dataset_file(client.export_dataset('qa-golden-set'), 'pulled.yaml')
Dataset[QuestionInput, AnswerOutput, CaseMetadata].from_file('pulled.yaml')
```

JSONL has one case per line and CSV one case per row, with `inputs`, `expected_output`,
`metadata`, `evaluators` and `tags` cells written as JSON (a cell that is not valid JSON is read
as a plain string). Those two formats hold cases only: dataset-level evaluators are not kept.
Tags travel in JSONL (a `tags` key) and CSV (a `tags` column) only: YAML and JSON files stay exactly
what `Dataset.from_file` loads, and it forbids keys it does not know.

A YAML or JSON file written by `Dataset.to_file` names its JSON Schema (`$schema`, the
`*_schema.json` file beside it); `file_schemas` reads the input, output and metadata schemas
from it, so `evalset push` can create the dataset typed.

YAML is PyYAML's YAML 1.1, what `Dataset.from_file` loads, through libyaml's C parser when PyYAML was
built with it (its wheels are); `_yaml` and `_yaml_writer` read and write it several times faster than
`yaml.load` and `yaml.dump`, with the same results (see there).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from evalset import _yaml, _yaml_writer
from evalset._serialization import normalize_evaluator, serialize_evaluators, short_form_evaluator
from evalset.types import ExportedCase, ExportedDataset

__all__ = [
    "Format",
    "FORMATS",
    "file_format",
    "read_dataset_file",
    "write_dataset_file",
    "parse_dataset",
    "format_dataset",
    "file_schemas",
    "schemas_from_dataset_schema",
]

Format = Literal["yaml", "json", "jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("yaml", "json", "jsonl", "csv")
_SUFFIXES: dict[str, Format] = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".csv": "csv"}
_TOP_KEYS = {"name", "cases", "evaluators", "report_evaluators", "$schema"}
_CASE_KEYS = ("name", "inputs", "metadata", "expected_output", "evaluators")
_EXTRA_CASE_KEYS = ("tags", "source_trace_id", "source_span_id")
_JSON_CELLS = {"inputs", "expected_output", "metadata", "evaluators", "tags"}
_YAML_SCHEMA_LINE = "# yaml-language-server: $schema="
_JSON_SCHEMA_KEY = re.compile(r'\s*\{\s*"\$schema"\s*:\s*("(?:[^"\\]|\\.)*")')
_WRITE_BATCH = 1000
ProgressFn = Callable[[int, int], None]


def file_format(path: str | Path, fmt: Format | None = None) -> Format:
    """The format of a dataset file: `fmt` if given, else from the suffix."""
    if fmt is not None:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"Cannot tell the format of {str(path)!r}: use .yaml, .yml, .json, .jsonl or .csv.")
    return _SUFFIXES[suffix]


def read_dataset_file(path: str | Path, *, fmt: Format | None = None) -> ExportedDataset:
    """A dataset file as the pydantic-evals dict (name defaults to the file's stem); errors name the line or row."""
    path = Path(path)
    return parse_dataset(path.read_text(encoding="utf-8"), file_format(path, fmt), source=str(path), name=path.stem)


def parse_dataset(text: str, fmt: Format, *, source: str = "<text>", name: str = "") -> ExportedDataset:
    """Dataset file contents as the pydantic-evals dict."""
    if fmt in ("jsonl", "csv"):
        rows = _jsonl_rows(text, source) if fmt == "jsonl" else _csv_rows(text, source)
        return {"name": name, "cases": [_case(row, f"{source}:{where}") for where, row in rows]}
    try:
        raw = _yaml.load(text) if fmt == "yaml" else json.loads(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        raise ValueError(f"{source}: not valid {fmt.upper()}: {exc}") from None
    if not isinstance(raw, dict) or "cases" not in raw:
        raise ValueError(f"{source}: expected a mapping with a 'cases' list, as Dataset.to_file writes.")
    data = cast(dict[str, Any], raw)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ValueError(
            f"{source}: unknown top-level keys {unknown}; allowed: name, cases, evaluators, report_evaluators."
        )
    cases: list[Any] = data["cases"] or []
    return {
        "name": data.get("name") or name,
        "cases": [_case(case, f"{source}: case {index}") for index, case in enumerate(cases)],
        "evaluators": _evaluators(data.get("evaluators"), source),
        "report_evaluators": _evaluators(data.get("report_evaluators"), source),
    }


def file_schemas(path: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The JSON Schema file a YAML/JSON dataset file names (`$schema`, as `Dataset.to_file` writes it) and
    the `input_schema`, `output_schema` and `metadata_schema` read from it (typed fields only);
    None when the file names no schema or the schema file is not there."""
    path = Path(path)
    reference = _schema_reference(path)
    if reference is None or "://" in reference:
        return None
    schema_path = path.parent / reference
    if not schema_path.is_file():
        return None
    try:
        document = json.loads(schema_path.read_text(encoding="utf-8"))
        return schema_path, schemas_from_dataset_schema(document)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{schema_path}: not a dataset JSON Schema as Dataset.to_file writes it ({exc}).") from None


def _schema_reference(path: Path) -> str | None:
    fmt = file_format(path)
    if fmt == "yaml":
        with path.open(encoding="utf-8") as file:
            first = file.readline().strip()
        return first[len(_YAML_SCHEMA_LINE) :].strip() or None if first.startswith(_YAML_SCHEMA_LINE) else None
    if fmt == "json":  # `$schema` is the first key Dataset.to_file writes: no need to parse the whole file
        with path.open(encoding="utf-8") as file:
            found = _JSON_SCHEMA_KEY.match(file.read(4096))
        return json.loads(found.group(1)) if found else None
    return None


_SCHEMA_FIELDS = (("inputs", "input_schema"), ("expected_output", "output_schema"), ("metadata", "metadata_schema"))


def schemas_from_dataset_schema(document: Mapping[str, Any]) -> dict[str, Any]:
    """The case schemas inside the JSON Schema of a dataset file (`Dataset.model_json_schema_with_evaluators`),
    each standalone with the `$defs` it needs, as `TypeAdapter(type).json_schema()` writes them; untyped
    (`Any`) fields are left out."""
    defs: dict[str, Any] = dict(document.get("$defs") or {})
    case = _resolve(document["properties"]["cases"]["items"], defs)
    found: dict[str, Any] = {}
    for field, key in _SCHEMA_FIELDS:
        node = case["properties"].get(field)
        schema = _standalone(node, defs) if node is not None else None
        if schema:
            found[key] = schema
    return found


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
        return dict(defs[ref[len("#/$defs/") :]])
    return dict(node)


def _standalone(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any] | None:
    node = {key: value for key, value in node.items() if key not in ("title", "default")}
    branches: list[Any] = node.get("anyOf") or []
    if branches and {"type": "null"} in branches:  # `T | None = None` in the Case model: the case's own field is T
        rest = [branch for branch in branches if branch != {"type": "null"}]
        node = {key: value for key, value in node.items() if key != "anyOf"}
        node = {**node, "anyOf": rest} if len(rest) > 1 else {**node, **rest[0]} if rest else node
    if not node:
        return None
    schema = _resolve(node, defs)
    needed = _referenced(schema, defs)
    if needed:
        schema["$defs"] = {name: defs[name] for name in sorted(needed)}
    return schema


def _referenced(node: Any, defs: Mapping[str, Any]) -> set[str]:
    """The names of the `$defs` that `node` needs, transitively."""
    found: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            mapping = cast(Mapping[str, Any], item)
            ref = mapping.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/") :]
                if name not in found and name in defs:
                    found.add(name)
                    pending.append(defs[name])
            pending.extend(mapping.values())
        elif isinstance(item, list):
            pending.extend(cast(list[Any], item))
    return found


def _evaluators(specs: Any, where: str) -> list[Any]:
    try:
        return serialize_evaluators(cast(list[Any], specs or []))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _case(raw: Any, where: str) -> ExportedCase:
    if not isinstance(raw, Mapping) or "inputs" not in raw:
        raise ValueError(f"{where}: a case must be a mapping with an 'inputs' key.")
    case = dict(cast(Mapping[str, Any], raw))
    unknown = sorted(set(case) - {*_CASE_KEYS, *_EXTRA_CASE_KEYS})
    if unknown:
        raise ValueError(f"{where}: unknown case keys {unknown}; allowed: {', '.join(_CASE_KEYS + _EXTRA_CASE_KEYS)}.")
    if case.get("evaluators") is not None:
        case["evaluators"] = _evaluators(case["evaluators"], where)
    return cast(ExportedCase, case)


def _jsonl_rows(text: str, source: str) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append((f"line {number}", json.loads(line)))
            except ValueError as exc:
                raise ValueError(f"{source}:line {number}: not valid JSON: {exc}") from None
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if "inputs" not in (reader.fieldnames or []):
        raise ValueError(f"{source}: a CSV dataset needs an 'inputs' column (header row: {reader.fieldnames}).")
    rows: list[tuple[str, Any]] = []
    for row in reader:
        if None in row:  # more cells than header columns: an unquoted comma split a cell
            raise ValueError(f"{source}:row {reader.line_num}: {_split_cell_message(row)}")
        case: dict[str, Any] = {}
        for column, cell in row.items():
            if cell is None or cell == "":
                continue
            case[column] = _cell(cell) if column in _JSON_CELLS else cell
        if "inputs" not in case:
            raise ValueError(f"{source}:row {reader.line_num}: the 'inputs' cell is empty.")
        rows.append((f"row {reader.line_num}", case))
    return rows


def _split_cell_message(row: Mapping[str | None, Any]) -> str:
    extra = len(row[None])
    broken = [
        column
        for column, cell in row.items()
        if column in _JSON_CELLS and isinstance(cell, str) and cell[:1] in "{[" and _cell(cell) is cell
    ]
    where = f"column {broken[0]!r} could not be parsed as JSON ({row[broken[0]]!r})" if broken else "it"
    return (
        f"{where}: the row has {extra} more cell(s) than the header, so a comma inside a cell split it. "
        'Quote cells that contain commas, as CSV writers do: "{""question"": ""a, b""}".'
    )


def _cell(cell: str) -> Any:
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def write_dataset_file(
    data: ExportedDataset | Mapping[str, Any],
    path: str | Path,
    *,
    fmt: Format | None = None,
    on_progress: ProgressFn | None = None,
) -> None:
    """Write an export (see `export_dataset`) so that `Dataset.from_file` (YAML/JSON) or `push` (any) reads it.

    `on_progress(written, total)` is called as cases are formatted, a batch at a time.
    """
    path = Path(path)
    text = format_dataset(data, file_format(path, fmt), on_progress=on_progress)
    path.write_text(text, encoding="utf-8")


def format_dataset(
    data: ExportedDataset | Mapping[str, Any], fmt: Format, *, on_progress: ProgressFn | None = None
) -> str:
    """An export as file contents, in the layout `Dataset.to_file` uses (short evaluator forms).

    JSONL and CSV keep the cases' `tags` when the export has them (YAML and JSON never do). Cases are
    formatted a batch at a time, with `on_progress(formatted, total)` after each batch.
    """
    cases: list[Any] = list(data.get("cases") or [])
    total, with_tags = len(cases), fmt in ("jsonl", "csv")
    parts: list[Any] = []
    for start in range(0, total, _WRITE_BATCH):
        batch = [_file_case(case, tags=with_tags) for case in cases[start : start + _WRITE_BATCH]]
        parts.append(batch if fmt == "json" else _format_cases(batch, fmt))
        if on_progress is not None:
            on_progress(start + len(batch), total)
    if fmt == "jsonl":
        return "".join(parts)
    if fmt == "csv":
        return _csv_text([], header=True) + "".join(parts)
    evaluators = {
        key: [short_form_evaluator(normalize_evaluator(spec)) for spec in cast(list[Any], data.get(key) or [])]
        for key in ("evaluators", "report_evaluators")
    }
    if fmt == "json":
        document = {"name": data.get("name"), "cases": [case for batch in parts for case in batch], **evaluators}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    # YAML: the document dumped in pieces (block sequences are not indented under their key, so the
    # cases dumped as a list are byte for byte what dumping the whole document writes for them).
    cases_yaml = "cases:\n" + "".join(parts) if parts else "cases: []\n"
    return _yaml.dump({"name": data.get("name")}) + cases_yaml + _yaml.dump(evaluators)


def _format_cases(cases: list[dict[str, Any]], fmt: Format) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(case, ensure_ascii=False) + "\n" for case in cases)
    if fmt == "csv":
        return _csv_text(cases, header=False)
    return _yaml_writer.dump_cases(cases)


def _file_case(case: Mapping[str, Any], *, tags: bool) -> dict[str, Any]:
    specs: list[Any] = case.get("evaluators") or []
    evaluators = [short_form_evaluator(normalize_evaluator(spec)) for spec in specs]
    row = {**{key: case.get(key) for key in _CASE_KEYS if key != "evaluators"}, "evaluators": evaluators}
    if tags and "tags" in case:
        row["tags"] = case["tags"]
    return row


def _csv_text(cases: list[dict[str, Any]], *, header: bool) -> str:
    out = io.StringIO()
    fieldnames: list[str] = [*_CASE_KEYS, "tags"]
    writer = csv.DictWriter(out, fieldnames=fieldnames, lineterminator="\n")
    if header:
        writer.writeheader()
    for case in cases:
        writer.writerow({key: _csv_value(key, value) for key, value in case.items()})
    return out.getvalue()


def _csv_value(key: str, value: Any) -> str:
    if value is None or (key in ("evaluators", "tags") and not value):
        return ""
    if key == "name":
        return str(value)
    return json.dumps(value, ensure_ascii=False)
