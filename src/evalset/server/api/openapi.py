"""The OpenAPI document, made to tell the truth: every status each route really gives, with the real
error shape and examples.

FastAPI documents what routes declare; the statuses that come from the shared plumbing (the key check,
the body reader, the value rules, the body and target limits, contention retries) are added here, from
what each operation is: every /v1 operation can answer 401, 403, 414 and 422 (query and path checks);
one with a path parameter 404; one with a body 413 and 415; and any 503 (a write that kept losing races,
or a database that cannot be reached now). 409 and 412 are declared by
the routes that give them. A test (tests/fuzz/) sends generated requests and checks every response
against this document.
"""

from __future__ import annotations

from typing import Any

from evalset.server.api.v1.examples import REQUESTS, RESPONSES
from evalset.server.api.v1.models import ErrorBody

__all__ = ["complete_document", "ERROR_EXAMPLES"]

_TEXT = {
    401: "Missing, malformed, unknown or revoked key (`Authorization: Bearer <key>`).",
    403: "The key lacks the scope: `project:read_datasets` to read, `project:write_datasets` to write.",
    404: 'Not found in the key\'s project: the detail is "Dataset not found", "Case not found" or '
    '"Experiment not found" (the word "case" tells a case from a dataset).',
    409: "Conflict: a dataset or case name is taken, an import with `on_conflict=error` met existing names, "
    "or the case to restore is not deleted. Nothing was written.",
    412: "`If-Match` names a case version that is no longer current; `current_version` gives the current one. "
    "Nothing was written.",
    413: "The body is over the configured limit (EVALSET_MAX_BODY_BYTES).",
    414: "The request target (path and query) is over 8 KiB.",
    415: "The body is not sent as JSON (`Content-Type: application/json`).",
    422: "Invalid request: malformed or non-standard JSON, an unknown field or query parameter, a wrong type, "
    "an invalid name or schema, a value the server cannot store (NUL, lone surrogate, integer beyond 64 bits, "
    "non-finite number, nesting beyond 64 levels), or case data that breaks the dataset's schema. "
    "`errors` lists each problem with the case index and name, the field and the JSON pointer.",
    503: "The database stayed too busy to complete the write, or cannot be reached now; nothing was written. "
    "Retry after `Retry-After` seconds.",
}

ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    401: {"detail": "Missing API key: send 'Authorization: Bearer <key>'."},
    403: {"detail": "This API key lacks the 'project:write_datasets' scope."},
    404: {"detail": "Dataset not found"},
    409: {"detail": "A dataset named 'qa-golden-set' already exists in this project; choose another name."},
    412: {
        "detail": "Case was changed by someone else: you sent version 2 but it is now at version 3. "
        "Reload it and apply your change again.",
        "current_version": 3,
    },
    413: {"detail": "Request body is larger than the 33,554,432-byte limit (EVALSET_MAX_BODY_BYTES)."},
    414: {"detail": "The request target (path and query) is 9,014 bytes long; the limit is 8,192 bytes."},
    415: {"detail": "The request body must be JSON, sent with 'Content-Type: application/json' (got 'text/plain')."},
    422: {
        "detail": "Case data does not match the dataset schema: case 0 ('q1'), inputs at '/question': "
        "1 is not of type 'string'.",
        "errors": [
            {
                "case_index": 0,
                "case_name": "q1",
                "field": "inputs",
                "pointer": "/question",
                "message": "1 is not of type 'string'",
            }
        ],
    },
    503: {"detail": "The database stayed too busy to complete this write; nothing was written. Retry the request."},
}

_CASE = "/v1/datasets/{ds}/cases/{case_id}/"
_DECLARED: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/datasets/"): (409,),  # name taken
    ("patch", "/v1/datasets/{ds}/"): (409,),  # renamed onto a taken name
    ("put", "/v1/datasets/{ds}/"): (409,),
    ("post", "/v1/datasets/{ds}/cases/"): (409,),  # case name taken
    ("post", "/v1/datasets/{ds}/cases/bulk/"): (409,),
    ("post", "/v1/datasets/{ds}/import/"): (409,),  # on_conflict=error
    ("patch", _CASE): (409, 412),  # renamed onto a taken name; If-Match stale
    ("put", _CASE): (409, 412),
    ("post", _CASE + "restore/"): (409,),  # the case is not deleted, or its name was taken since
}
"""Statuses that come from what an operation does rather than from the shared plumbing."""
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [401, 403, 414, 422, 503]
    if "{" in path:
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [413, 415]
    return statuses + list(_DECLARED.get((method, path), ()))


def _error_response(status: int, described: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": described or _TEXT[status],
        "content": {"application/json": {"schema": _ERROR_REF, "example": ERROR_EXAMPLES[status]}},
    }
    if status == 503:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    return response


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in _statuses(path, method, operation):
        current = responses.get(str(status))
        described = current.get("description") if current and status not in (422,) else None
        responses[str(status)] = _error_response(status, described)
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            response.setdefault("content", {"application/json": {"schema": _ERROR_REF}})
            content = response["content"].setdefault("application/json", {})
            content["schema"] = _ERROR_REF
            content.setdefault("example", ERROR_EXAMPLES.get(int(code), {"detail": response["description"]}))
    if not operation.get("description"):
        operation["description"] = operation.get("summary", "")
    _add_examples(path, method, operation)


def _add_examples(path: str, method: str, operation: dict[str, Any]) -> None:
    request = REQUESTS.get((method, path))
    if request is not None and "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["example"] = request
    response = RESPONSES.get((method, path))
    success = next((code for code in sorted(operation["responses"]) if code.startswith("2")), None)
    if response is not None and success is not None:
        operation["responses"][success].setdefault("content", {}).setdefault("application/json", {})
        operation["responses"][success]["content"]["application/json"]["example"] = response


def complete_document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the statuses every /v1 operation can give, with the error body; drop FastAPI's own 422 shape."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(path, method, operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
