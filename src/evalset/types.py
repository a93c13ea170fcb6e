# pyright: strict
"""Typed records of the evalset API: what the clients return, as `TypedDict`s.

They are plain dicts at run time (`dataset['id']`, `case['tags']`), typed for editors.
Responses are validated on arrival: ids become `UUID`s and timestamps timezone-aware
`datetime`s, exactly as Logfire's own dataset client returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal
from uuid import UUID

from typing_extensions import NotRequired, TypedDict
from typing_extensions import TypeVar as DefaultTypeVar

if TYPE_CHECKING:
    from pydantic_evals.reporting import EvaluationReport

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
    "EvaluationResultRecord",
    "TaskError",
    "ExperimentSummary",
    "ExperimentDetail",
    "ExperimentCase",
    "ExperimentComparison",
    "EvaluationRun",
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
    source_span: NotRequired[dict[str, Any] | None]
    """For a case added from a span: a copy of that span (name, ids, times, status, attributes)."""
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
    tags: NotRequired[list[str]]
    """Only in exports asked for with `include_tags` (pydantic-evals files have no tags)."""


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


# --- experiments ----------------------------------------------------------------------------------


class EvaluationResultRecord(TypedDict):
    """One evaluator result of a case, as pydantic-evals' `EvaluationResult` dumps it."""

    name: str
    value: bool | int | float | str
    reason: str | None
    source: EvaluatorSpec
    evaluator_version: NotRequired[str | None]


class TaskError(TypedDict):
    """Why a case's task raised: the exception's type, message and traceback."""

    type: str
    message: str
    traceback: str


class ExperimentSummary(TypedDict):
    """One run of `Dataset.evaluate` stored on the server: what it ran on, its status, counts and averages."""

    id: UUID
    name: str
    task_name: NotRequired[str | None]
    dataset_id: NotRequired[UUID | None]
    dataset_name: NotRequired[str | None]
    dataset_as_of: NotRequired[datetime | None]
    dataset_as_of_source: NotRequired[Literal["given", "upload", "run_start"] | None]
    status: NotRequired[Literal["running", "complete"]]
    source: NotRequired[Literal["upload", "telemetry"]]
    trace_id: NotRequired[str | None]
    span_id: NotRequired[str | None]
    started_at: NotRequired[datetime | None]
    ended_at: NotRequired[datetime | None]
    duration: NotRequired[float | None]
    repeat: NotRequired[int]
    n_cases: NotRequired[int | None]
    case_count: NotRequired[int]
    passed_count: NotRequired[int]
    failed_count: NotRequired[int]
    error_count: NotRequired[int]
    evaluator_failure_count: NotRequired[int]
    assertion_pass_rate: NotRequired[float | None]
    averages: NotRequired[dict[str, Any] | None]
    project_id: NotRequired[UUID]
    created_at: NotRequired[datetime]
    updated_at: NotRequired[datetime]
    created_by: NotRequired[UUID | None]
    created_by_name: NotRequired[str | None]
    web_path: NotRequired[str]


class ExperimentDetail(ExperimentSummary):
    """An experiment with its metadata, report analyses and report evaluator failures."""

    metadata: NotRequired[Any]
    analyses: NotRequired[list[dict[str, Any]]]
    report_evaluator_failures: NotRequired[list[dict[str, Any]]]


class ExperimentCase(TypedDict):
    """One case result of an experiment (one run of one case), matched to the dataset case it ran on."""

    id: UUID
    name: str
    experiment_id: NotRequired[UUID]
    source_case_name: NotRequired[str | None]
    repeat_index: NotRequired[int | None]
    status: NotRequired[Literal["passed", "failed", "error"]]
    dataset_case_id: NotRequired[UUID | None]
    dataset_case_version: NotRequired[int | None]
    dataset_case_match: NotRequired[Literal["matched", "differs", "unmatched"] | None]
    inputs: NotRequired[Any]
    expected_output: NotRequired[Any]
    metadata: NotRequired[Any]
    output: NotRequired[Any]
    metrics: NotRequired[dict[str, float]]
    attributes: NotRequired[dict[str, Any]]
    assertions: NotRequired[dict[str, EvaluationResultRecord]]
    scores: NotRequired[dict[str, EvaluationResultRecord]]
    labels: NotRequired[dict[str, EvaluationResultRecord]]
    task_duration: NotRequired[float | None]
    total_duration: NotRequired[float | None]
    task_error: NotRequired[TaskError | None]
    evaluator_failures: NotRequired[list[dict[str, Any]]]
    trace_id: NotRequired[str | None]
    span_id: NotRequired[str | None]
    created_at: NotRequired[datetime]
    updated_at: NotRequired[datetime]


class ExperimentComparison(TypedDict):
    """Two experiments case by case: `cases` (each with `outcome`, deltas and both sides' runs) and `overview`."""

    baseline: ExperimentSummary
    candidate: ExperimentSummary
    same_dataset: bool
    primary: dict[str, Any]
    overview: dict[str, Any]
    cases: list[dict[str, Any]]


InputsT = DefaultTypeVar("InputsT", default=Any)
OutputT = DefaultTypeVar("OutputT", default=Any)
MetadataT = DefaultTypeVar("MetadataT", default=Any)


@dataclass(frozen=True)
class EvaluationRun(Generic[InputsT, OutputT, MetadataT]):
    """What `client.evaluate(...)` returns: pydantic-evals' report, and where the server keeps it."""

    report: EvaluationReport[InputsT, OutputT, MetadataT]
    """The report, as `Dataset.evaluate` returned it (`run.report.print()` shows it)."""
    experiment: ExperimentDetail
    """The stored experiment: counts, averages, which dataset state it ran on."""
    url: str
    """The experiment's page in the web UI."""

    @property
    def id(self) -> UUID:
        """The experiment's id (for `get_experiment`, `list_experiment_cases`, `compare_experiments`)."""
        return self.experiment["id"]

    @property
    def dataset_as_of(self) -> datetime | None:
        """The moment whose dataset state the run used: `export_dataset(..., as_of=run.dataset_as_of)`."""
        return self.experiment.get("dataset_as_of")
