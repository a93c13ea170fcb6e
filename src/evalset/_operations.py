# pyright: strict
"""Every endpoint as a pure operation: method, path, body and the parser of its response.

`DatasetsClient` and `AsyncDatasetsClient` only send what these functions describe. Calls that
need several requests (`push_dataset`, chunked uploads) are *flows*: generators that yield
operations and receive each parsed result (or have the `DatasetApiError` thrown into them), so the
logic is written once and driven by either client, with no I/O in here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeAlias, TypeVar
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import TypeAdapter

from evalset._responses import Target, check, validated
from evalset._serialization import (
    UNSET,
    case_payloads,
    check_dataset_name,
    dataset_type_args,
    local_dataset_payload,
    serialize_case,
    serialize_evaluators,
    serialize_value,
    to_pydantic_evals,
    type_to_schema,
    without_stored_unnamed,
)
from evalset.errors import DatasetApiError
from evalset.types import (
    CaseData,
    CaseDetail,
    CaseRevision,
    DatasetDetail,
    DatasetSummary,
    ExportedDataset,
    ProgressCallback,
)

__all__ = [
    "Operation",
    "Flow",
    "api_path",
    "json_operation",
    "delete_operation",
    "IDEMPOTENT_METHODS",
    "DEFAULT_CHUNK_SIZE",
    "list_datasets",
    "get_dataset",
    "dataset_fields",
    "create_dataset",
    "update_dataset",
    "delete_dataset",
    "export_dataset",
    "as_of_param",
    "wanted_types",
    "fetch_dataset",
    "list_cases",
    "get_case",
    "case_from_values",
    "create_case",
    "update_case",
    "delete_case",
    "case_history",
    "restore_case",
    "import_chunk",
    "upload_cases",
    "push_dataset",
]

T = TypeVar("T")
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "PUT", "DELETE"})
DEFAULT_CHUNK_SIZE = 500
NO_BODY: Any = object()


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One HTTP request and how to read its response."""

    method: Method
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = NO_BODY
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def idempotent(self) -> bool:
        """Safe to send again after a connection error or a 502/503/504."""
        return self.method in IDEMPOTENT_METHODS

    def request_args(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request` / `httpx.AsyncClient.request`."""
        args: dict[str, Any] = {"params": self.params or None, "headers": dict(self.headers) or None}
        if self.json is not NO_BODY:
            args["json"] = self.json
        return args


Flow: TypeAlias = Generator[Operation[Any], Any, T]

_summaries = TypeAdapter(list[DatasetSummary])
_detail = TypeAdapter(DatasetDetail)
_case = TypeAdapter(CaseDetail)
_cases = TypeAdapter(list[CaseDetail])
_revisions = TypeAdapter(list[CaseRevision])
_export = TypeAdapter(ExportedDataset)


def _path(*segments: str | UUID) -> str:
    return "/v1/" + "".join(f"{quote(str(segment), safe='')}/" for segment in segments)


def _op(method: Method, path: str, adapter: TypeAdapter[T], target: Target, **request: Any) -> Operation[T]:
    def parse(response: httpx.Response) -> T:
        return validated(adapter, check(response, target))

    return Operation(method, path, parse, **request)


def _delete(path: str, target: Target) -> Operation[None]:
    def parse(response: httpx.Response) -> None:
        check(response, target)  # 204, or a 200 with a body we do not need

    return Operation("DELETE", path, parse)


api_path, json_operation, delete_operation = _path, _op, _delete
"""The builders above, for the other operation modules (`_experiments`)."""


# --- datasets -------------------------------------------------------------------------------


def list_datasets() -> Operation[list[DatasetSummary]]:
    return _op("GET", _path("datasets"), _summaries, Target())


def get_dataset(id_or_name: str | UUID) -> Operation[DatasetDetail]:
    return _op("GET", _path("datasets", id_or_name), _detail, Target(str(id_or_name)))


def dataset_fields(
    *,
    input_type: Any = None,
    output_type: Any = None,
    metadata_type: Any = None,
    description: Any = UNSET,
    guidance: Any = UNSET,
    ai_managed_guidance: Any = UNSET,
    evaluators: Any = UNSET,
    report_evaluators: Any = UNSET,
) -> dict[str, Any]:
    """The body fields of a dataset create/update: types become schemas, evaluators specs; UNSET is left out."""
    body: dict[str, Any] = {}
    for key, type_ in (
        ("input_schema", input_type),
        ("output_schema", output_type),
        ("metadata_schema", metadata_type),
    ):
        if type_ is not None:
            body[key] = type_to_schema(type_)
    for key, value in (
        ("description", description),
        ("guidance", guidance),
        ("ai_managed_guidance", ai_managed_guidance),
    ):
        if value is not UNSET:
            body[key] = value
    for key, value in (("evaluators", evaluators), ("report_evaluators", report_evaluators)):
        if value is not UNSET:
            body[key] = None if value is None else serialize_evaluators(value)
    return body


def create_dataset(name: str, fields: Mapping[str, Any]) -> Operation[DatasetDetail]:
    check_dataset_name(name)
    body = {"name": name, **{key: value for key, value in fields.items() if value is not None}}
    return _op("POST", _path("datasets"), _detail, Target(name), json=body)


def update_dataset(id_or_name: str | UUID, fields: Mapping[str, Any], *, name: Any = UNSET) -> Operation[DatasetDetail]:
    body = dict(fields)
    if name is not UNSET:
        check_dataset_name(name)
        body["name"] = name
    return _op("PATCH", _path("datasets", id_or_name), _detail, Target(str(id_or_name)), json=body)


def delete_dataset(id_or_name: str | UUID) -> Operation[None]:
    return _delete(_path("datasets", id_or_name), Target(str(id_or_name)))


def as_of_param(as_of: datetime | str | None) -> tuple[tuple[str, str], ...]:
    if as_of is None:
        return ()
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of needs a timezone, e.g. datetime.now(timezone.utc) or a history entry's 'at'.")
        as_of = as_of.isoformat()
    return (("as_of", as_of),)


def export_dataset(
    id_or_name: str | UUID,
    types: tuple[Any, Any, Any] | None,
    custom_evaluator_types: Sequence[type[Any]] = (),
    custom_report_evaluator_types: Sequence[type[Any]] = (),
    *,
    as_of: datetime | str | None = None,
    include_tags: bool = False,
) -> Operation[Any]:
    """The dataset in pydantic-evals format: a typed `Dataset` when `types` are given, else the raw dict
    (with each case's `tags` too when `include_tags`, which pydantic-evals would refuse)."""
    target = Target(str(id_or_name))

    def parse(response: httpx.Response) -> Any:
        data = check(response, target)
        if types is None:
            return validated(_export, data)
        return to_pydantic_evals(data, types, custom_evaluator_types, custom_report_evaluator_types)

    params = as_of_param(as_of) + ((("include_tags", "true"),) if include_tags else ())
    return Operation("GET", _path("datasets", id_or_name, "export"), parse, params=params)


def wanted_types(input_type: Any, output_type: Any, metadata_type: Any) -> tuple[Any, Any, Any] | None:
    """The generic arguments for a typed export, or None when the caller asked for none."""
    if input_type is None and output_type is Any and metadata_type is Any:
        return None
    return (Any if input_type is None else input_type, output_type, metadata_type)


def fetch_dataset(
    id_or_name: str | UUID,
    types: tuple[Any, Any, Any] | None,
    *,
    include_cases: bool,
    custom_evaluator_types: Sequence[type[Any]] = (),
    custom_report_evaluator_types: Sequence[type[Any]] = (),
) -> Operation[Any]:
    """`get_dataset`: the detail alone, or with types or `include_cases=True` the export (typed or raw)."""
    if types is None and not include_cases:
        return get_dataset(id_or_name)
    return export_dataset(
        id_or_name,
        types,
        custom_evaluator_types=custom_evaluator_types,
        custom_report_evaluator_types=custom_report_evaluator_types,
    )


# --- cases ----------------------------------------------------------------------------------


def list_cases(
    dataset: str | UUID,
    tags: Sequence[str] | None = None,
    tags_match: Literal["any", "all"] = "any",
    limit: int | None = None,
    offset: int = 0,
) -> Operation[list[CaseDetail]]:
    params: list[tuple[str, str]] = [("tags", tag) for tag in tags or ()]
    if tags and tags_match != "any":
        params.append(("tags_match", tags_match))
    if limit is not None:
        params.append(("limit", str(limit)))
    if offset:
        params.append(("offset", str(offset)))
    return _op("GET", _path("datasets", dataset, "cases"), _cases, Target(str(dataset)), params=tuple(params))


def get_case(dataset: str | UUID, case_id: str | UUID) -> Operation[CaseDetail]:
    return _op("GET", _path("datasets", dataset, "cases", case_id), _case, Target(str(dataset), str(case_id)))


def case_from_values(
    inputs: Any, *, name: str | None, expected_output: Any, metadata: Any, evaluators: Sequence[Any] | None
) -> dict[str, Any]:
    """The case dict of `create_case`'s raw values (None values left out)."""
    values = {"name": name, "expected_output": expected_output, "metadata": metadata, "evaluators": evaluators}
    return {"inputs": inputs, **{key: value for key, value in values.items() if value is not None}}


def create_case(
    dataset: str | UUID,
    case: Any,
    tags: Sequence[str] | None = None,
    source_trace_id: str | None = None,
    source_span_id: str | None = None,
) -> Operation[CaseDetail]:
    """One case (a `Case` or a case dict) created with POST; a taken name is a 409."""
    body = serialize_case(case, tags=tags)
    for key, value in (("source_trace_id", source_trace_id), ("source_span_id", source_span_id)):
        if value is not None:
            body[key] = value
    return _op("POST", _path("datasets", dataset, "cases"), _case, Target(str(dataset)), json=body)


def update_case(
    dataset: str | UUID, case_id: str | UUID, changes: Mapping[str, Any], *, if_match: int | None = None
) -> Operation[CaseDetail]:
    """A partial update; UNSET keys are left out, None clears; `if_match` guards against lost updates."""
    body: dict[str, Any] = {}
    for key, value in changes.items():
        if value is UNSET or (key == "inputs" and value is None):
            continue
        if key in ("inputs", "expected_output", "metadata"):
            value = serialize_value(value)
        elif key == "evaluators" and value is not None:
            value = serialize_evaluators(value)
        body[key] = list(value) if key == "tags" and value is not None else value
    headers = (("If-Match", f'"{if_match}"'),) if if_match is not None else ()
    path = _path("datasets", dataset, "cases", case_id)
    return _op("PATCH", path, _case, Target(str(dataset), str(case_id)), json=body, headers=headers)


def delete_case(dataset: str | UUID, case_id: str | UUID) -> Operation[None]:
    return _delete(_path("datasets", dataset, "cases", case_id), Target(str(dataset), str(case_id)))


def case_history(dataset: str | UUID, case_id: str | UUID) -> Operation[list[CaseRevision]]:
    path = _path("datasets", dataset, "cases", case_id, "history")
    return _op("GET", path, _revisions, Target(str(dataset), str(case_id)))


def restore_case(dataset: str | UUID, case_id: str | UUID) -> Operation[CaseDetail]:
    path = _path("datasets", dataset, "cases", case_id, "restore")
    return _op("POST", path, _case, Target(str(dataset), str(case_id)), json={})


def import_chunk(
    dataset: str | UUID, cases: Sequence[CaseData], on_conflict: Literal["update", "error"]
) -> Operation[list[CaseDetail]]:
    path = _path("datasets", dataset, "import")
    params = (("on_conflict", on_conflict),)
    return _op("POST", path, _cases, Target(str(dataset)), json={"cases": list(cases)}, params=params)


# --- flows ----------------------------------------------------------------------------------


def upload_cases(
    dataset: str | UUID,
    cases: Sequence[Any],
    tags: Sequence[str] | None = None,
    on_conflict: Literal["update", "error"] = "update",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: ProgressCallback | None = None,
) -> Flow[list[CaseDetail]]:
    """Import cases in chunks of `chunk_size`: each chunk is atomic on the server, the whole upload is not."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    payloads = case_payloads(cases, tags)
    total = len(payloads)
    starts = range(0, max(total, 1), chunk_size)
    saved: list[CaseDetail] = []
    for number, start in enumerate(starts, 1):
        chunk = payloads[start : start + chunk_size]
        try:
            saved.extend((yield import_chunk(dataset, chunk, on_conflict)))
        except DatasetApiError as exc:
            if len(starts) > 1:
                exc._add_context(  # pyright: ignore[reportPrivateUsage]
                    f"Upload stopped at chunk {number} of {len(starts)} (cases {start}-{start + len(chunk) - 1}, "
                    f"numbered from the start of the upload): the {start} cases before it were saved; this chunk "
                    "and the later ones were not. Fix the case and upload again (named cases are upserted).",
                    case_offset=start,
                )
            raise
        if on_progress is not None:
            on_progress(start + len(chunk), total)
    return saved


def push_dataset(
    dataset: Any,
    name: str | None = None,
    description: Any = UNSET,
    on_case_conflict: Literal["update", "error"] = "update",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: ProgressCallback | None = None,
    *,
    new_dataset_fields: Mapping[str, Any] | None = None,
) -> Flow[DatasetDetail]:
    """Create or update the hosted dataset from a local one, upsert its cases by name, return the hosted detail.

    `new_dataset_fields` (schemas read from a file, say) are set only when the dataset is created. A dataset
    this push created is deleted again when not one of its cases could be saved, so a failed push of a new
    dataset leaves nothing behind.
    """
    payload = local_dataset_payload(dataset)
    target = name or payload.get("name")
    if not target:
        raise ValueError("push_dataset() needs a dataset name: set dataset.name or pass name=.")
    input_type, output_type, metadata_type = (
        (None, None, None) if isinstance(dataset, Mapping) else dataset_type_args(dataset)
    )
    fields = dataset_fields(
        input_type=input_type,
        output_type=output_type,
        metadata_type=metadata_type,
        description=description,
        evaluators=payload.get("evaluators", []),
        report_evaluators=payload.get("report_evaluators", []),
    )
    cases: list[Any] = list(payload["cases"])
    created = True
    try:
        yield create_dataset(target, {**(new_dataset_fields or {}), **fields})
    except DatasetApiError as exc:
        if exc.status_code != 409:
            raise
        created = False
        yield update_dataset(target, fields)
        if any(not case.get("name") for case in cases):  # unnamed cases cannot be upserted: skip stored copies
            cases = without_stored_unnamed(cases, (yield list_cases(target)))
    if cases:
        saved = 0

        def progress(sent: int, total: int) -> None:
            nonlocal saved
            saved = sent
            if on_progress is not None:
                on_progress(sent, total)

        try:
            yield from upload_cases(target, cases, None, on_case_conflict, chunk_size, progress)
        except DatasetApiError as exc:
            if created and not saved:
                yield delete_dataset(target)
                exc._add_context(f"Dataset {target!r} was created by this push and deleted again.")  # pyright: ignore[reportPrivateUsage]
            raise
    return (yield get_dataset(target))
