"""docs/sdk.md runs: its Python blocks in order in one session, and its `evalset` commands through the CLI."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any

import pytest

from evalset import DatasetsClient
from evalset.server.cli import main
from tests.sdk.docblocks import doc_module, python_blocks, run_block

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"


def _for_this_server(code: str, connect: dict[str, Any]) -> str:
    for quote in "'\"":
        code = code.replace(f"{quote}your-api-key{quote}", repr(connect["api_key"]))
        code = code.replace(f"{quote}http://127.0.0.1:8000{quote}", repr(connect["base_url"]))
    return code


def test_the_sdk_page_runs_top_to_bottom(connect: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(DOC)
    assert len(blocks) >= 10
    with doc_module("sdk_doc") as namespace:
        for block in blocks:
            run_block(_for_this_server(block.code, connect), namespace, block.id)
        assert asyncio.run(namespace["count_datasets"]()) == 2  # the async example, called
    out = capsys.readouterr().out
    assert "Created dataset: qa-golden-set (ID: " in out
    assert "1200/1200" in out and "Evaluation Summary" in out
    assert "case 0 ('bad'), field 'inputs' at '/question'" in out
    assert "Dataset not found ('no-such-dataset')" in out


def test_the_cli_commands_of_the_page_run(
    connect: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic_evals import Case, Dataset

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVALSET_API_KEY", connect["api_key"])
    monkeypatch.setenv("EVALSET_BASE_URL", connect["base_url"])
    Dataset[str, str, None](name="golden", cases=[Case(name="a", inputs="hi", expected_output="HI")]).to_file(
        "golden.yaml", schema_path=None
    )
    text = DOC.read_text()
    commands = [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("evalset ")]
    runnable = [shlex.split(c)[1:] for c in commands if shlex.split(c)[1] in ("push", "pull", "datasets")]
    assert len(runnable) == 4
    for argv in runnable:
        assert main(argv) == 0, argv
    assert Dataset[str, str, None].from_file("pulled.yaml").cases[0].expected_output == "HI"
    with DatasetsClient() as client:
        assert client.get_dataset("qa-golden-set")["case_count"] == 1
