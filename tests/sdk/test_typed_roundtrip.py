"""Types become schemas, values serialise as pydantic-evals does, and exports come back as the same objects."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import ConfusionMatrixEvaluator, Contains, EqualsExpected, IsInstance, MaxDuration

from evalset import DatasetApiError
from tests.sdk.conftest import seed_cases
from tests.sdk.models import (
    Address,
    AnswerMatches,
    AnswerOutput,
    CaseCount,
    CaseMetadata,
    Customer,
    Escalate,
    QuestionInput,
    Refund,
    Verdict,
)

SHAPES: dict[str, tuple[Any, Any, Any, list[Case[Any, Any, Any]]]] = {
    "dataclasses": (QuestionInput, AnswerOutput, CaseMetadata, seed_cases()),
    "basemodel-nested-alias": (
        Customer,
        Verdict,
        dict[str, int],
        [
            Case(
                name="two-addresses",
                inputs=Customer(name="Ada", addresses=[Address(city="Paris", zipCode="75001")], tier="pro"),
                expected_output={"label": "refund", "score": 0.75},
                metadata={"priority": 2},
            ),
            Case(name="no-address", inputs=Customer(name="Bob", addresses=[])),
        ],
    ),
    "union-of-dataclasses": (
        str,
        Refund | Escalate,
        None,
        [
            Case(name="refund", inputs="I was charged twice", expected_output=Refund(amount=12.5)),
            Case(name="escalate", inputs="Legal threat", expected_output=Escalate(team="legal")),
        ],
    ),
    "scalars-and-lists": (int, list[str], None, [Case(name="n", inputs=3, expected_output=["a", "b", "c"])]),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_typed_round_trip(api_client: Any, shape: str) -> None:
    input_type, output_type, metadata_type, cases = SHAPES[shape]
    for case in cases:
        case.evaluators = [Contains("x", case_sensitive=False)] if case.name in ("refund", "two-addresses") else []
    local = Dataset[input_type, output_type, metadata_type](  # type: ignore[valid-type]
        name=f"rt-{shape}",
        cases=cases,
        evaluators=[EqualsExpected(), MaxDuration(seconds=2.5)],
        report_evaluators=[ConfusionMatrixEvaluator(title="labels")],
    )
    detail = api_client.push_dataset(local)
    assert detail["input_schema"] == TypeAdapter(input_type).json_schema()
    assert detail["output_schema"] == TypeAdapter(output_type).json_schema()
    expected_meta = None if metadata_type is None else TypeAdapter(metadata_type).json_schema()
    assert detail["metadata_schema"] == expected_meta

    exported = api_client.export_dataset(local.name, input_type, output_type, metadata_type)
    assert exported.name == local.name
    assert exported.cases == local.cases  # same classes, same values, same evaluators
    assert exported.evaluators == local.evaluators
    assert exported.report_evaluators == local.report_evaluators
    for mine, theirs in zip(exported.cases, local.cases, strict=True):
        assert type(mine.inputs) is type(theirs.inputs)
        assert type(mine.expected_output) is type(theirs.expected_output)


def test_aliases_are_used_on_the_wire_as_in_dataset_files(api_client: Any) -> None:
    (_, _, _, cases) = SHAPES["basemodel-nested-alias"]
    api_client.push_dataset(Dataset[Customer, Verdict, dict[str, int]](name="aliases", cases=cases))
    (stored, _) = api_client.list_cases("aliases")
    assert stored["inputs"]["addresses"] == [{"city": "Paris", "zipCode": "75001"}]
    schema = api_client.get_dataset("aliases")["input_schema"]
    assert "zipCode" in schema["$defs"]["Address"]["properties"]


def test_custom_evaluator_types(api_client: Any, qa_dataset: str) -> None:
    custom = AnswerMatches(min_confidence=0.9, case_sensitive=True)
    api_client.update_dataset(
        qa_dataset, evaluators=[custom, IsInstance("AnswerOutput")], report_evaluators=[CaseCount("n")]
    )
    api_client.create_case(qa_dataset, inputs=QuestionInput("Rome?"), name="rome", evaluators=[AnswerMatches()])
    stored = api_client.get_dataset(qa_dataset)["evaluators"]
    assert stored[0] == {"name": "AnswerMatches", "arguments": {"min_confidence": 0.9, "case_sensitive": True}}

    exported = api_client.export_dataset(
        qa_dataset,
        input_type=QuestionInput,
        output_type=AnswerOutput,
        metadata_type=CaseMetadata,
        custom_evaluator_types=[AnswerMatches],
        custom_report_evaluator_types=[CaseCount],
    )
    assert exported.evaluators == [custom, IsInstance("AnswerOutput")]
    assert exported.report_evaluators == [CaseCount("n")]
    assert exported.cases[-1].evaluators == [AnswerMatches()]

    with pytest.raises(ValueError, match="Evaluator 'AnswerMatches' is not in the provided") as caught:
        api_client.export_dataset(qa_dataset, QuestionInput, AnswerOutput, CaseMetadata)
    assert "custom_evaluator_types=[...]" in str(caught.value) and "CaseCount" in str(caught.value)
    assert not isinstance(caught.value, DatasetApiError)


def test_a_typed_export_that_does_not_fit_the_types_fails_loudly(api_client: Any, qa_dataset: str) -> None:
    with pytest.raises(ValueError, match="validation error"):
        api_client.export_dataset(qa_dataset, input_type=int)
