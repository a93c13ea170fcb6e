"""`push_dataset` and the typed `get_dataset` export through Logfire's sync and async clients."""

from __future__ import annotations

import pytest
from logfire.experimental.api_client import DatasetApiError
from pydantic_evals import Case, Dataset

from .conftest import Driver
from .models import Answer, Meta, MinConfidence, Question, local_dataset, schema

CASE_NAMES = ["capital-fr", "capital-au", "no-expectation"]


def snapshot(lf: Driver, dataset: str) -> list[tuple[str, object, int, object, object]]:
    """What a push must leave alone: each case's name, id, version and content."""
    return [(c["name"], c["id"], c["version"], c["inputs"], c["expected_output"]) for c in lf.list_cases(dataset)]


def fetch_typed(lf: Driver, name: str) -> Dataset[Question, Answer, Meta]:
    return lf.get_dataset(name, Question, Answer, Meta, custom_evaluator_types=[MinConfidence])


def test_push_twice_is_idempotent_and_round_trips(lf: Driver) -> None:
    local = local_dataset()

    pushed = lf.push_dataset(local, description="Capitals")
    assert pushed["name"] == "qa-golden" and pushed["case_count"] == 3
    assert pushed["description"] == "Capitals"
    assert pushed["input_schema"] == schema(Question)
    assert pushed["output_schema"] == schema(Answer) and "$defs" in pushed["output_schema"]
    assert pushed["metadata_schema"] == schema(Meta)
    assert pushed["evaluators"] == [
        {"name": "EqualsExpected", "arguments": {"evaluation_name": None}},
        {"name": "MinConfidence", "arguments": {"threshold": 0.25, "label": None}},
    ]
    assert [e["name"] for e in pushed["report_evaluators"]] == ["ConfusionMatrixEvaluator"]
    first = snapshot(lf, "qa-golden")
    assert sorted(name for name, *_ in first) == sorted(CASE_NAMES)
    assert {version for _, _, version, *_ in first} == {1}

    again = lf.push_dataset(local)  # 409 on create, then PATCH, then an upsert that changes nothing
    assert again["id"] == pushed["id"] and again["case_count"] == 3
    assert again["description"] == "Capitals"  # description omitted on push: left alone
    assert snapshot(lf, "qa-golden") == first
    assert len(lf.list_datasets()) == 1

    fetched = fetch_typed(lf, "qa-golden")
    assert isinstance(fetched, Dataset) and fetched.name == "qa-golden"
    assert fetched.cases == local.cases  # typed instances, case evaluators and order included
    assert isinstance(fetched.cases[0].inputs, Question) and isinstance(fetched.cases[0].expected_output, Answer)
    assert fetched.evaluators == local.evaluators
    assert fetched.report_evaluators == local.report_evaluators


def test_fetched_dataset_can_be_pushed_back_under_a_new_name(lf: Driver) -> None:
    lf.push_dataset(local_dataset())
    fetched = fetch_typed(lf, "qa-golden")

    copy = lf.push_dataset(fetched, name="qa-copy")
    assert copy["case_count"] == 3 and copy["output_schema"] == schema(Answer)
    assert fetch_typed(lf, "qa-copy").cases == fetched.cases


def test_push_updates_changed_cases_and_overwrites_dataset_evaluators(lf: Driver) -> None:
    local = local_dataset()
    lf.push_dataset(local)
    before = {c["name"]: c for c in lf.list_cases("qa-golden")}

    changed = Case(
        name="capital-fr",
        inputs=Question("What is the capital of France?"),
        expected_output=Answer(text="Paris", confidence=0.99),
        metadata=Meta(difficulty="easy", reviewed=True),
    )
    edited = Dataset[Question, Answer, Meta](
        name="qa-golden", cases=[changed, *local.cases[1:]], evaluators=[], report_evaluators=[]
    )
    pushed = lf.push_dataset(edited, description=None)
    assert pushed["case_count"] == 3
    assert not pushed["evaluators"] and not pushed["report_evaluators"]
    assert pushed["description"] is None

    after = {c["name"]: c for c in lf.list_cases("qa-golden")}
    assert after["capital-fr"]["id"] == before["capital-fr"]["id"]
    assert after["capital-fr"]["version"] == 2
    assert after["capital-fr"]["expected_output"] == {"text": "Paris", "confidence": 0.99, "sources": []}
    assert after["capital-au"] == before["capital-au"]
    assert fetch_typed(lf, "qa-golden").cases == edited.cases


def test_push_with_on_case_conflict_error_is_409(lf: Driver) -> None:
    local = local_dataset()
    lf.push_dataset(local, on_case_conflict="error")
    first = snapshot(lf, "qa-golden")

    with pytest.raises(DatasetApiError) as raised:
        lf.push_dataset(local, on_case_conflict="error")
    assert raised.value.status_code == 409
    assert snapshot(lf, "qa-golden") == first


def test_push_of_scalar_and_untyped_datasets(lf: Driver) -> None:
    scalar = Dataset[str, str, None](name="shout", cases=[Case(name="a", inputs="hi", expected_output="HI")])
    pushed = lf.push_dataset(scalar)
    assert pushed["input_schema"] == {"type": "string"} and pushed["output_schema"] == {"type": "string"}
    assert pushed.get("metadata_schema") is None
    assert lf.get_dataset("shout", str, str).cases == scalar.cases

    untyped = Dataset(name="loose", cases=[Case(name="a", inputs={"q": [1, 2]}, metadata={"any": "thing"})])
    pushed = lf.push_dataset(untyped)
    assert pushed.get("input_schema") is None and pushed["case_count"] == 1
    assert lf.get_dataset("loose")["cases"] == [
        {"name": "a", "inputs": {"q": [1, 2]}, "metadata": {"any": "thing"}, "expected_output": None, "evaluators": []}
    ]
