"""Every Python example of the two seed docs (Logfire's managed-datasets pages, copied in `seed_docs/`) runs
against evalset after changing only its import line and pointing it at the server (`base_url=`).

The docs' snippets share context the way a reader's session would (an open `client`, the dataclasses, a
'qa-golden-set' with cases), so each block runs in a fresh project prepared with that context; the
placeholder `'some-case-uuid'` becomes the id of a real case.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_evals import Case, Dataset

from evalset import DatasetsClient
from tests.sdk import models
from tests.sdk.conftest import seed_cases
from tests.sdk.docblocks import Block, doc_module, imports_of, python_blocks, run_block

SEED_DOCS = Path(__file__).parent / "seed_docs"
BLOCKS = [block for doc in sorted(SEED_DOCS.glob("*.md")) for block in python_blocks(doc)]
TAGS = {"capital-question": ["geography", "easy"], "math-question": ["math"], "science-question": ["science"]}


def rewrite(code: str) -> str:
    """The only edits a user makes: the import line, the server URL, and a real case id for the placeholder."""
    code = re.sub(r"from logfire(\.experimental)?\.datasets import", "from evalset import", code)
    code = code.replace("api_key='your-api-key')", "api_key=API_KEY, base_url=BASE_URL)")
    code = code.replace("api_key='your-api-key',", "api_key=API_KEY,")
    code = code.replace("base_url='http://localhost:8000'", "base_url=BASE_URL")
    return code.replace("'some-case-uuid'", "SOME_CASE_UUID")


def test_the_seed_docs_have_examples() -> None:
    assert len(BLOCKS) >= 20
    for block in BLOCKS:
        assert "logfire" not in rewrite(block.code), block.id


def _prepare(client: DatasetsClient, code: str) -> str | None:
    """The state the snippet assumes; returns the id that stands in for 'some-case-uuid'."""
    if "create_dataset(" in code:
        return None
    client.create_dataset(
        "qa-golden-set",
        input_type=models.QuestionInput,
        output_type=models.AnswerOutput,
        metadata_type=models.CaseMetadata,
    )
    if re.search(r"\.(add_case|add_cases|create_case)\(", code):
        return None
    ids = [client.add_case("qa-golden-set", case, tags=TAGS[case.name or ""])["id"] for case in seed_cases()]
    if "custom_evaluator_types" in code:
        extra = Case(
            name="custom-evaluator",
            inputs=models.QuestionInput("Capital of Italy?"),
            expected_output=models.AnswerOutput("Rome", 0.9),
            evaluators=[models.AnswerMatches(min_confidence=0.8)],
        )
        client.add_case("qa-golden-set", extra)
    return str(ids[0])


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_seed_example(block: Block, connect: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code = rewrite(block.code)
    with DatasetsClient(**connect) as client, doc_module("seed_example") as namespace:
        case_id = _prepare(client, code)
        namespace |= {
            "API_KEY": connect["api_key"],
            "BASE_URL": connect["base_url"],
            "SOME_CASE_UUID": case_id,
            "client": client,
            "QuestionInput": models.QuestionInput,
            "AnswerOutput": models.AnswerOutput,
            "CaseMetadata": models.CaseMetadata,
            "MyCustomEvaluator": models.AnswerMatches,
        }
        earlier = [b for b in BLOCKS if b.doc == block.doc and b.line < block.line]
        run_block(rewrite(imports_of(earlier)), namespace, block.id)  # what the doc's earlier blocks imported
        try:
            run_block(code, namespace, block.id)
            if "run_evaluation" in namespace:
                asyncio.run(namespace["run_evaluation"]())
        finally:
            for value in namespace.values():
                if isinstance(value, DatasetsClient) and value is not client:
                    value.close()
        _check(block, namespace, client, capsys.readouterr().out)


def _check(block: Block, namespace: dict[str, Any], client: DatasetsClient, out: str) -> None:
    """What each kind of snippet promises, checked on the server or in its output."""
    code = block.code
    names = {ds["name"] for ds in client.list_datasets()}
    if "Created dataset:" in code:
        assert re.search(r"Created dataset: qa-golden-set \(ID: [0-9a-f-]{36}\)", out)
    if "client.delete_dataset('qa-golden-set')" in code:
        assert "qa-golden-set" not in names
        return
    if ".add_cases(" in code:
        cases = {case["name"]: case for case in client.list_cases("qa-golden-set")}
        assert {"math-question", "science-question"} <= set(cases)
        if "tags=['batch-import']" in code:
            assert cases["math-question"]["tags"] == ["batch-import"]
    if "sky-color" in code:
        (sky,) = [case for case in client.list_cases("qa-golden-set") if case["name"] == "sky-color"]
        assert sky["expected_output"] == {"answer": "Blue", "confidence": 0.95}
    if "list_datasets()" in code and "for ds in datasets" in code:
        assert "qa-golden-set: 3 cases" in out
    exported = namespace.get("dataset")
    if isinstance(exported, Dataset) and "export_dataset" in code:
        assert exported.cases and all(isinstance(c.inputs, models.QuestionInput) for c in exported.cases)
    if "raw_data" in namespace:
        assert set(namespace["raw_data"]) == {"name", "cases", "evaluators", "report_evaluators"}
    if "custom_evaluator_types" in code:
        (custom,) = [case for case in namespace["dataset"].cases if case.name == "custom-evaluator"]
        assert custom.evaluators == [models.AnswerMatches(min_confidence=0.8)]
    if "run_evaluation" in namespace:
        assert "Evaluation Summary" in out
