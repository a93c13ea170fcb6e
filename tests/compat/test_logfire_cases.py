"""Case operations through Logfire's sync and async clients, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pytest
from logfire.experimental.api_client import CaseNotFoundError, DatasetApiError
from pydantic_evals import Case
from pydantic_evals.evaluators import Contains, EqualsExpected

from .conftest import Driver
from .models import Answer, Meta, MinConfidence, Question, Source

FRANCE = Case(
    name="france",
    inputs=Question("Capital of France?"),
    expected_output=Answer(text="Paris", confidence=0.9, sources=[Source(url="https://x.example")]),
    metadata=Meta(difficulty="easy"),
    evaluators=[MinConfidence(threshold=0.5)],
)
FRANCE_DICT = {
    "name": "france",
    "inputs": {"text": "Capital of France?", "language": "en"},
    "expected_output": {"text": "Paris", "confidence": 0.9, "sources": [{"url": "https://x.example", "page": 1}]},
    "metadata": {"difficulty": "easy", "reviewed": False},
    "evaluators": [{"name": "MinConfidence", "arguments": {"threshold": 0.5, "label": None}}],
}
SPAIN = Case(name="spain", inputs=Question("Capital of Spain?"), expected_output=Answer(text="Madrid", confidence=1))


def typed_dataset(lf: Driver, name: str = "geo") -> None:
    lf.create_dataset(name, input_type=Question, output_type=Answer, metadata_type=Meta)


def versions(lf: Driver, dataset: str) -> dict[str, tuple[UUID, int]]:
    return {c["name"]: (c["id"], c["version"]) for c in lf.list_cases(dataset)}


def test_add_cases_from_case_objects(lf: Driver) -> None:
    typed_dataset(lf)
    added = lf.add_cases("geo", [FRANCE, SPAIN])

    assert [c["name"] for c in added] == ["france", "spain"]
    france = added[0]
    assert isinstance(france["id"], UUID) and isinstance(france["dataset_id"], UUID)
    assert isinstance(france["created_at"], datetime) and france["version"] == 1
    assert france["inputs"] == {"text": "Capital of France?", "language": "en"}
    assert france["expected_output"] == {
        "text": "Paris",
        "confidence": 0.9,
        "sources": [{"url": "https://x.example", "page": 1}],
    }
    assert france["metadata"] == {"difficulty": "easy", "reviewed": False}
    assert france["evaluators"] == [{"name": "MinConfidence", "arguments": {"threshold": 0.5, "label": None}}]
    assert added[1]["metadata"] is None

    listed = lf.list_cases("geo")
    assert {c["id"] for c in listed} == {c["id"] for c in added}
    assert lf.get_dataset("geo", include_cases=False)["case_count"] == 2


def test_add_cases_from_dicts_with_tags_and_source_links(lf: Driver) -> None:
    dataset = lf.create_dataset("dicts")
    added = lf.add_cases(
        str(dataset["id"]),
        [
            {
                "name": "from-trace",
                "inputs": {"prompt": "hi"},
                "expected_output": {"reply": "hello"},
                "metadata": {"channel": "web"},
                "evaluators": [{"name": "Contains", "arguments": {"value": "hello"}}],
                "tags": ["smoke", "greeting"],
                "source_trace_id": "0af7651916cd43dd8448eb211c80319c",
                "source_span_id": "b7ad6b7169203331",
            },
            {"inputs": {"prompt": "unnamed"}},
        ],
    )
    traced, unnamed = added
    assert traced["tags"] == ["smoke", "greeting"]
    assert traced["source_trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert traced["source_span_id"] == "b7ad6b7169203331"
    assert traced["evaluators"] == [{"name": "Contains", "arguments": {"value": "hello"}}]
    assert unnamed["name"] is None and unnamed["inputs"] == {"prompt": "unnamed"}
    assert lf.get_case("dicts", str(traced["id"])) == traced


def test_upsert_by_name_is_idempotent(lf: Driver) -> None:
    typed_dataset(lf)
    lf.add_cases("geo", [{**FRANCE_DICT, "tags": ["keep-me"]}])  # the same content as FRANCE, as a dict
    lf.add_cases("geo", [SPAIN])
    first = versions(lf, "geo")
    assert {name: version for name, (_, version) in first.items()} == {"france": 1, "spain": 1}

    again = lf.add_cases("geo", [FRANCE, SPAIN], on_conflict="update")
    assert [(c["id"], c["version"]) for c in again] == [first["france"], first["spain"]]
    assert lf.add_cases("geo", [FRANCE, SPAIN], on_conflict="update") == again
    assert versions(lf, "geo") == first

    changed = Case(name="spain", inputs=SPAIN.inputs, expected_output=Answer(text="Madrid", confidence=0.5))
    (updated,) = lf.add_cases("geo", [changed])
    assert updated["id"] == first["spain"][0] and updated["version"] == 2
    assert updated["expected_output"]["confidence"] == 0.5
    france = lf.get_case("geo", str(first["france"][0]))
    assert france["version"] == 1 and france["tags"] == ["keep-me"]  # tags not sent are kept

    lf.add_cases("geo", [Case(inputs=Question("unnamed"))])
    lf.add_cases("geo", [Case(inputs=Question("unnamed"))])
    assert len(lf.list_cases("geo")) == 4  # unnamed cases are always created


def test_on_conflict_error_is_409_and_writes_nothing(lf: Driver) -> None:
    typed_dataset(lf)
    lf.add_cases("geo", [FRANCE])
    before = lf.list_cases("geo")

    brand_new = Case(name="italy", inputs=Question("Capital of Italy?"))
    with pytest.raises(DatasetApiError) as raised:
        lf.add_cases("geo", [brand_new, FRANCE], on_conflict="error")
    assert raised.value.status_code == 409
    assert lf.list_cases("geo") == before  # all or nothing: "italy" was not created


def test_get_update_and_delete_a_case(lf: Driver) -> None:
    typed_dataset(lf)
    (case,) = lf.add_cases("geo", [SPAIN])
    case_id = str(case["id"])
    assert lf.get_case("geo", case_id) == case

    updated = lf.update_case(
        "geo",
        case_id,
        name="spain-renamed",
        inputs=Question("¿Capital de España?", language="es"),
        metadata=Meta(difficulty="hard"),
        evaluators=[EqualsExpected(), Contains(value="Madrid")],
    )
    assert updated["id"] == case["id"] and updated["version"] == 2
    assert updated["name"] == "spain-renamed"
    assert updated["inputs"] == {"text": "¿Capital de España?", "language": "es"}
    assert updated["metadata"] == {"difficulty": "hard", "reviewed": False}
    assert updated["expected_output"] == case["expected_output"]  # not sent, so unchanged
    assert [e["name"] for e in updated["evaluators"]] == ["EqualsExpected", "Contains"]
    assert lf.get_case("geo", case_id) == updated

    cleared = lf.update_case("geo", case_id, name=None, expected_output=None, metadata=None, evaluators=None)
    assert cleared["version"] == 3
    assert cleared["name"] is None and cleared["expected_output"] is None and cleared["metadata"] is None
    assert cleared["evaluators"] in ([], None)
    assert cleared["inputs"] == updated["inputs"]
    exported = lf.get_dataset("geo")["cases"]
    assert exported == [
        {"name": None, "inputs": updated["inputs"], "metadata": None, "expected_output": None, "evaluators": []}
    ]

    assert lf.delete_case("geo", case_id) is None
    with pytest.raises(CaseNotFoundError):
        lf.get_case("geo", case_id)
    with pytest.raises(CaseNotFoundError):
        lf.delete_case("geo", case_id)
    assert lf.list_cases("geo") == []
    assert lf.get_dataset("geo", include_cases=False)["case_count"] == 0


def test_update_case_with_typed_expected_output(lf: Driver) -> None:
    typed_dataset(lf)
    (case,) = lf.add_cases("geo", [FRANCE])
    answer = Answer(text="Paris, France", confidence=0.95, sources=[Source(url="https://y.example", page=7)])
    updated = lf.update_case("geo", str(case["id"]), expected_output=answer)
    assert updated["expected_output"] == answer.model_dump(mode="json")
    assert updated["name"] == "france" and updated["metadata"] == case["metadata"]
