# pyright: strict
"""Experiments as pure operations, and `evaluate`'s local step: no I/O here, both clients send these.

`evaluate` is three steps: `prepare_evaluation` (one request: the dataset exported at a moment the
server pins, so the run can name the exact state it used), `Evaluation.run` (pydantic-evals, locally),
and `finish_evaluation` (one request: the report uploaded with that moment). The clients differ only in
how they send the requests and await the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from uuid import UUID

import httpx
from pydantic import TypeAdapter

from evalset._operations import Operation, api_path, as_of_param, delete_operation, json_operation
from evalset._responses import Target, check
from evalset._serialization import to_pydantic_evals
from evalset.errors import DatasetApiError
from evalset.types import EvaluationRun, ExperimentCase, ExperimentComparison, ExperimentDetail, ExperimentSummary

if TYPE_CHECKING:
    from pydantic_evals import Dataset
    from pydantic_evals.reporting import EvaluationReport

__all__ = [
    "AS_OF_HEADER",
    "list_experiments",
    "get_experiment",
    "list_experiment_cases",
    "compare_experiments",
    "delete_experiment",
    "report_payload",
    "upload_report",
    "Evaluation",
    "Evaluated",
    "prepare_evaluation",
    "finish_evaluation",
    "run_coroutine",
    "task_name_of",
]

T = TypeVar("T")
AS_OF_HEADER = "x-evalset-as-of"
CaseStatus = Literal["passed", "failed", "error"]

_summaries = TypeAdapter(list[ExperimentSummary])
_detail = TypeAdapter(ExperimentDetail)
_cases = TypeAdapter(list[ExperimentCase])
_comparison = TypeAdapter(ExperimentComparison)


def _experiment(experiment_id: str | UUID) -> Target:
    return Target(experiment=str(experiment_id))


def _paging(limit: int | None, offset: int) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if limit is not None:
        params.append(("limit", str(limit)))
    if offset:
        params.append(("offset", str(offset)))
    return params


def list_experiments(
    dataset: str | UUID | None = None,
    status: Literal["running", "complete"] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Operation[list[ExperimentSummary]]:
    params = [(key, str(value)) for key, value in (("dataset", dataset), ("status", status)) if value is not None]
    params += _paging(limit, offset)
    return json_operation("GET", api_path("experiments"), _summaries, Target(), params=tuple(params))


def get_experiment(experiment_id: str | UUID) -> Operation[ExperimentDetail]:
    return json_operation("GET", api_path("experiments", experiment_id), _detail, _experiment(experiment_id))


def list_experiment_cases(
    experiment_id: str | UUID,
    status: Sequence[CaseStatus] | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Operation[list[ExperimentCase]]:
    params = [("status", value) for value in status or ()]
    params += [("search", search)] if search else []
    params += _paging(limit, offset)
    path = api_path("experiments", experiment_id, "cases")
    return json_operation("GET", path, _cases, _experiment(experiment_id), params=tuple(params))


def compare_experiments(
    baseline: str | UUID,
    candidate: str | UUID,
    primary: str | None = None,
    direction: Literal["higher", "lower"] | None = None,
) -> Operation[ExperimentComparison]:
    params = [("baseline", str(baseline)), ("candidate", str(candidate))]
    params += [(key, value) for key, value in (("primary", primary), ("direction", direction)) if value is not None]
    target = Target(experiment=f"{baseline} or {candidate}")
    return json_operation("GET", api_path("experiments", "compare"), _comparison, target, params=tuple(params))


def delete_experiment(experiment_id: str | UUID) -> Operation[None]:
    return delete_operation(api_path("experiments", experiment_id), _experiment(experiment_id))


def report_payload(report: EvaluationReport[Any, Any, Any] | Mapping[str, Any]) -> Any:
    """A report as the JSON `EvaluationReportAdapter.dump_json` writes (a dict of that JSON passes as is)."""
    if isinstance(report, Mapping):
        return dict(report)
    from pydantic_evals.reporting import EvaluationReportAdapter

    return EvaluationReportAdapter.dump_python(report, mode="json")


def _moment(value: datetime | str | None) -> str | None:
    params = as_of_param(value)  # refuses naive datetimes
    return params[0][1] if params else None


def upload_report(
    report: EvaluationReport[Any, Any, Any] | Mapping[str, Any],
    dataset: str | UUID | None = None,
    as_of: datetime | str | None = None,
    task_name: str | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> Operation[ExperimentDetail]:
    """POST the report as an experiment of `dataset` (default: the report's `dataset_name`, if hosted)."""
    body: dict[str, Any] = {"report": report_payload(report)}
    extras = {
        "dataset": None if dataset is None else str(dataset),
        "dataset_as_of": _moment(as_of),
        "task_name": task_name,
        "started_at": _moment(started_at),
        "ended_at": _moment(ended_at),
    }
    body.update({key: value for key, value in extras.items() if value is not None})
    target = Target(None if dataset is None else str(dataset))
    return json_operation("POST", api_path("experiments"), _detail, target, json=body)


# --- evaluate ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    """A finished local run: the report, and when it started and ended."""

    report: EvaluationReport[Any, Any, Any]
    started_at: datetime
    ended_at: datetime


@dataclass
class Evaluation:
    """A hosted dataset exported at a pinned moment, ready to run `task` over with pydantic-evals."""

    dataset_ref: str
    dataset: Dataset[Any, Any, Any]
    as_of: str
    task: Callable[[Any], Any]
    options: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def task_name(self) -> str:
        return self.options.get("task_name") or task_name_of(self.task)

    async def run(self) -> Evaluated:
        """`Dataset.evaluate` with the options given to `client.evaluate`."""
        started = datetime.now(timezone.utc)
        report = await self.dataset.evaluate(self.task, **self.options)
        return Evaluated(report, started, datetime.now(timezone.utc))

    def run_sync(self) -> Evaluated:
        """`run` from synchronous code, in a fresh event loop (in a worker thread if one is running here)."""
        return run_coroutine(self.run)


def task_name_of(task: Callable[..., Any]) -> str:
    """The task's name as pydantic-evals derives it (partials and decorators unwrapped)."""
    unwrapped: Any = inspect.unwrap(task)
    while isinstance(unwrapped, functools.partial):
        unwrapped = inspect.unwrap(cast(Callable[..., Any], unwrapped.func))
    name = getattr(unwrapped, "__name__", None)
    return name if isinstance(name, str) else f"{type(task).__qualname__}.__call__"


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, also where an event loop is already running
    (Jupyter): there, in a worker thread with its own loop, since the running loop cannot be re-entered."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def prepare_evaluation(
    dataset: str | UUID,
    task: Callable[[Any], Awaitable[Any]] | Callable[[Any], Any],
    *,
    input_type: Any,
    output_type: Any,
    metadata_type: Any,
    name: str | None,
    task_name: str | None,
    metadata: dict[str, Any] | None,
    evaluators: Sequence[Any],
    report_evaluators: Sequence[Any],
    custom_evaluator_types: Sequence[type[Any]],
    custom_report_evaluator_types: Sequence[type[Any]],
    repeat: int,
    max_concurrency: int | None,
    progress: bool,
) -> Operation[Evaluation]:
    """Export the dataset pinned to the server's current moment (`as_of=now`) as a typed `Dataset`, with
    the extra evaluators added: the export is exactly the state `export_dataset(as_of=<that moment>)` returns."""
    target = Target(str(dataset))
    types = (Any if input_type is None else input_type, output_type, metadata_type)
    # Only what was asked for: early pydantic-evals 1.x has no task_name, metadata or repeat.
    extras = {"name": name, "task_name": task_name, "metadata": metadata, "repeat": repeat if repeat != 1 else None}
    options: dict[str, Any] = {"max_concurrency": max_concurrency, "progress": progress}
    options.update((key, value) for key, value in extras.items() if value is not None)

    def parse(response: httpx.Response) -> Evaluation:
        data = check(response, target)
        as_of = response.headers.get(AS_OF_HEADER)
        if not as_of:
            raise DatasetApiError(
                response.status_code,
                "The server did not say which dataset state it exported (no X-Evalset-As-Of header).",
                hint="evaluate() needs an evalset server that pins exports (as_of=now): upgrade the server.",
            )
        local: Dataset[Any, Any, Any] = to_pydantic_evals(
            data, types, custom_evaluator_types, custom_report_evaluator_types
        )
        for evaluator in evaluators:
            local.add_evaluator(evaluator)
        if report_evaluators:
            local.report_evaluators.extend(report_evaluators)
        return Evaluation(str(dataset), local, as_of, task, options)

    return Operation("GET", api_path("datasets", dataset, "export"), parse, params=as_of_param("now"))


def _web_url(response: httpx.Response, web_path: str) -> str:
    """The page's absolute URL: the server's root (the part of the request URL before /v1/) + its path."""
    url = response.request.url
    root = url.path.split("/v1/", 1)[0]
    return str(url.copy_with(path=root + web_path, query=None))


def finish_evaluation(evaluation: Evaluation, evaluated: Evaluated) -> Operation[EvaluationRun[Any, Any, Any]]:
    """Upload the run's report as an experiment of the dataset state it ran on."""
    upload = upload_report(
        evaluated.report,
        dataset=evaluation.dataset_ref,
        as_of=evaluation.as_of,
        task_name=evaluation.task_name,
        started_at=evaluated.started_at,
        ended_at=evaluated.ended_at,
    )

    def parse(response: httpx.Response) -> EvaluationRun[Any, Any, Any]:
        experiment = upload.parse(response)
        return EvaluationRun(evaluated.report, experiment, _web_url(response, experiment.get("web_path", "")))

    return Operation(upload.method, upload.path, parse, json=upload.json)
