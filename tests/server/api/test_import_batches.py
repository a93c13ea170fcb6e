"""Import and bulk create over many batches (api.case_batches): one transaction, the answer the stored cases
give, and a problem in a late batch (after earlier batches were written) reported exactly, with nothing kept."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import orjson
import pytest

from evalset.server.api.case_batches import BATCH_BYTES, write_in_batches
from evalset.server.api.inputs import RawBody
from evalset.server.api.v1.models import CASE_CREATE
from tests.server.api.test_cases import OUTPUT_SCHEMA
from tests.server.api.test_datasets import QUESTION_SCHEMA, create

N = 1500  # about 220 bytes each: five batches or more


def case(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"c-{i:05d}",
        "inputs": {"question": f"What is {i} times {i}, and why does it matter here?", "context": "sums"},
        "expected_output": {"answer": str(i * i), "confidence": 0.5},
        "metadata": {"i": i, "unicode": "café ☕"},
        **extra,
    }


def many(n: int = N) -> list[dict[str, Any]]:
    cases = [case(i) for i in range(n)]
    for i in range(0, n, 7):
        cases[i]["tags"] = ["seventh", f"t{i % 3}"]
    for i in range(0, n, 11):
        cases[i]["evaluators"] = [{"name": "Equals"}, {"name": "Contains", "arguments": {"value": "x"}}]
    for i in range(5, n, 13):
        del cases[i]["name"]  # unnamed: always created
    return cases


@pytest.fixture
def ds(api: httpx.Client) -> str:
    return create(api, input_schema=QUESTION_SCHEMA, output_schema=OUTPUT_SCHEMA)["name"]


def stored(api: httpx.Client, ds: str) -> list[dict[str, Any]]:
    return api.get(f"/v1/datasets/{ds}/cases/").json()


def count(api: httpx.Client, ds: str) -> int:
    return api.get(f"/v1/datasets/{ds}/").json()["case_count"]


def test_the_bodies_here_span_many_batches() -> None:
    assert len(httpx.Request("POST", "http://x", json={"cases": many()}).content) > 5 * BATCH_BYTES


@pytest.mark.parametrize("path", ["import/", "cases/bulk/"])
def test_a_many_batch_write_answers_what_it_stored_in_request_order(api: httpx.Client, ds: str, path: str) -> None:
    cases = many()
    response = api.post(f"/v1/datasets/{ds}/{path}", json={"cases": cases})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    answer = response.json()
    assert answer == stored(api, ds)  # every field as the database renders it, in creation order
    assert [c["name"] for c in answer] == [c.get("name") for c in cases]
    assert [c["inputs"] for c in answer] == [c["inputs"] for c in cases]
    assert answer[0]["tags"] == ["seventh", "t0"] and answer[1]["tags"] == []
    assert answer[0]["evaluators"] == [{"name": "Equals", "arguments": None}, cases[0]["evaluators"][1]]
    assert len({c["id"] for c in answer}) == N and {c["version"] for c in answer} == {1}
    assert count(api, ds) == N


def test_a_many_batch_upsert_updates_keeps_and_creates(api: httpx.Client, ds: str) -> None:
    first = api.post(f"/v1/datasets/{ds}/import/", json={"cases": many()}).json()
    again = many()
    for i in range(500, 1000):
        again[i]["expected_output"] = {"answer": "changed", "confidence": 1.0}
        again[i].pop("tags", None)  # not sent: kept
    again += [case(i) for i in range(N, N + 300)]
    response = api.post(f"/v1/datasets/{ds}/import/", json={"cases": again})
    assert response.status_code == 200, response.text[:500]
    answer = response.json()
    unnamed = [i for i, c in enumerate(again[:N]) if "name" not in c]
    for i, (before, after) in enumerate(zip(first, answer[:N], strict=True)):
        if i in unnamed:
            assert after["id"] != before["id"] and after["version"] == 1
        elif 500 <= i < 1000:
            assert after["id"] == before["id"] and after["version"] == 2, i
            assert after["expected_output"] == {"answer": "changed", "confidence": 1.0}
            assert after["tags"] == before["tags"] and after["created_at"] == before["created_at"]
        else:
            assert after == before, i  # nothing changed: the stored case, untouched
    assert [c["name"] for c in answer[N:]] == [f"c-{i:05d}" for i in range(N, N + 300)]
    by_id = {c["id"]: c for c in stored(api, ds)}
    assert all(by_id[c["id"]] == c for c in answer)
    assert count(api, ds) == N + len(unnamed) + 300


@pytest.mark.parametrize("path", ["import/", "cases/bulk/"])
def test_a_duplicate_name_in_a_late_batch_is_422_naming_both_and_keeps_nothing(
    api: httpx.Client, ds: str, path: str
) -> None:
    cases = many()
    cases[N - 10]["name"] = cases[3]["name"]
    response = api.post(f"/v1/datasets/{ds}/{path}", json={"cases": cases})
    assert response.status_code == 422, response.text[:500]
    body = response.json()
    assert f"cases 3 and {N - 10}" in body["detail"]
    assert body["errors"] == [
        {"case_index": N - 10, "case_name": "c-00003", "field": "name", "pointer": "", "message": "duplicate case name"}
    ]
    assert stored(api, ds) == [] and count(api, ds) == 0


def test_bad_values_in_late_batches_are_422_naming_every_case_and_keep_nothing(api: httpx.Client, ds: str) -> None:
    cases = many()
    cases[N - 50]["metadata"] = {"bad": "nul\u0000"}
    cases[N - 1]["inputs"] = {"question": "q", "n": 2**64}
    response = api.post(f"/v1/datasets/{ds}/import/", json={"cases": cases})
    assert response.status_code == 422, response.text[:500]
    errors = response.json()["errors"]
    assert [(e["case_index"], e["case_name"], e["field"], e["pointer"]) for e in errors] == [
        (N - 50, f"c-{N - 50:05d}", "metadata", "/bad"),
        (N - 1, f"c-{N - 1:05d}", "inputs", "/n"),
    ]
    assert stored(api, ds) == [] and count(api, ds) == 0


def test_schema_violations_in_late_batches_are_all_reported(api: httpx.Client, ds: str) -> None:
    cases = many()
    cases[N - 300]["inputs"] = {"context": "no question"}
    cases[N - 2]["expected_output"] = {"answer": "x", "confidence": 7}
    response = api.post(f"/v1/datasets/{ds}/cases/bulk/", json={"cases": cases})
    assert response.status_code == 422, response.text[:500]
    assert [(e["case_index"], e["field"]) for e in response.json()["errors"]] == [
        (N - 300, "inputs"),
        (N - 2, "expected_output"),
    ]
    assert stored(api, ds) == [] and count(api, ds) == 0


@pytest.mark.parametrize("path", ["import/?on_conflict=error", "cases/bulk/"])
def test_a_taken_name_in_a_late_batch_is_409_and_keeps_nothing(api: httpx.Client, ds: str, path: str) -> None:
    taken = api.post(f"/v1/datasets/{ds}/cases/", json=case(N - 1)).json()
    response = api.post(f"/v1/datasets/{ds}/{path}", json={"cases": many()})
    assert response.status_code == 409, response.text[:500]
    assert f"c-{N - 1:05d}" in response.json()["detail"]
    assert stored(api, ds) == [taken] and count(api, ds) == 1


def test_a_shape_error_in_a_late_case_is_the_whole_body_422(api: httpx.Client, ds: str) -> None:
    cases: list[Any] = many()
    cases[N - 3] = {"inputs": 1, "expected": 2}
    cases[N - 1] = "not a case"
    response = api.post(f"/v1/datasets/{ds}/import/", json={"cases": cases})
    assert response.status_code == 422, response.text[:500]
    errors = response.json()["errors"]
    assert [(e["case_index"], e["field"]) for e in errors] == [(N - 3, "expected"), (N - 1, "body")]
    assert "did you mean 'expected_output'" in errors[0]["message"]
    assert stored(api, ds) == []


def test_an_empty_import_answers_an_empty_list(api: httpx.Client, ds: str) -> None:
    for path in ("import/", "cases/bulk/"):
        response = api.post(f"/v1/datasets/{ds}/{path}", json={"cases": []})
        assert response.status_code == 200 and response.content == b"[]"
    assert api.post("/v1/datasets/nope/import/", json={"cases": []}).status_code == 404


def test_a_run_again_reads_every_case_again() -> None:
    """A run takes the cases' views of the body as it parses them (docs/performance.md, memory); a write
    that runs again after a lost race gets every case again, from the same body."""
    sent = many()
    body = RawBody(bytearray(orjson.dumps({"cases": sent})), lambda raw: pytest.fail("parsed whole"))
    runs: list[list[dict[str, Any]]] = []

    def write_batches(batches: Any, out: Any) -> None:
        for _ in range(2):  # the first run loses a race after its second batch, the next one writes
            out.restart()
            run: list[dict[str, Any]] = []
            for number, batch in enumerate(batches()):
                run += batch
                if len(runs) == 0 and number == 1:
                    break
            runs.append(run)
        out.add([{"name": item.get("name")} for item in runs[-1]])

    response = write_in_batches(body, CASE_CREATE, write_batches, lambda items: pytest.fail("parsed whole"))

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]

    assert len(runs[0]) < len(runs[1]) == N
    assert [item.get("name") for item in runs[1]] == [item.get("name") for item in sent]
    assert runs[1][0]["inputs"] == sent[0]["inputs"] and runs[1][-1]["inputs"] == sent[-1]["inputs"]
    assert orjson.loads(anyio.run(read)) == [{"name": item.get("name")} for item in sent]
    assert body.data == bytearray()  # released
