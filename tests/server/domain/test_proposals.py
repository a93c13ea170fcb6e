"""Pure rules for traces: what a span proposes for a case, JSON paths, the search syntax, logfire values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest

from evalset.server.domain.proposals import PathError, apply_mapping, propose, resolve_path, snapshot, user_attributes
from evalset.server.domain.spans import SpanRecord
from evalset.server.domain.traces import TraceSearch, from_ns, parse_search, to_ns
from evalset.server.otlp.decode import decode_attributes

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def span(attributes: dict[str, Any], name: str = "span") -> SpanRecord:
    return SpanRecord(
        trace_id="1" * 32,
        span_id="2" * 16,
        parent_span_id=None,
        name=name,
        start_time=T0,
        end_time=T0,
        attributes=attributes,
    )


def test_pydantic_evals_case_span() -> None:
    p = propose(
        span({"case_name": "c", "inputs": {"q": 1}, "expected_output": "e", "output": "o", "metadata": {"m": 1}})
    )
    assert (p.rule, p.inputs, p.expected_output, p.metadata) == ("pydantic-evals case", {"q": 1}, "e", {"m": 1})
    without_expected = propose(span({"case_name": "c", "inputs": 1, "expected_output": None, "output": "o"}))
    assert without_expected.expected_output == "o" and without_expected.sources["expected_output"] == "$.output"
    assert p.name == "c"  # the case's name is proposed too
    repeated = {"case_name": "c [2/3]", "logfire.experiment.source_case_name": "c", "inputs": 1}
    assert propose(span(repeated)).name == "c"  # a repeat proposes the dataset case's name
    assert propose(span({"input.value": "x"})).name is None


def test_pydantic_ai_agent_run_and_gen_ai() -> None:
    messages = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    run = propose(span({"final_result": {"answer": 4}, "pydantic_ai.all_messages": messages, "model_name": "m"}))
    assert (run.rule, run.inputs, run.expected_output, run.metadata) == (
        "pydantic-ai agent run",
        messages,
        {"answer": 4},
        {"model_name": "m"},
    )
    chat = propose(
        span({"gen_ai.input.messages": messages, "gen_ai.output.messages": ["x"], "gen_ai.request.model": "g"})
    )
    assert (chat.rule, chat.inputs, chat.expected_output) == ("gen_ai", messages, ["x"])
    assert chat.metadata == {"gen_ai.request.model": "g"}
    assert chat.sources["inputs"] == '$["gen_ai.input.messages"]'


def test_openinference_parses_json_values() -> None:
    p = propose(span({"input.value": '{"q": 1}', "input.mime_type": "application/json", "output.value": "plain text"}))
    assert (p.rule, p.inputs, p.expected_output) == ("openinference", {"q": 1}, "plain text")
    broken = propose(span({"input.value": "{not", "input.mime_type": "application/json"}))
    assert broken.inputs == "{not"


def test_logfire_instrument_arguments_and_return() -> None:
    attributes = {
        "code.function": "add",
        "code.filepath": "x.py",
        "logfire.msg_template": "add {a}",
        "logfire.msg": "add 1",
        "logfire.json_schema": "{}",
        "a": 1,
        "b": [2],
        "return": 3,
    }
    p = propose(span(attributes))
    assert (p.rule, p.inputs, p.expected_output, p.metadata) == ("logfire.instrument", {"a": 1, "b": [2]}, 3, None)


def test_anything_else_proposes_its_own_attributes() -> None:
    p = propose(span({"http.route": "/x", "logfire.span_type": "span", "service.instance": "i", "user": "u"}))
    assert (p.rule, p.inputs, p.expected_output) == ("attributes", {"http.route": "/x", "user": "u"}, None)
    assert user_attributes({"logfire.msg": "m", "otel.scope": "s", "k": 1}) == {"k": 1}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", {"gen_ai.input.messages": [{"content": "hi"}], "a": {"b": [1, {"c": 2}]}, "x.y": 1}),
        ("$.a.b[1].c", 2),
        ('$["a"]["b"][0]', 1),
        ("$['a']", {"b": [1, {"c": 2}]}),
        ("$.gen_ai.input.messages[0].content", "hi"),
        ('$["gen_ai.input.messages"][0]', {"content": "hi"}),
        ("$.x.y", 1),
    ],
)
def test_json_paths(path: str, expected: Any) -> None:
    attributes = {"gen_ai.input.messages": [{"content": "hi"}], "a": {"b": [1, {"c": 2}]}, "x.y": 1}
    assert resolve_path(attributes, path) == expected


@pytest.mark.parametrize("path", ["a.b", "$.a.b[5]", "$.missing", "$.a[0]", "$[", "$.a.b[x]"])
def test_bad_json_paths_say_where(path: str) -> None:
    with pytest.raises(PathError) as error:
        resolve_path({"a": {"b": [1]}}, path)
    assert path in str(error.value) or "starts with '$'" in str(error.value)


def test_mapping_per_field() -> None:
    s = span({"case_name": "c", "inputs": {"q": [1, 2]}, "expected_output": "e", "extra": 5})
    assert apply_mapping(s) == {"inputs": {"q": [1, 2]}, "expected_output": "e", "metadata": None}
    mapped = apply_mapping(s, {"inputs": "$.inputs.q[1]", "expected_output": "none", "metadata": "attributes"})
    assert mapped == {"inputs": 2, "expected_output": None, "metadata": dict(s.attributes)}
    with pytest.raises(ValueError, match="outputs"):
        apply_mapping(s, {"outputs": "auto"})


def test_snapshot_keeps_what_identifies_the_span() -> None:
    kept = snapshot(span({"k": [1]}, name="work"))
    assert kept["name"] == "work" and kept["attributes"] == {"k": [1]} and kept["start_time"] == T0
    assert set(kept) >= {"trace_id", "span_id", "parent_span_id", "end_time", "status", "service_name"}


def test_search_syntax() -> None:
    assert parse_search("") == TraceSearch() and parse_search("").empty
    assert parse_search("chat completion") == TraceSearch(text="chat completion")
    assert parse_search('service:api name:"GET /x" attr:user.id=42 slow') == TraceSearch(
        text="slow", service="api", span_name="GET /x", attribute="user.id", attribute_value="42"
    )
    assert parse_search("attr:flag") == TraceSearch(attribute="flag")
    assert parse_search("attribute:k=a=b").attribute_value == "a=b"
    assert parse_search('"unclosed').text == '"unclosed'
    assert parse_search("http://x").text == "http://x"  # an unknown prefix is plain text


def test_nanoseconds_round_trip_to_the_microsecond() -> None:
    assert from_ns(to_ns(T0)) == T0
    assert to_ns(T0) % 1000 == 0


def test_logfire_json_values_are_decoded_by_their_schema() -> None:
    properties = {"model": {"type": "object"}, "items": {"type": "array"}, "plain": {}, "broken": {"type": "object"}}
    attributes: dict[str, Any] = {
        "logfire.json_schema": orjson.dumps({"type": "object", "properties": properties}).decode(),
        "model": '{"a": 1}',
        "items": "[1, 2]",
        "plain": "[not decoded]",
        "broken": "{oops",
        "other": "[1]",
    }
    decoded = decode_attributes(dict(attributes))
    assert decoded["model"] == {"a": 1} and decoded["items"] == [1, 2]
    assert decoded["plain"] == "[not decoded]" and decoded["broken"] == "{oops" and decoded["other"] == "[1]"
    assert decode_attributes({"logfire.json_schema": "not json", "x": "1"}) == {
        "logfire.json_schema": "not json",
        "x": "1",
    }
