"""The README's Python examples run, in order, against the live server (with `KEY` and its URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sdk.docblocks import doc_module, python_blocks, run_block

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_examples_run(connect: dict[str, Any]) -> None:
    blocks = python_blocks(README)
    assert len(blocks) == 2  # Logfire's client against evalset, then our SDK
    with doc_module("readme") as namespace:
        namespace["KEY"] = connect["api_key"]
        for block in blocks:
            code = block.code.replace("'http://127.0.0.1:8000'", repr(connect["base_url"]))
            run_block(code, namespace, block.id)
        dataset = namespace["dataset"]
    assert [case.name for case in dataset.cases] == ["q1"]
    assert type(dataset.cases[0].inputs).__name__ == "QuestionInput"
    assert dataset.cases[0].expected_output.answer == "4"
