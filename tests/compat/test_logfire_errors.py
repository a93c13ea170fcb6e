"""How evalset's errors surface through Logfire's clients: the exception classes and status codes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from logfire.experimental.api_client import CaseNotFoundError, DatasetApiError, DatasetNotFoundError
from pydantic_evals import Case

from tests.conftest import READ, WRITE, LiveServer

from .conftest import Driver
from .models import Answer, Meta, Question

# A missing dataset whose name contains "case": the clients tell a missing case from a missing
# dataset by that word in the 404 detail, so the server must not echo the name back.
MISSING_DATASETS = ["no-such-cases-dataset", str(uuid.uuid4())]

DATASET_CALLS: dict[str, Callable[[Driver, str], Any]] = {
    "get_dataset": lambda lf, ds: lf.get_dataset(ds, include_cases=False),
    "get_dataset_export": lambda lf, ds: lf.get_dataset(ds),
    "get_dataset_typed": lambda lf, ds: lf.get_dataset(ds, Question, Answer, Meta),
    "update_dataset": lambda lf, ds: lf.update_dataset(ds, description="x"),
    "delete_dataset": lambda lf, ds: lf.delete_dataset(ds),
    "list_cases": lambda lf, ds: lf.list_cases(ds),
    "add_cases": lambda lf, ds: lf.add_cases(ds, [{"inputs": {"a": 1}}]),
    "get_case": lambda lf, ds: lf.get_case(ds, str(uuid.uuid4())),
    "update_case": lambda lf, ds: lf.update_case(ds, str(uuid.uuid4()), metadata=None),
    "delete_case": lambda lf, ds: lf.delete_case(ds, str(uuid.uuid4())),
}
CASE_CALLS: dict[str, Callable[[Driver, str, str], Any]] = {
    "get_case": lambda lf, ds, case: lf.get_case(ds, case),
    "update_case": lambda lf, ds, case: lf.update_case(ds, case, name="renamed"),
    "delete_case": lambda lf, ds, case: lf.delete_case(ds, case),
}


@pytest.mark.parametrize("missing", MISSING_DATASETS, ids=["name", "uuid"])
@pytest.mark.parametrize("call", DATASET_CALLS.values(), ids=DATASET_CALLS.keys())
def test_missing_dataset_is_dataset_not_found(lf: Driver, call: Callable[[Driver, str], Any], missing: str) -> None:
    with pytest.raises(DatasetNotFoundError) as raised:
        call(lf, missing)
    assert not isinstance(raised.value, CaseNotFoundError)
    assert raised.value.args[0] == {"detail": "Dataset not found"}


@pytest.mark.parametrize("case_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["uuid", "not-a-uuid"])
@pytest.mark.parametrize("call", CASE_CALLS.values(), ids=CASE_CALLS.keys())
def test_missing_case_is_case_not_found(lf: Driver, call: Callable[[Driver, str, str], Any], case_id: str) -> None:
    lf.create_dataset("has-cases")
    lf.add_cases("has-cases", [{"name": "real", "inputs": {"a": 1}}])
    with pytest.raises(CaseNotFoundError) as raised:
        call(lf, "has-cases", case_id)
    assert raised.value.args[0] == {"detail": "Case not found"}
    assert [c["name"] for c in lf.list_cases("has-cases")] == ["real"]


def test_case_violating_the_schema_is_422_and_writes_nothing(lf: Driver) -> None:
    lf.create_dataset("strict", input_type=Question, output_type=Answer, metadata_type=Meta)
    good = Case(name="good", inputs=Question("ok?"), expected_output=Answer(text="ok", confidence=1.0))
    bad = {"name": "bad", "inputs": {"language": "en"}, "expected_output": {"text": "no", "confidence": "high"}}

    with pytest.raises(DatasetApiError) as raised:
        lf.add_cases("strict", [{"name": "fine", "inputs": {"text": "fine"}}, bad])
    assert raised.value.status_code == 422
    detail = raised.value.detail
    assert isinstance(detail["detail"], str) and "bad" in detail["detail"]
    fields = {(e["case_index"], e["case_name"], e["field"]) for e in detail["errors"]}
    assert fields == {(1, "bad", "inputs"), (1, "bad", "expected_output")}
    assert "/confidence" in {e["pointer"] for e in detail["errors"]}
    assert lf.list_cases("strict") == []

    (case,) = lf.add_cases("strict", [good])
    with pytest.raises(DatasetApiError) as raised:
        lf.update_case("strict", str(case["id"]), metadata={"difficulty": "medium"})
    assert raised.value.status_code == 422
    assert {e["field"] for e in raised.value.detail["errors"]} == {"metadata"}
    assert lf.get_case("strict", str(case["id"])) == case


def test_taken_dataset_name_is_409(lf: Driver) -> None:
    lf.create_dataset("only-once")
    with pytest.raises(DatasetApiError) as raised:
        lf.create_dataset("only-once")
    assert raised.value.status_code == 409
    assert len(lf.list_datasets()) == 1


def test_wrong_key_is_401(lf: Driver, make_lf: Callable[[str], Driver]) -> None:
    lf.create_dataset("private")
    stranger = make_lf("pylf_v1_us_" + uuid.uuid4().hex)
    for call in (
        stranger.list_datasets,
        lambda: stranger.get_dataset("private", include_cases=False),
        lambda: stranger.create_dataset("intruder"),
        lambda: stranger.delete_dataset("private"),
    ):
        with pytest.raises(DatasetApiError) as raised:
            call()
        assert raised.value.status_code == 401
    assert [d["name"] for d in lf.list_datasets()] == ["private"]


def test_read_only_key_cannot_write(live_server: LiveServer, make_lf: Callable[[str], Driver]) -> None:
    owner_key, project = live_server.new_key()
    lf = make_lf(owner_key)
    created = lf.create_dataset("shared")
    (case,) = lf.add_cases("shared", [{"name": "c", "inputs": {"a": 1}}])
    reader = make_lf(live_server.new_key(READ, project=project)[0])

    assert [d["id"] for d in reader.list_datasets()] == [created["id"]]
    assert reader.get_case("shared", str(case["id"])) == case
    for call in (
        lambda: reader.create_dataset("other"),
        lambda: reader.update_dataset("shared", description="changed"),
        lambda: reader.delete_dataset("shared"),
        lambda: reader.add_cases("shared", [{"inputs": {"a": 2}}]),
        lambda: reader.update_case("shared", str(case["id"]), name="changed"),
        lambda: reader.delete_case("shared", str(case["id"])),
    ):
        with pytest.raises(DatasetApiError) as raised:
            call()
        assert raised.value.status_code == 403
    assert lf.list_cases("shared") == [case]
    assert lf.get_dataset("shared", include_cases=False)["description"] is None


def test_write_only_key_cannot_read(live_server: LiveServer, make_lf: Callable[[str], Driver]) -> None:
    writer = make_lf(live_server.new_key(WRITE)[0])
    with pytest.raises(DatasetApiError) as raised:
        writer.list_datasets()
    assert raised.value.status_code == 403


def test_another_projects_dataset_is_not_found(
    live_server: LiveServer, make_lf: Callable[[str], Driver], lf: Driver
) -> None:
    created = lf.create_dataset("mine", description="first project")
    (case,) = lf.add_cases("mine", [{"name": "c", "inputs": {"a": 1}}])
    other = make_lf(live_server.new_key()[0])

    for ref in ("mine", str(created["id"])):
        with pytest.raises(DatasetNotFoundError):
            other.get_dataset(ref, include_cases=False)
        with pytest.raises(DatasetNotFoundError):
            other.get_dataset(ref)
        with pytest.raises(DatasetNotFoundError):
            other.list_cases(ref)
        with pytest.raises(DatasetNotFoundError):
            other.get_case(ref, str(case["id"]))
        with pytest.raises(DatasetNotFoundError):
            other.update_dataset(ref, description="hijacked")
        with pytest.raises(DatasetNotFoundError):
            other.delete_dataset(ref)
    assert other.list_datasets() == []

    theirs = other.create_dataset("mine")  # names are unique per project only
    assert theirs["id"] != created["id"] and theirs["project_id"] != created["project_id"]
    mine = lf.get_dataset("mine", include_cases=False)
    assert mine["id"] == created["id"] and mine["description"] == "first project"
    assert lf.list_cases("mine") == [case]
