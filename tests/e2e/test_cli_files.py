"""`evalset push` / `evalset pull` / `evalset datasets list`: files go up and come back as pydantic-evals loads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import Contains, EqualsExpected, IsInstance

from evalset import DatasetsClient, files
from tests.conftest import LiveServer
from tests.sdk.conftest import seed_cases
from tests.sdk.models import AnswerOutput, CaseMetadata, QuestionInput

Typed = Dataset[QuestionInput, AnswerOutput, CaseMetadata]


def golden() -> Dataset[QuestionInput, AnswerOutput, CaseMetadata]:
    cases = seed_cases()
    cases[0].evaluators = [Contains("Paris")]
    cases.append(Case(inputs=QuestionInput("Unnamed?", context="ctx"), metadata=CaseMetadata("misc", "hard", True)))
    return Typed(name="golden", cases=cases, evaluators=[EqualsExpected(), IsInstance("AnswerOutput")])


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_push_then_pull_round_trips_through_from_file(cli, tmp_path: Path, suffix: str) -> None:  # noqa: ANN001
    source = tmp_path / f"golden{suffix}"
    golden().to_file(source)
    code, out, err = cli("push", str(source))
    assert code == 0, err
    assert "Pushed 4 case(s)" in out and "dataset 'golden'" in out and "4 cases in total" in out

    code, out, err = cli("pull", "golden", "-o", str(tmp_path / f"pulled{suffix}"))
    assert (code, err) == (0, "") and "Wrote 4 case(s)" in out
    pulled = Typed.from_file(tmp_path / f"pulled{suffix}")
    assert pulled.name == "golden"
    assert pulled.cases == golden().cases and pulled.evaluators == golden().evaluators


def test_pushing_a_file_twice_changes_nothing(cli, live_server: LiveServer, key: str, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "golden.yaml"
    golden().to_file(source)
    assert cli("push", str(source), "--name", "twice", "--description", "from a file")[0] == 0
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        before = client.list_cases("twice")
        assert cli("push", str(source), "--name", "twice")[0] == 0
        assert client.list_cases("twice") == before
        assert client.get_dataset("twice")["description"] == "from a file"
    code, _, err = cli("push", str(source), "--name", "twice", "--on-conflict", "error")
    assert code == 1 and "API error 409" in err


def test_jsonl_and_csv_push_and_pull(cli, tmp_path: Path) -> None:  # noqa: ANN001
    yaml_file = tmp_path / "golden.yaml"
    golden().to_file(yaml_file)
    assert cli("push", str(yaml_file))[0] == 0

    for fmt in ("jsonl", "csv"):
        exported = tmp_path / f"golden.{fmt}"
        code, _, err = cli("pull", "golden", "-o", str(exported))
        assert code == 0 and "dataset-level evaluators were not written" in err
        code, out, err = cli("push", str(exported), "--name", f"from-{fmt}")
        assert code == 0, err
        assert f"dataset 'from-{fmt}'" in out

        back = tmp_path / f"from-{fmt}.yaml"
        assert cli("pull", f"from-{fmt}", "-o", str(back))[0] == 0
        assert Typed.from_file(back).cases == golden().cases

    lines = (tmp_path / "golden.jsonl").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith('{"name": "capital-question", "inputs": {')
    assert json.loads(lines[0])["evaluators"] == [{"Contains": "Paris"}]  # the short form, as in YAML files
    rows = (tmp_path / "golden.csv").read_text().splitlines()
    assert rows[0] == "name,inputs,metadata,expected_output,evaluators,tags" and len(rows) == 5


def test_a_hand_written_jsonl_file_is_pushed_with_its_stem_as_name(cli, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "support-tickets.jsonl"
    source.write_text(
        '{"name": "t1", "inputs": {"text": "refund please"}, "expected_output": "refund", "tags": ["billing"]}\n'
        '{"inputs": {"text": "hello"}, "expected_output": "other"}\n'
    )
    code, out, err = cli("push", str(source))
    assert code == 0, err and "support-tickets" in out
    code, out, _ = cli("datasets", "list")
    assert code == 0
    (line,) = out.splitlines()
    name, count, dataset_id, description = line.split("\t")
    assert (name, count, description) == ("support-tickets", "2 cases", "") and len(dataset_id) == 36


def test_errors_are_one_readable_line(cli, tmp_path: Path) -> None:  # noqa: ANN001
    code, _, err = cli("pull", "missing", "-o", str(tmp_path / "x.yaml"))
    assert code == 1 and err.startswith("evalset pull: Dataset not found ('missing')")
    assert "`evalset datasets list` shows" in err and "list_datasets()" not in err  # hints in CLI words
    code, _, err = cli("push", str(tmp_path / "nope.yaml"))
    assert code == 1 and "No such file" in err
    (tmp_path / "bad name.jsonl").write_text('{"inputs": 1}\n')
    code, _, err = cli("push", str(tmp_path / "bad name.jsonl"))
    assert code == 1 and "Invalid dataset name 'bad name'" in err and "choose a name with --name NAME" in err
    code, _, err = cli("pull", "x", "-o", str(tmp_path / "x.txt"))
    assert code == 1 and "Cannot tell the format" in err


def test_the_command_reads_key_and_url_from_the_environment(live_server: LiveServer, key: str, tmp_path: Path) -> None:
    source = tmp_path / "envset.yaml"
    golden().to_file(source)
    env = {**os.environ, "EVALSET_API_KEY": key, "EVALSET_BASE_URL": live_server.base_url}
    command = [sys.executable, "-m", "evalset.server.cli"]
    pushed = subprocess.run([*command, "push", str(source)], env=env, capture_output=True, text=True, timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    listed = subprocess.run([*command, "datasets", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.stdout.startswith("golden\t4 cases\t")  # the name inside the file wins over its stem

    env.pop("EVALSET_API_KEY")
    missing = subprocess.run([*command, "datasets", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no API key: pass --api-key KEY or set EVALSET_API_KEY" in missing.stderr


def test_format_helpers_match_the_cli(tmp_path: Path) -> None:
    assert files.file_format(tmp_path / "a.csv") == "csv"


def test_pull_as_of_writes_the_past(cli, live_server: LiveServer, key: str, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "golden.yaml"
    golden().to_file(source)
    assert cli("push", str(source))[0] == 0
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        (first, *_) = client.list_cases("golden")
        client.update_case("golden", first["id"], expected_output=AnswerOutput("Lyon", 0.2))
        (created, *_) = client.get_case_history("golden", first["id"])
    assert cli("pull", "golden", "-o", str(tmp_path / "then.yaml"), "--as-of", created["at"].isoformat())[0] == 0
    assert cli("pull", "golden", "-o", str(tmp_path / "now.yaml"))[0] == 0
    assert Typed.from_file(tmp_path / "then.yaml").cases == golden().cases
    assert Typed.from_file(tmp_path / "now.yaml").cases[0].expected_output == AnswerOutput("Lyon", 0.2)
