"""Import (atomic, upsert), export (pydantic-evals shape, streamed), history and as_of, schema changes."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest
from pydantic_evals import Dataset

from tests.server.api.test_cases import OUTPUT_SCHEMA, add
from tests.server.api.test_datasets import QUESTION_SCHEMA, create


def qa_case(i: int, **extra: object) -> dict:
    return {
        "name": f"case-{i}",
        "inputs": {"question": f"What is {i} + {i}?", "context": "arithmetic"},
        "expected_output": {"answer": str(2 * i), "confidence": 1.0},
        "metadata": {"category": "math"},
        **extra,
    }


@pytest.fixture
def ds(api: httpx.Client) -> dict:
    return create(api, "qa", input_schema=QUESTION_SCHEMA, output_schema=OUTPUT_SCHEMA)


def test_import_of_1000_with_one_bad_case_at_the_end_writes_nothing(api: httpx.Client, ds: dict) -> None:
    cases = [qa_case(i) for i in range(999)] + [qa_case(999, inputs={"question": None})]
    response = api.post("/v1/datasets/qa/import/", json={"cases": cases})
    assert response.status_code == 422
    assert response.json()["errors"][0]["case_index"] == 999
    assert response.json()["errors"][0]["case_name"] == "case-999"
    assert api.get("/v1/datasets/qa/cases/").json() == []
    assert api.get("/v1/datasets/qa/").json()["case_count"] == 0


def test_import_upserts_by_name_and_is_idempotent(api: httpx.Client, ds: dict) -> None:
    first = api.post("/v1/datasets/qa/import/", json={"cases": [qa_case(1, tags=["t"]), qa_case(2)]})
    assert first.status_code == 200 and [c["version"] for c in first.json()] == [1, 1]
    again = api.post("/v1/datasets/qa/import", json={"cases": [qa_case(1), qa_case(2)]})
    assert again.json() == first.json()  # nothing changed: same ids, versions, tags kept
    changed = qa_case(2, expected_output={"answer": "five", "confidence": 0.5})
    third = api.post(
        "/v1/datasets/qa/import/?on_conflict=update", json={"cases": [changed, {"inputs": {"question": "x"}}]}
    )
    assert third.status_code == 200
    upserted, unnamed = third.json()
    assert upserted["id"] == first.json()[1]["id"] and upserted["version"] == 2
    assert upserted["expected_output"] == {"answer": "five", "confidence": 0.5} and unnamed["version"] == 1
    assert api.get("/v1/datasets/qa/").json()["case_count"] == 3
    assert api.get(f"/v1/datasets/qa/cases/{first.json()[0]['id']}/").json()["tags"] == ["t"]


def test_import_on_conflict_error_is_409_and_writes_nothing(api: httpx.Client, ds: dict) -> None:
    api.post("/v1/datasets/qa/import/", json={"cases": [qa_case(1)]}).raise_for_status()
    response = api.post("/v1/datasets/qa/import/?on_conflict=error", json={"cases": [qa_case(5), qa_case(1)]})
    assert response.status_code == 409 and "case-1" in response.json()["detail"]
    assert [c["name"] for c in api.get("/v1/datasets/qa/cases/").json()] == ["case-1"]
    assert api.post("/v1/datasets/qa/import/?on_conflict=maybe", json={"cases": []}).status_code == 422


def test_export_loads_with_pydantic_evals(api: httpx.Client, ds: dict) -> None:
    api.patch("/v1/datasets/qa/", json={"evaluators": [{"name": "EqualsExpected", "arguments": None}]})
    add(api, name="c", inputs={"question": "q"}, evaluators=[{"name": "IsInstance", "arguments": ["str"]}], tags=["t"])
    add(api, inputs={"question": "r"}, expected_output={"answer": "a", "confidence": 0.1})
    exported = api.get("/v1/datasets/qa/export/")
    assert exported.status_code == 200
    document = exported.json()
    assert set(document) == {"name", "cases", "evaluators", "report_evaluators"}
    assert all(
        set(case) == {"name", "inputs", "metadata", "expected_output", "evaluators"} for case in document["cases"]
    )
    dataset = Dataset[dict, dict, dict].from_dict(document)
    assert [c.name for c in dataset.cases] == ["c", None]
    assert dataset.cases[0].evaluators[0].__class__.__name__ == "IsInstance"
    assert dataset.evaluators[0].__class__.__name__ == "EqualsExpected"
    api.patch("/v1/datasets/qa/", json={"evaluators": None})
    assert api.get("/v1/datasets/qa/export").json()["evaluators"] == []


@pytest.mark.slow
def test_large_export_and_list_are_streamed(api: httpx.Client, ds: dict) -> None:
    total = 20_000
    for start in range(0, total, 5_000):
        batch = [qa_case(i) for i in range(start, start + 5_000)]
        api.post("/v1/datasets/qa/import/", json={"cases": batch}).raise_for_status()
    with api.stream("GET", "/v1/datasets/qa/export/") as response:
        assert response.headers.get("transfer-encoding") == "chunked"  # streamed, not buffered whole
        chunks = list(response.iter_raw())
    assert len(chunks) > 1
    document = httpx.Response(200, content=b"".join(chunks)).json()
    assert len(document["cases"]) == total
    assert [c["name"] for c in document["cases"][:2]] == ["case-0", "case-1"]
    assert document["cases"][-1]["name"] == f"case-{total - 1}"
    with api.stream("GET", "/v1/datasets/qa/cases/") as response:
        assert response.headers.get("transfer-encoding") == "chunked"
        listed = httpx.Response(200, content=response.read()).json()
    assert len(listed) == total and listed[-1]["name"] == f"case-{total - 1}"


def test_history_and_as_of_export(api: httpx.Client, ds: dict) -> None:
    case = add(api, name="h", inputs={"question": "v1"})
    other = add(api, name="gone", inputs={"question": "bye"})
    time.sleep(0.02)
    moment = datetime.now(timezone.utc)
    time.sleep(0.02)
    api.patch(f"/v1/datasets/qa/cases/{case['id']}/", json={"inputs": {"question": "v2"}}).raise_for_status()
    api.delete(f"/v1/datasets/qa/cases/{other['id']}/").raise_for_status()
    add(api, name="later", inputs={"question": "new"})
    api.patch("/v1/datasets/qa/", json={"name": "qa-renamed"}).raise_for_status()

    history = api.get(f"/v1/datasets/qa-renamed/cases/{case['id']}/history/").json()
    assert [(r["version"], r["op"]) for r in history] == [(1, "create"), (2, "update")]
    assert history[0]["state"]["inputs"] == {"question": "v1"} and history[1]["state"]["inputs"] == {"question": "v2"}
    assert history[1]["actor_name"]
    deleted = api.get(f"/v1/datasets/qa-renamed/cases/{other['id']}/history").json()
    assert [r["op"] for r in deleted] == ["create", "delete"]

    then = api.get("/v1/datasets/qa-renamed/export/", params={"as_of": moment.isoformat()}).json()
    assert then["name"] == "qa"
    assert [(c["name"], c["inputs"]["question"]) for c in then["cases"]] == [("h", "v1"), ("gone", "bye")]
    Dataset[dict, dict, dict].from_dict(then)
    now = api.get("/v1/datasets/qa-renamed/export/").json()
    assert [(c["name"], c["inputs"]["question"]) for c in now["cases"]] == [("h", "v2"), ("later", "new")]
    before = api.get("/v1/datasets/qa-renamed/export/", params={"as_of": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404
    assert api.get("/v1/datasets/qa-renamed/export/", params={"as_of": "yesterday"}).status_code == 422


def test_deleted_case_can_be_restored(api: httpx.Client, ds: dict) -> None:
    case = add(api, name="keep", inputs={"question": "q"}, tags=["x"])
    assert api.post(f"/v1/datasets/qa/cases/{case['id']}/restore/").status_code == 409  # not deleted
    api.delete(f"/v1/datasets/qa/cases/{case['id']}/").raise_for_status()
    restored = api.post(f"/v1/datasets/qa/cases/{case['id']}/restore/")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["id"] == case["id"] and body["version"] == 3 and body["tags"] == ["x"]
    assert api.get("/v1/datasets/qa/cases/", params={"tags": "x"}).json()[0]["id"] == case["id"]
    assert api.get("/v1/datasets/qa/").json()["case_count"] == 1


def test_schema_change_that_breaks_cases_is_refused(api: httpx.Client, ds: dict) -> None:
    add(api, name="short", inputs={"question": "q"})
    stricter = {**QUESTION_SCHEMA, "required": ["question", "context"]}
    response = api.patch("/v1/datasets/qa/", json={"input_schema": stricter, "description": "new"})
    assert response.status_code == 422
    assert "1 existing case" in response.json()["detail"]
    assert response.json()["errors"][0]["case_name"] == "short"
    current = api.get("/v1/datasets/qa/").json()
    assert current["input_schema"] == QUESTION_SCHEMA and current["description"] is None
    looser = {**QUESTION_SCHEMA, "properties": {**QUESTION_SCHEMA["properties"], "lang": {"type": "string"}}}
    assert api.patch("/v1/datasets/qa/", json={"input_schema": looser}).status_code == 200
    # the new schema is used for the next write at once (the validator cache follows updates)
    assert api.post("/v1/datasets/qa/cases/", json={"inputs": {"question": "q", "lang": 5}}).status_code == 422


def test_history_of_many_changes_and_as_of_across_upserts(api: httpx.Client, ds: dict) -> None:
    first = api.post("/v1/datasets/qa/import/", json={"cases": [qa_case(i) for i in range(3)]}).json()
    case_id = first[1]["id"]
    path = f"/v1/datasets/qa/cases/{case_id}/"
    api.patch(path, json={"tags": ["a"]}).raise_for_status()
    time.sleep(0.02)
    moment = datetime.now(timezone.utc)
    time.sleep(0.02)
    api.patch(path, json={"tags": ["b"]}).raise_for_status()
    changed = qa_case(1, expected_output={"answer": "changed", "confidence": 0.1})
    api.post("/v1/datasets/qa/import/", json={"cases": [changed]}).raise_for_status()

    history = api.get(path + "history/").json()
    assert [(r["version"], r["op"]) for r in history] == [(1, "create"), (2, "update"), (3, "update"), (4, "update")]
    assert [r["state"]["tags"] for r in history] == [[], ["a"], ["b"], ["b"]]
    assert history[-1]["state"]["expected_output"]["answer"] == "changed"
    assert history[-1]["state"] == api.get(path).json()

    then = api.get("/v1/datasets/qa/export/", params={"as_of": moment.isoformat()}).json()
    assert [c["name"] for c in then["cases"]] == ["case-0", "case-1", "case-2"]
    assert then["cases"][1]["expected_output"] == {"answer": "2", "confidence": 1.0}


def test_restored_case_keeps_its_place(api: httpx.Client, ds: dict) -> None:
    created = api.post("/v1/datasets/qa/import/", json={"cases": [qa_case(i) for i in range(3)]}).json()
    middle = created[1]["id"]
    api.delete(f"/v1/datasets/qa/cases/{middle}/").raise_for_status()
    assert [c["name"] for c in api.get("/v1/datasets/qa/cases/").json()] == ["case-0", "case-2"]
    assert api.post(f"/v1/datasets/qa/cases/{middle}/restore/").status_code == 200
    assert [c["name"] for c in api.get("/v1/datasets/qa/cases/").json()] == ["case-0", "case-1", "case-2"]
    ops = [r["op"] for r in api.get(f"/v1/datasets/qa/cases/{middle}/history/").json()]
    assert ops == ["create", "delete", "restore"]
    assert api.post(f"/v1/datasets/qa/cases/{created[0]['id']}/restore/").status_code == 409
