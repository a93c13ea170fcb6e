# pyright: strict
"""`AsyncDatasetsClient`: the asynchronous twin of `DatasetsClient`, over the same operations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import httpx
from typing_extensions import Self

from evalset import _experiments as xops
from evalset import _operations as ops
from evalset._config import DEFAULT_TIMEOUT, configure
from evalset._operations import DEFAULT_CHUNK_SIZE, Flow, Operation
from evalset._retry import RetryPolicy
from evalset._serialization import UNSET
from evalset._shared import (
    CASE_CHANGES,
    CASE_VALUES,
    DATASET_ARGS,
    EVALUATE_ARGS,
    Cases,
    CaseStatus,
    Conflict,
    Direction,
    Evaluators,
    ExperimentStatus,
    Id,
    InputsT,
    MetadataT,
    OutputT,
    ReportEvaluators,
    T,
    pick,
)
from evalset.errors import DatasetApiError
from evalset.types import (
    CaseData,
    CaseDetail,
    CaseRevision,
    DatasetDetail,
    DatasetSummary,
    EvaluationRun,
    ExperimentCase,
    ExperimentComparison,
    ExperimentDetail,
    ExperimentSummary,
    ExportedDataset,
    ProgressCallback,
)

if TYPE_CHECKING:  # pydantic-evals is slow to import; TypeForm needs a recent typing_extensions
    from pydantic_evals import Case, Dataset
    from pydantic_evals.evaluators import Evaluator
    from pydantic_evals.reporting import EvaluationReport
    from typing_extensions import TypeForm

__all__ = ["AsyncDatasetsClient"]


class AsyncDatasetsClient:
    """Asynchronous client: the same methods as `DatasetsClient`, as coroutines (`async with` closes it)."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        *,
        client: httpx.AsyncClient | None = None,
        retries: int = 3,
    ) -> None:
        self.client: httpx.AsyncClient = configure(httpx.AsyncClient, client, api_key, base_url, timeout)
        self.retry_policy = RetryPolicy(retries=retries)

    async def __aenter__(self) -> Self:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Close the connection pool (the `async with` block does this for you)."""
        await self.client.aclose()

    async def _send(self, op: Operation[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self.client.request(op.method, op.path, **op.request_args())
            except httpx.TransportError as exc:
                delay = self.retry_policy.delay(idempotent=op.idempotent, attempt=attempt, error=exc)
                if delay is None:
                    raise
            else:
                retry_after = response.headers.get("retry-after")
                status = response.status_code
                delay = self.retry_policy.delay(
                    idempotent=op.idempotent, attempt=attempt, status=status, retry_after=retry_after
                )
                if delay is None:
                    return op.parse(response)
            await asyncio.sleep(delay)
            attempt += 1

    async def _run(self, flow: Flow[T]) -> T:
        result: Any = None
        error: DatasetApiError | None = None
        while True:
            try:
                op = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return cast(T, stop.value)
            try:
                result, error = await self._send(op), None
            except DatasetApiError as exc:
                result, error = None, exc

    # --- datasets ---------------------------------------------------------------------------

    async def list_datasets(self) -> list[DatasetSummary]:
        """See `DatasetsClient.list_datasets`."""
        return await self._send(ops.list_datasets())

    @overload
    async def get_dataset(self, id_or_name: Id, *, include_cases: Literal[False] = False) -> DatasetDetail: ...
    @overload
    async def get_dataset(self, id_or_name: Id, *, include_cases: Literal[True]) -> ExportedDataset: ...
    @overload
    async def get_dataset(
        self,
        id_or_name: Id,
        input_type: TypeForm[InputsT],
        output_type: TypeForm[OutputT] = Any,
        metadata_type: TypeForm[MetadataT] = Any,
        *,
        include_cases: bool = True,
        custom_evaluator_types: Sequence[type[Evaluator[InputsT, OutputT, MetadataT]]] = (),
        custom_report_evaluator_types: Sequence[type[Any]] = (),
    ) -> Dataset[InputsT, OutputT, MetadataT]: ...
    async def get_dataset(
        self,
        id_or_name: Id,
        input_type: Any = None,
        output_type: Any = Any,
        metadata_type: Any = Any,
        *,
        include_cases: bool = False,
        custom_evaluator_types: Sequence[type[Any]] = (),
        custom_report_evaluator_types: Sequence[type[Any]] = (),
    ) -> Any:
        """See `DatasetsClient.get_dataset`."""
        types = ops.wanted_types(input_type, output_type, metadata_type)
        return await self._send(
            ops.fetch_dataset(
                id_or_name,
                types,
                include_cases=include_cases,
                custom_evaluator_types=custom_evaluator_types,
                custom_report_evaluator_types=custom_report_evaluator_types,
            )
        )

    async def create_dataset(
        self,
        name: str,
        *,
        input_type: TypeForm[Any] | None = None,
        output_type: TypeForm[Any] | None = None,
        metadata_type: TypeForm[Any] | None = None,
        description: str | None = None,
        guidance: str | None = None,
        ai_managed_guidance: bool | None = None,
        evaluators: Evaluators | None = None,
        report_evaluators: ReportEvaluators | None = None,
    ) -> DatasetDetail:
        """See `DatasetsClient.create_dataset`."""
        fields = ops.dataset_fields(**pick(locals(), DATASET_ARGS))
        return await self._send(ops.create_dataset(name, fields))

    async def update_dataset(
        self,
        id_or_name: Id,
        *,
        name: str = UNSET,
        input_type: TypeForm[Any] | None = None,
        output_type: TypeForm[Any] | None = None,
        metadata_type: TypeForm[Any] | None = None,
        description: str | None = UNSET,
        guidance: str | None = UNSET,
        ai_managed_guidance: bool = UNSET,
        evaluators: Evaluators | None = UNSET,
        report_evaluators: ReportEvaluators | None = UNSET,
    ) -> DatasetDetail:
        """See `DatasetsClient.update_dataset`."""
        fields = ops.dataset_fields(**pick(locals(), DATASET_ARGS))
        return await self._send(ops.update_dataset(id_or_name, fields, name=name))

    async def delete_dataset(self, id_or_name: Id) -> None:
        """See `DatasetsClient.delete_dataset`."""
        return await self._send(ops.delete_dataset(id_or_name))

    @overload
    async def export_dataset(self, id_or_name: Id, *, as_of: datetime | str | None = None) -> ExportedDataset: ...
    @overload
    async def export_dataset(
        self,
        id_or_name: Id,
        input_type: TypeForm[InputsT],
        output_type: TypeForm[OutputT] = Any,
        metadata_type: TypeForm[MetadataT] = Any,
        *,
        custom_evaluator_types: Sequence[type[Evaluator[InputsT, OutputT, MetadataT]]] = (),
        custom_report_evaluator_types: Sequence[type[Any]] = (),
        as_of: datetime | str | None = None,
    ) -> Dataset[InputsT, OutputT, MetadataT]: ...
    async def export_dataset(
        self,
        id_or_name: Id,
        input_type: Any = None,
        output_type: Any = Any,
        metadata_type: Any = Any,
        *,
        custom_evaluator_types: Sequence[type[Any]] = (),
        custom_report_evaluator_types: Sequence[type[Any]] = (),
        as_of: datetime | str | None = None,
    ) -> Any:
        """See `DatasetsClient.export_dataset`."""
        types = ops.wanted_types(input_type, output_type, metadata_type)
        custom = (custom_evaluator_types, custom_report_evaluator_types)
        return await self._send(ops.export_dataset(id_or_name, types, *custom, as_of=as_of))

    async def push_dataset(
        self,
        dataset: Dataset[Any, Any, Any] | ExportedDataset,
        *,
        name: str | None = None,
        description: str | None = UNSET,
        on_case_conflict: Conflict = "update",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> DatasetDetail:
        """See `DatasetsClient.push_dataset`."""
        flow = ops.push_dataset(dataset, name, description, on_case_conflict, chunk_size, on_progress)
        return await self._run(flow)

    # --- cases ------------------------------------------------------------------------------

    async def list_cases(
        self,
        dataset_id_or_name: Id,
        *,
        tags: Sequence[str] | None = None,
        tags_match: Literal["any", "all"] = "any",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[CaseDetail]:
        """See `DatasetsClient.list_cases`."""
        return await self._send(ops.list_cases(dataset_id_or_name, tags, tags_match, limit, offset))

    async def get_case(self, dataset_id_or_name: Id, case_id: Id) -> CaseDetail:
        """See `DatasetsClient.get_case`."""
        return await self._send(ops.get_case(dataset_id_or_name, case_id))

    async def add_case(
        self,
        dataset_id_or_name: Id,
        case: Case[Any, Any, Any] | CaseData,
        *,
        tags: Sequence[str] | None = None,
        source_trace_id: str | None = None,
        source_span_id: str | None = None,
    ) -> CaseDetail:
        """See `DatasetsClient.add_case`."""
        return await self._send(ops.create_case(dataset_id_or_name, case, tags, source_trace_id, source_span_id))

    async def add_cases(
        self,
        dataset_id_or_name: Id,
        cases: Cases,
        *,
        tags: Sequence[str] | None = None,
        on_conflict: Conflict = "update",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> list[CaseDetail]:
        """See `DatasetsClient.add_cases`."""
        return await self._run(ops.upload_cases(dataset_id_or_name, cases, tags, on_conflict, chunk_size, on_progress))

    async def create_case(
        self,
        dataset_id_or_name: Id,
        inputs: Any,
        *,
        name: str | None = None,
        expected_output: Any = None,
        metadata: Any = None,
        evaluators: Evaluators | None = None,
        tags: Sequence[str] | None = None,
        source_trace_id: str | None = None,
        source_span_id: str | None = None,
    ) -> CaseDetail:
        """See `DatasetsClient.create_case`."""
        case = ops.case_from_values(**pick(locals(), CASE_VALUES))
        return await self._send(ops.create_case(dataset_id_or_name, case, tags, source_trace_id, source_span_id))

    async def update_case(
        self,
        dataset_id_or_name: Id,
        case_id: Id,
        *,
        name: str | None = UNSET,
        inputs: Any = None,
        expected_output: Any = UNSET,
        metadata: Any = UNSET,
        evaluators: Evaluators | None = UNSET,
        tags: Sequence[str] | None = UNSET,
        source_trace_id: str | None = UNSET,
        source_span_id: str | None = UNSET,
        if_match: int | None = None,
    ) -> CaseDetail:
        """See `DatasetsClient.update_case`."""
        changes = pick(locals(), CASE_CHANGES)
        return await self._send(ops.update_case(dataset_id_or_name, case_id, changes, if_match=if_match))

    async def delete_case(self, dataset_id_or_name: Id, case_id: Id) -> None:
        """See `DatasetsClient.delete_case`."""
        return await self._send(ops.delete_case(dataset_id_or_name, case_id))

    import_cases = add_cases
    """Bulk import cases (`Case` objects or dicts): the same call as `add_cases`, by its other seed name."""

    async def get_case_history(self, dataset_id_or_name: Id, case_id: Id) -> list[CaseRevision]:
        """See `DatasetsClient.get_case_history`."""
        return await self._send(ops.case_history(dataset_id_or_name, case_id))

    async def restore_case(self, dataset_id_or_name: Id, case_id: Id) -> CaseDetail:
        """See `DatasetsClient.restore_case`."""
        return await self._send(ops.restore_case(dataset_id_or_name, case_id))

    # --- experiments ------------------------------------------------------------------------

    async def list_experiments(
        self,
        *,
        dataset: Id | None = None,
        status: ExperimentStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ExperimentSummary]:
        """Experiments (stored runs of `Dataset.evaluate`), newest first: all, or one dataset's; paged."""
        return await self._send(xops.list_experiments(dataset, status, limit, offset))

    async def get_experiment(self, experiment_id: Id) -> ExperimentDetail:
        """One experiment: counts, pass rate, averages, durations, the dataset state it ran on."""
        return await self._send(xops.get_experiment(experiment_id))

    async def list_experiment_cases(
        self,
        experiment_id: Id,
        *,
        status: Sequence[CaseStatus] | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ExperimentCase]:
        """An experiment's case results (one per run), each matched to the dataset case it ran on."""
        return await self._send(xops.list_experiment_cases(experiment_id, status, search, limit, offset))

    async def compare_experiments(
        self,
        baseline: Id,
        candidate: Id,
        *,
        primary: str | None = None,
        direction: Direction | None = None,
    ) -> ExperimentComparison:
        """Two experiments case by case: outcomes (regressed first), deltas, both sides' runs, an overview."""
        return await self._send(xops.compare_experiments(baseline, candidate, primary, direction))

    async def delete_experiment(self, experiment_id: Id) -> None:
        """Delete an experiment and its case results."""
        return await self._send(xops.delete_experiment(experiment_id))

    async def upload_report(
        self,
        report: EvaluationReport[Any, Any, Any] | Mapping[str, Any],
        *,
        dataset: Id | None = None,
        as_of: datetime | str | None = None,
        task_name: str | None = None,
    ) -> ExperimentDetail:
        """Store a report run elsewhere as an experiment of `dataset` (default: its `dataset_name`), which ran
        on the dataset as of `as_of` (default: now); cases are matched to the dataset's by name."""
        return await self._send(xops.upload_report(report, dataset, as_of, task_name))

    async def evaluate(
        self,
        dataset: Id,
        task: Callable[[InputsT], Awaitable[OutputT]] | Callable[[InputsT], OutputT],
        *,
        input_type: TypeForm[InputsT] | None = None,
        output_type: TypeForm[OutputT] = Any,
        metadata_type: TypeForm[MetadataT] = Any,
        name: str | None = None,
        task_name: str | None = None,
        metadata: dict[str, Any] | None = None,
        evaluators: Evaluators = (),
        report_evaluators: ReportEvaluators = (),
        custom_evaluator_types: Sequence[type[Any]] = (),
        custom_report_evaluator_types: Sequence[type[Any]] = (),
        repeat: int = 1,
        max_concurrency: int | None = None,
        progress: bool = False,
    ) -> EvaluationRun[InputsT, OutputT, MetadataT]:
        """Run `task` over the hosted dataset with pydantic-evals and store the report as an experiment.

        The dataset is exported at a moment the server pins (so the experiment names the exact state it
        ran on), `Dataset.evaluate` runs locally with `evaluators` added, and the report is uploaded.
        Returns the report with the stored experiment and the URL of its page.
        """
        evaluation = await self._send(xops.prepare_evaluation(dataset, task, **pick(locals(), EVALUATE_ARGS)))
        return await self._send(xops.finish_evaluation(evaluation, await evaluation.run()))
