"""Every method of both clients over real HTTP (`api_client` is the sync client, then the async one)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import pytest
from pydantic import TypeAdapter
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import Contains, EqualsExpected, IsInstance

from evalset import CaseNotFoundError, DatasetApiError, DatasetNotFoundError, VersionConflictError
from tests.sdk.conftest import seed_cases
from tests.sdk.models import AnswerOutput, CaseMetadata, QuestionInput


def test_dataset_lifecycle(api_client: Any) -> None:
    created = api_client.create_dataset(
        "qa",
        input_type=QuestionInput,
        output_type=AnswerOutput,
        metadata_type=CaseMetadata,
        description="Golden cases",
        guidance="Realistic questions only.",
        ai_managed_guidance=True,
        evaluators=[EqualsExpected(), IsInstance("AnswerOutput")],
        report_evaluators=[],
    )
    assert isinstance(created["id"], UUID) and isinstance(created["created_at"], datetime)
    assert created["input_schema"] == TypeAdapter(QuestionInput).json_schema()
    assert created["metadata_schema"] == TypeAdapter(CaseMetadata).json_schema()
    assert (created["guidance"], created["ai_managed_guidance"]) == ("Realistic questions only.", True)
    assert created["evaluators"] == [
        {"name": "EqualsExpected", "arguments": None},
        {"name": "IsInstance", "arguments": ["AnswerOutput"]},
    ]

    (summary,) = api_client.list_datasets()
    assert (summary["id"], summary["name"], summary["case_count"]) == (created["id"], "qa", 0)
    assert (
        api_client.get_dataset("qa")
        == api_client.get_dataset(created["id"])
        == api_client.get_dataset(str(created["id"]))
    )

    updated = api_client.update_dataset(
        "qa", name="qa-renamed", description=None, guidance="New guidance", evaluators=None, output_type=str
    )
    assert (updated["id"], updated["name"], updated["description"]) == (created["id"], "qa-renamed", None)
    assert (updated["guidance"], updated["evaluators"], updated["output_schema"]) == (
        "New guidance",
        [],
        {"type": "string"},
    )
    assert updated["input_schema"] == created["input_schema"]  # not given: unchanged
    assert api_client.update_dataset("qa-renamed")["updated_at"] >= updated["updated_at"]  # empty update is fine

    assert api_client.delete_dataset("qa-renamed") is None
    with pytest.raises(DatasetNotFoundError):
        api_client.get_dataset(created["id"])
    assert api_client.list_datasets() == []


def test_invalid_dataset_names_are_refused_before_sending(api_client: Any) -> None:
    with pytest.raises(ValueError, match="Invalid dataset name 'my dataset'"):
        api_client.create_dataset("my dataset")
    with pytest.raises(ValueError, match="Invalid dataset name"):
        api_client.update_dataset("x", name="-bad")


def test_case_lifecycle(api_client: Any, qa_dataset: str) -> None:
    added = api_client.add_case(
        qa_dataset,
        Case(name="sky", inputs=QuestionInput("What colour is the sky?"), expected_output=AnswerOutput("Blue", 0.9)),
        tags=["science"],
        source_trace_id="0af7651916cd43dd8448eb211c80319c",
        source_span_id="b7ad6b7169203331",
    )
    assert (added["version"], added["tags"], added["source_span_id"]) == (1, ["science"], "b7ad6b7169203331")
    assert added["inputs"] == {"question": "What colour is the sky?", "context": None}

    raw = api_client.create_case(
        qa_dataset,
        inputs={"question": "2+2?"},
        name="sum",
        expected_output=AnswerOutput("4", 1.0),
        metadata=CaseMetadata("math", "easy"),
        evaluators=[Contains("4")],
        tags=["math", "easy"],
        source_trace_id="trace-1",
    )
    assert raw["evaluators"] == [{"name": "Contains", "arguments": ["4"]}]
    assert (raw["tags"], raw["source_trace_id"], raw["source_span_id"]) == (["math", "easy"], "trace-1", None)
    assert api_client.get_case(qa_dataset, raw["id"]) == raw
    assert api_client.get_case(qa_dataset, case_id=str(raw["id"]))["name"] == "sum"

    changed = api_client.update_case(
        qa_dataset,
        raw["id"],
        name="sum-renamed",
        inputs=QuestionInput("2+2=?"),
        expected_output=None,
        metadata=CaseMetadata("math", "easy", reviewed=True),
        evaluators=[],
        tags=["verified"],
        source_span_id="span-2",
    )
    assert changed["version"] == 2
    assert (changed["name"], changed["inputs"]["question"], changed["expected_output"]) == (
        "sum-renamed",
        "2+2=?",
        None,
    )
    assert (changed["metadata"]["reviewed"], changed["tags"], changed["evaluators"]) == (True, ["verified"], [])
    assert (changed["source_trace_id"], changed["source_span_id"]) == ("trace-1", "span-2")  # unchanged / changed
    assert api_client.update_case(qa_dataset, raw["id"], tags=None)["tags"] == []

    assert api_client.delete_case(qa_dataset, raw["id"]) is None
    with pytest.raises(CaseNotFoundError):
        api_client.get_case(qa_dataset, raw["id"])
    restored = api_client.restore_case(qa_dataset, raw["id"])
    assert (restored["id"], restored["name"]) == (raw["id"], "sum-renamed")

    history = api_client.get_case_history(qa_dataset, raw["id"])
    assert [entry["op"] for entry in history] == ["create", "update", "update", "delete", "restore"]
    assert [entry["version"] for entry in history] == sorted(entry["version"] for entry in history)
    assert history[0]["state"]["name"] == "sum" and isinstance(history[0]["at"], datetime)
    assert all(isinstance(entry["actor_id"], UUID) and entry["actor_name"] for entry in history)


def test_list_cases_filters_by_tags_and_pages(api_client: Any, qa_dataset: str) -> None:
    for index, tags in enumerate([["a"], ["a", "b"], ["b"], []]):
        api_client.create_case(qa_dataset, inputs=QuestionInput(f"q{index}"), name=f"t{index}", tags=tags)
    names = [case["name"] for case in api_client.list_cases(qa_dataset)]
    assert names == ["capital-question", "math-question", "science-question", "t0", "t1", "t2", "t3"]
    assert [c["name"] for c in api_client.list_cases(qa_dataset, tags=["a"])] == ["t0", "t1"]
    assert [c["name"] for c in api_client.list_cases(qa_dataset, tags=["a", "b"])] == ["t0", "t1", "t2"]
    assert [c["name"] for c in api_client.list_cases(qa_dataset, tags=["a", "b"], tags_match="all")] == ["t1"]
    assert [c["name"] for c in api_client.list_cases(qa_dataset, limit=2, offset=3)] == ["t0", "t1"]
    assert [c["name"] for c in api_client.list_cases(qa_dataset, limit=0)] == []
    assert api_client.list_cases(qa_dataset)[0]["metadata"] == {
        "category": "geography",
        "difficulty": "easy",
        "reviewed": False,
    }


def test_update_case_with_if_match(api_client: Any, qa_dataset: str) -> None:
    case = api_client.list_cases(qa_dataset)[0]
    updated = api_client.update_case(qa_dataset, case["id"], tags=["x"], if_match=case["version"])
    assert updated["version"] == case["version"] + 1
    with pytest.raises(VersionConflictError) as caught:
        api_client.update_case(qa_dataset, case["id"], tags=["y"], if_match=case["version"])
    assert (caught.value.status_code, caught.value.current_version) == (412, updated["version"])
    assert "Reload it" in str(caught.value)
    assert api_client.get_case(qa_dataset, case["id"])["tags"] == ["x"]


def test_add_cases_and_import_cases_upsert_by_name(api_client: Any, qa_dataset: str) -> None:
    before = {case["name"]: case for case in api_client.list_cases(qa_dataset)}
    again = api_client.add_cases(qa_dataset, seed_cases())
    assert [case["id"] for case in again] == [before[name]["id"] for name in before]
    assert [case["version"] for case in again] == [1, 1, 1]  # nothing changed, nothing bumped

    imported = api_client.import_cases(
        qa_dataset,
        [
            {"name": "capital-question", "inputs": {"question": "Capital of France?"}, "tags": ["edited"]},
            {"inputs": QuestionInput("unnamed"), "expected_output": AnswerOutput("x", 0.1)},
            Case(name="new", inputs=QuestionInput("new?"), evaluators=[EqualsExpected()]),
        ],
        tags=["imported"],
    )
    assert imported[0]["id"] == before["capital-question"]["id"] and imported[0]["version"] == 2
    assert imported[0]["tags"] == ["edited", "imported"]
    assert imported[1]["name"] is None and imported[1]["expected_output"] == {"answer": "x", "confidence": 0.1}
    assert imported[2]["evaluators"] == [{"name": "EqualsExpected", "arguments": None}]
    assert len(api_client.list_cases(qa_dataset)) == 5

    with pytest.raises(DatasetApiError) as caught:
        api_client.import_cases(qa_dataset, [{"name": "new", "inputs": {"question": "dup"}}], on_conflict="error")
    assert caught.value.status_code == 409
    assert api_client.add_cases(qa_dataset, []) == []


def test_get_dataset_and_export_shapes(api_client: Any, qa_dataset: str) -> None:
    detail = api_client.get_dataset(qa_dataset)
    assert detail["case_count"] == 3 and "cases" not in detail
    raw = api_client.get_dataset(qa_dataset, include_cases=True)
    assert raw == api_client.export_dataset(qa_dataset)
    assert set(raw) == {"name", "cases", "evaluators", "report_evaluators"}
    assert set(raw["cases"][0]) == {"name", "inputs", "metadata", "expected_output", "evaluators"}
    typed = api_client.get_dataset(qa_dataset, QuestionInput, AnswerOutput, CaseMetadata)
    assert isinstance(typed, Dataset) and typed.cases == seed_cases()
    exported = api_client.export_dataset(qa_dataset, input_type=QuestionInput, output_type=AnswerOutput)
    assert exported.cases[0].metadata == {"category": "geography", "difficulty": "easy", "reviewed": False}
    only_output = api_client.export_dataset(qa_dataset, output_type=AnswerOutput)
    assert only_output.cases[0].expected_output == AnswerOutput("Paris", 0.99)


def test_export_as_of_shows_the_past(api_client: Any, qa_dataset: str) -> None:
    case = api_client.list_cases(qa_dataset)[0]
    time.sleep(0.05)
    moment = datetime.now(timezone.utc)
    time.sleep(0.05)
    api_client.update_case(qa_dataset, case["id"], expected_output=AnswerOutput("Lyon", 0.1))
    api_client.delete_case(qa_dataset, api_client.list_cases(qa_dataset)[1]["id"])

    then = api_client.export_dataset(qa_dataset, QuestionInput, AnswerOutput, CaseMetadata, as_of=moment)
    assert then.cases == seed_cases()
    now = api_client.export_dataset(qa_dataset, as_of=datetime.now(timezone.utc).isoformat())
    assert [c["name"] for c in now["cases"]] == ["capital-question", "science-question"]
    assert now["cases"][0]["expected_output"] == {"answer": "Lyon", "confidence": 0.1}
    history = api_client.get_case_history(qa_dataset, case["id"])
    first = api_client.export_dataset(qa_dataset, as_of=history[0]["at"])
    assert first["cases"][0]["expected_output"] == {"answer": "Paris", "confidence": 0.99}
    with pytest.raises(ValueError, match="as_of needs a timezone"):
        api_client.export_dataset(qa_dataset, as_of=datetime.now())


def test_push_dataset_creates_then_updates_idempotently(api_client: Any) -> None:
    twins = [Case(inputs=QuestionInput("unnamed twin")), Case(inputs=QuestionInput("unnamed twin"))]
    local = Dataset[QuestionInput, AnswerOutput, CaseMetadata](
        name="pushed", cases=[*seed_cases(), *twins], evaluators=[IsInstance("AnswerOutput")]
    )
    first = api_client.push_dataset(local, description="v1")
    assert (first["name"], first["case_count"], first["description"]) == ("pushed", 5, "v1")
    assert first["input_schema"] == TypeAdapter(QuestionInput).json_schema()
    assert first["evaluators"] == [{"name": "IsInstance", "arguments": ["AnswerOutput"]}]
    cases = api_client.list_cases("pushed")

    second = api_client.push_dataset(local)
    assert second["id"] == first["id"] and second["case_count"] == 5 and second["description"] == "v1"
    assert api_client.list_cases("pushed") == cases  # same ids, versions and timestamps: nothing changed

    local.evaluators = []
    local.cases[0].expected_output = AnswerOutput("Paris, France", 0.9)
    local.cases.append(Case(inputs=QuestionInput("unnamed twin")))  # a third copy is new: it is added
    third = api_client.push_dataset(local, description=None)
    assert (third["evaluators"], third["description"], third["case_count"]) == ([], None, 6)
    after = {case["name"]: case for case in api_client.list_cases("pushed")}
    assert after["capital-question"]["version"] == 2 and after["math-question"]["version"] == 1

    with pytest.raises(DatasetApiError) as caught:
        api_client.push_dataset(local, on_case_conflict="error")
    assert caught.value.status_code == 409
    copy = api_client.push_dataset(local, name="pushed-copy")
    assert copy["name"] == "pushed-copy" and copy["case_count"] == 6
    from_file_format = api_client.push_dataset({"name": "raw", "cases": [{"inputs": "hi", "evaluators": ["Equals"]}]})
    assert from_file_format["input_schema"] is None and from_file_format["case_count"] == 1
    assert (
        api_client.push_dataset({"name": "raw", "cases": [{"inputs": "hi", "evaluators": ["Equals"]}]})["case_count"]
        == 1
    )
    with pytest.raises(ValueError, match="needs a dataset name"):
        api_client.push_dataset({"cases": []})
