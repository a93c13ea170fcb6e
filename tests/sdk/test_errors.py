"""Error mapping: which exception for which failure, and messages that say what, where and how to fix it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic_evals import Case

from evalset import CaseNotFoundError, DatasetApiError, DatasetNotFoundError, DatasetsClient
from tests.conftest import READ, LiveServer
from tests.sdk.models import QuestionInput

MISSING = str(uuid.uuid4())


def test_missing_dataset_is_dataset_not_found_on_every_endpoint(api_client: Any) -> None:
    calls = [
        lambda: api_client.get_dataset("nope"),
        lambda: api_client.get_dataset("nope", include_cases=True),
        lambda: api_client.update_dataset("nope", description="x"),
        lambda: api_client.delete_dataset("nope"),
        lambda: api_client.export_dataset("nope", QuestionInput),
        lambda: api_client.list_cases("nope"),
        lambda: api_client.get_case("nope", MISSING),
        lambda: api_client.update_case("nope", MISSING, name="x"),
        lambda: api_client.delete_case("nope", MISSING),
        lambda: api_client.get_case_history("nope", MISSING),
        lambda: api_client.restore_case("nope", MISSING),
        lambda: api_client.add_case("nope", Case(inputs=1)),
        lambda: api_client.add_cases("nope", [Case(inputs=1)]),
        lambda: api_client.create_case("nope", inputs=1),
        lambda: api_client.import_cases("nope", [{"inputs": 1}]),
    ]
    for call in calls:
        with pytest.raises(DatasetNotFoundError) as caught:
            call()
        assert caught.value.status_code == 404 and caught.value.detail == "Dataset not found"
        assert "Dataset not found ('nope')" in str(caught.value) and "list_datasets()" in str(caught.value)


def test_missing_case_is_case_not_found(api_client: Any, qa_dataset: str) -> None:
    for call in [
        lambda: api_client.get_case(qa_dataset, MISSING),
        lambda: api_client.get_case(qa_dataset, "not-a-uuid"),
        lambda: api_client.update_case(qa_dataset, MISSING, name="x"),
        lambda: api_client.delete_case(qa_dataset, MISSING),
        lambda: api_client.get_case_history(qa_dataset, MISSING),
        lambda: api_client.restore_case(qa_dataset, MISSING),
    ]:
        with pytest.raises(CaseNotFoundError) as caught:
            call()
        assert caught.value.detail == "Case not found" and isinstance(caught.value, DatasetApiError)
        assert f"in dataset {qa_dataset!r}" in str(caught.value)


def test_a_dataset_whose_name_contains_case_is_still_a_dataset_error(api_client: Any) -> None:
    with pytest.raises(DatasetNotFoundError):
        api_client.get_case("my-cases", MISSING)


def test_schema_violations_name_the_case_and_field(api_client: Any, qa_dataset: str) -> None:
    bad = [
        {"name": "fine", "inputs": {"question": "ok"}},
        {"name": "wrong-type", "inputs": {"question": 42}},
        {"inputs": {"context": "no question"}},
    ]
    with pytest.raises(DatasetApiError) as caught:
        api_client.add_cases(qa_dataset, bad)
    error = caught.value
    assert error.status_code == 422 and not isinstance(error, DatasetNotFoundError)
    assert [(e["case_index"], e["case_name"], e["field"]) for e in error.errors] == [
        (1, "wrong-type", "inputs"),
        (2, None, "inputs"),
    ]
    message = str(error)
    assert "case 1 ('wrong-type'), field 'inputs' at '/question': 42 is not of type" in message
    assert "case 2, field 'inputs'" in message and "'question' is a required property" in message.replace('"', "'")
    assert len(api_client.list_cases(qa_dataset)) == 3  # all or nothing

    with pytest.raises(DatasetApiError, match="field 'inputs' at '/question'") as single:
        api_client.create_case(qa_dataset, inputs={"question": ["not", "a", "string"]})
    assert single.value.status_code == 422


def test_conflicts_are_409(api_client: Any, qa_dataset: str) -> None:
    with pytest.raises(DatasetApiError) as caught:
        api_client.create_dataset(qa_dataset)
    assert caught.value.status_code == 409 and "already exists" in caught.value.detail
    with pytest.raises(DatasetApiError) as case_conflict:
        api_client.add_case(qa_dataset, Case(name="capital-question", inputs=QuestionInput("again")))
    assert case_conflict.value.status_code == 409


def test_auth_failures_explain_the_key(live_server: LiveServer) -> None:
    with (
        DatasetsClient(api_key="evalset_wrong", base_url=live_server.base_url) as client,
        pytest.raises(DatasetApiError) as caught,
    ):
        client.list_datasets()
    assert caught.value.status_code == 401 and "EVALSET_API_KEY" in str(caught.value)

    read_only, _ = live_server.new_key(READ)
    with DatasetsClient(api_key=read_only, base_url=live_server.base_url) as client:
        assert client.list_datasets() == []
        with pytest.raises(DatasetApiError) as forbidden:
            client.create_dataset("nope")
    assert forbidden.value.status_code == 403 and "project:write_datasets" in str(forbidden.value)


def test_a_wrong_base_url_is_not_reported_as_a_missing_dataset(live_server: LiveServer, key: str) -> None:
    wrong = DatasetsClient(api_key=key, base_url=live_server.base_url + "/api")
    with wrong, pytest.raises(DatasetApiError) as caught:
        wrong.list_datasets()
    assert caught.value.status_code == 404 and not isinstance(caught.value, DatasetNotFoundError)
    assert "base_url" in str(caught.value)


def test_error_objects_keep_the_logfire_shape() -> None:
    error = DatasetApiError(500, "boom")
    assert (error.status_code, error.detail, error.errors, str(error)) == (500, "boom", [], "API error 500: boom")
    assert DatasetNotFoundError().status_code == 404 and CaseNotFoundError().detail == "Case not found"
