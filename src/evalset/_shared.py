# pyright: strict
"""What the two clients share besides the operations: parameter types and argument hand-over."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from uuid import UUID

from typing_extensions import TypeVar as DefaultTypeVar

from evalset.types import CaseData

if TYPE_CHECKING:
    from pydantic_evals import Case
    from pydantic_evals.evaluators import Evaluator, ReportEvaluator

__all__ = [
    "T",
    "InputsT",
    "OutputT",
    "MetadataT",
    "Id",
    "Cases",
    "Evaluators",
    "ReportEvaluators",
    "Conflict",
    "DATASET_ARGS",
    "CASE_VALUES",
    "CASE_CHANGES",
    "EVALUATE_ARGS",
    "CaseStatus",
    "ExperimentStatus",
    "Direction",
    "pick",
]

T = TypeVar("T")
InputsT = DefaultTypeVar("InputsT", default=Any)
OutputT = DefaultTypeVar("OutputT", default=Any)
MetadataT = DefaultTypeVar("MetadataT", default=Any)
Id = str | UUID
Cases = Sequence["Case[Any, Any, Any]"] | Sequence[CaseData]
Evaluators = Sequence["Evaluator[Any, Any, Any] | Any"]
ReportEvaluators = Sequence["ReportEvaluator[Any, Any, Any] | Any"]
Conflict = Literal["update", "error"]

DATASET_ARGS = (
    "input_type",
    "output_type",
    "metadata_type",
    "description",
    "guidance",
    "ai_managed_guidance",
    "evaluators",
    "report_evaluators",
)
CASE_VALUES = ("inputs", "name", "expected_output", "metadata", "evaluators")
EVALUATE_ARGS = (
    "input_type",
    "output_type",
    "metadata_type",
    "name",
    "task_name",
    "metadata",
    "evaluators",
    "report_evaluators",
    "custom_evaluator_types",
    "custom_report_evaluator_types",
    "repeat",
    "max_concurrency",
    "progress",
)
CaseStatus = Literal["passed", "failed", "error"]
ExperimentStatus = Literal["running", "complete"]
Direction = Literal["higher", "lower"]
CASE_CHANGES = (*CASE_VALUES, "tags", "source_trace_id", "source_span_id")


def pick(arguments: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The named arguments of a method call (`locals()`), to hand on to an operation as they are."""
    return {name: arguments[name] for name in names}
