"""The span decoder against a real run: the scenario evaluated with the real `logfire` SDK (in a subprocess),
its spans decoded, and every value compared with the `report` that same run returned."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from evalset.server.domain.experiment_spans import (
    case_result,
    evaluator_failure,
    experiment_facts,
    experiment_key,
    group_batch,
    is_case_span,
    is_evaluator_span,
    is_experiment_span,
)
from evalset.server.domain.experiments import averages, results_from_report
from evalset.server.domain.spans import SpanRecord
from tests.evals_scenario import close
from tests.otel_records import run_scenario, utc

DURATION_RESOLUTION = 1e-6  # a SpanRecord's times are datetimes (microseconds); pydantic-evals divides nanoseconds


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_scenario("capture")


def _spans(run: dict[str, Any]) -> list[SpanRecord]:
    return run["spans"]


def _results(spans: list[SpanRecord]) -> dict[str, dict[str, Any]]:
    batches, _ = group_batch(spans)
    evaluators = [span for span in spans if is_evaluator_span(span)]
    return {
        result["name"]: result
        for batch in batches.values()
        for case in batch.cases.values()
        if (result := case_result(case, evaluators)) is not None
    }


def assert_same_results(got: dict[str, dict[str, Any]], report: dict[str, Any]) -> None:
    wanted = {result["name"]: result for result in results_from_report(report)}
    assert got.keys() == wanted.keys()
    for name, result in wanted.items():
        assert got[name].keys() == result.keys()
        for field, value in result.items():
            if field == "total_duration" and value is not None:
                assert got[name][field] == pytest.approx(value, abs=DURATION_RESOLUTION), name
            else:
                assert got[name][field] == value, (name, field)


def test_scenario_covers_every_kind_of_result(run: dict[str, Any]) -> None:
    """The run has what the decoder must handle, so the comparisons below cannot pass vacuously."""
    report = run["report"]
    assert any(not item["value"] for case in report["cases"] for item in case["assertions"].values())
    assert all(case["scores"] and case["labels"] for case in report["cases"])
    assert {failure["source_case_name"] for failure in report["failures"]} == {"crash"}
    assert {case["name"] for case in report["cases"] if case["evaluator_failures"]} == {
        "judge-crash [1/2]",
        "judge-crash [2/2]",
    }
    assert len(report["cases"]) + len(report["failures"]) == 12  # 6 cases, repeat=2
    assert any(span.pending for span in _spans(run))  # logfire's pending spans are in the capture


def test_case_spans_decode_to_the_uploaded_results(run: dict[str, Any]) -> None:
    assert_same_results(_results(_spans(run)), run["report"])


def test_averages_from_decoded_results_are_pydantic_evals_own(run: dict[str, Any]) -> None:
    [experiment] = [s for s in _spans(run) if is_experiment_span(s) and not s.pending]
    told = experiment.attributes["logfire.experiment.metadata"]["averages"]
    ours = averages(list(_results(_spans(run)).values()))
    assert ours is not None
    assert told["total_duration"] == pytest.approx(ours["total_duration"], abs=DURATION_RESOLUTION)
    assert close({**ours, "total_duration": 0.0}, {**told, "total_duration": 0.0})
    assert experiment.attributes["assertion_pass_rate"] == ours["assertions"]


def test_experiment_span_gives_the_report_facts(run: dict[str, Any]) -> None:
    report = run["report"]
    [ended] = [s for s in _spans(run) if is_experiment_span(s) and not s.pending]
    [pending] = [s for s in _spans(run) if is_experiment_span(s) and s.pending]
    facts = experiment_facts(ended)
    assert (facts.trace_id, facts.span_id) == (report["trace_id"], report["span_id"])
    assert (facts.name, facts.task_name, facts.dataset_name) == (report["name"], "calculate", report["dataset_name"])
    assert facts.metadata == report["experiment_metadata"]
    assert facts.analyses == report["analyses"] and facts.analyses  # the scenario's report evaluator
    assert facts.report_evaluator_failures == report["report_evaluator_failures"] == []
    assert (facts.repeat, facts.n_cases, facts.complete) == (2, 6, True)
    assert facts.started_at == facts.dataset_as_of == ended.start_time and facts.as_of_source == "run_start"
    assert facts.ended_at == ended.end_time

    early = experiment_facts(pending)  # what is known as soon as the run starts
    assert (early.trace_id, early.span_id) == (facts.trace_id, facts.span_id)
    assert (early.name, early.dataset_name, early.metadata, early.repeat) == ("calculate", "arith", {"model": "v1"}, 2)
    assert early.started_at == facts.started_at
    assert (early.complete, early.ended_at, early.analyses, early.report_evaluator_failures) == (None,) * 4


def test_every_case_span_points_at_its_experiment(run: dict[str, Any]) -> None:
    report = run["report"]
    cases = [span for span in _spans(run) if is_case_span(span)]
    assert len([s for s in cases if s.pending]) == 12 and len([s for s in cases if not s.pending]) == 12
    assert {experiment_key(span) for span in cases} == {(report["trace_id"], report["span_id"])}
    assert all(case_result(span) is None for span in cases if span.pending)


def test_batches_in_any_order_and_split_anywhere_give_the_same_results(run: dict[str, Any]) -> None:
    spans = list(_spans(run))
    rng = random.Random(8)
    for _ in range(5):
        rng.shuffle(spans)
        cut = rng.randrange(len(spans))
        first, _ = group_batch(spans[:cut])
        second, _ = group_batch(spans[cut:])
        evaluators = [span for span in spans if is_evaluator_span(span)]
        got = {
            result["name"]: result
            for batches in (first, second)
            for batch in batches.values()
            for case in batch.cases.values()
            if (result := case_result(case, evaluators)) is not None
        }
        assert_same_results(got, run["report"])


def test_the_ended_experiment_span_wins_over_its_pending_span_in_one_batch(run: dict[str, Any]) -> None:
    ordered = sorted(_spans(run), key=lambda span: not span.pending)  # pending first, as sent
    for spans in (ordered, list(reversed(ordered))):
        batches, failed = group_batch(spans)
        [batch] = batches.values()
        assert batch.facts.complete is True and batch.facts.analyses
        assert len(batch.cases) == 12
        assert {evaluator_failure(span)["name"] for span in failed} == {"Picky"}  # type: ignore[index]


def test_spans_of_other_instrumentation_are_not_experiments(run: dict[str, Any]) -> None:
    lookalikes = [replace(span, scope="my-app") for span in _spans(run)]
    assert group_batch(lookalikes) == ({}, [])


def _span(**changes: Any) -> SpanRecord:
    base = SpanRecord(
        trace_id="a" * 32,
        span_id="b" * 16,
        parent_span_id="c" * 16,
        name="evaluator: {evaluator_name}",
        start_time=utc(1_000_000_000),
        end_time=utc(2_000_000_000),
        status="error",
        scope="pydantic-evals",
        attributes={"evaluator_name": "Judge"},
    )
    return replace(base, **changes)


def test_evaluator_failure_without_an_event_keeps_the_status_message() -> None:
    failure = evaluator_failure(_span(status_message="TimeoutError: too slow"))
    assert failure is not None
    assert (failure["error_type"], failure["error_message"]) == ("TimeoutError", "TimeoutError: too slow")
    assert failure["error_stacktrace"] == ""
    odd = evaluator_failure(_span(status_message="no type here"))
    assert odd is not None and odd["error_message"] == "Exception: no type here"
    assert evaluator_failure(_span(status="unset")) is None
    assert evaluator_failure(_span(pending=True, end_time=None)) is None


def test_traceback_loses_only_the_logfire_span_frame_of_the_last_traceback() -> None:
    frame = '  File "/x/pydantic_evals/_utils.py", line 186, in logfire_span\n    yield span\n'
    caller = '  File "/x/run.py", line 75, in run_evaluator\n    raw = await evaluate(ctx)\n          ^^^^^\n'
    last = f"Traceback (most recent call last):\n{frame}{caller}KeyError: 'x'\n"
    cause = f"Traceback (most recent call last):\n{frame}ValueError: y\n\nThe above exception was the direct cause:\n\n"
    event = {"exception.type": "KeyError", "exception.message": "'x'", "exception.stacktrace": cause + last}
    span = _span(events=[_event(event)])
    failure = evaluator_failure(span)
    assert failure is not None
    assert failure["error_stacktrace"] == cause + f"Traceback (most recent call last):\n{caller}KeyError: 'x'\n"
    plain = f"Traceback (most recent call last):\n{caller}KeyError: 'x'\n"
    unchanged = evaluator_failure(_span(events=[_event({**event, "exception.stacktrace": plain})]))
    assert unchanged is not None and unchanged["error_stacktrace"] == plain


def _event(attributes: dict[str, Any]) -> Any:
    from evalset.server.domain.spans import SpanEvent

    return SpanEvent(name="exception", time=utc(1_500_000_000), attributes=attributes)


def test_a_run_without_repeats_or_metadata_decodes_too() -> None:
    """repeat=1: results named after their case, no source case name, no `logfire.experiment.repeat`."""
    once = run_scenario("capture", "1")
    assert_same_results(_results(once["spans"]), once["report"])
    assert {result["source_case_name"] for result in _results(once["spans"]).values()} == {None}
    for span in once["spans"]:
        if is_experiment_span(span):
            facts = experiment_facts(span)
            assert (facts.repeat, facts.metadata, facts.name) == (1, None, "calculate")
