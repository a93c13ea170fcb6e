"""Experiments from telemetry: the span consumer that records pydantic-evals' runs as their spans arrive.

The OTLP receiver stores each batch of spans, then calls its consumers with the batch. For each experiment
a batch touches, this one makes one `services.experiments.record` call (one transaction):

- the experiment span's pending record (sent when the run starts) or any of its case spans creates the
  experiment, `running`; the pending record also says its name, task, dataset, metadata and start, which
  is the dataset moment it ran on (`as_of_source="run_start"`);
- each ended case span becomes its case result, whole: with the failures of its evaluators, whose spans
  ended before it, in this batch or an earlier one (read back from the stored spans);
- a failed evaluator span whose case span arrived in an earlier batch (spans re-sent out of order) has
  that case recorded again, read back from the stored spans;
- the ended experiment span completes the experiment (`complete=True`, its end attributes).

Every call says only what its spans say and results are upserted by name, so a batch sent again changes
nothing. An experiment uploaded as a report (`client.evaluate` uploads the report with the experiment
span's ids) is the same experiment: the upload's results stay, telemetry only fills what it left unsaid.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Protocol

from evalset.server.domain.experiment_spans import (
    EVALUATOR_SPAN,
    SCOPE,
    ExperimentBatch,
    ExperimentKey,
    case_result,
    experiment_key,
    group_batch,
    is_case_span,
    is_evaluator_span,
)
from evalset.server.domain.experiments import ExperimentFacts
from evalset.server.domain.spans import SpanRecord
from evalset.server.services import experiments
from evalset.server.storage import Database
from evalset.server.storage import spans as span_store

__all__ = ["StoredSpans", "stored_spans", "ExperimentTelemetry", "record_experiments"]

log = logging.getLogger("evalset.telemetry")


class StoredSpans(Protocol):
    """The stored (ended) spans of one trace of a project with one of `span_ids`, or whose parent is one of
    `parent_ids`; only those of this `name` when given, failed ones only with `failed_only`."""

    def __call__(
        self,
        db: Database,
        project_id: str,
        trace_id: str,
        *,
        span_ids: Collection[str] = (),
        parent_ids: Collection[str] = (),
        name: str | None = None,
        failed_only: bool = False,
    ) -> Sequence[SpanRecord]: ...


def stored_spans(
    db: Database,
    project_id: str,
    trace_id: str,
    *,
    span_ids: Collection[str] = (),
    parent_ids: Collection[str] = (),
    name: str | None = None,
    failed_only: bool = False,
) -> Sequence[SpanRecord]:
    """`StoredSpans` over the receiver's span store (ended spans only: a pending record has no result)."""
    with db.read() as conn:
        return span_store.find_spans(
            conn,
            project_id=project_id,
            trace_id=trace_id,
            span_ids=span_ids,
            parent_ids=parent_ids,
            name=name,
            failed_only=failed_only,
        )


def _by_trace(span_ids: Collection[tuple[str, str]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for trace_id, span_id in span_ids:
        grouped[trace_id].add(span_id)
    return grouped


class ExperimentTelemetry:
    """A `SpanConsumer` that records pydantic-evals' experiments; `stored_spans` reads the receiver's spans."""

    def __init__(self, stored_spans: StoredSpans) -> None:
        self.stored_spans = stored_spans

    def __call__(self, db: Database, project_id: str, spans: Sequence[SpanRecord]) -> None:
        ours = [span for span in spans if span.scope == SCOPE]
        if not ours:
            return
        batches, failed_evaluators = group_batch(ours)
        self._add_cases_of(db, project_id, batches, failed_evaluators)
        evaluators = self._evaluators(db, project_id, batches, failed_evaluators)
        for batch in batches.values():
            results = [
                result
                for case_id, case in batch.cases.items()
                if (result := case_result(case, evaluators.get((batch.key[0], case_id), ()))) is not None
            ]
            try:
                experiments.record(db, project_id, batch.facts, results, source="telemetry")
            except Exception:  # one experiment's trouble must not cost the others in the batch theirs
                log.exception("Could not record experiment %s-%s from its spans", *batch.key)

    def _add_cases_of(
        self,
        db: Database,
        project_id: str,
        batches: dict[ExperimentKey, ExperimentBatch],
        failed_evaluators: Sequence[SpanRecord],
    ) -> None:
        """The case spans of failed evaluators that came without them (sent earlier), to record again."""
        present = {(key[0], case_id) for key, batch in batches.items() for case_id in batch.cases}
        missing = {
            (span.trace_id, span.parent_span_id)
            for span in failed_evaluators
            if span.parent_span_id and (span.trace_id, span.parent_span_id) not in present
        }
        for trace_id, case_ids in _by_trace(missing).items():
            for case in self.stored_spans(db, project_id, trace_id, span_ids=case_ids):
                key = experiment_key(case)
                if key is None or case.pending or not is_case_span(case):
                    continue
                if key not in batches:
                    batches[key] = ExperimentBatch(key, ExperimentFacts(trace_id=key[0], span_id=key[1]))
                batches[key].cases[case.span_id] = case

    def _evaluators(
        self,
        db: Database,
        project_id: str,
        batches: dict[ExperimentKey, ExperimentBatch],
        failed_evaluators: Sequence[SpanRecord],
    ) -> dict[tuple[str, str], list[SpanRecord]]:
        """Each case's failed evaluator spans, by trace and case span id: from this batch and stored before."""
        wanted = {(key[0], case_id) for key, batch in batches.items() for case_id in batch.cases}
        found: dict[tuple[str, str], SpanRecord] = {(s.trace_id, s.span_id): s for s in failed_evaluators}
        for trace_id, case_ids in _by_trace(wanted).items():
            failed = self.stored_spans(
                db, project_id, trace_id, parent_ids=case_ids, name=EVALUATOR_SPAN, failed_only=True
            )
            for span in failed:
                if is_evaluator_span(span) and not span.pending:
                    found[(span.trace_id, span.span_id)] = span
        by_case: dict[tuple[str, str], list[SpanRecord]] = defaultdict(list)
        for span in found.values():
            if span.parent_span_id is not None:
                by_case[(span.trace_id, span.parent_span_id)].append(span)
        return by_case


record_experiments = ExperimentTelemetry(stored_spans)
"""The consumer the server registers (`app.builtin_span_consumers`)."""
