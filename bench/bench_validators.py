"""Compare JSON Schema validators on evalset's hot path: validating case data against a dataset schema.

Run: .venv/bin/python bench/bench_validators.py   (needs: pip install -r bench/requirements.txt)

Each library validates the same 10,000 seed-shaped cases (valid, so the fast path is measured)
against the pydantic-generated schemas, with the validator compiled once. Figures are relative to
jsonschema-rs in the same run, since this machine is noisy.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import fastjsonschema
import jsonschema
import jsonschema_rs
from pydantic import BaseModel


class QuestionInput(BaseModel):
    question: str
    context: str | None = None


class AnswerOutput(BaseModel):
    answer: str
    confidence: float


SCHEMAS = [QuestionInput.model_json_schema(), AnswerOutput.model_json_schema()]
CASES = [
    (
        {"question": f"What is the capital of country number {i}? Please answer briefly.", "context": "c" * 200},
        {"answer": f"City {i}", "confidence": 0.5 + (i % 50) / 100},
    )
    for i in range(10_000)
]


def run(name: str, build: Callable[[dict[str, Any]], Callable[[Any], bool]]) -> float:
    validate_inputs, validate_output = (build(schema) for schema in SCHEMAS)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        for inputs, output in CASES:
            assert validate_inputs(inputs) and validate_output(output)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    print(
        f"{name:<22} best {best * 1000:8.1f} ms  median {statistics.median(timings) * 1000:8.1f} ms  "
        f"{len(CASES) / best:>12,.0f} cases/s"
    )
    return best


def _fastjsonschema(schema: dict[str, Any]) -> Callable[[Any], bool]:
    compiled = fastjsonschema.compile(schema)

    def check(value: Any) -> bool:
        compiled(value)
        return True

    return check


def _jsonschema(schema: dict[str, Any]) -> Callable[[Any], bool]:
    return jsonschema.Draft202012Validator(schema).is_valid


def main() -> None:
    results = {
        "jsonschema-rs": run("jsonschema-rs", lambda s: jsonschema_rs.validator_for(s).is_valid),
        "fastjsonschema": run("fastjsonschema", _fastjsonschema),
        "jsonschema (python)": run("jsonschema (python)", _jsonschema),
    }
    base = results["jsonschema-rs"]
    print("\nrelative time (jsonschema-rs = 1.0): " + ", ".join(f"{k} {v / base:.1f}x" for k, v in results.items()))


if __name__ == "__main__":
    main()
