"""Request and response records of the v1 JSON API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import NotRequired, TypedDict

from evalset.server.domain.names import DATASET_NAME_PATTERN, MAX_NAME_LENGTH, not_a_uuid

DatasetName = Annotated[
    str, Field(pattern=DATASET_NAME_PATTERN, max_length=MAX_NAME_LENGTH), AfterValidator(not_a_uuid)
]
CaseName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
Tag = Annotated[str, Field(min_length=1, max_length=255)]
SourceId = Annotated[str, Field(max_length=64)]
Schema = dict[str, Any] | bool


class Evaluator(TypedDict):
    """An evaluator as pydantic-evals serialises it: a name and its constructor arguments (missing: none)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    name: Annotated[str, Field(min_length=1)]
    arguments: NotRequired[dict[str, Any] | Annotated[list[Any], Field(min_length=1, max_length=1)] | None]


class DatasetFields(BaseModel):
    """Optional dataset fields, shared by create and update."""

    description: str | None = None
    input_schema: Schema | None = None
    output_schema: Schema | None = None
    metadata_schema: Schema | None = None
    guidance: str | None = None
    ai_managed_guidance: bool | None = None
    evaluators: list[Evaluator] | None = None
    report_evaluators: list[Evaluator] | None = None


class DatasetCreate(DatasetFields):
    name: DatasetName


class DatasetUpdate(DatasetFields):
    """Any subset of dataset fields: absent keys stay as they are, null clears."""

    name: DatasetName | None = None


# Case bodies are parsed by pydantic-core straight from the request bytes into plain dicts (no
# model objects, no stdlib json): imports carry 10,000 cases. Absent keys stay absent, which is
# what tells "leave alone" from "clear" (null) on updates and upserts.


class CaseCreate(TypedDict):
    """One case: `inputs` is required; everything else is optional."""

    inputs: Any
    name: NotRequired[CaseName | None]
    expected_output: NotRequired[Any]
    metadata: NotRequired[Any]
    evaluators: NotRequired[list[Evaluator] | None]
    tags: NotRequired[list[Tag] | None]
    source_trace_id: NotRequired[SourceId | None]
    source_span_id: NotRequired[SourceId | None]


class CaseUpdate(TypedDict, total=False):
    """Any subset of case fields: absent keys stay as they are, null clears (tags and evaluators become [])."""

    inputs: Any
    name: CaseName | None
    expected_output: Any
    metadata: Any
    evaluators: list[Evaluator] | None
    tags: list[Tag] | None
    source_trace_id: SourceId | None
    source_span_id: SourceId | None


class CasesBody(TypedDict):
    cases: list[CaseCreate]


CASE_CREATE = TypeAdapter(CaseCreate)
CASE_UPDATE = TypeAdapter(CaseUpdate)
CASES_BODY = TypeAdapter(CasesBody)


class DatasetSummary(BaseModel):
    id: str
    name: str
    project_id: str
    description: str | None
    guidance: str | None
    ai_managed_guidance: bool
    case_count: int
    created_at: datetime
    updated_at: datetime
    created_by_name: str | None
    updated_by_name: str | None


class DatasetDetail(DatasetSummary):
    input_schema: Schema | None
    output_schema: Schema | None
    metadata_schema: Schema | None
    evaluators: list[Evaluator]
    report_evaluators: list[Evaluator]
    created_by: str | None
    updated_by: str | None


class CaseDetail(BaseModel):
    id: str
    dataset_id: str
    name: str | None
    inputs: Any
    expected_output: Any
    metadata: Any
    evaluators: list[Evaluator]
    tags: list[str]
    source_trace_id: str | None
    source_span_id: str | None
    source_span: dict[str, Any] | None = Field(
        default=None,
        description="For a case added from a span: a copy of that span (trace_id, span_id, parent_span_id, name, "
        "service_name, scope, kind, start_time, end_time, status, status_message, attributes), kept through edits "
        "of the case and the trace's expiry. Null otherwise.",
    )
    version: int
    created_at: datetime
    created_by: str | None
    created_by_name: str | None
    updated_at: datetime
    updated_by: str | None
    updated_by_name: str | None


class ExportCase(BaseModel):
    name: str | None
    inputs: Any
    metadata: Any
    expected_output: Any
    evaluators: list[Evaluator]


class ExportDocument(BaseModel):
    """Exactly what `pydantic_evals.Dataset.from_dict` accepts."""

    name: str
    cases: list[ExportCase]
    evaluators: list[Evaluator]
    report_evaluators: list[Evaluator]


class Revision(BaseModel):
    version: int
    op: Literal["create", "update", "delete", "restore"]
    at: datetime
    actor_id: str | None
    actor_name: str | None
    state: CaseDetail


class ErrorItem(BaseModel):
    case_index: int | None
    case_name: str | None
    field: str
    pointer: str
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem] | None = None
