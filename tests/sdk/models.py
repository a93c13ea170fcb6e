"""Types used across the SDK tests: the seed docs' dataclasses, plus BaseModel, TypedDict and union shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_evals.evaluators import Evaluator, EvaluatorContext, ReportEvaluator, ReportEvaluatorContext
from pydantic_evals.reporting.analyses import ScalarResult
from typing_extensions import TypedDict


@dataclass
class QuestionInput:
    question: str
    context: str | None = None


@dataclass
class AnswerOutput:
    answer: str
    confidence: float


@dataclass
class CaseMetadata:
    category: str
    difficulty: str
    reviewed: bool = False


class Address(BaseModel):
    city: str
    zip_code: str = Field(alias="zipCode")


class Customer(BaseModel):
    name: str
    addresses: list[Address]
    tier: Literal["free", "pro"] = "free"


class Verdict(TypedDict):
    label: Literal["ok", "refund"]
    score: float


@dataclass
class Refund:
    amount: float
    currency: str = "EUR"


@dataclass
class Escalate:
    team: str


@dataclass
class AnswerMatches(Evaluator[QuestionInput, AnswerOutput, CaseMetadata]):
    """A custom evaluator with arguments, as users write them."""

    min_confidence: float = 0.5
    case_sensitive: bool = False

    def evaluate(self, ctx: EvaluatorContext[QuestionInput, AnswerOutput, CaseMetadata]) -> bool:
        if ctx.expected_output is None:
            return True
        got, want = ctx.output.answer, ctx.expected_output.answer
        if not self.case_sensitive:
            got, want = got.lower(), want.lower()
        return got == want and ctx.output.confidence >= self.min_confidence


@dataclass
class CaseCount(ReportEvaluator):
    """A custom report evaluator."""

    title: str = "cases"

    def evaluate(self, ctx: ReportEvaluatorContext) -> ScalarResult:
        return ScalarResult(title=self.title, value=len(ctx.report.cases))


SEED_CASES = [
    ("capital-question", "What is the capital of France?", "Paris", 0.99, "geography", "easy"),
    ("math-question", "What is 15 * 23?", "345", 1.0, "math", "easy"),
    ("science-question", "What is the chemical symbol for gold?", "Au", 0.98, "science", "medium"),
]
