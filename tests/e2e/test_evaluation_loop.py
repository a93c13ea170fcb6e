"""The whole loop: curate cases on the server, export a typed dataset, evaluate a local task with pydantic-evals.

Nothing here needs the network beyond the loopback server: no logfire configuration, no model calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import EqualsExpected, IsInstance

from evalset import AsyncDatasetsClient, DatasetsClient
from tests.sdk.conftest import seed_cases
from tests.sdk.models import AnswerMatches, AnswerOutput, CaseCount, CaseMetadata, QuestionInput

ANSWERS = {"What is the capital of France?": "Paris", "What is 15 * 23?": "345"}


async def qa_task(inputs: QuestionInput) -> AnswerOutput:
    """The 'AI system' under test: knows two answers, and is unsure otherwise."""
    answer = ANSWERS.get(inputs.question)
    return AnswerOutput(answer=answer or "I don't know", confidence=0.95 if answer else 0.1)


def test_export_and_evaluate(connect: dict[str, Any]) -> None:
    with DatasetsClient(**connect) as client:
        client.create_dataset(
            "qa-golden-set",
            input_type=QuestionInput,
            output_type=AnswerOutput,
            metadata_type=CaseMetadata,
            evaluators=[IsInstance("AnswerOutput"), AnswerMatches(min_confidence=0.9)],
            report_evaluators=[CaseCount("cases")],
        )
        client.add_cases("qa-golden-set", seed_cases(), tags=["golden"])
        client.create_case(
            "qa-golden-set",
            inputs=QuestionInput("What is 15 * 23?"),
            name="exact-match",
            expected_output=AnswerOutput("345", 0.95),
            evaluators=[EqualsExpected()],
        )
        dataset: Dataset[QuestionInput, AnswerOutput, CaseMetadata] = client.export_dataset(
            "qa-golden-set",
            input_type=QuestionInput,
            output_type=AnswerOutput,
            metadata_type=CaseMetadata,
            custom_evaluator_types=[AnswerMatches],
            custom_report_evaluator_types=[CaseCount],
        )

    report = asyncio.run(dataset.evaluate(qa_task, progress=False))  # (evaluate_sync leaves its event loop open)
    results = {case.name: case for case in report.cases}
    assert set(results) == {"capital-question", "math-question", "science-question", "exact-match"}
    assert results["capital-question"].assertions["AnswerMatches"].value is True
    assert results["science-question"].assertions["AnswerMatches"].value is False
    assert results["exact-match"].assertions["EqualsExpected"].value is True
    assert all(case.assertions["IsInstance"].value for case in report.cases)
    assert not report.failures
    (analysis,) = report.analyses
    assert (analysis.title, analysis.value) == ("cases", 4)  # type: ignore[union-attr]


def test_async_export_and_evaluate_after_a_push(connect: dict[str, Any]) -> None:
    local = Dataset[QuestionInput, AnswerOutput, CaseMetadata](
        name="pushed-golden",
        cases=[*seed_cases(), Case(name="unknown", inputs=QuestionInput("Who are you?"))],
        evaluators=[AnswerMatches()],
    )

    async def main() -> float:
        async with AsyncDatasetsClient(**connect) as client:
            await client.push_dataset(local)
            await client.push_dataset(local)  # idempotent: still four cases
            dataset = await client.export_dataset(
                "pushed-golden", QuestionInput, AnswerOutput, CaseMetadata, custom_evaluator_types=[AnswerMatches]
            )
        assert dataset.cases == local.cases and dataset.evaluators == local.evaluators
        report = await dataset.evaluate(qa_task, progress=False, max_concurrency=2)
        passed = [case.assertions["AnswerMatches"].value for case in report.cases]
        return sum(passed) / len(passed)

    assert asyncio.run(main()) == 0.75  # capital and math right, science wrong, 'unknown' has no expectation
