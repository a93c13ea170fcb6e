"""`evalset push` / `pull` as an operator meets them, as real subprocesses: tags round trips in every format,
typed creation from the file's `$schema`, chunked versus --atomic pushes, names, CSV mistakes, `--as-of`,
a server that is down, a reader that goes away, and the progress bar on a terminal."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from pydantic_evals import Case, Dataset

from evalset import DatasetsClient
from evalset._serialization import type_to_schema
from tests.conftest import LiveServer
from tests.e2e.conftest import run_cli
from tests.sdk.models import AnswerOutput, CaseMetadata, QuestionInput

Typed = Dataset[QuestionInput, AnswerOutput, CaseMetadata]


def tagged_cases(n: int = 3) -> list[dict[str, object]]:
    # keys deliberately out of alphabetical order: they must come back in the order they were sent
    return [
        {"name": f"c{i}", "inputs": {"z": i, "a": f"q, {i}", "m": {"y": 1, "b": [2, 1]}}, "tags": [f"t{i}", "all"]}
        for i in range(n)
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml", "json"])
def test_pull_push_round_trips_in_every_format(
    cli, key: str, live_server: LiveServer, tmp_path: Path, fmt: str
) -> None:  # noqa: ANN001
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        client.create_dataset("origin")
        client.add_cases("origin", [{k: v for k, v in case.items() if k != "tags"} for case in tagged_cases()])
        for case, stored in zip(tagged_cases(), client.list_cases("origin"), strict=True):
            client.update_case("origin", stored["id"], tags=case["tags"])
        pulled = tmp_path / f"origin.{fmt}"
        code, _, err = cli("pull", "origin", "-o", str(pulled))
        assert code == 0, err
        assert cli("push", str(pulled), "--name", "copy")[0] == 0
        original, copy = client.list_cases("origin"), client.list_cases("copy")
    fields = ("name", "inputs", "expected_output", "metadata", "evaluators")
    assert [{f: c[f] for f in fields} for c in copy] == [{f: c[f] for f in fields} for c in original]
    assert [list(c["inputs"]) for c in copy] == [["z", "a", "m"]] * 3  # key order kept, on both databases
    if fmt in ("jsonl", "csv"):  # tags travel in JSONL and CSV
        assert [c["tags"] for c in copy] == [["t0", "all"], ["t1", "all"], ["t2", "all"]]
        code, _, _ = cli("pull", "copy", "-o", str(tmp_path / f"again.{fmt}"))
        assert (tmp_path / f"again.{fmt}").read_bytes() == pulled.read_bytes()  # byte for byte
    else:  # YAML and JSON stay exactly what Dataset.from_file loads (it forbids extra keys)
        assert [c["tags"] for c in copy] == [[], [], []]
        assert len(Dataset[dict, None, None].from_file(pulled).cases) == 3


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_push_creates_the_dataset_typed_from_the_schema_the_file_names(
    cli,
    key: str,
    live_server: LiveServer,
    tmp_path: Path,
    suffix: str,  # noqa: ANN001
) -> None:
    source = tmp_path / f"typed{suffix}"
    Typed(
        name="typed", cases=[Case(name="q", inputs=QuestionInput("2+2?"), expected_output=AnswerOutput("4", 1.0))]
    ).to_file(source)
    assert (tmp_path / "typed_schema.json").exists()
    code, out, err = cli("push", str(source))
    assert code == 0, err
    assert (
        "Created dataset 'typed', typed from typed_schema.json (input_schema, metadata_schema, output_schema)." in out
    )
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        detail = client.get_dataset("typed")
    # the types' schemas as the file's schema has them (pydantic-evals' file model forbids extra keys)
    assert detail["input_schema"] == {**type_to_schema(QuestionInput), "additionalProperties": False}
    assert detail["output_schema"] == {**type_to_schema(AnswerOutput), "additionalProperties": False}
    assert detail["metadata_schema"] == {**type_to_schema(CaseMetadata), "additionalProperties": False}
    code, out, _ = cli("push", str(source))  # exists now: schemas untouched, and it says so
    assert code == 0 and "its schemas were left as they are" in out

    bad = tmp_path / f"broken{suffix}"
    text = source.read_text()
    data = yaml.safe_load(text) if suffix == ".yaml" else json.loads(text)
    data["cases"][0]["inputs"] = {"question": 42}
    body = yaml.safe_dump(data) if suffix == ".yaml" else json.dumps({"$schema": "typed_schema.json", **data})
    header = "# yaml-language-server: $schema=typed_schema.json\n" if suffix == ".yaml" else ""
    bad.write_text(header + body)
    code, _, err = cli("push", str(bad), "--name", "never-made")
    assert code == 1 and "case 0" in err and "'inputs'" in err and "created by this push and deleted again" in err
    code, out, _ = cli("datasets", "list")
    assert "never-made" not in out


def numbered(n: int, *, bad_at: int) -> str:
    lines = [
        json.dumps({"name": f"n{i}", "inputs": {"question": "q"} if i != bad_at else {"question": 7}}) for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def test_chunked_push_says_so_and_atomic_push_is_all_or_nothing(
    cli,
    key: str,
    live_server: LiveServer,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    help_text = cli("push", "--help")[1]
    assert "chunks of 500" in help_text and "--atomic" in help_text and "all or nothing" in help_text
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        client.create_dataset("chunked", input_type=QuestionInput)
        client.create_dataset("atomic", input_type=QuestionInput)
        source = tmp_path / "cases.jsonl"
        source.write_text(numbered(800, bad_at=700))
        code, _, err = cli("push", str(source), "--name", "chunked")
        assert code == 1
        headline, *rest = err.splitlines()
        assert "case 700 ('n700')" in headline and "case 0" not in headline  # the same index everywhere
        assert any("case 700 ('n700')" in line for line in rest) and "chunk 2 of 2" in err
        assert client.get_dataset("chunked")["case_count"] == 500  # the first chunk stays saved
        code, _, err = cli("push", str(source), "--name", "atomic", "--atomic")
        assert code == 1 and "case 700 ('n700')" in err.splitlines()[0]
        assert client.get_dataset("atomic")["case_count"] == 0


def test_dataset_names_that_are_uuids_are_refused_everywhere(
    cli, key: str, live_server: LiveServer, tmp_path: Path
) -> None:  # noqa: ANN001
    name = str(uuid.uuid4())
    source = tmp_path / "x.jsonl"
    source.write_text('{"inputs": 1}\n')
    code, _, err = cli("push", str(source), "--name", name)
    assert code == 1 and "cannot be a UUID" in err
    with live_server.client(key) as api:
        assert api.get("/v1/datasets/").json() == []  # no stray dataset
        refused = api.post("/v1/datasets/", json={"name": name})
        assert refused.status_code == 422 and "UUID" in refused.json()["detail"]
        assert api.post("/v1/datasets/", json={"name": name.replace("-", "")}).status_code == 422
        assert api.post("/v1/datasets/", json={"name": "ok"}).status_code == 201
        assert api.patch("/v1/datasets/ok/", json={"name": name}).status_code == 422


def test_csv_with_unquoted_json_names_the_column(cli, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "sheet.csv"
    source.write_text('name,inputs,expected_output\nq1,{"question": "a", "context": "b"},yes\n')
    code, _, err = cli("push", str(source))
    assert code == 1
    assert "row 2: column 'inputs' could not be parsed as JSON" in err and "Quote cells" in err
    assert "None" not in err


def test_pull_as_of_before_the_dataset_existed(cli, tmp_path: Path) -> None:  # noqa: ANN001
    source = tmp_path / "late.jsonl"
    source.write_text('{"inputs": 1}\n')
    assert cli("push", str(source))[0] == 0
    code, _, err = cli("pull", "late", "-o", str(tmp_path / "x.yaml"), "--as-of", "2001-01-01T00:00:00Z")
    assert code == 1 and "did not exist yet at 2001-01-01T00:00:00Z: it was created at 20" in err


def test_a_server_that_is_down_and_a_wrong_key(tmp_path: Path, live_server: LiveServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run_cli("datasets", "list", "--api-key", "evalset_x", "--base-url", f"http://127.0.0.1:{port}")
    assert code == 1 and f"cannot reach the evalset server at http://127.0.0.1:{port}/" in err
    assert "`evalset serve`" in err and "--base-url" in err
    code, _, err = run_cli(
        "datasets", "list", "--api-key", "evalset_000000000000_nope", "--base-url", live_server.base_url
    )
    assert code == 1 and "API error 401" in err and "pass --api-key or set EVALSET_API_KEY" in err


def test_a_reader_that_goes_away_is_no_error(cli, key: str, live_server: LiveServer) -> None:  # noqa: ANN001
    with DatasetsClient(api_key=key, base_url=live_server.base_url) as client:
        for n in range(3):
            client.create_dataset(f"d{n}")
    command = [sys.executable, "-m", "evalset.server.cli", "datasets", "list"]
    env = {**os.environ, "EVALSET_API_KEY": key, "EVALSET_BASE_URL": live_server.base_url}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head` does once it has its lines: every write now fails with EPIPE
    err = process.stderr.read().decode()
    process.stderr.close()
    process.wait(60)
    assert err == "" and process.returncode == 141  # quiet, with the status of a Unix tool stopped by SIGPIPE


def test_progress_bar_on_a_terminal_only(key: str, live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    source.write_text(numbered(1500, bad_at=-1))
    env = {**os.environ, "EVALSET_API_KEY": key, "EVALSET_BASE_URL": live_server.base_url}
    command = [sys.executable, "-m", "evalset.server.cli"]
    leader, follower = pty.openpty()  # stderr on a terminal
    try:
        pushed = subprocess.run(
            [*command, "push", str(source)], stderr=follower, stdout=subprocess.PIPE, env=env, timeout=300
        )
        assert pushed.returncode == 0
        os.set_blocking(leader, False)
        screen = os.read(leader, 1 << 20).decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert "Pushing [" in screen and "1,500/1,500 cases" in screen and "cases/s" in screen
    piped = subprocess.run(
        [*command, "pull", "big", "-o", str(tmp_path / "b.yaml")], capture_output=True, text=True, env=env, timeout=300
    )
    assert piped.returncode == 0 and piped.stderr == ""  # not a terminal: no bar
