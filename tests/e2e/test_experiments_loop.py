"""The evaluation loop with results kept on the server, end to end through the real server (both databases):
push a dataset, evaluate it with `client.evaluate`, change the dataset, evaluate again, compare the runs,
and reproduce the first run's exact dataset from its pinned moment. No logfire, no network beyond loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_evals import Case

from evalset import AsyncDatasetsClient, DatasetsClient
from tests.evals_scenario import (
    EVALUATORS,
    assert_stored_matches_report,
    calculate,
    calculate_v2,
    hosted_dataset,
    run_locally,
)
from tests.sdk.models import CaseCount

OPTIONS: dict[str, Any] = {
    "input_type": str,
    "output_type": int,
    "evaluators": EVALUATORS,
    "custom_report_evaluator_types": [CaseCount],
    "repeat": 2,
    "max_concurrency": 4,
}


def test_evaluate_change_evaluate_again_compare_and_reproduce(connect: dict[str, Any]) -> None:
    with DatasetsClient(**connect) as client:
        client.push_dataset(hosted_dataset())
        before = client.export_dataset("arith")
        first = client.evaluate("arith", calculate, metadata={"model": "v1"}, **OPTIONS)
        assert_stored_matches_report(
            dict(client.get_experiment(first.id)),
            [dict(c) for c in client.list_experiment_cases(first.id)],
            first.report,
        )
        (analysis,) = first.report.analyses
        assert first.experiment["analyses"] == [analysis.model_dump()]  # the report evaluator's, kept

        # the dataset moves on: a case removed, one added, one edited (its name, inputs and answer stay)
        hosted = {case["name"]: case for case in client.list_cases("arith")}
        client.delete_case("arith", hosted["gone"]["id"])
        client.add_case("arith", Case(name="new", inputs="6*7", expected_output=42))
        client.update_case("arith", hosted["wrong"]["id"], metadata={"reviewed": True})
        second = client.evaluate("arith", calculate_v2, name="v2", **OPTIONS)

        # the first run's dataset, exactly, from its pinned moment; the second's is the current state
        assert client.export_dataset("arith", as_of=first.dataset_as_of) == before
        assert client.export_dataset("arith", as_of=second.dataset_as_of) == client.export_dataset("arith")

        comparison = client.compare_experiments(first.id, second.id)
        outcomes = {case["case"]: case["outcome"] for case in comparison["cases"]}
        assert outcomes == {
            "add": "regressed",  # 4 -> 5: EqualsExpected fails now
            "wrong": "improved",  # 9 -> 10: passes now
            "new": "added",
            "gone": "removed",
            "crash": "unchanged",  # raises both times
            "judge-crash": "unchanged",  # its Picky evaluator raises both times
            "Case 5": "unchanged",  # the unnamed case, matched by its position
        }
        assert [case["outcome"] for case in comparison["cases"]][:2] == ["regressed", "improved"]
        overview = comparison["overview"]
        assert overview["outcomes"] == {"regressed": 1, "improved": 1, "added": 1, "removed": 1, "unchanged": 3}
        assert overview["counts"]["case_count"] == {"baseline": 12, "candidate": 12, "delta": 0}
        wrong = next(case for case in comparison["cases"] if case["case"] == "wrong")
        assert wrong["assertions"]["EqualsExpected"] == {"baseline": 0.0, "candidate": 1.0, "delta": 1.0}
        assert wrong["scores"]["Closeness"]["baseline"] == 0.5 and wrong["scores"]["Closeness"]["candidate"] == 1.0
        assert {run["dataset_case_version"] for run in wrong["candidate_runs"]} == {2}  # ran on the edited case
        assert {run["dataset_case_version"] for run in wrong["baseline_runs"]} == {1}

        assert [e["id"] for e in client.list_experiments(dataset="arith")] == [second.id, first.id]


def test_async_evaluate_and_a_report_run_elsewhere(connect: dict[str, Any]) -> None:
    elsewhere = run_locally(calculate)  # a report produced without the server, uploaded afterwards

    async def main() -> None:
        async with AsyncDatasetsClient(**connect) as client:
            await client.push_dataset(hosted_dataset())
            run = await client.evaluate("arith", calculate, **OPTIONS)
            cases = await client.list_experiment_cases(run.id)
            assert_stored_matches_report(
                dict(await client.get_experiment(run.id)), [dict(c) for c in cases], run.report
            )

            stored = await client.upload_report(elsewhere, dataset="arith", task_name="calculate")
            assert stored["dataset_as_of_source"] == "upload" and stored["task_name"] == "calculate"
            cases = await client.list_experiment_cases(stored["id"])
            assert_stored_matches_report(
                dict(await client.get_experiment(stored["id"])), [dict(c) for c in cases], elsewhere
            )
            comparison = await client.compare_experiments(run.id, stored["id"])
            assert {case["outcome"] for case in comparison["cases"]} == {"unchanged"}

    asyncio.run(main())
