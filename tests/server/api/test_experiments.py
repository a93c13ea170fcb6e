"""The experiments API over HTTP on both databases: upload, read, list, filter, compare, delete, errors."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.conftest import READ, WRITE, LiveServer
from tests.evals_scenario import (
    assert_stored_matches_report,
    calculate,
    calculate_v2,
    hosted_dataset,
    report_json,
    run_locally,
)


def push(api: httpx.Client, name: str = "arith") -> dict[str, dict[str, Any]]:
    """The scenario's dataset on the server; its cases by name (the unnamed one as 'Case 5')."""
    api.post("/v1/datasets/", json={"name": name}).raise_for_status()
    cases = [
        {"name": c.name, "inputs": c.inputs, "expected_output": c.expected_output, "metadata": c.metadata}
        for c in hosted_dataset().cases
    ]
    stored = api.post(f"/v1/datasets/{name}/import/", json={"cases": cases}).json()
    return {case["name"] or f"Case {i}": case for i, case in enumerate(stored, 1)}


def upload(api: httpx.Client, report: dict[str, Any], **extra: Any) -> httpx.Response:
    return api.post("/v1/experiments/", json={"report": report, **extra})


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    """Real pydantic-evals reports (run once): v1 and v2 of the task, and v1 with repeats."""
    return {
        "v1": run_locally(calculate),
        "v2": run_locally(calculate_v2, name="v2"),
        "v1x2": run_locally(calculate, repeat=2),
    }


def test_upload_stores_the_report_value_by_value(api: httpx.Client, reports: dict[str, Any]) -> None:
    hosted = push(api)
    report = reports["v1x2"]
    response = upload(api, report_json(report), task_name="calculate")
    assert response.status_code == 201, response.text
    experiment = response.json()
    assert experiment["status"] == "complete" and experiment["source"] == "upload"
    assert (experiment["dataset_name"], experiment["dataset_as_of_source"]) == ("arith", "upload")
    assert (experiment["repeat"], experiment["n_cases"], experiment["case_count"]) == (2, 6, 12)
    assert (experiment["passed_count"], experiment["failed_count"], experiment["error_count"]) == (6, 4, 2)
    assert experiment["web_path"] == f"/evals/experiments/{experiment['id']}"
    assert api.get(f"/v1/experiments/{experiment['id']}").json() == experiment  # no trailing slash needed
    cases = api.get(f"/v1/experiments/{experiment['id']}/cases/").json()
    assert_stored_matches_report(experiment, cases, report)
    order = [c["source_case_name"] for c in cases[::2]]
    assert order == ["add", "wrong", "crash", "judge-crash", "Case 5", "gone"]  # dataset order, failed tasks too
    for case in cases:
        dataset_case = hosted[case["source_case_name"]]
        assert (case["dataset_case_id"], case["dataset_case_version"]) == (dataset_case["id"], 1)
        assert case["dataset_case_match"] == "matched" and case["repeat_index"] in (1, 2)


def test_cases_that_differ_from_the_dataset_are_marked_and_unknown_ones_unmatched(
    api: httpx.Client, reports: dict[str, Any]
) -> None:
    push(api)
    api.post("/v1/datasets/arith/cases/", json={"name": "extra", "inputs": "1+2"}).raise_for_status()
    report = copy.deepcopy(report_json(reports["v1"]))
    report["cases"][0]["inputs"] = "2+3"  # 'add' ran on other inputs than the hosted case has
    report["cases"][1]["name"] = "not-hosted"
    experiment = upload(api, report).json()
    matches = {c["name"]: c["dataset_case_match"] for c in api.get(f"/v1/experiments/{experiment['id']}/cases/").json()}
    assert matches["add"] == "differs" and matches["not-hosted"] == "unmatched" and matches["gone"] == "matched"
    cases = api.get(f"/v1/experiments/{experiment['id']}/cases/").json()
    assert next(c for c in cases if c["name"] == "not-hosted")["dataset_case_id"] is None


def test_a_report_of_a_dataset_not_hosted_here_is_kept_by_name(api: httpx.Client, reports: dict[str, Any]) -> None:
    experiment = upload(api, report_json(reports["v1"])).json()
    assert (experiment["dataset_id"], experiment["dataset_name"], experiment["dataset_as_of"]) == (None, "arith", None)
    cases = api.get(f"/v1/experiments/{experiment['id']}/cases/").json()
    assert {c["dataset_case_match"] for c in cases} == {None}
    assert [e["id"] for e in api.get("/v1/experiments/?dataset=arith").json()] == [experiment["id"]]


def test_list_is_newest_first_paged_and_filtered_by_dataset(api: httpx.Client, reports: dict[str, Any]) -> None:
    arith = push(api)
    push(api, "other")
    ids = [upload(api, report_json(reports["v1"]), dataset="arith").json()["id"] for _ in range(3)]
    other = upload(api, report_json(reports["v1"]), dataset="other").json()["id"]
    everything = api.get("/v1/experiments/")
    assert [e["id"] for e in everything.json()] == [other, *reversed(ids)]
    assert everything.headers["x-total-count"] == "4"
    by_name = api.get("/v1/experiments/", params={"dataset": "arith", "limit": 2})
    assert [e["id"] for e in by_name.json()] == [ids[2], ids[1]] and by_name.headers["x-total-count"] == "3"
    dataset_id = arith["add"]["dataset_id"]
    by_id = api.get("/v1/experiments", params={"dataset": dataset_id, "limit": 2, "offset": 2})
    assert [e["id"] for e in by_id.json()] == [ids[0]]
    assert api.get("/v1/experiments/?dataset=nothing-like-it").json() == []
    assert len(api.get("/v1/experiments/?status=complete").json()) == 4
    assert api.get("/v1/experiments/?status=running").json() == []
    summary = everything.json()[0]
    assert "metadata" not in summary and summary["averages"]["name"] == "Averages"


def test_case_filters(api: httpx.Client, reports: dict[str, Any]) -> None:
    push(api)
    experiment_id = upload(api, report_json(reports["v1x2"])).json()["id"]
    path = f"/v1/experiments/{experiment_id}/cases/"

    def names(**params: Any) -> list[str]:
        return [case["name"] for case in api.get(path, params=params).json()]

    assert names(status="error") == ["crash [1/2]", "crash [2/2]"]
    assert names(status=["failed", "error"]) == [
        "wrong [1/2]", "wrong [2/2]", "crash [1/2]", "crash [2/2]", "judge-crash [1/2]", "judge-crash [2/2]"
    ]  # fmt: skip
    assert names(search="CASE 5") == ["Case 5 [1/2]", "Case 5 [2/2]"]
    assert names(search="%") == [] and names(search="_") == []  # LIKE wildcards are matched literally
    assert names(limit=2, offset=1) == ["add [2/2]", "wrong [1/2]"]
    bad = api.get(path, params={"status": "broken"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


def test_the_same_run_uploaded_twice_is_one_experiment(api: httpx.Client, reports: dict[str, Any]) -> None:
    push(api)
    report = {**report_json(reports["v1"]), "trace_id": "AB" * 16, "span_id": "cd" * 8}
    first = upload(api, report)
    again = upload(api, report)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["trace_id"] == "ab" * 16
    assert api.get("/v1/experiments/").headers["x-total-count"] == "1"
    assert len(api.get(f"/v1/experiments/{first.json()['id']}/cases/").json()) == 6


def test_compare_two_runs(api: httpx.Client, reports: dict[str, Any]) -> None:
    push(api)
    baseline = upload(api, report_json(reports["v1"])).json()["id"]
    candidate = upload(api, report_json(reports["v2"])).json()["id"]
    response = api.get("/v1/experiments/compare", params={"baseline": baseline, "candidate": candidate})
    assert response.status_code == 200, response.text
    result = response.json()
    assert [(c["case"], c["outcome"]) for c in result["cases"][:2]] == [("add", "regressed"), ("wrong", "improved")]
    assert result["same_dataset"] is True and result["primary"] == {"metric": "assertions", "direction": "higher"}
    assert result["overview"]["outcomes"] == {"regressed": 1, "improved": 1, "added": 0, "removed": 0, "unchanged": 4}
    add = result["cases"][0]
    assert add["assertions"]["EqualsExpected"] == {"baseline": 1.0, "candidate": 0.0, "delta": -1.0}
    assert add["baseline_runs"][0]["output"] == 4 and add["candidate_runs"][0]["output"] == 5
    by_score = api.get(
        "/v1/experiments/compare/",
        params={"baseline": baseline, "candidate": candidate, "primary": "score:Closeness", "direction": "lower"},
    ).json()
    assert {c["case"]: c["outcome"] for c in by_score["cases"]}["add"] == "improved"  # lower is better now


def test_compare_errors(api: httpx.Client, make_client: Callable[..., httpx.Client], reports: dict[str, Any]) -> None:
    push(api)
    one = upload(api, report_json(reports["v1"])).json()["id"]
    unknown = api.get("/v1/experiments/compare/", params={"baseline": one, "candidate": one, "primary": "score:nope"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "primary" and "score:Closeness" in unknown.json()["detail"]
    bad_kind = api.get("/v1/experiments/compare/", params={"baseline": one, "candidate": one, "primary": "best"})
    assert bad_kind.status_code == 422 and "Unknown primary metric 'best'" in bad_kind.json()["detail"]
    missing = api.get("/v1/experiments/compare/", params={"baseline": one})
    assert missing.status_code == 422 and "candidate" in missing.json()["detail"]
    stranger = make_client(scopes=(READ, WRITE))
    theirs = upload(stranger, report_json(reports["v1"])).json()["id"]
    gone = api.get("/v1/experiments/compare/", params={"baseline": one, "candidate": theirs})
    assert gone.status_code == 404 and "candidate" in gone.json()["detail"]


def test_delete_isolation_and_scopes(
    live_server: LiveServer, api: httpx.Client, make_client: Callable[..., httpx.Client], reports: dict[str, Any]
) -> None:
    push(api)
    experiment_id = upload(api, report_json(reports["v1"])).json()["id"]
    key, project = live_server.new_key(READ, WRITE)
    stranger = make_client(key)
    for response in (
        stranger.get(f"/v1/experiments/{experiment_id}/"),
        stranger.get(f"/v1/experiments/{experiment_id}/cases/"),
        stranger.delete(f"/v1/experiments/{experiment_id}/"),
        api.get("/v1/experiments/not-a-uuid/"),
    ):
        assert response.status_code == 404 and response.json() == {"detail": "Experiment not found"}
    assert stranger.get("/v1/experiments/").json() == []
    reader = make_client(scopes=(READ,), project=project)
    assert reader.get("/v1/experiments/").status_code == 200
    assert upload(reader, report_json(reports["v1"])).status_code == 403
    assert reader.delete(f"/v1/experiments/{experiment_id}/").status_code == 403
    writer_only = make_client(scopes=(WRITE,))
    assert writer_only.get("/v1/experiments/").status_code == 403
    assert httpx.get(f"{live_server.base_url}/v1/experiments/").status_code == 401
    assert api.delete(f"/v1/experiments/{experiment_id}").status_code == 204
    assert api.get(f"/v1/experiments/{experiment_id}/").status_code == 404
    assert api.get(f"/v1/experiments/{experiment_id}/cases/").status_code == 404
    assert api.delete(f"/v1/experiments/{experiment_id}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "pointer", "words"),
    [
        (lambda body: body.pop("report"), "report", "", "Field required"),
        (lambda body: body["report"]["cases"][0]["assertions"]["EqualsExpected"].update(value="yes"),
         "report", "/cases/0/assertions/EqualsExpected/value", "valid boolean"),
        (lambda body: body["report"]["cases"][0]["scores"]["Closeness"].update(value=True),
         "report", "/cases/0/scores/Closeness/value", "finite number"),
        (lambda body: body["report"]["cases"][1].pop("output"), "report", "/cases/1/output", "Field required"),
        (lambda body: body["report"]["failures"][0].update(error_message=None),
         "report", "/failures/0/error_message", "valid string"),
        (lambda body: body["report"].update(trace_id="xyz"), "report", "/trace_id", "should match pattern"),
        (lambda body: body.update(dataset_as_of="2026-01-01T00:00:00"), "dataset_as_of", "", "timezone"),
    ],
)  # fmt: skip
def test_bad_bodies_are_422_naming_the_field(
    api: httpx.Client, reports: dict[str, Any], change: Any, field: str, pointer: str, words: str
) -> None:
    body = {"report": report_json(reports["v1"])}
    change(body)
    response = api.post("/v1/experiments/", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["field"], error["pointer"]) == (field, pointer)
    assert words in error["message"] and field in response.json()["detail"]
    assert api.get("/v1/experiments/").json() == []


def test_other_refusals(api: httpx.Client, reports: dict[str, Any]) -> None:
    push(api)
    report = report_json(reports["v1"])
    malformed = api.post("/v1/experiments/", content=b'{"report": ', headers={"content-type": "application/json"})
    assert malformed.status_code == 422 and "Malformed JSON" in malformed.json()["detail"]
    missing = upload(api, report, dataset="no-such-dataset")
    assert missing.status_code == 404 and missing.json() == {"detail": "Dataset not found"}
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    too_late = upload(api, report, dataset_as_of=future)
    assert too_late.status_code == 422 and "in the future" in too_late.json()["detail"]
    too_early = upload(api, report, dataset_as_of="2001-01-01T00:00:00Z")
    assert too_early.status_code == 422 and "did not exist yet" in too_early.json()["detail"]
    twice = copy.deepcopy(report)
    twice["failures"][0]["name"] = "add"
    duplicate = upload(api, twice)
    assert duplicate.status_code == 422 and "'add' appears twice" in duplicate.json()["detail"]
    assert api.get("/v1/experiments/").json() == []


def test_export_pinned_now_is_reproducible(api: httpx.Client) -> None:
    push(api)
    plain = api.get("/v1/datasets/arith/export/")
    assert "x-evalset-as-of" not in plain.headers  # Logfire's clients see the export they always saw
    pinned = api.get("/v1/datasets/arith/export/?as_of=now")
    moment = pinned.headers["x-evalset-as-of"]
    assert pinned.json() == plain.json() and datetime.fromisoformat(moment).tzinfo is not None
    api.post("/v1/datasets/arith/cases/", json={"name": "later", "inputs": "0+0"}).raise_for_status()
    add_id = next(c["id"] for c in api.get("/v1/datasets/arith/cases/").json() if c["name"] == "add")
    api.patch(f"/v1/datasets/arith/cases/{add_id}/", json={"inputs": "2+2+0"}).raise_for_status()
    api.patch("/v1/datasets/arith/", json={"evaluators": [{"name": "EqualsExpected", "arguments": None}]})
    again = api.get("/v1/datasets/arith/export/", params={"as_of": moment})
    assert again.json() == pinned.json() and again.headers["x-evalset-as-of"] == moment
    bad = api.get("/v1/datasets/arith/export/?as_of=yesterday")
    assert bad.status_code == 422 and "as_of" in bad.json()["detail"]


def test_openapi_documents_the_experiment_endpoints(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    upload_doc = paths["/v1/experiments/"]["post"]
    assert set(upload_doc["responses"]) >= {"200", "201", "401", "403", "404", "413", "422", "503"}
    assert upload_doc["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    body = upload_doc["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["report"] and body["properties"]["report"]["$ref"].endswith("/EvaluationReport")
    components = api.get("/openapi.json").json()["components"]["schemas"]
    assert set(components["ReportCase"]["required"]) >= {"name", "inputs", "output", "assertions", "task_duration"}
    for path, method, statuses in (
        ("/v1/experiments/", "get", {"200", "401", "403", "422"}),
        ("/v1/experiments/{experiment_id}/", "get", {"200", "401", "403", "404"}),
        ("/v1/experiments/{experiment_id}/cases/", "get", {"200", "401", "403", "404", "422"}),
        ("/v1/experiments/compare/", "get", {"200", "401", "403", "404", "422"}),
        ("/v1/experiments/{experiment_id}/", "delete", {"204", "401", "403", "404", "503"}),
    ):
        assert set(paths[path][method]["responses"]) >= statuses, path  # (FastAPI adds its own 422 everywhere)
