"""Pure domain rules: keys, schema checks and validation, case updates and versions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from evalset.server.domain import auth
from evalset.server.domain.cases import Actor, apply_patch, apply_upsert, export_case, new_case, parse_if_match
from evalset.server.domain.names import looks_like_uuid
from evalset.server.domain.schemas import CaseValidator, check_schema, summarize, validator_for_dataset
from evalset.server.errors import InvalidInput

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
ACTOR = Actor(id="a", name="alice")


def test_keys_are_high_entropy_and_only_hashes_are_kept() -> None:
    first, second = auth.generate_key(), auth.generate_key()
    assert first.secret.startswith("evalset_") and first.secret != second.secret
    assert len(first.secret) > 60 and first.secret_hash != first.secret and len(first.secret_hash) == 64
    assert auth.split_key(first.secret) == first.lookup
    assert auth.key_matches(first.secret, first.secret_hash)
    assert not auth.key_matches(second.secret, first.secret_hash)


@pytest.mark.parametrize("bad", ["", "evalset_", "evalset_short", "pylf_v1_us_abc", "evalset_0123456789abXsecret"])
def test_malformed_keys_have_no_lookup(bad: str) -> None:
    assert auth.split_key(bad) is None


def test_check_schema_accepts_pydantic_output_and_rejects_nonsense() -> None:
    check_schema({"$defs": {"A": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/A"}}}, "input_schema")
    check_schema({}, "input_schema")
    check_schema(None, "input_schema")
    with pytest.raises(InvalidInput) as info:
        check_schema({"type": "object", "properties": {"a": {"type": 12}}}, "output_schema")
    assert info.value.errors[0]["field"] == "output_schema" and info.value.errors[0]["pointer"] == "/properties/a/type"
    with pytest.raises(InvalidInput, match="metadata_schema"):
        check_schema([1, 2], "metadata_schema")
    with pytest.raises(InvalidInput, match="input_schema"):
        check_schema({"$ref": "#/$defs/Nope"}, "input_schema")


def test_validator_reports_every_violation_with_pointers() -> None:
    validator = CaseValidator(
        {
            "input_schema": {
                "type": "object",
                "properties": {"q": {"type": "string"}, "n": {"type": "array", "items": {"type": "integer"}}},
                "required": ["q"],
            },
            "output_schema": {"type": "string"},
        }
    )
    found = validator.violations({"name": "c", "inputs": {"n": [1, "x"]}, "expected_output": None}, 4)
    assert {(v["field"], v["pointer"]) for v in found} == {("inputs", ""), ("inputs", "/n/1")}
    assert all(v["case_index"] == 4 and v["case_name"] == "c" for v in found)
    assert validator.violations({"inputs": {"q": "ok"}, "expected_output": 5})[0]["field"] == "expected_output"
    assert "case 4 ('c'), inputs at" in summarize(found) and "1 more violation" in summarize(found)


def test_validators_are_cached_per_dataset_revision() -> None:
    dataset = {"id": "d1", "updated_at": NOW, "input_schema": {"type": "string"}}
    assert validator_for_dataset(dataset) is validator_for_dataset(dict(dataset))
    changed = {**dataset, "updated_at": datetime(2026, 1, 2, tzinfo=timezone.utc), "input_schema": {"type": "integer"}}
    assert validator_for_dataset(changed) is not validator_for_dataset(dataset)
    assert validator_for_dataset(changed).violations({"inputs": "text"})


def test_patch_null_clears_and_bumps_version() -> None:
    case = new_case({"inputs": 1, "tags": ["a"], "metadata": {"m": 1}}, dataset_id="d", actor=ACTOR, now=NOW)
    later = datetime(2026, 2, 1, tzinfo=timezone.utc)
    patched = apply_patch(
        case, {"tags": None, "metadata": None, "evaluators": None}, actor=Actor("b", "bob"), now=later
    )
    assert patched["tags"] == [] and patched["metadata"] is None and patched["evaluators"] == []
    assert patched["version"] == 2 and patched["updated_by_name"] == "bob" and patched["created_at"] == NOW


def test_upsert_keeps_tags_and_sources_and_detects_no_change() -> None:
    case = new_case({"inputs": 1, "tags": ["t"], "source_trace_id": "tr"}, dataset_id="d", actor=ACTOR, now=NOW)
    assert apply_upsert(case, {"inputs": 1}, actor=ACTOR, now=NOW) is None
    changed = apply_upsert(case, {"inputs": 2}, actor=ACTOR, now=NOW)
    assert changed is not None and changed["tags"] == ["t"] and changed["source_trace_id"] == "tr"
    assert changed["version"] == 2
    retagged = apply_upsert(case, {"inputs": 1, "tags": ["u"]}, actor=ACTOR, now=NOW)
    assert retagged is not None and retagged["tags"] == ["u"]


@pytest.mark.parametrize(("header", "version"), [(None, None), ("*", None), ("3", 3), ('"3"', 3), ('W/"12"', 12)])
def test_if_match_parsing(header: str | None, version: int | None) -> None:
    assert parse_if_match(header) == version


def test_if_match_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="If-Match"):
        parse_if_match("v3")


def test_export_shape_has_only_pydantic_evals_keys() -> None:
    case = new_case({"inputs": 1, "tags": ["x"]}, dataset_id="d", actor=ACTOR, now=NOW)
    assert export_case(case) == {"name": None, "inputs": 1, "metadata": None, "expected_output": None, "evaluators": []}


def test_uuid_detection() -> None:
    assert looks_like_uuid("0af76519-16cd-43dd-8448-eb211c80319c") and looks_like_uuid(
        "0af7651916cd43dd8448eb211c80319c"
    )
    assert not looks_like_uuid("qa-golden-set") and not looks_like_uuid("0af76519-16cd-43dd-8448-eb211c80319")


def test_new_ids_are_distinct_time_ordered_version_7_uuids() -> None:
    import time
    import uuid

    from evalset.server.domain.cases import new_ids

    before = time.time_ns() // 1_000_000
    ids = new_ids(2000)
    time.sleep(0.002)
    later = new_ids(1)[0]
    assert len(set(ids)) == 2000
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == value
        assert before <= parsed.int >> 80 <= time.time_ns() // 1_000_000  # the 48-bit millisecond
    assert max(ids) < later  # a later batch sorts after: new rows go to the end of the id index


def test_evaluators_without_arguments_are_normalized() -> None:
    from evalset.server.domain.cases import normalize_evaluators

    assert normalize_evaluators([{"name": "A"}, {"name": "B", "arguments": {"x": 1}}]) == [
        {"name": "A", "arguments": None},
        {"name": "B", "arguments": {"x": 1}},
    ]
    assert normalize_evaluators(None) == []


def test_json_pointers_escape_per_rfc_6901() -> None:
    from evalset.server.errors import json_pointer

    assert json_pointer(["cases", 3, "a/b", "c~d"]) == "/cases/3/a~1b/c~0d"
    assert json_pointer([]) == ""
