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
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast

from evalset._serialization import normalize_evaluator, serialize_evaluators, short_form_evaluator
from evalset.types import ExportedCase, ExportedDataset

__all__ = ["Format", "FORMATS", "file_format", "read_dataset_file", "write_dataset_file", "parse_dataset"]

Format = Literal["yaml", "json", "jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("yaml", "json", "jsonl", "csv")
_SUFFIXES: dict[str, Format] = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".csv": "csv"}
_TOP_KEYS = {"name", "cases", "evaluators", "report_evaluators", "$schema"}
_CASE_KEYS = ("name", "inputs", "metadata", "expected_output", "evaluators")
_EXTRA_CASE_KEYS = ("tags", "source_trace_id", "source_span_id")
_JSON_CELLS = {"inputs", "expected_output", "metadata", "evaluators", "tags"}


def file_format(path: str | Path, fmt: Format | None = None) -> Format:
    """The format of a dataset file: `fmt` if given, else from the suffix."""
    if fmt is not None:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(f"Cannot tell the format of {str(path)!r}: use .yaml, .yml, .json, .jsonl or .csv.")
    return _SUFFIXES[suffix]


def _yaml() -> Any:
    try:
        import yaml
    except ModuleNotFoundError:  # pragma: no cover - pydantic-evals depends on PyYAML
        raise ModuleNotFoundError("YAML files need PyYAML: pip install pyyaml") from None
    return yaml


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
        raw = _yaml().safe_load(text) if fmt == "yaml" else json.loads(text)
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
        case: dict[str, Any] = {}
        for column, cell in row.items():
            if cell is None or cell == "":
                continue
            case[column] = _cell(cell) if column in _JSON_CELLS else cell
        if "inputs" not in case:
            raise ValueError(f"{source}:row {reader.line_num}: the 'inputs' cell is empty.")
        rows.append((f"row {reader.line_num}", case))
    return rows


def _cell(cell: str) -> Any:
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def write_dataset_file(
    data: ExportedDataset | Mapping[str, Any], path: str | Path, *, fmt: Format | None = None
) -> None:
    """Write an export (see `export_dataset`) so that `Dataset.from_file` (YAML/JSON) or `push` (any) reads it."""
    path = Path(path)
    path.write_text(format_dataset(data, file_format(path, fmt)), encoding="utf-8")


def format_dataset(data: ExportedDataset | Mapping[str, Any], fmt: Format) -> str:
    """An export as file contents, in the layout `Dataset.to_file` uses (short evaluator forms)."""
    cases = [_file_case(cast(Mapping[str, Any], case)) for case in data.get("cases") or []]
    if fmt == "jsonl":
        return "".join(json.dumps(case, ensure_ascii=False) + "\n" for case in cases)
    if fmt == "csv":
        return _csv_text(cases)
    document = {
        "name": data.get("name"),
        "cases": cases,
        "evaluators": [short_form_evaluator(normalize_evaluator(spec)) for spec in data.get("evaluators") or []],
        "report_evaluators": [
            short_form_evaluator(normalize_evaluator(spec)) for spec in data.get("report_evaluators") or []
        ],
    }
    if fmt == "yaml":
        return cast(str, _yaml().dump(document, sort_keys=False, allow_unicode=True))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _file_case(case: Mapping[str, Any]) -> dict[str, Any]:
    specs: list[Any] = case.get("evaluators") or []
    evaluators = [short_form_evaluator(normalize_evaluator(spec)) for spec in specs]
    return {**{key: case.get(key) for key in _CASE_KEYS if key != "evaluators"}, "evaluators": evaluators}


def _csv_text(cases: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    fieldnames: list[str] = list(_CASE_KEYS)
    writer = csv.DictWriter(out, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    for case in cases:
        row = {key: _csv_value(key, value) for key, value in case.items()}
        writer.writerow(row)
    return out.getvalue()


def _csv_value(key: str, value: Any) -> str:
    if value is None or (key == "evaluators" and not value):
        return ""
    if key == "name":
        return str(value)
    return json.dumps(value, ensure_ascii=False)
