# pyright: strict
"""Typed records of the evalset API: what the clients return, as `TypedDict`s.

They are plain dicts at run time (`dataset['id']`, `case['tags']`), typed for editors.
Responses are validated on arrival: ids become `UUID`s and timestamps timezone-aware
`datetime`s, exactly as Logfire's own dataset client returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from typing_extensions import NotRequired, TypedDict

__all__ = [
    "EvaluatorSpec",
    "DatasetSummary",
    "DatasetDetail",
    "CaseDetail",
    "CaseData",
    "CaseRevision",
    "ExportedCase",
    "ExportedDataset",
    "ApiErrorItem",
    "ProgressCallback",
]


class EvaluatorSpec(TypedDict):
    """An evaluator as pydantic-evals serialises it: its name and constructor arguments.

    `arguments` is `None` (no arguments), an object (keyword arguments) or a one-item
    list (a single positional argument).
    """

    name: str
    arguments: NotRequired[dict[str, Any] | list[Any] | None]


class DatasetSummary(TypedDict):
    """One entry of `list_datasets()`."""

    id: UUID
    name: str
    project_id: NotRequired[UUID]
    description: NotRequired[str | None]
    guidance: NotRequired[str | None]
    ai_managed_guidance: NotRequired[bool]
    case_count: NotRequired[int]
    created_at: NotRequired[datetime]
    updated_at: NotRequired[datetime]
    created_by_name: NotRequired[str | None]
    updated_by_name: NotRequired[str | None]


class DatasetDetail(TypedDict):
    """A dataset with its schemas and evaluators (create, update, get, push)."""

    id: UUID
    name: str
    project_id: NotRequired[UUID]
    description: NotRequired[str | None]
    input_schema: NotRequired[dict[str, Any] | bool | None]
    output_schema: NotRequired[dict[str, Any] | bool | None]
    metadata_schema: NotRequired[dict[str, Any] | bool | None]
    guidance: NotRequired[str | None]
    ai_managed_guidance: NotRequired[bool]
    evaluators: NotRequired[list[EvaluatorSpec] | None]
    report_evaluators: NotRequired[list[EvaluatorSpec] | None]
    case_count: NotRequired[int]
    created_at: NotRequired[datetime]
    updated_at: NotRequired[datetime]
    created_by: NotRequired[UUID | None]
    created_by_name: NotRequired[str | None]
    updated_by: NotRequired[UUID | None]
    updated_by_name: NotRequired[str | None]


class CaseDetail(TypedDict):
    """A stored case with its tags, source links and version."""

    id: UUID
    inputs: Any
    dataset_id: NotRequired[UUID]
    name: NotRequired[str | None]
    expected_output: NotRequired[Any]
    metadata: NotRequired[Any]
    evaluators: NotRequired[list[EvaluatorSpec] | None]
    source_trace_id: NotRequired[str | None]
    source_span_id: NotRequired[str | None]
    tags: NotRequired[list[str] | None]
    version: NotRequired[int]
    created_at: NotRequired[datetime]
    created_by: NotRequired[UUID | None]
    created_by_name: NotRequired[str | None]
    updated_at: NotRequired[datetime]
    updated_by: NotRequired[UUID | None]
    updated_by_name: NotRequired[str | None]


class CaseData(TypedDict):
    """A case given as a plain dict to `add_cases` / `import_cases` (only `inputs` is required)."""

    inputs: Any
    name: NotRequired[str | None]
    expected_output: NotRequired[Any]
    metadata: NotRequired[Any]
    evaluators: NotRequired[list[EvaluatorSpec] | list[Any] | None]
    source_trace_id: NotRequired[str | None]
    source_span_id: NotRequired[str | None]
    tags: NotRequired[list[str] | None]


class CaseRevision(TypedDict):
    """One entry of a case's history: what happened, when, by whom, and the case as it then was."""

    version: int
    op: Literal["create", "update", "delete", "restore"]
    at: datetime
    actor_id: UUID | None
    actor_name: str | None
    state: CaseDetail


class ExportedCase(TypedDict):
    """A case in pydantic-evals file format."""

    inputs: Any
    name: NotRequired[str | None]
    metadata: NotRequired[Any]
    expected_output: NotRequired[Any]
    evaluators: NotRequired[list[EvaluatorSpec]]


class ExportedDataset(TypedDict):
    """A dataset in pydantic-evals file format: what `pydantic_evals.Dataset.from_dict` accepts."""

    name: NotRequired[str]
    cases: list[ExportedCase]
    evaluators: NotRequired[list[EvaluatorSpec]]
    report_evaluators: NotRequired[list[EvaluatorSpec]]


class ApiErrorItem(TypedDict):
    """One violation listed in a 422 response: which case, which field, where, and what."""

    case_index: int | None
    case_name: str | None
    field: str
    pointer: str
    message: str


ProgressCallback = Callable[[int, int], None]
"""Called as `on_progress(cases_sent, cases_total)` after each chunk of a large upload."""
