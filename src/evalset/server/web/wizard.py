"""The dataset fields as a form: name and schema checks shared by New dataset (in steps) and Edit."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from evalset.server.domain.names import DATASET_NAME_PATTERN, MAX_NAME_LENGTH
from evalset.server.domain.schemas import check_schema, infer_schema
from evalset.server.errors import InvalidInput

__all__ = ["SCHEMA_INPUTS", "TEXT_FIELDS", "DatasetDraft", "check_name", "infer_into"]

SCHEMA_INPUTS: dict[str, str] = {
    "input_schema": "Input schema",
    "output_schema": "Output schema",
    "metadata_schema": "Metadata schema",
}
TEXT_FIELDS = ("name", "description", "guidance")
_NAME = re.compile(DATASET_NAME_PATTERN)


def check_name(name: str) -> str:
    """The problem with a dataset name, as the API would report it, or '' when it is fine."""
    if not name:
        return "A dataset needs a name."
    if len(name) > MAX_NAME_LENGTH:
        return f"Use at most {MAX_NAME_LENGTH} characters (this one has {len(name)})."
    if not _NAME.match(name):
        return (
            "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit (for example qa-golden-set)."
        )
    return ""


class DatasetDraft:
    """The dataset fields as typed into a form: texts, schemas as JSON text, and errors by field."""

    def __init__(self, form: Mapping[str, Any] | None = None, dataset: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        if dataset is not None:
            for name in TEXT_FIELDS:
                self.values[name] = dataset.get(name) or ""
            for name in SCHEMA_INPUTS:
                schema = dataset.get(name)
                self.values[name] = "" if schema is None else json.dumps(schema, indent=2, ensure_ascii=False)
        for name in (*TEXT_FIELDS, *SCHEMA_INPUTS, *(f"example_{s}" for s in SCHEMA_INPUTS)):
            if form is not None and name in form:
                self.values[name] = str(form.get(name) or "")
        self.values["name"] = self.values.get("name", "").strip()

    def check_name(self) -> bool:
        problem = check_name(self.values["name"])
        if problem:
            self.errors["name"] = problem
        return not problem

    def schemas(self) -> dict[str, Any]:
        """The parsed schemas (None for empty ones); syntax and schema errors go to `errors`."""
        parsed: dict[str, Any] = {}
        for name in SCHEMA_INPUTS:
            text = self.values.get(name, "").strip()
            if not text:
                parsed[name] = None
                continue
            try:
                parsed[name] = json.loads(text)
                check_schema(parsed[name], name)
            except json.JSONDecodeError as exc:
                self.errors[name] = f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            except InvalidInput as exc:
                self.errors[name] = exc.detail
        return parsed

    def fields(self) -> dict[str, Any]:
        """What the dataset services take (call schemas() first and check `errors`)."""
        fields: dict[str, Any] = {name: self.values.get(name) or None for name in TEXT_FIELDS}
        fields["name"] = self.values["name"]
        fields.update(self.schemas())
        return fields


def infer_into(draft: DatasetDraft, schema_field: str) -> None:
    """Replace `schema_field` with a schema inferred from the example typed beside it."""
    example = draft.values.get(f"example_{schema_field}", "").strip()
    if not example:
        draft.errors[f"example_{schema_field}"] = "Paste an example value (JSON) first."
        return
    try:
        value = json.loads(example)
    except json.JSONDecodeError as exc:
        draft.errors[f"example_{schema_field}"] = f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        return
    draft.values[schema_field] = json.dumps(infer_schema(value), indent=2)
