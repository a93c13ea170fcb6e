"""Dataset operations through Logfire's sync and async clients, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pytest
from logfire.experimental.api_client import DatasetApiError, DatasetNotFoundError
from pydantic_evals.evaluators import ConfusionMatrixEvaluator, EqualsExpected

from .conftest import Driver
from .models import Answer, Meta, MinConfidence, Question, schema


def test_create_dataset_with_typed_schemas(lf: Driver) -> None:
    created = lf.create_dataset(
        "qa-typed",
        input_type=Question,
        output_type=Answer,
        metadata_type=Meta,
        description="Typed from a dataclass and pydantic models",
        evaluators=[EqualsExpected(), MinConfidence(threshold=0.8, label="high")],
        report_evaluators=[ConfusionMatrixEvaluator()],
    )
    # The client validated the response: ids and timestamps were coerced to Python types.
    assert isinstance(created["id"], UUID) and isinstance(created["project_id"], UUID)
    assert isinstance(created["created_at"], datetime) and created["created_at"].tzinfo is not None
    assert created["name"] == "qa-typed"
    assert created["description"] == "Typed from a dataclass and pydantic models"
    assert created["case_count"] == 0
    assert created["input_schema"] == schema(Question)
    assert created["output_schema"] == schema(Answer)
    assert "$defs" in created["output_schema"] and "Source" in created["output_schema"]["$defs"]
    assert created["metadata_schema"] == schema(Meta)
    assert created["evaluators"] == [
        {"name": "EqualsExpected", "arguments": {"evaluation_name": None}},
        {"name": "MinConfidence", "arguments": {"threshold": 0.8, "label": "high"}},
    ]
    assert created["report_evaluators"] == [
        {
            "name": "ConfusionMatrixEvaluator",
            "arguments": {
                "predicted_from": "output",
                "predicted_key": None,
                "expected_from": "expected_output",
                "expected_key": None,
                "title": "Confusion Matrix",
            },
        }
    ]

    by_name = lf.get_dataset("qa-typed", include_cases=False)
    by_id = lf.get_dataset(str(created["id"]), include_cases=False)
    assert by_name == by_id
    assert by_name["id"] == created["id"]
    assert by_name["output_schema"] == schema(Answer)
    assert by_name["evaluators"] == created["evaluators"]


def test_get_dataset_without_types_returns_the_export(lf: Driver) -> None:
    created = lf.create_dataset("plain", evaluators=[EqualsExpected()])
    lf.add_cases("plain", [{"name": "one", "inputs": {"q": 1}, "expected_output": {"a": 2}, "tags": ["t"]}])
    expected = {
        "name": "plain",
        "cases": [{"name": "one", "inputs": {"q": 1}, "metadata": None, "expected_output": {"a": 2}, "evaluators": []}],
        "evaluators": [{"name": "EqualsExpected", "arguments": {"evaluation_name": None}}],
        "report_evaluators": [],
    }
    assert lf.get_dataset("plain") == expected
    assert lf.get_dataset(str(created["id"])) == expected


def test_list_datasets_reports_case_counts(lf: Driver) -> None:
    empty = lf.create_dataset("empty-one", description="nothing yet")
    full = lf.create_dataset("full-one")
    lf.add_cases("full-one", [{"inputs": {"n": n}} for n in range(3)])

    summaries = {s["name"]: s for s in lf.list_datasets()}
    assert set(summaries) == {"empty-one", "full-one"}
    assert summaries["empty-one"]["id"] == empty["id"] and summaries["full-one"]["id"] == full["id"]
    assert summaries["empty-one"]["case_count"] == 0
    assert summaries["full-one"]["case_count"] == 3
    assert summaries["empty-one"]["description"] == "nothing yet"
    assert all(isinstance(s["id"], UUID) and isinstance(s["updated_at"], datetime) for s in summaries.values())
    assert lf.get_dataset("full-one", include_cases=False)["case_count"] == 3


def test_update_dataset_description_rename_and_clear_evaluators(lf: Driver) -> None:
    created = lf.create_dataset(
        "before",
        description="old",
        input_type=Question,
        evaluators=[EqualsExpected()],
        report_evaluators=[ConfusionMatrixEvaluator()],
    )

    described = lf.update_dataset("before", description="new words")
    assert described["description"] == "new words"
    assert described["input_schema"] == schema(Question)  # absent keys are left alone
    assert len(described["evaluators"]) == 1

    renamed = lf.update_dataset(str(created["id"]), name="after", output_type=Answer)
    assert renamed["id"] == created["id"] and renamed["name"] == "after"
    assert renamed["output_schema"] == schema(Answer) and renamed["description"] == "new words"
    with pytest.raises(DatasetNotFoundError):
        lf.get_dataset("before", include_cases=False)
    assert lf.get_dataset("after", include_cases=False)["id"] == created["id"]

    cleared = lf.update_dataset("after", description=None, evaluators=None, report_evaluators=None)
    assert cleared["description"] is None
    assert not cleared["evaluators"] and not cleared["report_evaluators"]
    assert cleared["input_schema"] == schema(Question)
    exported = lf.get_dataset("after")
    assert exported["evaluators"] == [] and exported["report_evaluators"] == []  # lists, never null

    unchanged = lf.update_dataset("after")  # an empty PATCH body is a no-op
    assert unchanged["name"] == "after" and unchanged["input_schema"] == schema(Question)


def test_rename_onto_a_taken_name_is_409(lf: Driver) -> None:
    lf.create_dataset("first")
    lf.create_dataset("second")
    with pytest.raises(DatasetApiError) as raised:
        lf.update_dataset("second", name="first")
    assert raised.value.status_code == 409
    assert {s["name"] for s in lf.list_datasets()} == {"first", "second"}


def test_create_with_a_taken_name_is_409(lf: Driver) -> None:
    original = lf.create_dataset("taken", description="original")
    with pytest.raises(DatasetApiError) as raised:
        lf.create_dataset("taken", description="impostor")
    assert raised.value.status_code == 409
    assert isinstance(raised.value.detail, dict) and isinstance(raised.value.detail["detail"], str)
    kept = lf.get_dataset("taken", include_cases=False)
    assert kept["id"] == original["id"] and kept["description"] == "original"


def test_delete_dataset_removes_it_and_its_cases(lf: Driver) -> None:
    created = lf.create_dataset("doomed")
    lf.add_cases("doomed", [{"name": "c", "inputs": {"x": 1}}])

    assert lf.delete_dataset(str(created["id"])) is None
    with pytest.raises(DatasetNotFoundError):
        lf.get_dataset("doomed", include_cases=False)
    with pytest.raises(DatasetNotFoundError):
        lf.list_cases(str(created["id"]))
    assert lf.list_datasets() == []

    reborn = lf.create_dataset("doomed")  # the name is free again
    assert reborn["id"] != created["id"]
    assert lf.list_cases("doomed") == []
    lf.delete_dataset("doomed")  # by name too
    assert lf.list_datasets() == []
