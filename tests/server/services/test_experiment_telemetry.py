"""The telemetry consumer on both databases, fed the spans of a real run (the scenario evaluated with the real
`logfire` SDK in a subprocess) in batches, stored by the traces service first, as the OTLP receiver does."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic_evals.reporting import EvaluationReport, EvaluationReportAdapter

from evalset.server.domain.auth import Principal
from evalset.server.domain.experiment_spans import is_case_span, is_evaluator_span, is_experiment_span
from evalset.server.domain.experiments import facts_from_upload
from evalset.server.domain.spans import SpanRecord
from evalset.server.services import experiments as service
from evalset.server.services import traces
from evalset.server.services.experiment_telemetry import record_experiments
from evalset.server.storage import Database
from tests.evals_scenario import assert_stored_matches_report
from tests.otel_records import run_scenario
from tests.server.services.test_experiments import push_arith

DURATION_RESOLUTION = 1e-6


class Receiver:
    """What the OTLP receiver's batch writer does with each batch: store it, then hand it to the consumer."""

    def __init__(self, db: Database, project_id: str) -> None:
        self.db, self.project_id = db, project_id

    def deliver(self, spans: Sequence[SpanRecord], size: int = 10) -> None:
        for start in range(0, len(spans), size):
            batch = spans[start : start + size]
            traces.store_batches(self.db, {self.project_id: batch})
            record_experiments(self.db, self.project_id, batch)


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_scenario("capture")


def _report(run: dict[str, Any]) -> EvaluationReport[Any, Any, Any]:
    return EvaluationReportAdapter.validate_python(run["report"])


def _starting_now(spans: list[SpanRecord]) -> list[SpanRecord]:
    """The run moved in time to start now, after the test pushed its dataset (durations unchanged)."""
    start = min(span.start_time for span in spans)
    shift = datetime.now(timezone.utc) - start

    def moved(span: SpanRecord) -> SpanRecord:
        events = [replace(event, time=event.time + shift) for event in span.events]
        end = span.end_time + shift if span.end_time else None
        return replace(span, start_time=span.start_time + shift, end_time=end, events=events)

    return [moved(span) for span in spans]


def _experiment(db: Database, principal: Principal) -> dict[str, Any]:
    [summary], total = service.list_experiments(db, principal)
    assert total == 1
    return service.get_experiment(db, principal, summary["id"])


def _stored(db: Database, principal: Principal) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    experiment = _experiment(db, principal)
    return experiment, service.list_results(db, principal, experiment["id"])


def test_a_run_in_batches_is_stored_as_its_report(db: Database, principal: Principal, run: dict[str, Any]) -> None:
    dataset = push_arith(db, principal)
    spans = _starting_now(run["spans"])
    receiver = Receiver(db, principal.project_id)
    receiver.deliver(spans[:1], size=1)  # the experiment's pending span: the run has started
    [first] = [span for span in spans[:1] if is_experiment_span(span)]
    experiment = _experiment(db, principal)
    assert (experiment["status"], experiment["source"], experiment["name"]) == ("running", "telemetry", "calculate")
    assert experiment["dataset_id"] == dataset["id"] and experiment["case_count"] == 0
    assert experiment["dataset_as_of"] == experiment["started_at"] == first.start_time
    assert experiment["dataset_as_of_source"] == "run_start"

    receiver.deliver(spans[1:-1], size=7)
    experiment = _experiment(db, principal)
    assert experiment["status"] == "running" and experiment["case_count"] == 12  # every case span has ended

    receiver.deliver(spans[-1:])  # the experiment span ends last
    experiment, results = _stored(db, principal)
    assert experiment["status"] == "complete" and experiment["ended_at"] == spans[-1].end_time
    assert_stored_matches_report(experiment, results, _report(run), duration_tolerance=DURATION_RESOLUTION)
    assert (experiment["repeat"], experiment["n_cases"], experiment["task_name"]) == (2, 6, "calculate")
    links = {result["name"]: result["dataset_case_match"] for result in results}
    assert set(links.values()) == {"matched"}  # every case, the unnamed 'Case 5' too, by the run's start


def test_batches_sent_again_change_nothing(db: Database, principal: Principal, run: dict[str, Any]) -> None:
    push_arith(db, principal)
    spans = _starting_now(run["spans"])
    receiver = Receiver(db, principal.project_id)
    receiver.deliver(spans, size=25)
    before = _stored(db, principal)
    receiver.deliver(spans[:60], size=13)  # an exporter's retry, and pending spans again after the end
    after = _stored(db, principal)
    assert len(service.list_experiments(db, principal)[0]) == 1

    def steady(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k != "updated_at"}

    assert steady(after[0]) == steady(before[0])
    assert [steady(r) for r in after[1]] == [steady(r) for r in before[1]]


def test_case_spans_before_their_experiment_span_are_not_lost(
    db: Database, principal: Principal, run: dict[str, Any]
) -> None:
    """No pending span (lost, or sent by another SDK), the cases first: the experiment exists from its first case."""
    push_arith(db, principal)
    spans = [span for span in _starting_now(run["spans"]) if not (span.pending and is_experiment_span(span))]
    cases = [span for span in spans if not is_experiment_span(span)]
    receiver = Receiver(db, principal.project_id)
    receiver.deliver(cases, size=9)
    experiment = _experiment(db, principal)
    assert experiment["status"] == "running" and experiment["case_count"] == 12
    assert experiment["dataset_id"] is None  # its dataset is not said until the experiment span
    receiver.deliver([span for span in spans if is_experiment_span(span)])
    experiment, results = _stored(db, principal)
    assert experiment["status"] == "complete" and experiment["dataset_as_of_source"] == "run_start"
    assert_stored_matches_report(experiment, results, _report(run), duration_tolerance=DURATION_RESOLUTION)
    assert {result["dataset_case_match"] for result in results} == {"matched"}  # linked once it was known


def test_spans_in_any_order_give_the_same_experiment(db: Database, principal: Principal, run: dict[str, Any]) -> None:
    """Evaluator spans after their case span (re-sent out of order) still reach their case's result."""
    push_arith(db, principal)
    spans = _starting_now(run["spans"])
    failed = [span for span in spans if is_evaluator_span(span) and span.status == "error"]
    assert len(failed) == 2
    rest = [span for span in spans if span not in failed]
    random.Random(8).shuffle(rest)
    receiver = Receiver(db, principal.project_id)
    receiver.deliver(rest, size=11)
    judged = [r for r in _stored(db, principal)[1] if r["source_case_name"] == "judge-crash"]
    assert [r["evaluator_failures"] for r in judged] == [[], []] and {r["status"] for r in judged} == {"passed"}
    receiver.deliver(failed, size=1)
    experiment, results = _stored(db, principal)
    assert_stored_matches_report(experiment, results, _report(run), duration_tolerance=DURATION_RESOLUTION)
    assert {r["status"] for r in results if r["source_case_name"] == "judge-crash"} == {"failed"}


def _upload(db: Database, principal: Principal, run: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    facts, results = facts_from_upload(
        {"report": run["report"], "dataset": "arith", "dataset_as_of": as_of, "task_name": "calculate"}
    )
    experiment, _ = service.upload(db, principal, facts, results)
    return experiment


@pytest.mark.parametrize("upload_first", [True, False])
def test_an_uploaded_report_and_the_same_runs_spans_are_one_experiment(
    db: Database, principal: Principal, run: dict[str, Any], upload_first: bool
) -> None:
    """`client.evaluate` with logfire configured: the report is uploaded with the experiment span's ids,
    before, between or after its spans. One experiment, the upload's account of the run."""
    push_arith(db, principal)
    pinned = datetime.now(timezone.utc)
    spans = _starting_now(run["spans"])
    receiver = Receiver(db, principal.project_id)
    if upload_first:
        _upload(db, principal, run, pinned)
        receiver.deliver(spans, size=20)
    else:
        receiver.deliver(spans[:-1], size=20)  # the cases, before the upload
        _upload(db, principal, run, pinned)
        receiver.deliver(spans[-1:])
    experiment, results = _stored(db, principal)
    assert experiment["source"] == "upload" and experiment["status"] == "complete"
    assert experiment["dataset_as_of"] == pinned and experiment["dataset_as_of_source"] == "given"
    assert_stored_matches_report(experiment, results, _report(run))  # exact: the report's durations
    assert experiment["n_cases"] == 6 and experiment["repeat"] == 2
    [experiment_span] = [s for s in spans if is_experiment_span(s) and not s.pending]
    assert experiment["started_at"] is not None and experiment["task_name"] == "calculate"
    if upload_first:  # what the upload left unsaid, the spans tell
        assert experiment["started_at"] == experiment_span.start_time
        assert experiment["ended_at"] == experiment_span.end_time


def test_a_batch_of_only_running_cases_starts_the_experiment(
    db: Database, principal: Principal, run: dict[str, Any]
) -> None:
    """The first batch of a run can hold nothing but pending case spans (no experiment span, no ended case)."""
    pending_cases = [span for span in run["spans"] if span.pending and is_case_span(span)]
    Receiver(db, principal.project_id).deliver(pending_cases, size=len(pending_cases))
    experiment = _experiment(db, principal)
    assert (experiment["status"], experiment["case_count"], experiment["repeat"]) == ("running", 0, 1)
    assert experiment["trace_id"] == run["report"]["trace_id"] and experiment["span_id"] == run["report"]["span_id"]


def test_other_spans_are_left_alone(db: Database, principal: Principal, run: dict[str, Any]) -> None:
    receiver = Receiver(db, principal.project_id)
    receiver.deliver([replace(span, scope="my-app") for span in run["spans"]], size=50)
    receiver.deliver([span for span in run["spans"] if not (is_case_span(span) or is_experiment_span(span))])
    assert service.list_experiments(db, principal) == ([], 0)


def test_an_upload_racing_the_spans_of_its_run_ends_the_same(
    db: Database, principal: Principal, run: dict[str, Any]
) -> None:
    """The upload and the span batches written concurrently (each project a fresh race): one experiment,
    the upload's account, whatever interleaving the databases allowed."""
    from evalset.server.services import keys

    for round_ in range(3):
        _, row = keys.create_key(
            db, project=f"race-{round_}", scopes=["project:read_datasets", "project:write_datasets"]
        )
        racer = Principal(key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset())
        push_arith(db, racer)
        pinned = datetime.now(timezone.utc)
        spans = _starting_now(run["spans"])
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def spans_in(racer: Principal = racer, start: threading.Barrier = start, spans: list[Any] = spans) -> None:
            start.wait()
            Receiver(db, racer.project_id).deliver(spans, size=8)

        def upload(
            racer: Principal = racer, start: threading.Barrier = start, delay: float = 0.01 * round_, at: Any = pinned
        ) -> None:
            start.wait()
            time.sleep(delay)
            _upload(db, racer, run, at)

        threads = [threading.Thread(target=_catching(target, errors)) for target in (spans_in, upload)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        experiment, results = _stored(db, racer)
        assert experiment["source"] == "upload" and experiment["dataset_as_of"] == pinned
        assert_stored_matches_report(experiment, results, _report(run))
        assert (experiment["repeat"], experiment["n_cases"], experiment["status"]) == (2, 6, "complete")


def _catching(target: Any, errors: list[BaseException]) -> Any:
    def run() -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    return run


def test_one_experiment_that_cannot_be_recorded_does_not_cost_the_others(
    db: Database, principal: Principal, run: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Two runs in one batch; one has two case spans of the same name (pydantic-evals never sends that):
    it is logged and left out, the other is stored."""
    good = [replace(span, trace_id="e" * 32) for span in run["spans"]]
    [case] = [s for s in run["spans"] if is_case_span(s) and not s.pending and s.attributes["case_name"] == "add [1/2]"]
    bad = [*run["spans"], replace(case, span_id="f" * 16)]
    with caplog.at_level("ERROR", logger="evalset.telemetry"):
        Receiver(db, principal.project_id).deliver([*bad, *good], size=len(bad) + len(good))
    [experiment], _ = service.list_experiments(db, principal)
    assert experiment["trace_id"] == "e" * 32 and experiment["status"] == "complete"
    [record] = caplog.records
    assert (
        record.getMessage()
        == f"Could not record experiment {run['report']['trace_id']}-{run['report']['span_id']} from its spans"
    )
    assert "appears twice" in str(record.exc_info[1]) if record.exc_info else False
