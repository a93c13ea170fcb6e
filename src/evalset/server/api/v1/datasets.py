"""Dataset routes: /v1/datasets/ and /v1/datasets/{ds}/, plus the export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from evalset.server.api.deps import DB, ApiRoute, Reader, Writer, json_bytes_response, json_response, stream_response
from evalset.server.api.inputs import json_body
from evalset.server.api.v1.models import DatasetCreate, DatasetDetail, DatasetSummary, DatasetUpdate, ExportDocument
from evalset.server.domain.values import check_instant
from evalset.server.services import datasets, export

router = APIRouter(tags=["datasets"], route_class=ApiRoute)
DS = "/datasets/{ds}/"
# The service checks the values (NUL, 64-bit integers, nesting) so the web UI's forms get the same rules.
CREATE_BODY, CREATE_DOC = json_body(TypeAdapter(DatasetCreate), check_values=False)
UPDATE_BODY, UPDATE_DOC = json_body(TypeAdapter(DatasetUpdate), check_values=False)


@router.get("/datasets/", response_model=list[DatasetSummary])
def list_datasets(db: DB, caller: Reader) -> Response:
    """List the project's datasets with their case counts."""
    principal, seen = caller.principal_seen()  # (api.hot_list answers most of these before FastAPI)
    return json_bytes_response(datasets.list_datasets(db, principal, seen=seen))


@router.post("/datasets/", response_model=DatasetDetail, status_code=201, openapi_extra=CREATE_DOC)
def create_dataset(body: Annotated[DatasetCreate, CREATE_BODY], db: DB, caller: Writer) -> Response:
    """Create a dataset; 409 when the name is taken in this project."""
    fields = body.model_dump(exclude_unset=True)  # python mode: NaN stays NaN, for the value rules to refuse
    return json_response(datasets.create_dataset(db, caller.principal(), fields), status_code=201)


@router.get(DS, response_model=DatasetDetail)
def get_dataset(ds: str, db: DB, caller: Reader) -> Response:
    """Get a dataset by id or name."""
    principal, seen = caller.principal_seen()
    return json_bytes_response(datasets.get_dataset_json(db, principal, ds, seen=seen))


def update_dataset(ds: str, body: Annotated[DatasetUpdate, UPDATE_BODY], db: DB, caller: Writer) -> Response:
    """Partial update (PUT and PATCH alike): absent keys stay, null clears."""
    fields = body.model_dump(exclude_unset=True)  # python mode: NaN stays NaN, for the value rules to refuse
    return json_response(datasets.update_dataset(db, caller.principal(), ds, fields))


router.patch(DS, response_model=DatasetDetail, openapi_extra=UPDATE_DOC)(update_dataset)
router.put(DS, response_model=DatasetDetail, openapi_extra=UPDATE_DOC)(update_dataset)


@router.delete(DS, status_code=204, response_class=Response)
def delete_dataset(ds: str, db: DB, caller: Writer) -> Response:
    """Delete a dataset and all its cases."""
    datasets.delete_dataset(db, caller.principal(), ds)
    return Response(status_code=204)


AS_OF_HEADER = "X-Evalset-As-Of"
AS_OF_DOC = (
    "Export the dataset as it was at this ISO time; `now` pins the current state: the response's "
    f"`{AS_OF_HEADER}` header names a moment that exports exactly these cases ever after."
)


@router.get(
    DS + "export/",
    response_model=ExportDocument,
    responses={200: {"headers": {AS_OF_HEADER: {"description": "With `as_of`: the moment exported (ISO 8601)."}}}},
)
def export_dataset(
    ds: str,
    db: DB,
    caller: Reader,
    as_of: Annotated[datetime | Literal["now"] | None, Query(description=AS_OF_DOC)] = None,
    include_tags: Annotated[
        bool, Query(description="Add each case's `tags` (for JSONL/CSV files; pydantic-evals refuses the key).")
    ] = False,
) -> Response:
    """The dataset in pydantic-evals file format, streamed; with `as_of`, as it was at that moment."""
    principal = caller.principal()
    moment = export.pin_moment(db, principal, ds) if as_of == "now" else as_of
    if isinstance(moment, datetime):
        moment = check_instant(moment, "as_of")
    headers = {AS_OF_HEADER: moment.isoformat(timespec="microseconds")} if isinstance(moment, datetime) else None
    chunks = export.open_export(db, principal, ds, as_of=moment or None, include_tags=include_tags)
    return stream_response(chunks, headers=headers)
