"""Request and response records of the experiments API (`/v1/experiments/`).

The upload body carries a pydantic-evals `EvaluationReport` exactly as
`pydantic_evals.reporting.EvaluationReportAdapter.dump_json(report)` writes it, under `report`; the
records below mirror pydantic-evals' own (`EvaluationReport`, `ReportCase`, `ReportCaseFailure`,
`EvaluationResult`, `EvaluatorFailure`), with the same required keys. Keys newer pydantic-evals
versions add are ignored rather than refused.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, PlainValidator, StrictBool, StrictStr, TypeAdapter
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError
from typing_extensions import NotRequired, TypedDict

from evalset.server.api.v1.models import ErrorBody, Record

ResultName = Annotated[str, Field(min_length=1, max_length=1024)]
TraceId = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")]
SpanId = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16}$")]


def _finite_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    return value


Number = Annotated[int | float, PlainValidator(_finite_number), WithJsonSchema({"type": "number"})]
"""An int or a finite float, kept as sent (a score of 1 stays 1); booleans are not numbers here."""


class EvaluatorSource(TypedDict):
    """The evaluator that produced a result (pydantic-evals' `EvaluatorSpec`): name and arguments."""

    name: str
    arguments: NotRequired[Any]


class _Result(TypedDict):
    name: str
    reason: str | None
    source: EvaluatorSource
    evaluator_version: NotRequired[str | None]


class AssertionResult(_Result):
    """An `EvaluationResult[bool]`."""

    value: StrictBool


class ScoreResult(_Result):
    """An `EvaluationResult[int | float]`."""

    value: Number


class LabelResult(_Result):
    """An `EvaluationResult[str]`."""

    value: StrictStr


class EvaluatorFailure(TypedDict):
    """An evaluator (or report evaluator) that raised."""

    name: str
    error_message: str
    error_stacktrace: str
    source: EvaluatorSource
    evaluator_version: NotRequired[str | None]
    error_type: NotRequired[str | None]


class _CaseBase(TypedDict):
    name: ResultName
    inputs: Any
    metadata: Any
    expected_output: Any
    source_case_name: NotRequired[ResultName | None]
    trace_id: NotRequired[TraceId | None]
    span_id: NotRequired[SpanId | None]


class ReportCase(_CaseBase):
    """One run of one case whose task returned (pydantic-evals' `ReportCase`)."""

    output: Any
    metrics: dict[str, Number]
    attributes: dict[str, Any]
    scores: dict[str, ScoreResult]
    labels: dict[str, LabelResult]
    assertions: dict[str, AssertionResult]
    task_duration: Number
    total_duration: Number
    evaluator_failures: NotRequired[list[EvaluatorFailure]]


class ReportCaseFailure(_CaseBase):
    """One run of one case whose task raised (pydantic-evals' `ReportCaseFailure`)."""

    error_message: str
    error_stacktrace: str


class ReportAnalysis(TypedDict):
    """An analysis of a report evaluator, as pydantic-evals dumps it; `type` tells which
    (`confusion_matrix`, `precision_recall`, `scalar`, `table`, `line_plot`, ...). Stored as sent."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    type: str


class EvaluationReport(TypedDict):
    """pydantic-evals' `EvaluationReport`, as `EvaluationReportAdapter.dump_json(report)` writes it."""

    name: ResultName
    cases: list[ReportCase]
    failures: NotRequired[list[ReportCaseFailure]]
    analyses: NotRequired[list[ReportAnalysis]]
    report_evaluator_failures: NotRequired[list[EvaluatorFailure]]
    experiment_metadata: NotRequired[dict[str, Any] | None]
    trace_id: NotRequired[TraceId | None]
    span_id: NotRequired[SpanId | None]
    dataset_name: NotRequired[str | None]


Instant = Annotated[AwareDatetime, Field(strict=True)]
"""An ISO 8601 string with a UTC offset, as documented (not a number of seconds, which lax parsing takes)."""


class ExperimentUpload(TypedDict):
    """A report to store as an experiment, and what it ran on.

    - `report`: the `EvaluationReport` JSON.
    - `dataset`: the hosted dataset it ran on, by id or name (404 if there is none). Default: the
      report's `dataset_name`, linked if a dataset of that name exists, kept as a name otherwise.
    - `dataset_as_of`: the moment whose dataset state it ran on (the SDK sends the moment its export
      was pinned to; see `GET /v1/datasets/{ds}/export/?as_of=now`). Default: the upload's moment.
    - `task_name`, `started_at`, `ended_at`: what the report itself does not say.

    A report with trace and span ids already stored (sent before, or recorded from its spans) updates
    that experiment (200) instead of creating another (201).
    """

    __pydantic_config__ = ConfigDict(defer_build=True)  # type: ignore[misc]  # as models.Record

    report: EvaluationReport
    dataset: NotRequired[Annotated[str, Field(min_length=1, max_length=255)] | None]
    dataset_as_of: NotRequired[Instant | None]
    task_name: NotRequired[Annotated[str, Field(max_length=1024)] | None]
    started_at: NotRequired[Instant | None]
    ended_at: NotRequired[Instant | None]


EXPERIMENT_UPLOAD = TypeAdapter(ExperimentUpload)


# --- responses (documentation: the routes send the service's dicts as they are) --------------------


class Averages(Record):
    """pydantic-evals' `ReportCaseAggregate` of the experiment (`EvaluationReport.averages()`)."""

    name: str
    scores: dict[str, float]
    labels: dict[str, dict[str, float]]
    metrics: dict[str, float]
    assertions: float | None
    task_duration: float
    total_duration: float


class ExperimentSummary(Record):
    id: str
    project_id: str
    name: str
    task_name: str | None
    dataset_id: str | None = Field(description="The hosted dataset it ran on; null if none (or deleted).")
    dataset_name: str | None
    dataset_as_of: datetime | None = Field(description="The dataset state it ran on: export with this `as_of`.")
    dataset_as_of_source: Literal["given", "upload", "run_start"] | None
    status: Literal["running", "complete"]
    source: Literal["upload", "telemetry"]
    trace_id: str | None
    span_id: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration: float | None = Field(description="Seconds from start to end, when both are known.")
    repeat: int
    n_cases: int | None = Field(description="Dataset cases evaluated (each ran `repeat` times).")
    case_count: int = Field(description="Case results: runs of cases, successful or not.")
    passed_count: int
    failed_count: int = Field(description="Results with a false assertion or an evaluator that raised.")
    error_count: int = Field(description="Results whose task raised.")
    evaluator_failure_count: int
    assertion_pass_rate: float | None
    averages: Averages | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    created_by_name: str | None
    web_path: str = Field(description="The experiment's page in the web UI, relative to the server's root.")


class ExperimentDetail(ExperimentSummary):
    metadata: Any
    analyses: list[dict[str, Any]]
    report_evaluator_failures: list[EvaluatorFailure]


class TaskError(Record):
    type: str
    message: str
    traceback: str


class ExperimentCase(Record):
    """One case result: one run of one case."""

    id: str
    experiment_id: str
    name: str
    source_case_name: str | None = Field(description="The dataset case's name, with repeats.")
    repeat_index: int | None
    status: Literal["passed", "failed", "error"]
    dataset_case_id: str | None
    dataset_case_version: int | None
    dataset_case_match: Literal["matched", "differs", "unmatched"] | None = Field(
        description="matched: the case of that name in the pinned dataset state, same data; differs: same name, "
        "other inputs/expected output/metadata; unmatched: no such case; null: no hosted dataset."
    )
    inputs: Any
    expected_output: Any
    metadata: Any
    output: Any
    metrics: dict[str, float]
    attributes: dict[str, Any]
    assertions: dict[str, AssertionResult]
    scores: dict[str, ScoreResult]
    labels: dict[str, LabelResult]
    task_duration: float | None
    total_duration: float | None
    task_error: TaskError | None
    evaluator_failures: list[EvaluatorFailure]
    trace_id: str | None
    span_id: str | None
    created_at: datetime
    updated_at: datetime


class Delta(Record):
    baseline: float | None
    candidate: float | None
    delta: float | None


class LabelChange(Record):
    baseline: dict[str, float] | None
    candidate: dict[str, float] | None
    changed: bool


class RunsSummary(Record):
    """A case's runs on one side: counts, pass rates, means, label distributions."""

    runs: int
    task_errors: int
    evaluator_failures: int
    assertion_pass_rate: float | None
    assertions: dict[str, float | None]
    scores: dict[str, float | None]
    metrics: dict[str, float | None]
    labels: dict[str, dict[str, float]]
    task_duration: float | None
    total_duration: float | None


class ComparedCase(Record):
    case: str = Field(description="The dataset case (its name, or pydantic-evals' 'Case N').")
    outcome: Literal["regressed", "improved", "added", "removed", "unchanged"]
    dataset_case_id: str | None
    primary: Delta
    assertions: dict[str, Delta]
    scores: dict[str, Delta]
    metrics: dict[str, Delta]
    labels: dict[str, LabelChange]
    task_duration: Delta
    baseline: RunsSummary | None
    candidate: RunsSummary | None
    baseline_runs: list[ExperimentCase]
    candidate_runs: list[ExperimentCase]


class Overview(Record):
    outcomes: dict[str, int]
    primary: Delta
    assertion_pass_rate: Delta
    scores: dict[str, Delta]
    metrics: dict[str, Delta]
    task_duration: Delta
    total_duration: Delta
    counts: dict[str, Delta]


class PrimaryChoice(Record):
    metric: str
    direction: Literal["higher", "lower"]


class Comparison(Record):
    baseline: ExperimentSummary
    candidate: ExperimentSummary
    same_dataset: bool
    primary: PrimaryChoice
    overview: Overview
    cases: list[ComparedCase]


_STATUS_TEXT = {
    401: "Missing, malformed, unknown or revoked key.",
    403: "The key lacks the scope (project:read_datasets to read, project:write_datasets to write).",
    404: "No such experiment (or dataset) in the key's project.",
    413: "Body over the configured limit.",
    422: "Invalid body or query: the detail names the field and the JSON pointer.",
    503: "The write kept losing races; nothing was written. Retry (see Retry-After).",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error body."""
    return {status: {"description": _STATUS_TEXT[status], "model": ErrorBody} for status in statuses}
