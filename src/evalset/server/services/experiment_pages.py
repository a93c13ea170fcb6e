"""What the experiment pages of the web UI read, each page in one read transaction: the Evals list, a
dataset's runs, an experiment with a page of its results and the figures of its charts, one case
result, and a comparison with the runs it can be compared against."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalset.server.domain import compare as rules
from evalset.server.domain.auth import Principal
from evalset.server.errors import ExperimentNotFound
from evalset.server.services import experiments
from evalset.server.services._common import gc_paused
from evalset.server.services.experiments import _public as public
from evalset.server.storage import Conn, Database
from evalset.server.storage import datasets as dataset_store
from evalset.server.storage import experiments as store

__all__ = [
    "evals_page",
    "dataset_runs",
    "experiment_page",
    "case_result",
    "comparison_page",
    "compare_picker",
    "gc_paused",
]

CHART_FIELDS = ("status", "assertions", "scores", "labels", "task_error", "evaluator_failures", "task_duration")
RUNS_SHOWN = 200
"""How many runs of a dataset the compare form offers (newest first)."""


def _runs(conn: Conn, principal: Principal, experiment: dict[str, Any], *, limit: int, offset: int = 0):
    """The runs of an experiment's dataset (by id when hosted, else by its reported name), newest first."""
    rows, total = store.list_experiments(
        conn,
        project_id=principal.project_id,
        dataset_id=experiment["dataset_id"],
        dataset_name=None if experiment["dataset_id"] else experiment["dataset_name"] or "",
        limit=limit,
        offset=offset,
    )
    return [public(row) for row in rows], total


def evals_page(db: Database, principal: Principal, *, dataset: str | None, limit: int, offset: int) -> dict[str, Any]:
    """A page of the project's experiments (optionally of one dataset, by name or id), the total, and
    the project's dataset names (for the filter)."""
    with db.read() as conn:
        names = [row["name"] for row in dataset_store.list_dataset_rows(conn, project_id=principal.project_id)]
    rows, total = experiments.list_experiments(db, principal, dataset=dataset or None, limit=limit, offset=offset)
    return {"rows": rows, "total": total, "dataset_names": names}


def dataset_runs(db: Database, principal: Principal, ref: str, *, limit: int, offset: int) -> dict[str, Any]:
    """A dataset (404 if unknown) and a page of its experiments, newest first, with the total."""
    with db.read() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref)
        rows, total = store.list_experiments(
            conn, project_id=principal.project_id, dataset_id=dataset["id"], limit=limit, offset=offset
        )
    return {"dataset": dataset, "rows": [public(row) for row in rows], "total": total}


def experiment_page(
    db: Database,
    principal: Principal,
    experiment_id: str,
    *,
    status: Sequence[str] | None,
    search: str | None,
    limit: int,
    offset: int,
    figures: bool = True,
) -> dict[str, Any]:
    """An experiment, a page of its results (filtered), how many match, every result's figures for the
    charts (unless `figures` is false: a page of the table alone), and how many runs its dataset has."""
    with db.read() as conn:
        experiment = store.get_experiment(conn, project_id=principal.project_id, experiment_id=experiment_id)
        rows = store.results(
            conn, experiment_id=experiment_id, status=status, search=search, limit=limit, offset=offset
        )
        matching = store.count_results(conn, experiment_id=experiment_id, status=status, search=search)
        chart_rows = store.results(conn, experiment_id=experiment_id, fields=CHART_FIELDS) if figures else []
        _, runs = _runs(conn, principal, experiment, limit=1)
    return {"experiment": public(experiment), "rows": rows, "matching": matching, "figures": chart_rows, "runs": runs}


def case_result(db: Database, principal: Principal, experiment_id: str, result_id: str) -> dict[str, Any]:
    """One case result with its experiment; 404 when either is unknown in this project."""
    with db.read() as conn:
        experiment = store.get_experiment(conn, project_id=principal.project_id, experiment_id=experiment_id)
        result = store.get_result(conn, experiment_id=experiment_id, result_id=result_id)
        dataset_hosted = experiment["dataset_id"] is not None
    if result is None:
        raise ExperimentNotFound(f"Case result not found: this experiment has no result {result_id!r}.")
    return {"experiment": public(experiment), "result": result, "dataset_hosted": dataset_hosted}


def compare_picker(db: Database, principal: Principal, candidate_id: str) -> dict[str, Any]:
    """A candidate, the runs of its dataset to choose a baseline from, and the default baseline: the run
    just before it (or the newest other run)."""
    with db.read() as conn:
        candidate = store.get_experiment(conn, project_id=principal.project_id, experiment_id=candidate_id)
        runs, _ = _runs(conn, principal, candidate, limit=RUNS_SHOWN)
    ids = [run["id"] for run in runs]
    others = [run for run in runs if run["id"] != candidate_id]
    after = ids.index(candidate_id) + 1 if candidate_id in ids else len(ids)
    default = runs[after]["id"] if after < len(runs) else (others[0]["id"] if others else None)
    return {"candidate": public(candidate), "runs": runs, "default_baseline": default}


def comparison_page(
    db: Database,
    principal: Principal,
    baseline_id: str,
    candidate_id: str,
    *,
    primary: str | None,
    direction: str | None,
) -> dict[str, Any]:
    """The comparison (`services.experiments.compare`, each run with only the fields it compares), the
    metrics it can be decided by, and the runs of the candidate's dataset to switch the baseline to."""
    result = experiments.compare(
        db, principal, baseline_id, candidate_id, primary=primary, direction=direction, full_runs=False
    )
    every_run = [run for case in result["cases"] for run in (*case["baseline_runs"], *case["candidate_runs"])]
    picker = compare_picker(db, principal, result["candidate"]["id"])
    return {**result, "primaries": rules.available_primaries(every_run), "runs": picker["runs"]}
