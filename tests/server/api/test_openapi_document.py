"""The OpenAPI document itself: every /v1 operation has a description, documents the statuses the
shared plumbing can give with the real error shape, and its examples match its own schemas."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

from evalset.server.api.v1.examples import REQUESTS, RESPONSES


@pytest.fixture(scope="module")
def document(live_server: Any) -> dict[str, Any]:
    with httpx.Client(base_url=live_server.base_url) as client:
        return client.get("/openapi.json").json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_operation_is_described_and_documents_its_errors(document: dict[str, Any]) -> None:
    found = operations(document)
    assert ("/health", "get") in {(path, method) for path, method, _ in found}
    for path, method, operation in found:
        assert operation.get("description"), (method, path)
        if not path.startswith("/v1/"):
            continue
        statuses = set(operation["responses"])
        assert {"401", "403", "414", "422"} <= statuses, (method, path)
        assert "{" not in path or "404" in statuses, (method, path)  # uploads and compare can 404 too
        assert {"413", "415"} <= statuses or "requestBody" not in operation, (method, path)
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    item = document["components"]["schemas"]["ErrorItem"]
    assert set(item["properties"]) == {"case_index", "case_name", "field", "pointer", "message"}


def test_examples_match_the_schemas_they_illustrate(document: dict[str, Any]) -> None:
    components = document["components"]
    checked = 0
    for path, method, operation in operations(document):
        contents = [response.get("content", {}) for response in operation["responses"].values()]
        contents.append(operation.get("requestBody", {}).get("content", {}))
        for content in contents:
            media = content.get("application/json", {})
            if "example" in media:
                validator = jsonschema_rs.validator_for({**media["schema"], "components": components})
                assert validator.is_valid(media["example"]), (
                    method,
                    path,
                    next(validator.iter_errors(media["example"])),
                )
                checked += 1
    assert checked >= len(REQUESTS) + len(RESPONSES)
