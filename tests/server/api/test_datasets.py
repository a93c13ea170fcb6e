"""Dataset endpoints over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
import pytest

QUESTION_SCHEMA = {
    "type": "object",
    "title": "QuestionInput",
    "properties": {"question": {"type": "string", "title": "Question"}, "context": {"default": None}},
    "required": ["question"],
}
PYDANTIC_SCHEMA = {
    "$defs": {"Inner": {"properties": {"x": {"title": "X", "type": "integer"}}, "required": ["x"], "type": "object"}},
    "properties": {"inner": {"$ref": "#/$defs/Inner"}, "label": {"default": "a", "title": "Label", "type": "string"}},
    "required": ["inner"],
    "title": "Outer",
    "type": "object",
}


def create(api: httpx.Client, name: str | None = None, **fields: object) -> dict:
    response = api.post("/v1/datasets/", json={"name": name or f"ds-{uuid.uuid4().hex[:8]}", **fields})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("slash", ["/", ""])
def test_create_get_list_with_and_without_trailing_slash(api: httpx.Client, slash: str) -> None:
    created = create(api, "qa-golden-set", description="Golden", input_schema=QUESTION_SCHEMA, guidance="Be real.")
    assert created["name"] == "qa-golden-set"
    assert uuid.UUID(created["id"]) and uuid.UUID(created["project_id"])
    assert created["case_count"] == 0 and created["evaluators"] == [] and created["report_evaluators"] == []

    listed = api.get("/v1/datasets" + slash)
    assert listed.status_code == 200 and listed.headers["content-type"] == "application/json"
    summaries = listed.json()
    assert [s["name"] for s in summaries] == ["qa-golden-set"]
    assert set(summaries[0]) == {
        "id", "name", "project_id", "description", "guidance", "ai_managed_guidance", "case_count",
        "created_at", "updated_at", "created_by_name", "updated_by_name",
    }  # fmt: skip

    for ref in (created["id"], "qa-golden-set"):
        got = api.get(f"/v1/datasets/{ref}{slash}")
        assert got.status_code == 200
        assert got.json()["input_schema"] == QUESTION_SCHEMA
        assert got.json()["guidance"] == "Be real."


def test_schemas_and_evaluators_come_back_exactly(api: httpx.Client) -> None:
    evaluators = [{"name": "EqualsExpected", "arguments": None}, {"name": "Contains", "arguments": {"value": "x"}}]
    created = create(api, output_schema=PYDANTIC_SCHEMA, evaluators=evaluators, report_evaluators=[])
    got = api.get(f"/v1/datasets/{created['id']}/").json()
    assert got["output_schema"] == PYDANTIC_SCHEMA
    assert list(got["output_schema"]["properties"]) == ["inner", "label"]  # key order kept (drives UI forms)
    assert got["evaluators"] == evaluators


def test_update_is_partial_and_null_clears(api: httpx.Client) -> None:
    ds = create(api, description="old", guidance="g", input_schema=QUESTION_SCHEMA)
    for method in ("PATCH", "PUT"):
        response = api.request(method, f"/v1/datasets/{ds['name']}", json={"description": f"via {method}"})
        assert response.status_code == 200, response.text
        assert response.json()["description"] == f"via {method}"
        assert response.json()["guidance"] == "g" and response.json()["input_schema"] == QUESTION_SCHEMA
    cleared = api.patch(f"/v1/datasets/{ds['id']}/", json={"guidance": None, "input_schema": None, "evaluators": None})
    assert cleared.status_code == 200
    body = cleared.json()
    assert body["guidance"] is None and body["input_schema"] is None and body["evaluators"] == []
    assert body["description"] == "via PUT"


def test_rename_and_conflicts(api: httpx.Client) -> None:
    a, b = create(api, "alpha"), create(api, "beta")
    taken = api.post("/v1/datasets/", json={"name": "alpha"})
    assert taken.status_code == 409 and "alpha" in taken.json()["detail"]
    assert api.patch(f"/v1/datasets/{b['id']}/", json={"name": "alpha"}).status_code == 409
    renamed = api.patch(f"/v1/datasets/{a['id']}/", json={"name": "gamma"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "gamma"
    assert api.get("/v1/datasets/alpha/").status_code == 404
    assert api.get("/v1/datasets/gamma/").json()["id"] == a["id"]


def test_delete_removes_cases_and_frees_the_name(api: httpx.Client) -> None:
    ds = create(api, "doomed")
    api.post("/v1/datasets/doomed/cases/", json={"inputs": {"q": 1}}).raise_for_status()
    deleted = api.delete("/v1/datasets/doomed/")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get(f"/v1/datasets/{ds['id']}/").json() == {"detail": "Dataset not found"}
    assert api.get(f"/v1/datasets/{ds['id']}/cases/").status_code == 404
    again = create(api, "doomed")
    assert again["id"] != ds["id"] and again["case_count"] == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "-bad"}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "ok", "input_schema": {"type": "nonsense"}}, "input_schema"),
        ({"name": "ok", "output_schema": {"properties": {"a": {"$ref": "#/$defs/Missing"}}}}, "output_schema"),
        ({"name": "ok", "metadata_schema": "not a schema"}, "metadata_schema"),
        ({"name": "ok", "evaluators": [{"arguments": {}}]}, "evaluators"),
        ({"name": "ok", "ai_managed_guidance": "maybe"}, "ai_managed_guidance"),
    ],
)
def test_invalid_dataset_bodies_are_422_and_write_nothing(api: httpx.Client, body: dict, fragment: str) -> None:
    response = api.post("/v1/datasets/", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert fragment in payload["detail"]
    assert payload["errors"] and payload["errors"][0]["field"] == fragment
    assert api.get("/v1/datasets/").json() == []


def test_malformed_json_is_422(api: httpx.Client) -> None:
    response = api.post("/v1/datasets/", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Malformed JSON body")


def test_empty_object_schemas_are_accepted(api: httpx.Client) -> None:
    """logfire 5.0 re-pushes fetched datasets with `{}` schemas."""
    ds = create(api, input_schema={}, output_schema={}, metadata_schema={})
    assert api.post(f"/v1/datasets/{ds['id']}/cases/", json={"inputs": 42}).status_code == 201


def test_unknown_route_is_json_404(api: httpx.Client) -> None:
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"


def test_openapi_and_docs(live_server) -> None:
    with live_server.client() as anonymous:
        spec = anonymous.get("/openapi.json").json()
        assert "/v1/datasets/{ds}/cases/{case_id}/" in spec["paths"]
        assert "/v1/datasets/{ds}/import/" in spec["paths"]
        assert anonymous.get("/docs").status_code == 200
