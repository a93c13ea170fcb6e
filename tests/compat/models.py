"""Typed case models and evaluators shared by the compatibility scenarios.

`Answer` nests `Source`, so its JSON Schema carries `$defs` and `$ref`, as real user types do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import (
    ConfusionMatrixEvaluator,
    Contains,
    EqualsExpected,
    Evaluator,
    EvaluatorContext,
)


@dataclass
class Question:
    text: str
    language: str = "en"


class Source(BaseModel):
    url: str
    page: int = 1


class Answer(BaseModel):
    text: str
    confidence: float
    sources: list[Source] = []


class Meta(BaseModel):
    difficulty: Literal["easy", "hard"]
    reviewed: bool = False


@dataclass
class MinConfidence(Evaluator[Question, Answer, Meta]):
    """A custom evaluator with arguments: passes when the output is confident enough."""

    threshold: float = 0.5
    label: str | None = None

    def evaluate(self, ctx: EvaluatorContext[Question, Answer, Meta]) -> bool:
        return ctx.output.confidence >= self.threshold


def schema(type_: Any) -> dict[str, Any]:
    """The JSON Schema the clients send for a type."""
    return TypeAdapter(type_).json_schema()


def local_dataset(name: str = "qa-golden") -> Dataset[Question, Answer, Meta]:
    """A typed local dataset with dataset, case and report evaluators."""
    return Dataset[Question, Answer, Meta](
        name=name,
        cases=[
            Case(
                name="capital-fr",
                inputs=Question("What is the capital of France?"),
                expected_output=Answer(text="Paris", confidence=0.9, sources=[Source(url="https://a.example/fr")]),
                metadata=Meta(difficulty="easy"),
            ),
            Case(
                name="capital-au",
                inputs=Question("Quelle est la capitale de l'Australie ?", language="fr"),
                expected_output=Answer(
                    text="Canberra", confidence=0.7, sources=[Source(url="https://b.example", page=3)]
                ),
                metadata=Meta(difficulty="hard", reviewed=True),
                evaluators=[MinConfidence(threshold=0.6, label="strict"), Contains(value="Canberra")],
            ),
            Case(name="no-expectation", inputs=Question("Tell me a joke")),
        ],
        evaluators=[EqualsExpected(), MinConfidence(threshold=0.25)],
        report_evaluators=[ConfusionMatrixEvaluator(predicted_from="output", title="Answers")],
    )
