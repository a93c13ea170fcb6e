"""Bad input gets a 4xx naming the problem, never a 500, and the same answer on SQLite and PostgreSQL.

One test per class of bad input (docs/input.md lists the rules), against the real server on both
databases. Each checks the status, the JSON error shape, that the detail names the field, and that a
refused write changed nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

JSON = {"content-type": "application/json"}


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    if status == 422:
        assert body["errors"], body
        assert set(body["errors"][0]) == {"case_index", "case_name", "field", "pointer", "message"}
    return body


@pytest.fixture
def dataset(api: httpx.Client) -> str:
    name = f"ds-{uuid.uuid4().hex[:8]}"
    assert api.post("/v1/datasets/", json={"name": name}).status_code == 201
    return name


def count_cases(api: httpx.Client, dataset: str) -> int:
    return len(api.get(f"/v1/datasets/{dataset}/cases/").json())


# --- strings that PostgreSQL or UTF-8 cannot hold -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "pointer"),
    [
        ({"inputs": "a\u0000b"}, "inputs", ""),
        ({"inputs": {"k\u0000": 1}}, "inputs", "/k\u0000"),
        ({"inputs": 1, "expected_output": ["x", {"y": "\u0000"}]}, "expected_output", "/1/y"),
        ({"inputs": 1, "metadata": {"m": "\u0000"}}, "metadata", "/m"),
        ({"inputs": 1, "name": "n\u0000"}, "name", ""),
        ({"inputs": 1, "tags": ["ok", "t\u0000"]}, "tags", "/1"),
    ],
)
def test_nul_anywhere_in_a_case_is_422_naming_field_and_pointer(
    api: httpx.Client, dataset: str, body: dict[str, Any], field: str, pointer: str
) -> None:
    error = assert_error(api.post(f"/v1/datasets/{dataset}/cases/", json=body), 422, "NUL", field)
    assert (error["errors"][0]["field"], error["errors"][0]["pointer"]) == (field, pointer)
    assert count_cases(api, dataset) == 0


def test_nul_in_dataset_fields_is_422(api: httpx.Client, dataset: str) -> None:
    assert_error(api.post("/v1/datasets/", json={"name": "x", "description": "\u0000"}), 422, "description")
    assert_error(api.patch(f"/v1/datasets/{dataset}/", json={"guidance": "g\u0000"}), 422, "guidance")
    schema = {"type": "object", "properties": {"a\u0000": {}}}
    assert_error(api.post("/v1/datasets/", json={"name": "y", "input_schema": schema}), 422, "input_schema")
    assert api.get(f"/v1/datasets/{dataset}/").json()["guidance"] is None
    assert [d["name"] for d in api.get("/v1/datasets/").json()] == [dataset]


@pytest.mark.parametrize("raw", [b'{"inputs": "\\ud800"}', b'{"inputs": "\xed\xa0\x80"}', b'{"inputs": "\xff"}'])
def test_lone_surrogates_and_invalid_utf8_are_422(api: httpx.Client, dataset: str, raw: bytes) -> None:
    assert_error(api.post(f"/v1/datasets/{dataset}/cases/", content=raw, headers=JSON), 422, "JSON")
    body = raw.replace(b'"inputs"', b'"name": "n", "description"')
    assert_error(api.post("/v1/datasets/", content=body, headers=JSON), 422, "JSON")
    assert count_cases(api, dataset) == 0


def test_nul_in_path_segments_and_query_values_is_422(api: httpx.Client, dataset: str) -> None:
    assert_error(api.get("/v1/datasets/a%00b/"), 422, "path parameter 'ds'", "NUL")
    assert_error(api.get(f"/v1/datasets/{dataset}/cases/%00/"), 422, "case_id")
    assert_error(api.get(f"/v1/datasets/{dataset}/cases/", params={"tags": "x\u0000"}), 422, "tags")
    assert_error(api.get("/v1/experiments/", params={"dataset": "\u0000"}), 422, "dataset")


def test_nul_in_a_page_path_is_a_422_page_not_a_500(live_server: LiveServer) -> None:
    with live_server.client() as browser:
        page = browser.get("/datasets/a%00b")
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "NUL" in page.text


# --- numbers JSON allows but 64-bit code does not ---------------------------------------------------


@pytest.mark.parametrize("number", ["18446744073709551616", "-9223372036854775809", "1" + "0" * 100, "9" * 4000])
def test_integers_beyond_64_bits_are_422_never_changed(api: httpx.Client, dataset: str, number: str) -> None:
    raw = f'{{"name": "big", "inputs": {{"n": [{number}]}}}}'.encode()
    error = assert_error(api.post(f"/v1/datasets/{dataset}/cases/", content=raw, headers=JSON), 422, "64-bit")
    assert (error["errors"][0]["field"], error["errors"][0]["pointer"]) == ("inputs", "/n/0")
    imported = b'{"cases": [{"inputs": 1}, {"name": "b", "inputs": 1, "metadata": ' + number.encode() + b"}]}"
    error = assert_error(api.post(f"/v1/datasets/{dataset}/import/", content=imported, headers=JSON), 422, "case 1")
    assert error["errors"][0]["case_index"] == 1 and error["errors"][0]["case_name"] == "b"
    schema = b'{"name": "s", "input_schema": {"type": "integer", "maximum": ' + number.encode() + b"}}"
    assert_error(api.post("/v1/datasets/", content=schema, headers=JSON), 422, "input_schema")
    assert count_cases(api, dataset) == 0


def test_64_bit_edges_round_trip_exactly(api: httpx.Client, dataset: str) -> None:
    values = [2**63 - 1, -(2**63), 0, 1.5, -0.0, 1e308]
    case = api.post(f"/v1/datasets/{dataset}/cases/", json={"inputs": values})
    assert case.status_code == 201, case.text
    assert api.get(f"/v1/datasets/{dataset}/cases/{case.json()['id']}/").json()["inputs"] == values


@pytest.mark.parametrize("param", ["limit", "offset"])
def test_limit_and_offset_beyond_64_bits_are_422(api: httpx.Client, dataset: str, param: str) -> None:
    assert_error(api.get(f"/v1/datasets/{dataset}/cases/", params={param: str(2**64)}), 422, param)
    assert api.get(f"/v1/datasets/{dataset}/cases/", params={param: str(2**63 - 1)}).status_code == 200


# --- not JSON at all -------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_standard_numbers_are_422(api: httpx.Client, dataset: str, literal: str) -> None:
    raw = f'{{"inputs": {{"x": {literal}}}}}'.encode()
    assert_error(api.post(f"/v1/datasets/{dataset}/cases/", content=raw, headers=JSON), 422, "finite")
    raw = f'{{"name": "n", "evaluators": [{{"name": "E", "arguments": {{"x": {literal}}}}}]}}'.encode()
    assert_error(api.post("/v1/datasets/", content=raw, headers=JSON), 422, "evaluators")
    assert count_cases(api, dataset) == 0


@pytest.mark.parametrize(
    ("content_type", "status"),
    [(None, 415), ("text/plain", 415), ("application/x-www-form-urlencoded", 415), ("application/json", 201)],
)
def test_one_rule_for_the_content_type_on_every_json_route(
    api: httpx.Client, dataset: str, content_type: str | None, status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    created = api.post(f"/v1/datasets/{dataset}/cases/", content=b'{"inputs": 1}', headers=headers)
    assert created.status_code == status, created.text
    named = f'{{"name": "ct-{uuid.uuid4().hex[:6]}"}}'.encode()
    assert api.post("/v1/datasets/", content=named, headers=headers).status_code == status
    if status == 415:
        assert_error(created, 415, "Content-Type")


@pytest.mark.parametrize("raw", [b"{", b'{"inputs": 1,}', b"", b"[" * 300 + b"]" * 300])
def test_malformed_json_is_422_on_dataset_and_case_routes_alike(api: httpx.Client, dataset: str, raw: bytes) -> None:
    assert_error(api.post(f"/v1/datasets/{dataset}/cases/", content=raw, headers=JSON), 422)
    assert_error(api.post("/v1/datasets/", content=raw, headers=JSON), 422)
    assert_error(api.patch(f"/v1/datasets/{dataset}/", content=raw, headers=JSON), 422)


# --- schemas and nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("schema", [1, 0, "true", [], 1.5])
def test_a_schema_is_an_object_or_a_boolean(api: httpx.Client, schema: Any) -> None:
    assert_error(api.post("/v1/datasets/", json={"name": "s", "input_schema": schema}), 422, "input_schema")
    assert api.get("/v1/datasets/").json() == []
    for accepted in (True, False, {}):
        name = f"s-{uuid.uuid4().hex[:6]}"
        assert api.post("/v1/datasets/", json={"name": name, "output_schema": accepted}).status_code == 201


def nested(depth: int) -> Any:
    value: Any = {"type": "string"}
    for _ in range(depth):
        value = {"items": value}
    return value


@pytest.mark.parametrize("depth", [65, 150, 300])
def test_nesting_deeper_than_the_limit_is_422(api: httpx.Client, dataset: str, depth: int) -> None:
    assert_error(api.post("/v1/datasets/", json={"name": "deep", "input_schema": nested(depth)}), 422)
    assert_error(api.post(f"/v1/datasets/{dataset}/cases/", json={"inputs": nested(depth)}), 422)
    assert_error(api.post(f"/v1/datasets/{dataset}/import/", json={"cases": [{"inputs": nested(depth)}]}), 422)
    assert count_cases(api, dataset) == 0


def test_nesting_at_the_limit_round_trips(api: httpx.Client, dataset: str) -> None:
    value = nested(63)  # 64 levels of objects in all
    case = api.post(f"/v1/datasets/{dataset}/cases/", json={"inputs": value})
    assert case.status_code == 201, case.text
    assert case.json()["inputs"] == value
    assert api.post("/v1/datasets/", json={"name": "deep-ok", "input_schema": nested(40)}).status_code == 201


# --- timestamps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_instants_outside_the_utc_range_are_422(api: httpx.Client, dataset: str, as_of: str) -> None:
    assert_error(api.get(f"/v1/datasets/{dataset}/export/", params={"as_of": as_of}), 422, "as_of")


@pytest.mark.parametrize("field", ["started_at", "ended_at", "dataset_as_of"])
def test_experiment_instants_outside_the_utc_range_are_422(api: httpx.Client, dataset: str, field: str) -> None:
    from evalset.server.api.v1.examples import REQUESTS

    upload = {**REQUESTS[("post", "/v1/experiments/")], "dataset": dataset}
    for moment in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        assert_error(api.post("/v1/experiments/", json={**upload, field: moment}), 422, field)
    assert api.get("/v1/experiments/").json() == []
    assert api.post("/v1/experiments/", json={**upload, "started_at": "0001-01-01T00:00:00Z"}).status_code == 201


def test_instants_at_the_edges_inside_the_range_answer(api: httpx.Client, dataset: str) -> None:
    early = api.get(f"/v1/datasets/{dataset}/export/", params={"as_of": "0001-01-01T00:00:00Z"})
    assert early.status_code in (200, 404), early.text  # before the dataset existed: not found, said so
    late = api.get(f"/v1/datasets/{dataset}/export/", params={"as_of": "9999-12-31T23:59:59Z"})
    assert late.status_code == 200 and late.json()["name"] == dataset


# --- unknown fields and parameters -----------------------------------------------------------------


def test_a_misspelled_field_is_422_with_a_hint_and_creates_nothing(api: httpx.Client) -> None:
    error = assert_error(
        api.post("/v1/datasets/", json={"name": "typo", "inputs_schema": {"type": "object"}}),
        422,
        "inputs_schema",
        "did you mean 'input_schema'",
    )
    assert error["errors"][0]["field"] == "inputs_schema"
    assert api.get("/v1/datasets/").json() == []


def test_lax_coercions_are_refused(api: httpx.Client, dataset: str) -> None:
    assert_error(api.post("/v1/datasets/", json={"name": "lax", "ai_managed_guidance": 0}), 422, "ai_managed_guidance")
    assert_error(api.patch(f"/v1/datasets/{dataset}/", json={"name": None}), 422, "name")
    case = api.post(f"/v1/datasets/{dataset}/cases/", json={"inputs": 1}).json()
    path = f"/v1/datasets/{dataset}/cases/{case['id']}/"
    assert_error(api.patch(path, json={"inputs": 2}, headers={"If-Match": "null"}), 422, "if-match")
    assert api.get(path).json()["version"] == 1


def test_unknown_case_fields_are_422(api: httpx.Client, dataset: str) -> None:
    assert_error(api.post(f"/v1/datasets/{dataset}/cases/", json={"inputs": 1, "tag": ["a"]}), 422, "'tags'")
    body = {"cases": [{"inputs": 1}, {"inputs": 2, "expected": 3}]}
    error = assert_error(api.post(f"/v1/datasets/{dataset}/import/", json=body), 422, "expected")
    assert error["errors"][0]["case_index"] == 1
    body = {"cases": [{"inputs": 1}, {"name": "second", "inputs": 2, "expected": 3}]}
    error = assert_error(api.post(f"/v1/datasets/{dataset}/cases/bulk/", json=body), 422, "second")
    assert error["errors"][0]["case_name"] == "second"
    assert count_cases(api, dataset) == 0


def test_unknown_query_parameters_are_422_before_auth(api: httpx.Client, live_server: LiveServer) -> None:
    assert_error(api.get("/v1/datasets/x/cases/", params={"limt": "3"}), 422, "limt", "did you mean 'limit'")
    with live_server.client() as anonymous:
        assert_error(anonymous.get("/v1/datasets/", params={"page": "2"}), 422, "page")
    assert api.get("/v1/datasets/", params={}).status_code == 200


# --- the two databases answer alike -------------------------------------------------------------------


def test_upper_case_uuids_find_the_same_records(api: httpx.Client, dataset: str) -> None:
    dataset_id = api.get(f"/v1/datasets/{dataset}/").json()["id"]
    case_id = api.post(f"/v1/datasets/{dataset}/cases/", json={"inputs": 1}).json()["id"]
    assert api.get(f"/v1/datasets/{dataset_id.upper()}/").json()["id"] == dataset_id
    assert api.get(f"/v1/datasets/{dataset}/cases/{case_id.upper()}/").json()["id"] == case_id
    assert api.get(f"/v1/datasets/{dataset}/cases/{case_id.replace('-', '')}/").json()["id"] == case_id
    assert api.delete(f"/v1/datasets/{dataset}/cases/{case_id.upper()}/").status_code == 204
    assert api.post(f"/v1/datasets/{dataset}/cases/{case_id.upper()}/restore/").json()["id"] == case_id


# --- the HTTP layer ------------------------------------------------------------------------------------


def test_wrong_method_is_405_with_allow(api: httpx.Client) -> None:
    response = api.request("TRACE", "/v1/datasets/")
    assert_error(response, 405, "TRACE")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    bulk = api.request("OPTIONS", "/v1/datasets/x/cases/bulk/")  # not /cases/{case_id}/'s methods
    assert_error(bulk, 405)
    assert bulk.headers["allow"] == "POST"
    assert api.request("TRACE", "/v1/experiments/compare/").headers["allow"] == "GET"


def test_over_long_request_targets_are_414_json(api: httpx.Client) -> None:
    assert_error(api.get("/v1/datasets/" + "a" * 9000 + "/"), 414, "8,192")
    assert_error(api.get("/v1/datasets/", params={"x": "a" * 9000}), 414)


def test_unexpected_errors_are_500_with_a_request_id_in_body_and_log(tmp_path: Path) -> None:
    """The real server has no route known to fail, so the real app runs in-process (ASGI) with two added
    routes that raise: the API one answers the JSON error shape with a request id, the browser one an
    error page naming it, and the log gets one line per failure with the same id."""
    import asyncio
    import logging

    from evalset.server.app import create_app
    from evalset.server.storage import Database

    app = create_app(db=Database(f"sqlite:///{tmp_path / 'db.sqlite'}"))

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/boom-page")
    def boom_page() -> None:
        raise KeyError("page")

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("evalset.error")
    logger.addHandler(handler)

    async def call(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    try:
        api, page = asyncio.run(call("/v1/boom")), asyncio.run(call("/boom-page"))
    finally:
        logger.removeHandler(handler)
    body = api.json()
    assert api.status_code == 500 and body["request_id"] in body["detail"] and "RuntimeError" in body["detail"]
    assert api.headers["x-request-id"] == body["request_id"]
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-request-id"] in page.text
    lines = [r.getMessage() for r in records if r.levelno == logging.ERROR]
    assert len(lines) == 2
    assert f"request_id={body['request_id']}" in lines[0] and "RuntimeError: boom" in lines[0]
    assert f"request_id={page.headers['x-request-id']}" in lines[1] and "KeyError" in lines[1]
