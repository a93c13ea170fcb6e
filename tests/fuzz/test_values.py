"""Hypothesis over case and dataset writes: JSON values with huge integers, NUL, lone surrogates, deep
nesting and odd floats, sent to the real server on both databases. Each answer is either a 4xx whose
detail names the field, exactly when an independent oracle says the value breaks a rule
(docs/input.md), or a faithful round trip: what is read back equals what was sent. Never a 5xx."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LiveServer
from tests.fuzz.conftest import EXAMPLES

ODD_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "é", "\u2028", "\U0001f600", "", "~/"])
TEXT = st.one_of(st.text(max_size=8), ODD_TEXT)
ODD_INTS = st.sampled_from([2**63 - 1, -(2**63), 2**63, 2**64, -(2**63) - 1, 10**100, -(10**40), 9**2000])
ODD_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324, 1.7976931348623157e308])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), ODD_INTS, st.floats(), ODD_FLOATS, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """Arrays and objects nested around the limit (64 levels) and far beyond it."""
    depth = draw(st.one_of(st.integers(55, 70), st.sampled_from([150, 400])))
    value: Any = draw(SCALARS)
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


ANY_VALUE = st.one_of(VALUES, deep())


def breaks_a_rule(value: Any, depth: int = 0) -> bool:
    """The oracle: does `value` hold anything the server must refuse? (Written apart from the server's
    own rules in evalset.server.domain.values, so the two check each other.)"""
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth >= 64:
        return True
    if isinstance(value, list):
        return any(breaks_a_rule(item, depth + 1) for item in value)
    return any(breaks_a_rule(key) or breaks_a_rule(item, depth + 1) for key, item in value.items())


def send(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    """Send `body` as JSON exactly as Python writes it: NaN, Infinity and lone surrogates (as escapes)
    included, which an honest client library would refuse to send."""
    raw = json.dumps(body, allow_nan=True)
    return client.request(method, path, content=raw.encode(), headers={"content-type": "application/json"})


def same(sent: Any, got: Any) -> bool:
    """Equal as JSON values: 1 and 1.0 are the same number; -0.0 and 0 too."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and sent.keys() == got.keys() and all(same(sent[k], got[k]) for k in sent)
    if isinstance(sent, list):
        return isinstance(got, list) and len(sent) == len(got) and all(map(same, sent, got))
    if isinstance(sent, bool) or isinstance(got, bool):
        return sent is got
    return sent == got


def refused_properly(response: httpx.Response, field: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    if response.status_code == 422 and "Malformed JSON" not in detail:
        assert any(error["field"] == field for error in response.json()["errors"]), response.text


FUZZ = settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.fixture
def dataset(api: httpx.Client) -> str:
    name = f"fuzz-{uuid.uuid4().hex[:8]}"
    assert api.post("/v1/datasets/", json={"name": name}).status_code == 201
    return name


def test_case_values_are_refused_or_round_trip(api: httpx.Client, dataset: str) -> None:
    @FUZZ
    @given(field=st.sampled_from(["inputs", "expected_output", "metadata"]), value=ANY_VALUE)
    def check(field: str, value: Any) -> None:
        body = {"inputs": 1, field: value}
        response = send(api, "POST", f"/v1/datasets/{dataset}/cases/", body)
        if breaks_a_rule(value):
            refused_properly(response, field)
            return
        assert response.status_code == 201, response.text
        stored = api.get(f"/v1/datasets/{dataset}/cases/{response.json()['id']}/").json()
        assert same(value, stored[field]), (value, stored[field])
        assert api.delete(f"/v1/datasets/{dataset}/cases/{stored['id']}/").status_code == 204

    check()


def test_imports_name_the_case_that_breaks_a_rule(api: httpx.Client, dataset: str) -> None:
    @FUZZ
    @given(values=st.lists(ANY_VALUE, min_size=1, max_size=3))
    def check(values: list[Any]) -> None:
        cases = [{"name": f"c{i}", "inputs": value} for i, value in enumerate(values)]
        response = send(api, "POST", f"/v1/datasets/{dataset}/import/", {"cases": cases})
        bad = [i for i, value in enumerate(values) if breaks_a_rule(value)]
        if bad:
            refused_properly(response, "inputs")
            if "Malformed JSON" not in response.json()["detail"]:
                assert response.json()["errors"][0]["case_index"] in bad
            return
        assert response.status_code == 200, response.text
        assert all(same(v, case["inputs"]) for v, case in zip(values, response.json(), strict=True))
        listed = {case["name"]: case["inputs"] for case in api.get(f"/v1/datasets/{dataset}/cases/").json()}
        assert all(same(value, listed[f"c{i}"]) for i, value in enumerate(values))

    check()


def test_dataset_values_are_refused_or_round_trip(api: httpx.Client, live_server: LiveServer) -> None:
    @FUZZ
    @given(value=ANY_VALUE, text=TEXT)
    def check(value: Any, text: str) -> None:
        name = f"d-{uuid.uuid4().hex[:8]}"
        body = {
            "name": name,
            "description": text,
            "evaluators": [{"name": "E", "arguments": {"v": value}}],
            "input_schema": {"type": "object", "default": value},
        }
        response = send(api, "POST", "/v1/datasets/", body)
        # the limit counts levels within a field: `evaluators` puts the value 3 levels down
        if breaks_a_rule(value, depth=3) or breaks_a_rule(text):
            assert 400 <= response.status_code < 500, response.text
            assert api.get(f"/v1/datasets/{name}/").status_code == 404  # a failed write changes nothing
            return
        assert response.status_code == 201, response.text
        stored = api.get(f"/v1/datasets/{name}/").json()
        assert stored["description"] == text
        assert same(value, stored["evaluators"][0]["arguments"]["v"])
        assert same(value, stored["input_schema"]["default"])
        assert api.delete(f"/v1/datasets/{name}/").status_code == 204

    check()
