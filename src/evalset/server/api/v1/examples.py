"""Request and response examples shown in the OpenAPI document (and tried by its fuzz test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["REQUESTS", "RESPONSES"]

_DATASET_ID = "3f2b9c1e-8d4a-4f6b-9a51-2c7e0d1f4a90"
_CASE_ID = "9b1d7e42-5c3f-4a8e-b2d6-71f0a3c4e5d8"
_PROJECT_ID = "0c6a1f3e-2b4d-4e5f-8a9b-1c2d3e4f5a6b"
_KEY_ID = "7e8f9a0b-1c2d-4e3f-9a5b-6c7d8e9f0a1b"
_AT = "2026-11-21T23:25:39.375000+00:00"

_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string", "title": "Question"}},
    "required": ["question"],
    "title": "QuestionInputs",
}
_EVALUATOR = {"name": "EqualsExpected", "arguments": None}

_SUMMARY = {
    "id": _DATASET_ID,
    "name": "qa-golden-set",
    "project_id": _PROJECT_ID,
    "description": "Questions our support bot must answer.",
    "guidance": None,
    "ai_managed_guidance": False,
    "case_count": 1,
    "created_at": _AT,
    "updated_at": _AT,
    "created_by_name": "ci-key",
    "updated_by_name": "ci-key",
}
_DETAIL = {
    **_SUMMARY,
    "input_schema": _SCHEMA,
    "output_schema": {"type": "string"},
    "metadata_schema": None,
    "evaluators": [_EVALUATOR],
    "report_evaluators": [],
    "created_by": _KEY_ID,
    "updated_by": _KEY_ID,
}
_CASE_IN = {
    "name": "capital-of-france",
    "inputs": {"question": "What is the capital of France?"},
    "expected_output": "Paris",
    "metadata": {"difficulty": "easy"},
    "evaluators": [_EVALUATOR],
    "tags": ["geography"],
}
_CASE = {
    "id": _CASE_ID,
    "dataset_id": _DATASET_ID,
    **_CASE_IN,
    "source_trace_id": None,
    "source_span_id": None,
    "version": 1,
    "created_at": _AT,
    "created_by": _KEY_ID,
    "created_by_name": "ci-key",
    "updated_at": _AT,
    "updated_by": _KEY_ID,
    "updated_by_name": "ci-key",
}
_EXPORT = {
    "name": "qa-golden-set",
    "cases": [{key: _CASE_IN[key] for key in ("name", "inputs", "metadata", "expected_output", "evaluators")}],
    "evaluators": [_EVALUATOR],
    "report_evaluators": [],
}

_DS = "/v1/datasets/{ds}/"
_CASES = _DS + "cases/"
_CASE_PATH = _CASES + "{case_id}/"

REQUESTS: dict[tuple[str, str], Any] = {
    ("post", "/v1/datasets/"): {
        "name": "qa-golden-set",
        "description": "Questions our support bot must answer.",
        "input_schema": _SCHEMA,
        "output_schema": {"type": "string"},
        "evaluators": [_EVALUATOR],
    },
    ("patch", _DS): {"description": "Questions our support bot must answer, in English."},
    ("put", _DS): {"guidance": "One question per case; expected outputs are short."},
    ("post", _CASES): _CASE_IN,
    ("post", _CASES + "bulk/"): {"cases": [_CASE_IN]},
    ("post", _DS + "import/"): {"cases": [_CASE_IN]},
    ("patch", _CASE_PATH): {"expected_output": "Paris, France", "tags": ["geography", "europe"]},
    ("put", _CASE_PATH): {"metadata": None},
}
"""(method, path) -> request body example."""

RESPONSES: dict[tuple[str, str], Any] = {
    ("get", "/v1/datasets/"): [_SUMMARY],
    ("post", "/v1/datasets/"): _DETAIL,
    ("get", _DS): _DETAIL,
    ("patch", _DS): _DETAIL,
    ("put", _DS): _DETAIL,
    ("get", _DS + "export/"): _EXPORT,
    ("get", _CASES): [_CASE],
    ("post", _CASES): _CASE,
    ("post", _CASES + "bulk/"): [_CASE],
    ("post", _DS + "import/"): [_CASE],
    ("get", _CASE_PATH): _CASE,
    ("patch", _CASE_PATH): {**_CASE, "expected_output": "Paris, France", "version": 2},
    ("put", _CASE_PATH): {**_CASE, "metadata": None, "version": 2},
    ("get", _CASE_PATH + "history/"): [
        {"version": 1, "op": "create", "at": _AT, "actor_id": _KEY_ID, "actor_name": "ci-key", "state": _CASE}
    ],
    ("post", _CASE_PATH + "restore/"): {**_CASE, "version": 3},
}
"""(method, path) -> example of the success body."""

# Experiments: real bodies, recorded from the server for a one-case pydantic-evals run uploaded twice
# (`baseline`, `candidate`); regenerate them when the records change (the examples test checks them).
_EXPERIMENTS = json.loads((Path(__file__).parent / "experiment_examples.json").read_text())
_EXPERIMENT = "/v1/experiments/{experiment_id}/"
REQUESTS[("post", "/v1/experiments/")] = _EXPERIMENTS["upload"]
RESPONSES.update(
    {
        ("post", "/v1/experiments/"): _EXPERIMENTS["detail"],
        ("get", "/v1/experiments/"): _EXPERIMENTS["list"],
        ("get", _EXPERIMENT): _EXPERIMENTS["detail"],
        ("get", _EXPERIMENT + "cases/"): _EXPERIMENTS["cases"],
        ("get", "/v1/experiments/compare/"): _EXPERIMENTS["compare"],
    }
)
