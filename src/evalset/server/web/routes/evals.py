"""Evals pages: the project's experiments, a dataset's Experiments tab, an experiment (summary, charts,
cases), one case result, Delete, and Compare (with the `?experiment={trace_id}-{span_id}` link that
`logfire` prints resolved to the experiment's page)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from evalset.server.domain.auth import WRITE_DATASETS
from evalset.server.errors import ExperimentNotFound
from evalset.server.routing import DeclaredRoute
from evalset.server.services import experiment_pages as pages
from evalset.server.services import experiments
from evalset.server.web.charts import evaluator_charts, failures_without_chart
from evalset.server.web.render import fragment, page, redirect, wants_fragment
from evalset.server.web.session import PostedForm, Visitor, VisitorDep

router = APIRouter(route_class=DeclaredRoute)
RUNS_PAGE = 25
RESULTS_PAGE = 50
GROUP_ROWS = 100
"""Cases listed per outcome on Compare before a 'Show all' link (10,000 rows make a 7 MB page)."""
SHOW = {"": None, "problems": ["failed", "error"], "failed": ["failed"], "error": ["error"], "passed": ["passed"]}
"""The cases table's 'Show' filter: its values and the result statuses each keeps."""
PageNumber = Annotated[int, Query(alias="page", ge=1, description="1-based page number")]
_SPAN_LINK = re.compile(r"^([0-9a-fA-F]{32})-([0-9a-fA-F]{16})$")


def _offset(number: int, size: int) -> int:
    return (max(number, 1) - 1) * size


def _paging(number: int, size: int, total: int) -> dict[str, int]:
    last = max(1, -(-total // size))
    return {"number": min(max(number, 1), last), "last": last, "size": size, "total": total}


@router.get("/evals")
def evals_list(visitor: VisitorDep, dataset: str = "", page_number: PageNumber = 1) -> Response:
    found = pages.evals_page(
        visitor.db,
        visitor.principal(),
        dataset=dataset.strip(),
        limit=RUNS_PAGE,
        offset=_offset(page_number, RUNS_PAGE),
    )
    paging = _paging(page_number, RUNS_PAGE, found["total"])
    context = {**found, "dataset": dataset.strip(), "paging": paging, "section": "evals", "base_url": _base(visitor)}
    if wants_fragment(visitor.request):
        return fragment(visitor, "evals.html", "runs", **context)
    return page(visitor, "evals.html", **context)


@router.get("/datasets/{ds}/experiments")
def dataset_experiments(visitor: VisitorDep, ds: str, page_number: PageNumber = 1) -> Response:
    found = pages.dataset_runs(
        visitor.db, visitor.principal(), ds, limit=RUNS_PAGE, offset=_offset(page_number, RUNS_PAGE)
    )
    paging = _paging(page_number, RUNS_PAGE, found["total"])
    context = {**found, "paging": paging, "section": "datasets", "tab": "experiments", "base_url": _base(visitor)}
    if wants_fragment(visitor.request):
        return fragment(visitor, "dataset_experiments.html", "runs", **context)
    return page(visitor, "dataset_experiments.html", **context)


@router.get("/evals/experiments/{experiment_id}")
def experiment_page(
    visitor: VisitorDep, experiment_id: str, show: str = "", q: str = "", page_number: PageNumber = 1
) -> Response:
    """Summary cards, one chart per evaluator, and the case results (filtered, in pages)."""
    statuses, table_only = SHOW.get(show), wants_fragment(visitor.request)
    found = pages.experiment_page(
        visitor.db,
        visitor.principal(),
        experiment_id,
        status=statuses,
        search=q.strip() or None,
        limit=RESULTS_PAGE,
        offset=_offset(page_number, RESULTS_PAGE),
        figures=not table_only,
    )
    charts = evaluator_charts(found["figures"])
    context = {
        **found,
        "charts": charts,
        "failure_only": failures_without_chart(found["figures"], charts),
        "show": show if show in SHOW else "",
        "q": q,
        "paging": _paging(page_number, RESULTS_PAGE, found["matching"]),
        "section": "evals",
    }
    if table_only:
        return fragment(visitor, "experiment.html", "results", **context)
    return page(visitor, "experiment.html", **context)


@router.get("/evals/experiments/{experiment_id}/cases/{result_id}")
def case_result_page(visitor: VisitorDep, experiment_id: str, result_id: str) -> Response:
    found = pages.case_result(visitor.db, visitor.principal(), experiment_id, result_id)
    return page(visitor, "experiment_case.html", **found, section="evals")


@router.get("/evals/experiments/{experiment_id}/delete")
def delete_form(visitor: VisitorDep, experiment_id: str) -> Response:
    experiment = experiments.get_experiment(visitor.db, visitor.require(WRITE_DATASETS), experiment_id)
    return page(visitor, "experiment_delete.html", experiment=experiment, section="evals")


@router.post("/evals/experiments/{experiment_id}/delete")
def delete(visitor: VisitorDep, experiment_id: str, form: PostedForm) -> Response:
    principal = visitor.require(WRITE_DATASETS)
    experiment = experiments.get_experiment(visitor.db, principal, experiment_id)
    experiments.delete_experiment(visitor.db, principal, experiment_id)
    back = f"/datasets/{experiment['dataset_id']}/experiments" if experiment["dataset_id"] else "/evals"
    return redirect(
        visitor, back, notice=f"Deleted experiment {experiment['name']} and its {experiment['case_count']} results."
    )


@router.get("/evals/compare")
def compare_page(
    visitor: VisitorDep,
    baseline: str = "",
    candidate: str = "",
    experiment: str = "",
    primary: str = "",
    direction: str = "",
    expand: Annotated[str, Query(alias="all", description="an outcome whose cases are all listed")] = "",
) -> Response:
    """Baseline -> candidate case by case; without a baseline, the form to choose one; `experiment=` (the
    link `logfire` prints) opens that experiment's page."""
    principal = visitor.principal()
    if experiment:
        return _follow_span_link(visitor, experiment)
    if not candidate:
        runs, _ = experiments.list_experiments(visitor.db, principal, limit=pages.RUNS_SHOWN)
        return page(visitor, "compare.html", choose="candidate", runs=runs, section="evals")
    if not baseline:
        picker = pages.compare_picker(visitor.db, principal, candidate)
        return page(visitor, "compare.html", choose="baseline", **picker, section="evals")
    with pages.gc_paused():  # reading and rendering tens of thousands of runs: see gc_paused
        result = pages.comparison_page(
            visitor.db, principal, baseline, candidate, primary=primary or None, direction=direction or None
        )
        context = {"c": result, "runs": result["runs"], "expand": expand, "group_rows": GROUP_ROWS}
        return page(visitor, "compare.html", choose=None, section="evals", **context)


def _follow_span_link(visitor: Visitor, link: str) -> Response:
    found = _SPAN_LINK.match(link.strip())
    experiment = found and experiments.find_by_span(visitor.db, visitor.principal().project_id, *found.groups())
    if not experiment:
        raise ExperimentNotFound(
            f"No experiment of this project has the trace and span ids {link!r} (expected "
            "'{trace_id}-{span_id}': 32 and 16 hexadecimal digits). It may still be arriving, belong to "
            "another project, or have been deleted."
        )
    return redirect(visitor, experiment["web_path"])


def _base(visitor: Visitor) -> str:
    return str(visitor.request.base_url).rstrip("/")
