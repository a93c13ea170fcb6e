"""The experiment methods of both clients over real HTTP: evaluate, upload_report, list/get/cases/compare/delete."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from evalset import DatasetApiError, DatasetNotFoundError, DatasetsClient, ExperimentNotFoundError
from tests.evals_scenario import (
    EVALUATORS,
    assert_stored_matches_report,
    calculate,
    calculate_v2,
    hosted_dataset,
    run_locally,
)
from tests.sdk.models import CaseCount


@pytest.fixture
def arith(api_client: Any) -> str:
    api_client.push_dataset(hosted_dataset())
    return "arith"


def evaluate(api_client: Any, task: Any = calculate, **options: Any) -> Any:
    return api_client.evaluate(
        "arith",
        task,
        input_type=str,
        output_type=int,
        evaluators=EVALUATORS,
        custom_report_evaluator_types=[CaseCount],
        **options,
    )


def test_evaluate_runs_uploads_and_returns_the_report_with_its_page(api_client: Any, arith: str) -> None:
    run = evaluate(api_client, repeat=2, metadata={"model": "v1"})
    assert run.report.name == "calculate" and len(run.report.cases) + len(run.report.failures) == 12
    experiment = api_client.get_experiment(run.id)
    assert isinstance(run.id, UUID) and experiment == run.experiment
    assert (experiment["task_name"], experiment["dataset_as_of_source"]) == ("calculate", "given")
    assert isinstance(run.dataset_as_of, datetime) and run.dataset_as_of == experiment["dataset_as_of"]
    assert experiment["started_at"] < experiment["ended_at"] and experiment["duration"] > 0
    assert run.url.endswith(f"/evals/experiments/{run.id}") and run.url.startswith("http://127.0.0.1:")
    cases = api_client.list_experiment_cases(run.id)
    assert_stored_matches_report(dict(experiment), [dict(case) for case in cases], run.report)
    assert {case["dataset_case_match"] for case in cases} == {"matched"}
    errors = api_client.list_experiment_cases(run.id, status=["error"], limit=1)
    assert [case["name"] for case in errors] == ["crash [1/2]"] and errors[0]["task_error"]["type"] == "ValueError"


def test_upload_list_compare_delete(api_client: Any, arith: str) -> None:
    baseline = api_client.upload_report(run_locally(calculate), dataset="arith")
    candidate = api_client.upload_report(run_locally(calculate_v2))  # linked by the report's dataset_name
    assert candidate["dataset_id"] == baseline["dataset_id"] is not None
    listed = api_client.list_experiments(dataset="arith")
    assert [e["id"] for e in listed] == [candidate["id"], baseline["id"]]
    assert [e["id"] for e in api_client.list_experiments(limit=1, offset=1)] == [baseline["id"]]
    comparison = api_client.compare_experiments(baseline["id"], candidate["id"])
    assert [(c["case"], c["outcome"]) for c in comparison["cases"][:2]] == [("add", "regressed"), ("wrong", "improved")]
    by_duration = api_client.compare_experiments(baseline["id"], candidate["id"], primary="task_duration")
    assert by_duration["primary"] == {"metric": "task_duration", "direction": "lower"}
    api_client.delete_experiment(baseline["id"])
    with pytest.raises(ExperimentNotFoundError) as caught:
        api_client.get_experiment(baseline["id"])
    assert caught.value.status_code == 404 and "list_experiments()" in str(caught.value)
    with pytest.raises(ExperimentNotFoundError, match="baseline"):
        api_client.compare_experiments(baseline["id"], candidate["id"])
    with pytest.raises(DatasetNotFoundError):
        api_client.upload_report(run_locally(calculate), dataset="no-such-dataset")
    with pytest.raises(DatasetApiError) as bad:
        api_client.compare_experiments(candidate["id"], candidate["id"], primary="score:nope")
    assert bad.value.status_code == 422 and bad.value.errors[0]["field"] == "primary"


def test_evaluate_needs_a_hosted_dataset(api_client: Any) -> None:
    with pytest.raises(DatasetNotFoundError):
        api_client.evaluate("missing", calculate)
    assert api_client.list_experiments() == []


def test_the_sync_evaluate_works_inside_a_running_event_loop(connect: dict[str, Any]) -> None:
    """As in Jupyter: the sync client runs the evaluation on a worker thread's loop, not the running one."""
    with DatasetsClient(**connect) as client:
        client.push_dataset(hosted_dataset())

        async def notebook_cell() -> Any:
            return evaluate(client)

        run = asyncio.run(notebook_cell())
    assert run.experiment["case_count"] == 6 and run.report.averages() is not None
