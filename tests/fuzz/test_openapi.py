"""Schemathesis over the live server's `/openapi.json`, on SQLite and PostgreSQL: whatever it generates
(valid and invalid requests), the server never answers 5xx, and every status, content type, header
and body is one the document describes. If this fails, fix the response or the document."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveServer
from tests.fuzz.conftest import EXAMPLES

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # a request the document forbids is refused with a 4xx
]


def test_every_response_conforms_to_the_document(live_server: LiveServer, fuzz_key: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # pyright: ignore[reportAttributeAccessIssue]
    assert len(operations) >= 20  # every /v1 route is in the document

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same examples on every run: a CI failure reproduces locally
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
            database=None,
        )
        def run(case: Case) -> None:
            case.call_and_validate(base_url=live_server.base_url, headers=headers, checks=CHECKS)

        try:
            run()
        except (AssertionError, Exception) as exc:  # collect every operation's failures, then report them all
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
