"""Experiment routes: /v1/experiments/ (list, upload), /{id}/ (get, delete), /{id}/cases/, /compare/."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from evalset.server.api.deps import DB, Reader, Writer, json_response
from evalset.server.api.inputs import json_body
from evalset.server.api.v1.experiment_models import (
    EXPERIMENT_UPLOAD,
    Comparison,
    ExperimentCase,
    ExperimentDetail,
    ExperimentSummary,
    ExperimentUpload,
    error_responses,
)
from evalset.server.domain.experiments import facts_from_upload
from evalset.server.domain.values import MAX_INT
from evalset.server.routing import DeclaredRoute
from evalset.server.services import experiments

router = APIRouter(tags=["experiments"], route_class=DeclaredRoute)
EXPERIMENT = "/experiments/{experiment_id}/"
UPLOAD_BODY, UPLOAD_DOC = json_body(EXPERIMENT_UPLOAD)
TOTAL_HEADER = {"X-Total-Count": {"description": "How many experiments match, over all pages."}}


@router.get(
    "/experiments/",
    response_model=list[ExperimentSummary],
    responses={200: {"headers": TOTAL_HEADER}, **error_responses(401, 403, 422)},
)
def list_experiments(
    db: DB,
    caller: Reader,
    dataset: Annotated[str | None, Query(description="Only the runs of this dataset (id or name).")] = None,
    status: Annotated[Literal["running", "complete"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> Response:
    """Experiments, newest first, paged; `X-Total-Count` says how many match in all."""
    rows, total = experiments.list_experiments(
        db, caller.principal(), dataset=dataset, status=status, limit=limit, offset=offset
    )
    return json_response(rows, headers={"X-Total-Count": str(total)})


@router.post(
    "/experiments/",
    response_model=ExperimentDetail,
    status_code=201,
    openapi_extra=UPLOAD_DOC,
    responses={
        200: {"model": ExperimentDetail, "description": "Already stored (same trace and span ids): updated."},
        **error_responses(401, 403, 404, 413, 422, 503),
    },
)
def upload_report(body: Annotated[ExperimentUpload, UPLOAD_BODY], db: DB, caller: Writer) -> Response:
    """Store a pydantic-evals `EvaluationReport` as an experiment of a dataset, its cases matched by name."""
    facts, results = facts_from_upload(body)
    experiment, created = experiments.upload(db, caller.principal(), facts, results)
    return json_response(experiment, status_code=201 if created else 200)


@router.get("/experiments/compare/", response_model=Comparison, responses=error_responses(401, 403, 404, 422))
def compare_experiments(
    db: DB,
    caller: Reader,
    baseline: Annotated[str, Query(description="The experiment compared against (id).")],
    candidate: Annotated[str, Query(description="The experiment compared (id).")],
    primary: Annotated[
        str | None,
        Query(
            description="assertions (default), assertion:NAME, score:NAME, metric:NAME, task_duration, total_duration"
        ),
    ] = None,
    direction: Annotated[
        Literal["higher", "lower"] | None, Query(description="Which way is better (default: lower for durations).")
    ] = None,
) -> Response:
    """Two experiments case by case: both sides' runs, deltas, and each case's outcome, regressions first."""
    result = experiments.compare(db, caller.principal(), baseline, candidate, primary=primary, direction=direction)
    return json_response(result)


@router.get(EXPERIMENT, response_model=ExperimentDetail, responses=error_responses(401, 403, 404))
def get_experiment(experiment_id: str, db: DB, caller: Reader) -> Response:
    """One experiment: its summary (counts, pass rate, averages, durations), metadata and analyses."""
    return json_response(experiments.get_experiment(db, caller.principal(), experiment_id))


@router.get(EXPERIMENT + "cases/", response_model=list[ExperimentCase], responses=error_responses(401, 403, 404, 422))
def list_cases(
    experiment_id: str,
    db: DB,
    caller: Reader,
    status: Annotated[list[Literal["passed", "failed", "error"]] | None, Query(description="Repeatable.")] = None,
    search: Annotated[str | None, Query(description="Only results whose name contains this (any case).")] = None,
    limit: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> Response:
    """The experiment's case results (one per run), in dataset order."""
    rows = experiments.list_results(
        db, caller.principal(), experiment_id, status=status, search=search, limit=limit, offset=offset
    )
    return json_response(rows)


@router.delete(EXPERIMENT, status_code=204, response_class=Response, responses=error_responses(401, 403, 404, 503))
def delete_experiment(experiment_id: str, db: DB, caller: Writer) -> Response:
    """Delete an experiment and its case results."""
    experiments.delete_experiment(db, caller.principal(), experiment_id)
    return Response(status_code=204)
