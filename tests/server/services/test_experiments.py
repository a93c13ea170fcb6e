"""The experiment store on both databases: incremental recording (the telemetry path's calls), pinned
dataset states, links to dataset cases, and what deleting a dataset leaves."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from evalset.server.domain.auth import Principal
from evalset.server.domain.experiments import ExperimentFacts, facts_from_upload, results_from_report
from evalset.server.errors import DatasetNotFound, InvalidInput
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.services import experiments as service
from evalset.server.services import export
from evalset.server.storage import Database
from evalset.server.storage import cases as case_store
from evalset.server.storage import datasets as dataset_store
from tests.evals_scenario import close, hosted_dataset, report_json, run_locally

TRACE, SPAN = "ab" * 16, "cd" * 8


def push_arith(db: Database, principal: Principal) -> dict[str, Any]:
    dataset = dataset_service.create_dataset(db, principal, {"name": "arith"})
    items = [
        {"name": case.name, "inputs": case.inputs, "expected_output": case.expected_output, "metadata": case.metadata}
        for case in hosted_dataset().cases
    ]
    case_service.create_cases(db, principal, "arith", items)
    return dataset


def test_a_run_recorded_as_its_spans_arrive(db: Database, principal: Principal) -> None:
    """Case results before the experiment span ends, in several calls; the run is `running` until it ends."""
    dataset = push_arith(db, principal)
    started = datetime.now(timezone.utc)
    report = report_json(run_locally(repeat=2))
    results = results_from_report(report)
    first = ExperimentFacts(trace_id=TRACE, span_id=SPAN, task_name="calculate")
    experiment, created = service.record(db, principal.project_id, first, results[:3])
    assert created and experiment["status"] == "running" and experiment["case_count"] == 3
    assert experiment["name"] == "calculate" and experiment["dataset_id"] is None  # nothing said about it yet
    later = ExperimentFacts(trace_id=TRACE, span_id=SPAN, dataset_name="arith", dataset_as_of=started)
    later = ExperimentFacts(**{**later.__dict__, "as_of_source": "run_start", "started_at": started})
    experiment, created = service.record(db, principal.project_id, later, results[3:8])
    assert not created and experiment["status"] == "running" and experiment["case_count"] == 8
    assert experiment["dataset_id"] == dataset["id"] and experiment["dataset_as_of"] == started
    stored = service.list_results(db, principal, experiment["id"])
    assert {r["dataset_case_match"] for r in stored} == {"matched"}  # earlier results linked too, once known
    end = ExperimentFacts(
        trace_id=TRACE, span_id=SPAN, name="calculate", complete=True, ended_at=started + timedelta(seconds=3),
        metadata={"model": "v1"}, repeat=2, n_cases=6, analyses=report["analyses"],
    )  # fmt: skip
    experiment, created = service.record(db, principal.project_id, end, results[8:])
    assert not created and experiment["status"] == "complete" and experiment["duration"] == 3.0
    assert (experiment["repeat"], experiment["n_cases"], experiment["case_count"]) == (2, 6, len(results))
    assert experiment["metadata"] == {"model": "v1"} and experiment["dataset_as_of_source"] == "run_start"
    whole = results_from_report(report)
    from evalset.server.domain.experiments import averages

    assert close(experiment["averages"], averages(whole))
    # a result sent again replaces the stored one (same name), it is not added twice
    again, _ = service.record(db, principal.project_id, ExperimentFacts(trace_id=TRACE, span_id=SPAN), results[:1])
    assert again["case_count"] == len(results) and again["status"] == "complete"


def test_a_recorded_start_before_the_dataset_existed_matches_nothing(db: Database, principal: Principal) -> None:
    """A span's start time is the client's clock: it is stored as it is, never refused."""
    report = report_json(run_locally())
    long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)
    push_arith(db, principal)
    facts = ExperimentFacts(
        trace_id=TRACE, span_id=SPAN, name="x", dataset_name="arith", dataset_as_of=long_ago, as_of_source="run_start"
    )
    experiment, _ = service.record(db, principal.project_id, facts, results_from_report(report))
    assert experiment["dataset_as_of"] == long_ago and experiment["dataset_id"] is not None
    stored = service.list_results(db, principal, experiment["id"])
    assert {r["dataset_case_match"] for r in stored} == {"unmatched"}


def test_an_upload_is_pinned_to_its_moment_and_cases_keep_their_dataset_order(
    db: Database, principal: Principal
) -> None:
    push_arith(db, principal)
    facts, results = facts_from_upload({"report": report_json(run_locally())})
    experiment, _ = service.upload(db, principal, facts, results)
    assert experiment["dataset_as_of_source"] == "upload" and experiment["dataset_as_of"] is not None
    names = [r["name"] for r in service.list_results(db, principal, experiment["id"])]
    assert names == ["add", "wrong", "crash", "judge-crash", "Case 5", "gone"]  # the failed task in its place


def test_an_upload_refuses_a_moment_the_dataset_cannot_stand_for(db: Database, principal: Principal) -> None:
    push_arith(db, principal)
    report = report_json(run_locally())
    for moment, words in (
        (datetime.now(timezone.utc) + timedelta(hours=1), "in the future"),
        (datetime(2000, 1, 1, tzinfo=timezone.utc), "did not exist yet"),
    ):
        facts, results = facts_from_upload({"report": report, "dataset_as_of": moment})
        with pytest.raises(InvalidInput, match=words):
            service.upload(db, principal, facts, results)
    facts, results = facts_from_upload({"report": report, "dataset": "no-such-dataset"})
    with pytest.raises(DatasetNotFound):
        service.upload(db, principal, facts, results)
    assert service.list_experiments(db, principal) == ([], 0)  # a refused write leaves nothing


def test_a_pinned_moment_waits_for_writes_in_flight(db: Database, principal: Principal) -> None:
    """The moment is taken under the dataset's write lock: a write that stamped its time earlier has
    committed by then, so exporting at that moment later shows it (and nothing written afterwards)."""
    dataset = push_arith(db, principal)
    locked, committed = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with db.write() as conn:
            dataset_store.get_dataset(conn, project_id=principal.project_id, ref="arith", for_write=True)
            row = case_service.rules.new_case(
                {"name": "late", "inputs": "9*9"}, dataset_id=dataset["id"], actor=case_service.rules.Actor(None, None),
                now=datetime.now(timezone.utc),
            )  # fmt: skip
            case_store.insert_cases(conn, rows=[row])
            locked.set()
            time.sleep(0.5)  # keep the lock while the pin waits for it
        committed.set()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert locked.wait(30)
    moment = export.pin_moment(db, principal, "arith")
    assert committed.is_set()  # the pin returned only once the write had committed
    writer.join()
    case_service.create_cases(db, principal, "arith", [{"name": "after", "inputs": "0+0"}])
    names = [case["name"] for case in _export_cases(db, principal, moment)]
    assert "late" in names and "after" not in names


def _export_cases(db: Database, principal: Principal, moment: datetime) -> list[dict[str, Any]]:
    import orjson

    return orjson.loads(b"".join(export.open_export(db, principal, "arith", as_of=moment)))["cases"]


def test_deleting_the_dataset_keeps_its_experiments_unlinked(db: Database, principal: Principal) -> None:
    push_arith(db, principal)
    facts, results = facts_from_upload({"report": report_json(run_locally())})
    experiment, _ = service.upload(db, principal, facts, results)
    dataset_service.delete_dataset(db, principal, "arith")
    kept = service.get_experiment(db, principal, experiment["id"])
    assert kept["dataset_id"] is None and kept["dataset_name"] == "arith"
    assert [e["id"] for e in service.list_experiments(db, principal, dataset="arith")[0]] == [experiment["id"]]
    # a new dataset of that name is another dataset: the old runs are not claimed by it
    dataset_service.create_dataset(db, principal, {"name": "arith"})
    assert service.list_experiments(db, principal, dataset="arith") == ([], 0)


def test_found_by_the_ids_of_its_spans(db: Database, principal: Principal) -> None:
    """What resolves `/evals/compare?experiment={trace_id}-{span_id}`, and a case span's result."""
    from evalset.server.storage import experiments as store

    report = report_json(run_locally())
    report["cases"][0].update(trace_id=TRACE, span_id="ef" * 8)
    facts, results = facts_from_upload({"report": {**report, "trace_id": TRACE, "span_id": SPAN}})
    experiment, _ = service.upload(db, principal, facts, results)
    assert service.find_by_span(db, principal.project_id, TRACE.upper(), SPAN)["id"] == experiment["id"]
    assert service.find_by_span(db, principal.project_id, TRACE, "00" * 8) is None
    with db.read() as conn:
        found = store.find_result_by_span(conn, project_id=principal.project_id, trace_id=TRACE, span_id="ef" * 8)
    assert found is not None and found["name"] == "add" and found["experiment_id"] == experiment["id"]
