"""The SDK's YAML shortcuts give exactly what PyYAML gives: `load` what `yaml.load(CSafeLoader)` (and so
`yaml.safe_load` and `Dataset.from_file`) loads, `dump_cases` what `yaml.dump(CSafeDumper)` writes."""

from __future__ import annotations

import datetime
import gc
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalset import _yaml, _yaml_writer, files

LOADERS = [yaml.CSafeLoader, yaml.SafeLoader]
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Plain scalars that YAML 1.1 (PyYAML) reads as something other than a string, or that look close to one.
TRICKY = [
    *("yes", "Yes", "YES", "no", "No", "NO", "on", "On", "off", "OFF", "y", "n", "true", "False", "TRUE"),
    *("null", "Null", "NULL", "~", "", "nil", "None"),
    *("010", "0o17", "0x1F", "0b101", "1_000", "+1", "-1", "1:20", "190:20:30", "-0", "00", "0", "08", "09"),
    *("1e3", "1.0e+3", "1e+3", "1.5", ".5", "5.", "1_0.5", "6.8523015e+5", ".inf", "-.Inf", "+.INF", ".NaN", ".nan"),
    *("2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2002-12-14 21:59:43.10"),
    *("<<", "=", ":", "- x", "#", "a #b", "a: b", "&a", "*a", "!t", "%", "@", "`", "|", ">", "?", "-", "---", "..."),
    *(" lead", "trail ", "a\nb", "a\tb", "\t", "é", "日本", "\x85", "\u2028", "\ufeff", "\x7f", "x" * 200),
]


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (so True is not 1, and NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        keys_same = list(a) == list(b) and all(same(key, other) for key, other in zip(a, b, strict=True))
        return keys_same and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def outcome(function: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", function(text)
    except yaml.YAMLError as exc:
        return type(exc).__name__, None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:  # from PyYAML's constructors too
        return type(exc).__name__, None


def assert_loads_like_pyyaml(text: str) -> None:
    expected = outcome(lambda t: yaml.load(t, Loader=yaml.CSafeLoader), text)
    got = outcome(_yaml.load, text)
    assert got[0] == expected[0], (text, got, expected)
    assert same(got[1], expected[1]), (text, got, expected)


def test_load_bench_shaped_file() -> None:
    cases = [
        {
            "name": f"c{i:06d}",
            "inputs": {"question": f"what is {i}?", "context": "word " * 30},
            "expected_output": {"answer": str(i), "confidence": i / 7},
            "metadata": {"category": "yes", "difficulty": None, "when": datetime.date(2001, 12, 14)},
            "evaluators": ["EqualsExpected", {"Contains": "x"}],
        }
        for i in range(300)
    ]
    text = yaml.dump({"name": "d", "cases": cases}, Dumper=yaml.CSafeDumper, sort_keys=False)
    assert same(_yaml.load(text), yaml.safe_load(text))


@pytest.mark.parametrize("scalar", TRICKY)
def test_load_tricky_scalars(scalar: str) -> None:
    quoted = yaml.dump(scalar, Dumper=yaml.CSafeDumper)
    for text in (scalar, f"k: {scalar}\n", f"{scalar}: v\n", f"- {scalar}\n", f"[{scalar}, 1]", quoted):
        assert_loads_like_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",  # merge key
        "a: &l [1, 2]\nb: *l\n",  # alias of a collection: PyYAML shares the object
        "a: &s x\nb: *s\n",
        "!!set {a, b}",
        "!!omap [a: 1, b: 2]",
        "!!binary aGVsbG8=",
        "!!str 1",
        "!!int '7'",
        "!!float '1'",
        "!custom x",
        "!!python/object:os.system x",
        "? [1, 2]\n: v\n",  # unhashable key: PyYAML refuses it
        "? {a: 1}\n: v\n",
        "=: v\n",
        "k: =\n",
        "{2001-12-14: d, 1.5: f, null: n, yes: b, 010: o}",
        "--- a\n--- b\n",  # two documents: refused
        "",
        "# only a comment\n",
        "a: [1, {b: c}\n",  # broken
        "%YAML 1.1\n--- !!map\n? a\n: b\n",
        "'yes': \"no\"\n",
        "x: !!timestamp 2001-12-14\n",
        "x: !!bool yes\n",
        "x: !!null ''\n",
    ],
)
def test_load_unusual_documents(text: str) -> None:
    assert_loads_like_pyyaml(text)


def test_load_shares_aliased_objects_like_pyyaml() -> None:
    data = _yaml.load("a: &l [1, 2]\nb: *l\n")
    assert data["a"] is data["b"]
    recursive = _yaml.load("&r [*r, 1]")
    assert recursive[0] is recursive and recursive[1] == 1


def test_load_leaves_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    _yaml.load("a: 1\n")
    assert gc.isenabled()
    gc.disable()
    try:
        _yaml.load("a: 1\n")
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(yaml.YAMLError):
        _yaml.load("a: [")
    assert gc.isenabled()


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(TRICKY) | st.text(max_size=8), inner),
    max_leaves=25,
)


@PROPERTY
@given(json_values, st.sampled_from([None, False, True]), st.booleans(), st.sampled_from([20, 80]))
def test_load_dumped_values(value: Any, flow: bool | None, canonical: bool, width: int) -> None:
    text = yaml.dump(value, Dumper=yaml.CSafeDumper, default_flow_style=flow, canonical=canonical, width=width)
    assert_loads_like_pyyaml(text)


FRAGMENTS = [
    *TRICKY,
    *("a", "b", "1", "k: ", ": ", "- ", "? ", "\n", "\n  ", "\n    ", "  ", "{", "}", "[", "]", ", "),
    *("&x ", "*x", "&y ", "*y", "<<: ", "!!str ", "!!int ", "!!set ", "!!map ", "!!seq ", "!!float ", "!x "),
    *("'q'", '"d\\n"', "|\n  lit\n", ">\n  fold\n", "# c\n", "--- ", "\n...\n"),
]


@PROPERTY
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_load_any_text(fragments: list[str]) -> None:
    assert_loads_like_pyyaml("".join(fragments))


def dumped(value: Any) -> str:
    return yaml.dump(value, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)


def assert_written_like_pyyaml(cases: list[Any]) -> None:
    text = _yaml_writer.dump_cases(cases)
    assert text == dumped(cases)
    for loader in LOADERS:
        assert same(yaml.load(text, Loader=loader), cases)


words = st.sampled_from(["a", "word", "x" * 30, "é", "日本", "'", '"', "\\", ":", "#", "-", "  ", " ", "\n", "\u2028"])
long_strings = st.lists(words | st.sampled_from(TRICKY), min_size=10, max_size=60).map(" ".join)
strings = st.sampled_from(TRICKY) | st.text(max_size=40) | long_strings
keys = st.sampled_from(TRICKY) | st.text(max_size=12) | st.sampled_from(["inputs", "x" * 127, "é" * 70])
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | strings,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


@pytest.mark.parametrize("scalar", TRICKY)
def test_dump_tricky_scalars(scalar: str) -> None:
    for cases in ([scalar], [{scalar: scalar}], [{"k": [scalar, {"n": scalar}]}], [[scalar, [scalar]]]):
        assert_written_like_pyyaml(cases)


@pytest.mark.parametrize("number", [0, -1, 10**30, 1.5, -0.0, 1e17, 1e-5, 1e300, float("inf"), -float("inf"), 0.1])
def test_dump_numbers(number: float) -> None:
    assert_written_like_pyyaml([number, {"n": number}, [number], float("nan")])


def test_dump_leaves_unusual_data_to_pyyaml() -> None:
    shared = {"a": 1}
    assert _yaml_writer.dump_cases([shared, shared]) == dumped([shared, shared])  # an anchor and an alias
    for cases in ([{1: "int key"}], [{"k": (1, 2)}], [{"x" * 129: 1}], [{"a\nb": 1}], [datetime.date(2001, 12, 14)]):
        assert _yaml_writer.dump_cases(cases) == dumped(cases)
    assert _yaml_writer.dump_cases([]) == "[]\n"


@PROPERTY
@given(st.lists(values, min_size=1, max_size=5))
def test_dump_any_json_data(cases: list[Any]) -> None:
    assert_written_like_pyyaml(cases)


@PROPERTY
@given(st.lists(st.dictionaries(keys, strings, min_size=1), min_size=1, max_size=3))
def test_dump_folded_strings(cases: list[Any]) -> None:
    assert_written_like_pyyaml(cases)


@pytest.mark.parametrize("style", ["plain", "'yes' ", "#single ", "line\nbreak ", "\ttab "])
@pytest.mark.parametrize("spaces", [" ", "  ", "   "])
def test_dump_folds_long_strings_at_every_column(style: str, spaces: str) -> None:
    prefix = "" if style == "plain" else style
    text = spaces.join(["word", "xy", "'q'", "\\"] * 12)
    cases = [{"k": prefix + "a" * offset + text, "key" * offset: [prefix + "b" * offset]} for offset in range(12)]
    assert_written_like_pyyaml(cases)


def test_pulled_file_is_what_pyyaml_writes_and_from_file_loads(tmp_path: Path) -> None:
    from pydantic_evals import Dataset

    cases = [
        {
            "name": f"case-{index}",
            "inputs": {"text": scalar, "long": (scalar + " word") * 20, "list": [scalar, 1.5, None, True]},
            "metadata": {scalar or "empty": index},
            "expected_output": scalar,
            "evaluators": [],
        }
        for index, scalar in enumerate(TRICKY)
    ]
    data = {"name": "tricky", "cases": cases, "evaluators": [], "report_evaluators": []}
    path = tmp_path / "tricky.yaml"
    files.write_dataset_file(data, path)
    text = path.read_text(encoding="utf-8")
    assert text == dumped(data)  # written in pieces, the same bytes as the whole document dumped at once
    assert same(yaml.safe_load(text), data)
    loaded = Dataset[Any, Any, Any].from_file(path)
    assert [(case.name, case.inputs, case.metadata, case.expected_output) for case in loaded.cases] == [
        (case["name"], case["inputs"], case["metadata"], case["expected_output"]) for case in cases
    ]
    assert same(files.read_dataset_file(path)["cases"], cases)


def test_registered_constructors_and_representers_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever registers their own constructor or representer on PyYAML's safe classes gets PyYAML's path."""

    def shout(loader: Any, node: Any) -> str:
        return str(node.value).upper()

    def literal(dumper: Any, value: str) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    constructors = {**yaml.constructor.SafeConstructor.yaml_constructors, "tag:yaml.org,2002:str": shout}
    monkeypatch.setattr(yaml.constructor.SafeConstructor, "yaml_constructors", constructors)
    assert _yaml.load("a: b\n") == {"A": "B"} == yaml.load("a: b\n", Loader=yaml.CSafeLoader)
    monkeypatch.undo()

    representers = {**yaml.representer.SafeRepresenter.yaml_representers, str: literal}
    monkeypatch.setattr(yaml.representer.SafeRepresenter, "yaml_representers", representers)
    cases = [{"text": "two\nlines"}]
    assert _yaml_writer.dump_cases(cases) == dumped(cases) == "- text: |-\n    two\n    lines\n"


@PROPERTY
@given(
    st.lists(st.dictionaries(keys, values, min_size=1, max_size=4), max_size=4),
    st.dictionaries(keys, values, max_size=3),
)
def test_dump_document_is_what_pyyaml_writes_for_the_whole_document(cases: list[Any], rest: dict[str, Any]) -> None:
    document = {"name": "ds", "cases": cases, **{key: value for key, value in rest.items() if key != "cases"}}
    assert _yaml_writer.dump_document(document) == _yaml.dump(document)
