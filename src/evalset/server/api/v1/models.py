"""Request and response records of the v1 JSON API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, PlainValidator, StrictBool, TypeAdapter
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError
from typing_extensions import NotRequired, TypedDict

from evalset.server.domain.names import DATASET_NAME_PATTERN, MAX_NAME_LENGTH, not_a_uuid

DatasetName = Annotated[
    str, Field(pattern=DATASET_NAME_PATTERN, max_length=MAX_NAME_LENGTH), AfterValidator(not_a_uuid)
]
_NO_NUL: dict[str, JsonValue] = {"pattern": "^[^\\u0000]*$"}
"""Documented, not validated here: domain.values refuses NUL with a message naming the field and pointer."""
CaseName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, json_schema_extra=_NO_NUL)]
Tag = Annotated[str, Field(min_length=1, max_length=255, json_schema_extra=_NO_NUL)]
SourceId = Annotated[str, Field(max_length=64, json_schema_extra=_NO_NUL)]
Text = Annotated[str, Field(json_schema_extra=_NO_NUL)]


def _schema(value: Any) -> dict[str, Any] | bool:
    if isinstance(value, (dict, bool)):
        return value
    raise PydanticCustomError("json_schema", "a JSON Schema must be an object or a boolean")


Schema = Annotated[
    dict[str, Any] | bool,
    PlainValidator(_schema),
    WithJsonSchema({"type": ["object", "boolean"], "description": "A JSON Schema (draft 2020-12)."}),
]
"""A JSON Schema: an object, or `true`/`false` (not 1 or "true")."""


class Evaluator(TypedDict):
    """An evaluator as pydantic-evals serialises it: a name and its constructor arguments (missing: none)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    name: Annotated[str, Field(min_length=1)]
    arguments: NotRequired[dict[str, Any] | Annotated[list[Any], Field(min_length=1, max_length=1)] | None]


class Record(BaseModel):
    """Base of the API's models: each is built (its validator and serialiser) when first used, by FastAPI's
    analysis of a route or the OpenAPI document, not when its module is imported. A start imports all of them
    and its first answer uses two or three: building the rest cost about 0.03 s of every start."""

    model_config = ConfigDict(defer_build=True)

    @classmethod
    def build_all(cls) -> None:
        """Build every Record model now (see api.inputs.build_deferred: after the start, on a thread)."""
        pending = list(cls.__subclasses__())
        while pending:
            model = pending.pop()
            model.model_rebuild()
            pending.extend(model.__subclasses__())


class DatasetFields(Record):
    """Optional dataset fields, shared by create and update."""

    model_config = ConfigDict(extra="forbid")  # a misspelled `inputs_schema` must not create a schemaless dataset

    description: Text | None = None
    input_schema: Schema | None = None
    output_schema: Schema | None = None
    metadata_schema: Schema | None = None
    guidance: Text | None = None
    ai_managed_guidance: StrictBool | None = None
    evaluators: list[Evaluator] | None = None
    report_evaluators: list[Evaluator] | None = None


class DatasetCreate(DatasetFields):
    name: DatasetName


class DatasetUpdate(DatasetFields):
    """Any subset of dataset fields: absent keys stay as they are, null clears."""

    name: DatasetName = Field(None, description="A new name; it cannot be cleared (null is refused).")  # pyright: ignore[reportAssignmentType]


# Case bodies are parsed by pydantic-core straight from the request bytes into plain dicts (no
# model objects, no stdlib json): imports carry 10,000 cases. Absent keys stay absent, which is
# what tells "leave alone" from "clear" (null) on updates and upserts.


_FORBID = ConfigDict(extra="forbid", defer_build=True)  # defer_build: as Record


class CaseCreate(TypedDict):
    """One case: `inputs` is required; everything else is optional."""

    __pydantic_config__ = _FORBID  # type: ignore[misc]

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

    __pydantic_config__ = _FORBID  # type: ignore[misc]

    inputs: Any
    name: CaseName | None
    expected_output: Any
    metadata: Any
    evaluators: list[Evaluator] | None
    tags: list[Tag] | None
    source_trace_id: SourceId | None
    source_span_id: SourceId | None


class CasesBody(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    cases: list[CaseCreate]


CASE_CREATE = TypeAdapter(CaseCreate)
CASE_UPDATE = TypeAdapter(CaseUpdate)
CASES_BODY = TypeAdapter(CasesBody)


class DatasetSummary(Record):
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


class CaseDetail(Record):
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


class ExportCase(Record):
    name: str | None
    inputs: Any
    metadata: Any
    expected_output: Any
    evaluators: list[Evaluator]


class ExportDocument(Record):
    """Exactly what `pydantic_evals.Dataset.from_dict` accepts."""

    name: str
    cases: list[ExportCase]
    evaluators: list[Evaluator]
    report_evaluators: list[Evaluator]


class Revision(Record):
    version: int
    op: Literal["create", "update", "delete", "restore"]
    at: datetime
    actor_id: str | None
    actor_name: str | None
    state: CaseDetail


class ErrorItem(Record):
    """One problem with a request."""

    case_index: int | None = Field(description="Which case of the request (0-based), or null.")
    case_name: str | None = Field(description="That case's name, or null.")
    field: str = Field(description="The field (`inputs`, `name`, `input_schema`, a query parameter...).")
    pointer: str = Field(description="RFC 6901 JSON pointer inside the field ('' for the field itself).")
    message: str


class ErrorBody(Record):
    """Every error: one readable sentence in `detail`; a 422 lists each problem in `errors`."""

    detail: str
    errors: list[ErrorItem] | None = Field(None, description="With 422: every problem found.")
    current_version: int | None = Field(None, description="With 412: the case's current version.")
    request_id: str | None = Field(None, description="With 500: the id of the server log line.")
