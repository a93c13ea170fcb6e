"""Dataset files without a server: YAML/JSON as pydantic-evals writes them, JSONL and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import Contains, EqualsExpected, IsInstance

from evalset import files
from tests.sdk.conftest import seed_cases
from tests.sdk.models import AnswerOutput, CaseMetadata, QuestionInput

Typed = Dataset[QuestionInput, AnswerOutput, CaseMetadata]


def local_dataset() -> Dataset[QuestionInput, AnswerOutput, CaseMetadata]:
    cases = seed_cases()
    cases[0].evaluators = [Contains("Paris"), IsInstance("AnswerOutput")]
    return Typed(name="golden", cases=cases, evaluators=[EqualsExpected()])


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_files_written_by_pydantic_evals_are_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"golden{suffix}"
    local_dataset().to_file(path, fmt="yaml" if suffix == ".yml" else None)
    data = files.read_dataset_file(path)
    assert data["name"] == "golden" and "$schema" not in data
    assert data["evaluators"] == [{"name": "EqualsExpected", "arguments": None}]
    assert data["cases"][0]["evaluators"] == [
        {"name": "Contains", "arguments": ["Paris"]},
        {"name": "IsInstance", "arguments": ["AnswerOutput"]},
    ]
    assert data["cases"][1]["inputs"] == {"question": "What is 15 * 23?", "context": None}


@pytest.mark.parametrize("fmt", files.FORMATS)
def test_written_files_read_back_the_same(tmp_path: Path, fmt: files.Format) -> None:
    original = files.read_dataset_file(_written(tmp_path, "yaml"))
    path = tmp_path / f"copy.{fmt}"
    files.write_dataset_file(original, path)
    again = files.read_dataset_file(path)
    assert [{"evaluators": [], **case} for case in again["cases"]] == original["cases"]  # CSV: empty cell, no key
    if fmt in ("yaml", "json"):
        assert again == original
        assert Typed.from_file(path).cases == local_dataset().cases
    else:
        assert again["name"] == "copy"  # JSONL/CSV hold cases only: the name comes from the file


def _written(tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"golden.{fmt}"
    local_dataset().to_file(path)
    return path


def test_pulled_yaml_looks_like_to_file_output(tmp_path: Path) -> None:
    original = files.read_dataset_file(_written(tmp_path, "yaml"))
    text = files.format_dataset(original, "yaml")
    assert text.startswith("name: golden\ncases:\n- name: capital-question\n  inputs:\n")
    assert "evaluators:\n  - Contains: Paris\n  - IsInstance: AnswerOutput\n" in text
    assert text.endswith("evaluators:\n- EqualsExpected\nreport_evaluators: []\n")


def test_jsonl_and_csv_cells(tmp_path: Path) -> None:
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text(
        '{"name": "a", "inputs": {"q": 1}, "tags": ["x"]}\n\n{"inputs": "plain", "evaluators": ["EqualsExpected"]}\n'
    )
    data = files.read_dataset_file(jsonl)
    assert data == {
        "name": "cases",
        "cases": [
            {"name": "a", "inputs": {"q": 1}, "tags": ["x"]},
            {"inputs": "plain", "evaluators": [{"name": "EqualsExpected", "arguments": None}]},
        ],
    }
    csv_path = tmp_path / "cases.csv"
    csv_path.write_text(
        "name,inputs,expected_output,metadata,evaluators\n"
        'q1,"{""question"": ""2+2?""}",4,,\n'
        ',free text here,"""4""","{""level"": 1}","[{""Contains"": ""4""}]"\n'
    )
    rows = files.read_dataset_file(csv_path)["cases"]
    assert rows[0] == {"name": "q1", "inputs": {"question": "2+2?"}, "expected_output": 4}
    assert rows[1] == {
        "inputs": "free text here",
        "expected_output": "4",
        "metadata": {"level": 1},
        "evaluators": [{"name": "Contains", "arguments": ["4"]}],
    }
    text = files.format_dataset(
        {"name": "x", "cases": [{"name": "s", "inputs": "123", "expected_output": None}]}, "csv"
    )
    assert text == 'name,inputs,metadata,expected_output,evaluators,tags\ns,"""123""",,,,\n'
    assert files.parse_dataset(text, "csv")["cases"] == [{"name": "s", "inputs": "123"}]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"inputs": 1}\n{oops\n', r"bad.jsonl:line 2: not valid JSON"),
        ("bad.jsonl", '{"input": 1}\n', r"line 1: a case must be a mapping with an 'inputs' key"),
        ("bad.csv", "name,question\na,b\n", r"needs an 'inputs' column"),
        ("bad.csv", "name,inputs\na,\n", r"bad.csv:row 2: the 'inputs' cell is empty"),
        ("bad.yaml", "cases: [\n", r"bad.yaml: not valid YAML"),
        ("bad.yaml", "- 1\n", r"expected a mapping with a 'cases' list"),
        ("bad.json", '{"cases": [], "id": 1}', r"unknown top-level keys \['id'\]"),
        ("bad.json", '{"cases": [{"inputs": 1, "version": 2}]}', r"case 0: unknown case keys \['version'\]"),
        ("bad.json", '{"cases": [], "evaluators": [{"a": 1, "b": 2}]}', r"Cannot read evaluator spec"),
        ("bad.txt", "", r"Cannot tell the format of .*bad.txt"),
    ],
)
def test_bad_files_say_where(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        files.read_dataset_file(path)


def test_format_override(tmp_path: Path) -> None:
    path = tmp_path / "cases.txt"
    path.write_text('{"inputs": 1}\n')
    assert files.read_dataset_file(path, fmt="jsonl")["cases"] == [{"inputs": 1}]
    assert files.file_format("x.YML") == "yaml"
    unnamed = Case(inputs=QuestionInput("q"))
    assert unnamed.name is None


def test_the_command_line_offers_every_file_format() -> None:
    from evalset import _cli

    assert _cli.FORMATS == files.FORMATS  # repeated there so that the CLI starts without the file modules
