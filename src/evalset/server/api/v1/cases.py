"""Case routes under /v1/datasets/{ds}/cases/, plus bulk, import and history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from evalset.server.api.deps import DB, Reader, Writer, json_response, stream_response
from evalset.server.api.inputs import json_body
from evalset.server.api.v1.models import (
    CASE_CREATE,
    CASE_UPDATE,
    CASES_BODY,
    CaseCreate,
    CaseDetail,
    CasesBody,
    CaseUpdate,
    Revision,
)
from evalset.server.domain.cases import parse_if_match
from evalset.server.domain.values import MAX_INT
from evalset.server.errors import InvalidInput
from evalset.server.routing import DeclaredRoute
from evalset.server.services import cases, history
from evalset.server.services.export import stream_json_array

router = APIRouter(tags=["cases"], route_class=DeclaredRoute)
CASES = "/datasets/{ds}/cases/"
IF_MATCH_PATTERN = r'^[ \t]*(\*|(W/)?"?[0-9]+"?)[ \t]*$'
"""A case version (`3`, `"3"`, `W/"3"`) or `*`; ASCII digits only."""
CASE = CASES + "{case_id}/"


def _dicts(items: list[CaseCreate]) -> list[dict[str, Any]]:
    return items  # type: ignore[return-value] # a TypedDict is a dict; spares a copy of 10,000 cases


# The service checks the values per case (naming the case), for the API and the web UI alike.
CREATE_BODY, CREATE_DOC = json_body(CASE_CREATE, check_values=False)
UPDATE_BODY, UPDATE_DOC = json_body(CASE_UPDATE, check_values=False)
CASES_BODY_DEP, CASES_DOC = json_body(CASES_BODY, check_values=False)


def _etag(case: dict) -> dict[str, str]:
    return {"ETag": f'"{case["version"]}"'}


@router.get(CASES, response_model=list[CaseDetail])
def list_cases(
    ds: str,
    db: DB,
    caller: Reader,
    tags: Annotated[list[str] | None, Query(description="Only cases with any of these tags.")] = None,
    tags_match: Annotated[Literal["any", "all"], Query(description="'all': cases with every tag.")] = "any",
    limit: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> Response:
    """List cases in creation order, streamed; filter by tags, page with limit/offset."""
    rows = cases.open_case_list(
        db, caller.principal(), ds, tags=tags, tags_match=tags_match, limit=limit, offset=offset
    )
    return stream_response(stream_json_array(rows))


@router.post(CASES, response_model=CaseDetail, status_code=201, openapi_extra=CREATE_DOC)
def create_case(ds: str, body: Annotated[CaseCreate, CREATE_BODY], db: DB, caller: Writer) -> Response:
    """Add one case; 409 when its name is taken in the dataset."""
    (case,) = cases.create_cases(db, caller.principal(), ds, [dict(body)], single=True)
    return json_response(case, status_code=201, headers=_etag(case))


@router.post(CASES + "bulk/", response_model=list[CaseDetail], openapi_extra=CASES_DOC)
def bulk_create(ds: str, body: Annotated[CasesBody, CASES_BODY_DEP], db: DB, caller: Writer) -> Response:
    """Add many cases at once, all or none."""
    return json_response(cases.create_cases(db, caller.principal(), ds, _dicts(body["cases"])))


@router.post("/datasets/{ds}/import/", response_model=list[CaseDetail], openapi_extra=CASES_DOC)
def import_cases(
    ds: str,
    body: Annotated[CasesBody, CASES_BODY_DEP],
    db: DB,
    caller: Writer,
    on_conflict: Annotated[Literal["update", "error"], Query()] = "update",
) -> Response:
    """Import cases in one transaction: named cases that exist are updated (or, with on_conflict=error, 409)."""
    return json_response(cases.import_cases(db, caller.principal(), ds, _dicts(body["cases"]), on_conflict=on_conflict))


@router.get(CASE, response_model=CaseDetail)
def get_case(ds: str, case_id: str, db: DB, caller: Reader) -> Response:
    """One case by id (a UUID, any letter case); its `ETag` is its version, for `If-Match` on update."""
    case = cases.get_case(db, caller.principal(), ds, case_id)
    return json_response(case, headers=_etag(case))


def update_case(
    ds: str,
    case_id: str,
    body: Annotated[CaseUpdate, UPDATE_BODY],
    db: DB,
    caller: Writer,
    if_match: Annotated[
        str | None,
        Header(description="The case version you edited; 412 if it moved on.", pattern=IF_MATCH_PATTERN),
    ] = None,
) -> Response:
    """Partial update (PUT and PATCH alike); the version goes up by one."""
    try:
        version = parse_if_match(if_match)
    except ValueError as exc:
        raise InvalidInput(f"{exc}.") from None
    case = cases.update_case(db, caller.principal(), ds, case_id, dict(body), if_match=version)
    return json_response(case, headers=_etag(case))


router.patch(CASE, response_model=CaseDetail, openapi_extra=UPDATE_DOC)(update_case)
router.put(CASE, response_model=CaseDetail, openapi_extra=UPDATE_DOC)(update_case)


@router.delete(CASE, status_code=204, response_class=Response)
def delete_case(ds: str, case_id: str, db: DB, caller: Writer) -> Response:
    """Delete a case (its history stays; see restore)."""
    cases.delete_case(db, caller.principal(), ds, case_id)
    return Response(status_code=204)


@router.get(CASE + "history/", response_model=list[Revision])
def case_history(ds: str, case_id: str, db: DB, caller: Reader) -> Response:
    """Every revision of a case, oldest first, deleted cases included."""
    return json_response(history.case_history(db, caller.principal(), ds, case_id))


@router.post(CASE + "restore/", response_model=CaseDetail)
def restore_case(ds: str, case_id: str, db: DB, caller: Writer) -> Response:
    """Bring a deleted case back with its id and last content."""
    return json_response(cases.restore_case(db, caller.principal(), ds, case_id))
