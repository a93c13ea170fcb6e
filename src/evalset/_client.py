# pyright: strict
"""`DatasetsClient`: the synchronous client, a thin I/O shell over `evalset._operations`.

Each public method describes its request(s) with an operation (or a flow of them) and sends it;
request building, response parsing, error mapping and multi-request logic are shared with
`AsyncDatasetsClient` (in `_async_client`), which differs only by `await`. The sync client never
runs an event loop, so it works inside Jupyter and async code.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import httpx
from typing_extensions import Self

from evalset import _experiments as xops
from evalset import _operations as ops
from evalset._async_client import AsyncDatasetsClient
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

__all__ = ["DatasetsClient", "AsyncDatasetsClient"]


class DatasetsClient:
    """Synchronous client for an evalset server (or anything speaking Logfire's datasets API).

    ```python
    with DatasetsClient(api_key='...', base_url='http://127.0.0.1:8000') as client:
        client.create_dataset('qa-golden-set', input_type=QuestionInput, output_type=AnswerOutput)
    ```

    Args:
        api_key: A key with `project:read_datasets` (and `project:write_datasets` to change
            anything). Default: `$EVALSET_API_KEY`.
        base_url: The server's root URL. Default: `$EVALSET_BASE_URL`, else `http://127.0.0.1:8000`.
        timeout: Seconds (or an `httpx.Timeout`) per request.
        client: A pre-built `httpx.Client`; it gets the key and base URL only if it has none.
        retries: How often to resend an idempotent request (GET, PUT, DELETE) after a connection
            error or a 502/503/504, with exponential backoff. POST and PATCH are never resent.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        *,
        client: httpx.Client | None = None,
        retries: int = 3,
    ) -> None:
        self.client: httpx.Client = configure(httpx.Client, client, api_key, base_url, timeout)
        self.retry_policy = RetryPolicy(retries=retries)

    def __enter__(self) -> Self:
        self.client.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.__exit__(exc_type, exc, tb)

    def close(self) -> None:
        """Close the connection pool (the `with` block does this for you)."""
        self.client.close()

    def _send(self, op: Operation[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self.client.request(op.method, op.path, **op.request_args())
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
            time.sleep(delay)
            attempt += 1

    def _run(self, flow: Flow[T]) -> T:
        result: Any = None
        error: DatasetApiError | None = None
        while True:
            try:
                op = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return cast(T, stop.value)
            try:
                result, error = self._send(op), None
            except DatasetApiError as exc:
                result, error = None, exc

    # --- datasets ---------------------------------------------------------------------------

    def list_datasets(self) -> list[DatasetSummary]:
        """All datasets of the key's project, with their case counts."""
        return self._send(ops.list_datasets())

    @overload
    def get_dataset(self, id_or_name: Id, *, include_cases: Literal[False] = False) -> DatasetDetail: ...
    @overload
    def get_dataset(self, id_or_name: Id, *, include_cases: Literal[True]) -> ExportedDataset: ...
    @overload
    def get_dataset(
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
    def get_dataset(
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
        """A dataset by UUID or name: its detail; with `include_cases=True` its export; with types a typed `Dataset`."""
        types = ops.wanted_types(input_type, output_type, metadata_type)
        return self._send(
            ops.fetch_dataset(
                id_or_name,
                types,
                include_cases=include_cases,
                custom_evaluator_types=custom_evaluator_types,
                custom_report_evaluator_types=custom_report_evaluator_types,
            )
        )

    def create_dataset(
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
        """Create a dataset; the types become its JSON Schemas. A taken name raises `DatasetApiError` (409)."""
        fields = ops.dataset_fields(**pick(locals(), DATASET_ARGS))
        return self._send(ops.create_dataset(name, fields))

    def update_dataset(
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
        """Change some fields of a dataset: omitted ones stay, `None` clears (types can only be replaced)."""
        fields = ops.dataset_fields(**pick(locals(), DATASET_ARGS))
        return self._send(ops.update_dataset(id_or_name, fields, name=name))

    def delete_dataset(self, id_or_name: Id) -> None:
        """Delete a dataset and all its cases."""
        return self._send(ops.delete_dataset(id_or_name))

    @overload
    def export_dataset(self, id_or_name: Id, *, as_of: datetime | str | None = None) -> ExportedDataset: ...
    @overload
    def export_dataset(
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
    def export_dataset(
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
        """The dataset as a typed `pydantic_evals.Dataset` (given types) or its raw dict; `as_of` for the past."""
        types = ops.wanted_types(input_type, output_type, metadata_type)
        custom = (custom_evaluator_types, custom_report_evaluator_types)
        return self._send(ops.export_dataset(id_or_name, types, *custom, as_of=as_of))

    def push_dataset(
        self,
        dataset: Dataset[Any, Any, Any] | ExportedDataset,
        *,
        name: str | None = None,
        description: str | None = UNSET,
        on_case_conflict: Conflict = "update",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> DatasetDetail:
        """Create or update the hosted dataset from a local one: schemas from its types, cases upserted by name.

        Pushing the same dataset twice changes nothing. Large datasets go up in chunks (see `add_cases`).
        """
        flow = ops.push_dataset(dataset, name, description, on_case_conflict, chunk_size, on_progress)
        return self._run(flow)

    # --- cases ------------------------------------------------------------------------------

    def list_cases(
        self,
        dataset_id_or_name: Id,
        *,
        tags: Sequence[str] | None = None,
        tags_match: Literal["any", "all"] = "any",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[CaseDetail]:
        """Cases in creation order; only those with any (`tags_match='all'`: every) of `tags`; paged."""
        return self._send(ops.list_cases(dataset_id_or_name, tags, tags_match, limit, offset))

    def get_case(self, dataset_id_or_name: Id, case_id: Id) -> CaseDetail:
        """One case by id."""
        return self._send(ops.get_case(dataset_id_or_name, case_id))

    def add_case(
        self,
        dataset_id_or_name: Id,
        case: Case[Any, Any, Any] | CaseData,
        *,
        tags: Sequence[str] | None = None,
        source_trace_id: str | None = None,
        source_span_id: str | None = None,
    ) -> CaseDetail:
        """Add one `pydantic_evals.Case` (or case dict); a name taken in the dataset raises (409)."""
        return self._send(ops.create_case(dataset_id_or_name, case, tags, source_trace_id, source_span_id))

    def add_cases(
        self,
        dataset_id_or_name: Id,
        cases: Cases,
        *,
        tags: Sequence[str] | None = None,
        on_conflict: Conflict = "update",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
    ) -> list[CaseDetail]:
        """Add many cases (`Case`s or dicts), upserting named ones (`on_conflict='error'` to refuse instead).

        Cases go up in chunks of `chunk_size`, with `on_progress(sent, total)` after each. Each chunk is
        atomic on the server; the whole call is not: a failing chunk leaves the earlier ones saved, and the
        error says which cases those were.
        """
        return self._run(ops.upload_cases(dataset_id_or_name, cases, tags, on_conflict, chunk_size, on_progress))

    def create_case(
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
        """Create a case from raw values (typed objects or JSON data)."""
        case = ops.case_from_values(**pick(locals(), CASE_VALUES))
        return self._send(ops.create_case(dataset_id_or_name, case, tags, source_trace_id, source_span_id))

    def update_case(
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
        """Change some fields of a case (omitted stay, `None` clears); `if_match=version` raises on a stale version."""
        changes = pick(locals(), CASE_CHANGES)
        return self._send(ops.update_case(dataset_id_or_name, case_id, changes, if_match=if_match))

    def delete_case(self, dataset_id_or_name: Id, case_id: Id) -> None:
        """Delete a case (its history stays: `restore_case` brings it back)."""
        return self._send(ops.delete_case(dataset_id_or_name, case_id))

    import_cases = add_cases
    """Bulk import cases (`Case` objects or dicts): the same call as `add_cases`, by its other seed name."""

    def get_case_history(self, dataset_id_or_name: Id, case_id: Id) -> list[CaseRevision]:
        """Every revision of a case, oldest first (deleted cases too): version, op, at, actor, state."""
        return self._send(ops.case_history(dataset_id_or_name, case_id))

    def restore_case(self, dataset_id_or_name: Id, case_id: Id) -> CaseDetail:
        """Bring a deleted case back, with its id and last content."""
        return self._send(ops.restore_case(dataset_id_or_name, case_id))

    # --- experiments ------------------------------------------------------------------------

    def list_experiments(
        self,
        *,
        dataset: Id | None = None,
        status: ExperimentStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ExperimentSummary]:
        """Experiments (stored runs of `Dataset.evaluate`), newest first: all, or one dataset's; paged."""
        return self._send(xops.list_experiments(dataset, status, limit, offset))

    def get_experiment(self, experiment_id: Id) -> ExperimentDetail:
        """One experiment: counts, pass rate, averages, durations, the dataset state it ran on."""
        return self._send(xops.get_experiment(experiment_id))

    def list_experiment_cases(
        self,
        experiment_id: Id,
        *,
        status: Sequence[CaseStatus] | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ExperimentCase]:
        """An experiment's case results (one per run), each matched to the dataset case it ran on."""
        return self._send(xops.list_experiment_cases(experiment_id, status, search, limit, offset))

    def compare_experiments(
        self,
        baseline: Id,
        candidate: Id,
        *,
        primary: str | None = None,
        direction: Direction | None = None,
    ) -> ExperimentComparison:
        """Two experiments case by case: outcomes (regressed first), deltas, both sides' runs, an overview."""
        return self._send(xops.compare_experiments(baseline, candidate, primary, direction))

    def delete_experiment(self, experiment_id: Id) -> None:
        """Delete an experiment and its case results."""
        return self._send(xops.delete_experiment(experiment_id))

    def upload_report(
        self,
        report: EvaluationReport[Any, Any, Any] | Mapping[str, Any],
        *,
        dataset: Id | None = None,
        as_of: datetime | str | None = None,
        task_name: str | None = None,
    ) -> ExperimentDetail:
        """Store a report run elsewhere as an experiment of `dataset` (default: its `dataset_name`), which ran
        on the dataset as of `as_of` (default: now); cases are matched to the dataset's by name."""
        return self._send(xops.upload_report(report, dataset, as_of, task_name))

    def evaluate(
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
        evaluation = self._send(xops.prepare_evaluation(dataset, task, **pick(locals(), EVALUATE_ARGS)))
        return self._send(xops.finish_evaluation(evaluation, evaluation.run_sync()))
