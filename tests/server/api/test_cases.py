"""Case endpoints over real HTTP: CRUD, validation, names, tags, paging, If-Match."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.server.api.test_datasets import QUESTION_SCHEMA, create

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["answer", "confidence"],
}


@pytest.fixture
def ds(api: httpx.Client) -> dict:
    return create(api, "qa", input_schema=QUESTION_SCHEMA, output_schema=OUTPUT_SCHEMA)


def add(api: httpx.Client, ds: str = "qa", **case: object) -> dict:
    response = api.post(f"/v1/datasets/{ds}/cases/", json=case)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("slash", ["/", ""])
def test_case_crud(api: httpx.Client, ds: dict, slash: str) -> None:
    case = add(
        api,
        name="capital",
        inputs={"question": "Capital of France?"},
        expected_output={"answer": "Paris", "confidence": 0.99},
        metadata={"category": "geo"},
        tags=["geo", "easy"],
        source_trace_id="0af7651916cd43dd8448eb211c80319c",
        source_span_id="b7ad6b7169203331",
        evaluators=[{"name": "EqualsExpected", "arguments": None}],
    )
    assert case["version"] == 1 and case["dataset_id"] == ds["id"] and case["tags"] == ["geo", "easy"]
    assert case["created_by"] and case["created_by_name"] and case["created_at"] == case["updated_at"]
    path = f"/v1/datasets/qa/cases/{case['id']}{slash}"
    got = api.get(path)
    assert got.json() == case and got.headers["etag"] == '"1"'

    updated = api.patch(path, json={"metadata": None, "tags": ["verified"]})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["version"] == 2 and body["metadata"] is None and body["tags"] == ["verified"]
    assert body["inputs"] == case["inputs"] and body["source_trace_id"] == case["source_trace_id"]
    put = api.put(path, json={"name": "capital-fr"})
    assert put.json()["version"] == 3 and put.json()["name"] == "capital-fr"
    assert api.get(f"/v1/datasets/{ds['id']}{slash}").json()["case_count"] == 1

    assert api.delete(path).status_code == 204
    assert api.get(path).json() == {"detail": "Case not found"}
    assert api.get("/v1/datasets/qa/").json()["case_count"] == 0


def test_schema_violations_name_case_field_and_pointer(api: httpx.Client, ds: dict) -> None:
    bad = api.post(
        "/v1/datasets/qa/cases/bulk/",
        json={
            "cases": [
                {"name": "fine", "inputs": {"question": "ok"}},
                {"name": "broken", "inputs": {"question": 7}, "expected_output": {"answer": "x", "confidence": 3}},
            ]
        },
    )
    assert bad.status_code == 422
    payload = bad.json()
    assert "case 1 ('broken')" in payload["detail"] and "inputs" in payload["detail"]
    errors = {(e["field"], e["pointer"]): e for e in payload["errors"]}
    assert errors[("inputs", "/question")]["case_index"] == 1
    assert errors[("inputs", "/question")]["case_name"] == "broken"
    assert (
        "maximum" in errors[("expected_output", "/confidence")]["message"]
        or "3" in errors[("expected_output", "/confidence")]["message"]
    )
    assert api.get("/v1/datasets/qa/cases/").json() == []  # the valid first case was not written either


def test_null_output_and_metadata_are_not_validated(api: httpx.Client, ds: dict) -> None:
    case = add(api, inputs={"question": "q"}, expected_output=None, metadata=None)
    assert case["expected_output"] is None


def test_update_validates_the_new_state(api: httpx.Client, ds: dict) -> None:
    case = add(api, inputs={"question": "q"})
    bad = api.patch(f"/v1/datasets/qa/cases/{case['id']}/", json={"inputs": {"question": None}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/question"
    cleared = api.patch(f"/v1/datasets/qa/cases/{case['id']}/", json={"inputs": None})
    assert cleared.status_code == 422 and "inputs" in cleared.json()["detail"]
    assert api.get(f"/v1/datasets/qa/cases/{case['id']}/").json()["version"] == 1


def test_case_names_are_unique_per_dataset(api: httpx.Client, ds: dict) -> None:
    add(api, name="one", inputs={"question": "a"})
    other = add(api, name="two", inputs={"question": "b"})
    dup = api.post("/v1/datasets/qa/cases/", json={"name": "one", "inputs": {"question": "c"}})
    assert dup.status_code == 409 and "one" in dup.json()["detail"]
    rename = api.patch(f"/v1/datasets/qa/cases/{other['id']}/", json={"name": "one"})
    assert rename.status_code == 409
    twice = api.post("/v1/datasets/qa/cases/bulk/", json={"cases": [{"name": "x", "inputs": {"question": "1"}}] * 2})
    assert twice.status_code == 422 and "twice" in twice.json()["detail"]
    create(api, "elsewhere")
    add(api, "elsewhere", name="one", inputs={"anything": True})  # another dataset may reuse the name
    unnamed = [add(api, inputs={"question": "n"}) for _ in range(2)]
    assert unnamed[0]["name"] is None and unnamed[1]["name"] is None


def test_tag_filters_any_all_and_paging(api: httpx.Client, ds: dict) -> None:
    ids = {}
    for name, tags in [("a", ["geo"]), ("b", ["geo", "hard"]), ("c", ["math"]), ("d", [])]:
        ids[name] = add(api, name=name, inputs={"question": name}, tags=tags)["id"]

    def names(params: list[tuple[str, str | int]]) -> list[str]:
        response = api.get("/v1/datasets/qa/cases/", params=params)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()]

    assert names([("tags", "geo")]) == ["a", "b"]
    assert names([("tags", "geo"), ("tags", "math")]) == ["a", "b", "c"]
    assert names([("tags", "geo"), ("tags", "hard"), ("tags_match", "all")]) == ["b"]
    assert names([("tags", "nope")]) == []
    assert names([]) == ["a", "b", "c", "d"]
    assert names([("limit", 2)]) == ["a", "b"]
    assert names([("limit", 2), ("offset", 3)]) == ["d"]
    api.patch(f"/v1/datasets/qa/cases/{ids['c']}/", json={"tags": ["geo"]})
    assert names([("tags", "geo")]) == ["a", "b", "c"] and names([("tags", "math")]) == []
    assert api.get("/v1/datasets/qa/cases/", params={"limit": -1}).status_code == 422
    assert api.get("/v1/datasets/qa/cases/", params={"tags_match": "some"}).status_code == 422


def test_if_match_prevents_lost_updates(api: httpx.Client, ds: dict) -> None:
    case = add(api, inputs={"question": "q"})
    path = f"/v1/datasets/qa/cases/{case['id']}/"
    first = api.patch(path, json={"tags": ["alice"]}, headers={"If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = api.patch(path, json={"tags": ["bob"]}, headers={"If-Match": "1"})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2 and "version 2" in stale.json()["detail"]
    assert api.get(path).json()["tags"] == ["alice"]
    assert api.patch(path, json={"tags": ["bob"]}, headers={"If-Match": 'W/"2"'}).status_code == 200
    assert api.patch(path, json={"tags": []}, headers={"If-Match": "abc"}).status_code == 422
    assert api.patch(path, json={"tags": ["last-write-wins"]}).json()["version"] == 4


def test_not_found_details(api: httpx.Client, ds: dict) -> None:
    missing = str(uuid.uuid4())
    for path in ("/v1/datasets/my-cases/", "/v1/datasets/my-cases/cases/", f"/v1/datasets/{missing}/cases/{missing}/"):
        assert api.get(path).json() == {"detail": "Dataset not found"}
    for case_id in (missing, "not-a-uuid"):
        for method in ("GET", "PATCH", "DELETE"):
            response = api.request(method, f"/v1/datasets/qa/cases/{case_id}/", json={} if method == "PATCH" else None)
            assert (response.status_code, response.json()) == (404, {"detail": "Case not found"})


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def test_list_entries_are_full_details_with_one_timestamp_format(api: httpx.Client, ds: dict) -> None:
    cases = [add(api, inputs={"question": "q"}, metadata={"k": "v"}, tags=["t"]) for _ in range(20)]
    assert api.get("/v1/datasets/qa/cases/").json() == cases
    assert api.get(f"/v1/datasets/qa/cases/{cases[0]['id']}/").json() == cases[0]
    summary = api.get("/v1/datasets/").json()[0]
    detail = api.get("/v1/datasets/qa/").json()
    (revision,) = api.get(f"/v1/datasets/qa/cases/{cases[0]['id']}/history/").json()
    stamps = [summary["created_at"], summary["updated_at"], detail["created_at"], revision["at"]]
    stamps += [revision["state"]["created_at"], *(c[f] for c in cases for f in ("created_at", "updated_at"))]
    assert all(TIMESTAMP.fullmatch(stamp) for stamp in stamps), stamps
    assert summary["updated_at"] == detail["updated_at"] and revision["state"]["created_at"] == cases[0]["created_at"]


@pytest.mark.parametrize("value", [42, 1.5, -0.0, True, "12", "text", None, [1, "a"], {"n": 1.5e-7}, 10**18])
def test_any_json_value_round_trips_unchanged(api: httpx.Client, value: object) -> None:
    create(api, "free")
    case = add(api, "free", inputs=value, expected_output=value, metadata=value)
    for fetched in (
        api.get(f"/v1/datasets/free/cases/{case['id']}/").json(),
        api.get("/v1/datasets/free/cases/").json()[0],
        api.get("/v1/datasets/free/export/").json()["cases"][0],
    ):
        assert fetched["inputs"] == value and type(fetched["inputs"]) is type(value)
        assert fetched["expected_output"] == value and fetched["metadata"] == value
