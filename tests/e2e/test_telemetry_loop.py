"""The telemetry loop, end to end, on both databases: push a dataset, point the real `logfire` SDK at the real
server, run `Dataset.evaluate` (a failing assertion, a score, a label, a task raising, an evaluator raising,
repeat=2), and find the experiment stored from its spans alone, value by value as the run's `report` has it.
Then the same through `client.evaluate`, which also uploads the report: still one experiment.

Each run happens in a subprocess (`tests/telemetry_run.py`): `logfire.configure` is process-wide."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from pydantic_evals.reporting import EvaluationReport, EvaluationReportAdapter

from evalset import DatasetsClient
from tests.conftest import READ, WRITE, LiveServer
from tests.evals_scenario import assert_stored_matches_report, hosted_dataset
from tests.otel_records import run_scenario, scenario_result, start_scenario

WRITE_TRACES = "project:write_traces"
DURATION_RESOLUTION = 1e-6  # spans are stored to the microsecond; pydantic-evals divides nanoseconds


def _report(data: dict[str, Any]) -> EvaluationReport[Any, Any, Any]:
    return EvaluationReportAdapter.validate_python(data)


def _complete(api: httpx.Client, trace_id: str | None, timeout: float = 60) -> dict[str, Any]:
    """The experiment of this run (by its trace) once it is complete: the span writer is asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get("/v1/experiments/", params={"status": "complete"})
        response.raise_for_status()
        found = [summary for summary in response.json() if summary["trace_id"] == trace_id]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, response.json()
            return found[0]
        time.sleep(0.2)


def _stored(api: httpx.Client, experiment_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    experiment = api.get(f"/v1/experiments/{experiment_id}/")
    cases = api.get(f"/v1/experiments/{experiment_id}/cases/")
    assert experiment.status_code == cases.status_code == 200
    return experiment.json(), cases.json()


def _push(live_server: LiveServer, key: str) -> None:
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        client.push_dataset(hosted_dataset())


def test_an_evaluation_sent_by_logfire_is_stored_as_its_report(live_server: LiveServer) -> None:
    key, _ = live_server.new_key(READ, WRITE, WRITE_TRACES)
    _push(live_server, key)
    run = run_scenario("send", live_server.base_url, key)
    report = _report(run["report"])
    with live_server.client(key) as api:
        summary = _complete(api, report.trace_id)
        experiment, cases = _stored(api, summary["id"])
        total = api.get("/v1/experiments/").headers["x-total-count"]
    assert total == "1"
    assert (experiment["source"], experiment["status"]) == ("telemetry", "complete")
    assert (experiment["trace_id"], experiment["span_id"]) == (report.trace_id, report.span_id)
    assert_stored_matches_report(experiment, cases, report, duration_tolerance=DURATION_RESOLUTION)
    assert (experiment["task_name"], experiment["repeat"], experiment["n_cases"]) == ("calculate", 2, 6)
    assert experiment["dataset_name"] == "arith" and experiment["dataset_id"] is not None
    assert experiment["dataset_as_of_source"] == "run_start"
    assert experiment["dataset_as_of"] == experiment["started_at"] and experiment["duration"] > 0
    assert {case["dataset_case_match"] for case in cases} == {"matched"}
    judged = [case for case in cases if case["source_case_name"] == "judge-crash"]
    assert [case["evaluator_failures"][0]["error_type"] for case in judged] == ["RuntimeError"] * 2


def test_client_evaluate_with_logfire_makes_one_experiment(live_server: LiveServer) -> None:
    """The report is uploaded with the experiment span's ids and its spans arrive too: one experiment, the
    upload's (pinned to the exported state). A plain run afterwards shows the spans were all processed."""
    key, _ = live_server.new_key(READ, WRITE, WRITE_TRACES)
    _push(live_server, key)
    uploaded = run_scenario("client", live_server.base_url, key)
    report = _report(uploaded["report"])
    assert report.trace_id and report.span_id and set(report.trace_id) != {"0"}  # logfire gave it real ids
    sent = _report(run_scenario("send", live_server.base_url, key)["report"])
    with live_server.client(key) as api:
        later = _complete(api, sent.trace_id)  # the spans of both runs are processed in the order they came
        everything = api.get("/v1/experiments/").json()
        experiment, cases = _stored(api, uploaded["experiment_id"])
        other, other_cases = _stored(api, later["id"])
        trace = api.get(f"/v1/traces/{report.trace_id}")
    assert trace.status_code == 200  # the uploaded run's spans did arrive ...
    names = {span["name"] for span in trace.json()}
    assert {"evaluate {name}", "case: {case_name}", "evaluator: {evaluator_name}"} <= names, names
    assert sorted(e["id"] for e in everything) == sorted([uploaded["experiment_id"], later["id"]])  # ... and merged
    assert (experiment["source"], experiment["dataset_as_of_source"]) == ("upload", "given")
    assert (experiment["trace_id"], experiment["span_id"]) == (report.trace_id, report.span_id)
    assert_stored_matches_report(experiment, cases, report)  # the upload's account, to the nanosecond
    assert experiment["repeat"] == 2 and experiment["n_cases"] == 6
    assert other["source"] == "telemetry"
    assert_stored_matches_report(other, other_cases, sent, duration_tolerance=DURATION_RESOLUTION)


def test_a_running_evaluation_shows_as_running_case_by_case(live_server: LiveServer, tmp_path: Path) -> None:
    """While the last case's task still runs, the experiment is there, `running`, with the cases that ended."""
    key, _ = live_server.new_key(READ, WRITE, WRITE_TRACES)
    _push(live_server, key)
    gate = tmp_path / "gate"
    process = start_scenario("send", live_server.base_url, key, env={"EVALSET_TEST_GATE": str(gate)})
    try:
        with live_server.client(key) as api:
            running = _running(api, cases=10)  # every case but the two runs of `gone`
            assert running["status"] == "running" and running["ended_at"] is None
            assert (running["name"], running["dataset_name"], running["dataset_as_of_source"]) == (
                "gated",
                "arith",
                "run_start",
            )
            cases = api.get(f"/v1/experiments/{running['id']}/cases/").json()
            assert sorted({case["source_case_name"] for case in cases}) == sorted(
                ["add", "wrong", "crash", "judge-crash", "Case 5"]
            )
            gate.touch()
            report = _report(scenario_result(process)["report"])
            summary = _complete(api, report.trace_id)
            experiment, cases = _stored(api, summary["id"])
    finally:
        gate.touch()
        if process.poll() is None:
            process.kill()
    assert summary["id"] == running["id"] and experiment["ended_at"] is not None
    assert_stored_matches_report(experiment, cases, report, duration_tolerance=DURATION_RESOLUTION)


def _running(api: httpx.Client, cases: int, timeout: float = 60) -> dict[str, Any]:
    """The one running experiment of the project once it has `cases` results."""
    deadline = time.monotonic() + timeout
    while True:
        found = api.get("/v1/experiments/", params={"status": "running"}).json()
        if (found and found[0]["case_count"] >= cases) or time.monotonic() > deadline:
            assert len(found) == 1 and found[0]["case_count"] == cases, found
            return found[0]
        time.sleep(0.1)
