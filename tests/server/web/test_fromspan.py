"""Add to Dataset's page logic, pure: mapping choices, and when a proposal fits the schema-driven form."""

from __future__ import annotations

from typing import Any

import pytest

from evalset.server.web.fromspan import FieldChoice, fits_form, mapping_params, read_mapping, snapshot_span

SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["question"],
}
DATASET = {"input_schema": SCHEMA, "output_schema": {"type": "string"}, "metadata_schema": None}


def test_mapping_defaults_to_the_proposal_and_round_trips_through_parameters() -> None:
    mapping = read_mapping({"inputs_from": ["path"], "inputs_path": [" $.args "], "metadata_from": ["none"]})
    assert mapping == {
        "inputs": FieldChoice("path", "$.args"),
        "expected_output": FieldChoice("proposal", ""),
        "metadata": FieldChoice("none", ""),
    }
    params = mapping_params(mapping)
    assert read_mapping({k: [v] for k, v in params.items()}) == mapping
    assert read_mapping({"inputs_from": ["drop table"]})["inputs"].source == "proposal"  # unknown: the default


@pytest.mark.parametrize(
    "case",
    [
        {"inputs": {"question": "Capital of France?", "count": 3, "tags": ["geo", "easy"]}, "expected_output": "Paris"},
        {"inputs": {"question": "Q"}, "metadata": {"free": ["form", 1]}},
        {"inputs": {"count": 2}},  # a required value missing: the form shows it empty and marks it
    ],
)
def test_values_the_form_can_show_exactly_fit(case: dict[str, Any]) -> None:
    assert fits_form(DATASET, case)


@pytest.mark.parametrize(
    "case",
    [
        {"inputs": "What is the capital of France?"},  # a string where the schema wants an object
        {"inputs": {"question": "Q", "extra": 1}},  # a key the schema does not list
        {"inputs": {"question": "Q", "count": "three"}},  # a string in a number field
        {"inputs": {"question": "Q"}, "expected_output": {"answer": "Paris"}},
        {"inputs": {"question": None}},
    ],
)
def test_values_the_form_would_change_or_drop_go_to_the_json_editors(case: dict[str, Any]) -> None:
    assert not fits_form(DATASET, case)


PYDANTIC_OPTIONAL = {  # what pydantic emits for `question: str` and `context: str | None = None`, via $defs
    "$defs": {
        "Question": {
            "type": "object",
            "properties": {
                "question": {"type": "string"},
                "context": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "required": ["question"],
        }
    },
    "$ref": "#/$defs/Question",
}


def test_an_optional_property_holding_null_fits_the_form() -> None:
    dataset = {"input_schema": PYDANTIC_OPTIONAL, "output_schema": None, "metadata_schema": None}
    assert fits_form(dataset, {"inputs": {"question": "Q", "context": None}})
    assert fits_form(dataset, {"inputs": {"question": "Q", "context": "some text"}})
    assert not fits_form(dataset, {"inputs": {"question": None, "context": None}})  # required: not the same


def test_without_schemas_everything_fits_the_json_editors() -> None:
    assert fits_form({}, {"inputs": "text", "expected_output": [1, {"a": None}], "metadata": {"k": True}})


def test_a_stored_snapshot_reads_back_as_a_span_and_junk_as_none() -> None:
    stored = {
        "trace_id": "ab" * 16,
        "span_id": "cd" * 8,
        "parent_span_id": None,
        "name": "call model",
        "start_time": "2026-11-22T07:00:00.123456+00:00",
        "end_time": "2026-11-22T07:00:01.5Z",
        "status": "error",
        "attributes": {"k": [1]},
    }
    span = snapshot_span(stored)
    assert span is not None and span.name == "call model" and span.status == "error"
    assert span.end_time is not None and (span.end_time - span.start_time).total_seconds() == pytest.approx(1.376544)
    assert span.attributes == {"k": [1]}
    assert snapshot_span(None) is None and snapshot_span({"name": "no times"}) is None
    assert snapshot_span({**stored, "status": "weird", "attributes": "x"}).attributes == {}  # type: ignore[union-attr]
