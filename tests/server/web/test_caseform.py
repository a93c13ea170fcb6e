"""The case form component, pure: schema -> fields, form data -> JSON, errors -> fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from evalset.server.errors import Violation
from evalset.server.web.caseform import apply_action, build_form, read_form, slot_for


class Address(BaseModel):
    city: str
    zip_code: int | None = None


class Person(BaseModel):
    name: str
    age: int
    mood: str = "calm"
    address: Address | None = None
    nicknames: list[str] = []
    extra: dict[str, int] = {}


def pydantic_dataset() -> dict[str, Any]:
    return {"input_schema": Person.model_json_schema(), "output_schema": None, "metadata_schema": None}


def names(field: Any) -> list[tuple[str, str, bool]]:
    found = [(field.name, field.kind, field.required)]
    for child in field.children:
        found.extend(names(child))
    return found


def test_pydantic_refs_and_optional_models_become_nested_fields() -> None:
    form = build_form(pydantic_dataset())
    inputs = form.fields[0]
    assert names(inputs) == [
        ("inputs", "object", True),
        ("inputs/name", "string", True),
        ("inputs/age", "integer", True),
        ("inputs/mood", "string", False),
        ("inputs/address", "object", False),
        ("inputs/address/city", "string", True),
        ("inputs/address/zip_code", "integer", False),
        ("inputs/nicknames", "array", False),
        ("inputs/extra", "json", False),  # beyond the form: a JSON editor for that part
    ]
    address = inputs.children[3]
    assert address.nullable and not address.children[0].html_required  # an empty optional group is fine
    assert [f.kind for f in form.fields[1:]] == ["json", "json"]  # no schema: JSON editors


def test_form_data_becomes_json_with_types_and_empty_optional_parts_left_out() -> None:
    form = {
        "name": ["  c1 "],
        "inputs/name": ["Ada"],
        "inputs/age": ["36"],
        "inputs/mood": [""],
        "inputs/address/city": [""],
        "inputs/address/zip_code": [""],
        "inputs/nicknames/#": ["2"],
        "inputs/nicknames/0": ["countess"],
        "inputs/nicknames/1": ["enchantress"],
        "inputs/extra": ['{"a": 1}'],
        "expected_output": ['"fine"'],
        "metadata": [""],
        "tags": ["a, b, a,,"],
    }
    data, _, errors = read_form(pydantic_dataset(), form)
    assert errors == {}
    assert data == {
        "name": "c1",
        "inputs": {"name": "Ada", "age": 36, "nicknames": ["countess", "enchantress"], "extra": {"a": 1}},
        "expected_output": "fine",
        "tags": ["a", "b"],
    }


def test_conversion_errors_and_missing_required_fields_are_reported_by_field() -> None:
    form = {"inputs/name": [""], "inputs/age": ["3.5"], "inputs/address/city": ["Paris"], "expected_output": ["{oops"]}
    _, shape, errors = read_form(pydantic_dataset(), form)
    assert errors["inputs/name"] == "This field is required."
    assert errors["inputs/age"] == "Enter a whole number."
    assert errors["expected_output"].startswith("Invalid JSON")
    assert shape.fields[0].children[3].children[0].value == "Paris"  # what was typed comes back


def test_server_violations_land_on_the_field_or_its_nearest_ancestor() -> None:
    form = build_form(pydantic_dataset())
    slots = form.slots()
    assert slot_for("inputs/address/city", slots) == "inputs/address/city"
    assert slot_for("inputs/extra/a", slots) == "inputs/extra"
    assert slot_for("metadata/deep/er", slots) == "metadata"
    violation = Violation(case_index=None, case_name=None, field="inputs", pointer="/age", message="too old")
    form.with_errors({}, [violation])
    assert form.fields[0].children[1].error == "too old"


def test_enums_and_booleans_are_choices() -> None:
    schema = {
        "type": "object",
        "properties": {"level": {"enum": ["easy", "hard"]}, "ok": {"type": "boolean"}, "n": {"const": 3}},
        "required": ["level", "ok"],
    }
    dataset = {"input_schema": schema}
    level = build_form(dataset).fields[0].children[0]
    assert level.kind == "enum" and level.options == [('"easy"', "easy"), ('"hard"', "hard")]
    data, _, errors = read_form(dataset, {"inputs/level": ['"hard"'], "inputs/ok": ["false"], "inputs/n": ["3"]})
    assert errors == {} and data["inputs"] == {"level": "hard", "ok": False, "n": 3}


def test_array_buttons_add_and_remove_items() -> None:
    dataset = pydantic_dataset()
    form = {"inputs/nicknames/#": ["2"], "inputs/nicknames/0": ["a"], "inputs/nicknames/1": ["b"]}
    _, shape, _ = read_form(dataset, form)
    assert apply_action(shape, "remove:inputs/nicknames/0")
    items = shape.fields[0].children[4].children
    assert [(i.name, i.value) for i in items] == [("inputs/nicknames/0", "b")]
    assert apply_action(shape, "add:inputs/nicknames")
    assert [i.name for i in shape.fields[0].children[4].children] == ["inputs/nicknames/0", "inputs/nicknames/1"]
    assert not apply_action(shape, "add:inputs/nowhere")


def test_json_mode_edits_everything_as_json() -> None:
    form = build_form(pydantic_dataset(), {"inputs": {"name": "x"}, "version": 4}, mode="json")
    assert [f.kind for f in form.fields] == ["json", "json", "json"] and form.version == 4
    assert '"name": "x"' in form.fields[0].value
