"""Experiment use cases: record (upload now, telemetry later), list, get, results, compare, delete.

`record` is the one way into the store. It takes what a message says about an experiment
(`ExperimentFacts`, `None` = not said) and complete case results, and in one transaction creates or
updates the experiment (found by its trace and span ids when it has them), upserts the results by
name, links them to the dataset cases they ran on, and brings the experiment's summary up to date.
An upload calls it once with everything; the telemetry decoder can call it as spans arrive.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from evalset.server.domain import compare as rules
from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import Actor
from evalset.server.domain.experiments import (
    DatasetLink,
    ExperimentFacts,
    averages,
    case_matcher,
    group_key,
    summary_counts,
)
from evalset.server.errors import DatasetNotFound, ExperimentNotFound, InvalidInput, Violation
from evalset.server.services._common import actor_of, gc_paused, retry_on_contention, utcnow
from evalset.server.storage import Conn, Database, history
from evalset.server.storage import datasets as dataset_store
from evalset.server.storage import experiments as store

__all__ = [
    "record",
    "upload",
    "list_experiments",
    "get_experiment",
    "find_by_span",
    "list_results",
    "compare",
    "COMPARED_FIELDS",
    "delete_experiment",
    "web_path",
]

_FACT_FIELDS = ("name", "task_name", "metadata", "started_at", "ended_at", "repeat", "n_cases")
_STAT_FIELDS = (
    "name",
    "source_case_name",
    "status",
    "assertions",
    "scores",
    "labels",
    "metrics",
    "task_duration",
    "total_duration",
    "task_error",
    "evaluator_failures",
)
_NO_LINK = DatasetLink(None, None, "unmatched")
_EMPTY_SUMMARY = {
    "repeat": 1,
    "case_count": 0,
    "passed_count": 0,
    "failed_count": 0,
    "error_count": 0,
    "evaluator_failure_count": 0,
}


def web_path(experiment_id: str) -> str:
    """Where the web UI shows an experiment (`/evals/compare?baseline=A&candidate=B` compares two)."""
    return f"/evals/experiments/{experiment_id}"


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    started, ended = row.get("started_at"), row.get("ended_at")
    duration = (ended - started).total_seconds() if started and ended else None
    return {**row, "duration": duration, "web_path": web_path(row["id"])}


def _invalid(field: str, message: str) -> InvalidInput:
    violation = Violation(case_index=None, case_name=None, field=field, pointer="", message=message)
    return InvalidInput(f"Invalid {field}: {message}", [violation])


# --- writing ------------------------------------------------------------------------------------


def _dataset(
    conn: Conn, project_id: str, facts: ExperimentFacts, existing: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The hosted dataset to link (locked, so the moment taken next is a stable state), or None."""
    if facts.dataset is not None:
        return dataset_store.get_dataset(conn, project_id=project_id, ref=facts.dataset, for_write=True)
    linked = existing and existing["dataset_id"]
    name = facts.dataset_name or (existing and existing["dataset_name"])
    for ref in (linked, name):
        if ref:
            try:
                return dataset_store.get_dataset(conn, project_id=project_id, ref=str(ref), for_write=True)
            except DatasetNotFound:
                continue
    return None


def _pinned_state(
    conn: Conn, dataset: Mapping[str, Any], as_of: datetime, now: datetime, *, given: bool
) -> list[dict[str, Any]]:
    """The dataset's cases as of the experiment's moment. A moment the client gave must be one the dataset
    can stand for (past, and the dataset existed); a recorded one (a span's start, on the client's clock)
    is taken as it is: before the dataset existed, no case matches."""
    if given and as_of > now:
        raise _invalid("dataset_as_of", f"{as_of.isoformat()} is in the future (the server's time is {now}).")
    if given and dataset_store.revision_as_of(conn, dataset_id=dataset["id"], at=as_of) is None:
        raise _invalid("dataset_as_of", f"dataset {dataset['name']!r} did not exist yet at {as_of.isoformat()}.")
    return list(history.states_as_of(conn, dataset_id=dataset["id"], at=min(as_of, now)))


def _experiment_row(
    facts: ExperimentFacts, existing: Mapping[str, Any] | None, dataset: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    row: dict[str, Any] = {**dict.fromkeys(store.EXPERIMENT_FIELDS), **_EMPTY_SUMMARY, **(existing or {})}
    for field in _FACT_FIELDS:
        value = getattr(facts, field)
        if value is not None:
            row[field] = value
    row["name"] = row.get("name") or facts.task_name or "experiment"
    complete = facts.complete or (existing is not None and existing["status"] == "complete")
    row["status"] = "complete" if complete else "running"
    row["dataset_id"] = dataset["id"] if dataset else row.get("dataset_id")
    row["dataset_name"] = (dataset and dataset["name"]) or facts.dataset_name or row["dataset_name"]
    for field in ("analyses", "report_evaluator_failures"):
        told = getattr(facts, field)
        row[field] = told if told is not None else row[field] or []
    row["updated_at"] = now
    return row


def _links(results: Sequence[Mapping[str, Any]], state: list[dict[str, Any]] | None) -> list[DatasetLink | None]:
    if state is None:
        return [None] * len(results)
    link = case_matcher(state)
    return [link(result) for result in results]


def _link_fields(link: DatasetLink | None) -> dict[str, Any]:
    if link is None:
        return {"dataset_case_id": None, "dataset_case_version": None, "dataset_case_match": None}
    return {
        "dataset_case_id": link.case_id,
        "dataset_case_version": link.case_version,
        "dataset_case_match": link.match,
    }


def _check_unique(results: Sequence[Mapping[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for index, result in enumerate(results):
        if result["name"] in seen:
            raise _invalid(
                "cases", f"case name {result['name']!r} appears twice (results {seen[result['name']]} and {index})."
            )
        seen[result["name"]] = index


def _upsert_results(
    conn: Conn,
    experiment_id: str,
    results: Sequence[Mapping[str, Any]],
    state: list[dict[str, Any]] | None,
    now: datetime,
) -> None:
    links = _links(results, state)
    stored = store.results_by_names(conn, experiment_id=experiment_id, names=[r["name"] for r in results])
    fresh, replaced = [], []
    for index, (result, link) in enumerate(zip(results, links, strict=True)):
        previous = stored.get(result["name"])
        row = {**result, **_link_fields(link), "experiment_id": experiment_id, "updated_at": now}
        if previous is None:
            fresh.append(((link or _NO_LINK).position, index, {**row, "id": str(uuid.uuid4()), "created_at": now}))
        else:
            replaced.append({**row, "id": previous["id"]})
    # new results in dataset order (the report lists successful runs and failed tasks apart)
    fresh.sort(key=lambda item: (item[0] is None, item[0] or 0, item[1]))
    store.insert_results(conn, rows=[row for _, _, row in fresh])
    store.update_results(conn, rows=replaced)


def _relink(conn: Conn, experiment_id: str, state: list[dict[str, Any]] | None) -> None:
    """Match every stored result again: the experiment's dataset or pinned moment changed."""
    fields = ("id", "name", "source_case_name", "inputs", "expected_output", "metadata", *store.LINK_FIELDS)
    rows = store.results(conn, experiment_id=experiment_id, fields=fields)
    changed = []
    for row, link in zip(rows, _links(rows, state), strict=True):
        wanted = _link_fields(link)
        if any(row[field] != value for field, value in wanted.items()):
            changed.append({"id": row["id"], **wanted})
    store.set_links(conn, rows=changed)


def _running_counts(conn: Conn, experiment_id: str, row: Mapping[str, Any], facts: ExperimentFacts) -> dict[str, Any]:
    """A running experiment's summary between full ones: its result counts by status, now; the rest (averages,
    evaluator failures, counts of cases and repeats) as of the last full summary, or as told."""
    counts = store.status_counts(conn, experiment_id=experiment_id)
    return {
        "case_count": sum(counts.values()),
        **{f"{status}_count": counts.get(status, 0) for status in ("passed", "failed", "error")},
        "repeat": facts.repeat or row["repeat"],
        "n_cases": facts.n_cases or row["n_cases"],
    }


def _summary(conn: Conn, experiment_id: str, row: Mapping[str, Any], facts: ExperimentFacts) -> dict[str, Any]:
    """The experiment's summary from all its results. While it runs (spans arriving batch by batch), the full
    summary is computed when the number of results reaches a power of two, counts alone in between: a run's
    batches then cost time in proportion to its results, not to their square. Complete: always in full."""
    if row["status"] != "complete":
        running = _running_counts(conn, experiment_id, row, facts)
        if running["case_count"].bit_length() == (row["case_count"] or 0).bit_length():
            return running
    stats = store.results(conn, experiment_id=experiment_id, fields=_STAT_FIELDS)
    runs_per_case: dict[str, int] = {}
    for result in stats:
        runs_per_case[group_key(result)] = runs_per_case.get(group_key(result), 0) + 1
    means = averages(stats)
    return {
        **summary_counts(stats),
        "averages": means,
        "assertion_pass_rate": means["assertions"] if means else None,
        # what was told, else what the results show so far (a count that only grows as results arrive)
        "repeat": facts.repeat or max([row["repeat"] or 1, *runs_per_case.values()]),  # a list: no cases is fine
        "n_cases": facts.n_cases or max(row["n_cases"] or 0, len(runs_per_case)),
    }


def _moment(
    facts: ExperimentFacts, existing: Mapping[str, Any] | None, dataset: Mapping[str, Any] | None, now: datetime
) -> tuple[datetime | None, str | None]:
    """The dataset moment the experiment ran on, and where it comes from: told now, told before, or (an
    upload that says none) the upload's own moment."""
    if facts.dataset_as_of is not None:
        return facts.dataset_as_of, facts.as_of_source or "given"
    if existing is not None and existing["dataset_as_of"] is not None:
        return existing["dataset_as_of"], existing["dataset_as_of_source"]
    if facts.as_of_source == "upload" and dataset is not None:
        return now, "upload"
    return None, None


def _unsaid_only(facts: ExperimentFacts, existing: Mapping[str, Any]) -> ExperimentFacts:
    """Telemetry about an uploaded experiment: only what the upload left unsaid (its task, counts, times;
    the dataset moment if it had none). Its spans never replace the report's results or what it said."""
    unsaid = {field: getattr(facts, field) for field in _FACT_FIELDS if existing[field] is None}
    if existing["dataset_as_of"] is None:
        unsaid.update(dataset_as_of=facts.dataset_as_of, as_of_source=facts.as_of_source)
    if existing["dataset_name"] is None:
        unsaid["dataset_name"] = facts.dataset_name
    return ExperimentFacts(trace_id=facts.trace_id, span_id=facts.span_id, **unsaid)


@retry_on_contention
def record(
    db: Database,
    project_id: str,
    facts: ExperimentFacts,
    results: Sequence[Mapping[str, Any]] = (),
    *,
    actor: Actor | None = None,
    source: str = "telemetry",
) -> tuple[dict[str, Any], bool]:
    """Create or update an experiment with what `facts` say and upsert `results` (complete case results,
    by name); returns the experiment's detail and whether it was created. All or nothing.

    With trace and span ids, the experiment is the one with those ids in the project, created if new. An
    upload makes it an uploaded experiment (`source="upload"`), whose results and facts telemetry about the
    same run no longer replaces: its spans only add what the upload left unsaid.
    `facts.dataset` must name a hosted dataset; otherwise `dataset_name` links one if it exists. With
    `as_of_source='upload'` and no `dataset_as_of`, the experiment is pinned to the current moment.
    """
    _check_unique(results)
    with db.write() as conn:
        existing = None
        if facts.trace_id and facts.span_id:
            existing = store.find_by_span(
                conn, project_id=project_id, trace_id=facts.trace_id, span_id=facts.span_id, for_write=True
            )
        if existing is not None and source == "telemetry" and existing["source"] == "upload":
            facts, results = _unsaid_only(facts, existing), ()  # the uploaded report is the run's full account
        dataset = _dataset(conn, project_id, facts, existing)
        now = utcnow()  # after the dataset's lock: an upload pinned to it names a stable state
        as_of, as_of_source = _moment(facts, existing, dataset, now)
        state = None
        if dataset is not None and as_of is not None:
            state = _pinned_state(conn, dataset, as_of, now, given=as_of_source == "given")
        row = _experiment_row(facts, existing, dataset, now)
        row.update(dataset_as_of=as_of, dataset_as_of_source=as_of_source)
        if existing is None:
            row.update(
                id=str(uuid.uuid4()),
                project_id=project_id,
                source=source,
                trace_id=facts.trace_id,
                span_id=facts.span_id,
                created_at=now,
                created_by=actor.id if actor else None,
                created_by_name=actor.name if actor else None,
            )
            store.insert_experiment(conn, row=row)
        elif source == "upload":
            row["source"] = "upload"  # its spans came first; the report now stands for the run
        relink = existing is not None and (
            existing["dataset_id"] != row["dataset_id"] or existing["dataset_as_of"] != row["dataset_as_of"]
        )
        if relink:
            _relink(conn, row["id"], state)
        _upsert_results(conn, row["id"], results, state, now)
        row.update(_summary(conn, row["id"], row, facts))
        store.update_experiment(conn, experiment_id=row["id"], changes={k: v for k, v in row.items() if k != "id"})
        return _public(row), existing is None


def upload(
    db: Database, principal: Principal, facts: ExperimentFacts, results: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """Store an uploaded report (complete): pinned to `facts.dataset_as_of` if given, else to now."""
    facts = replace(facts, complete=True, as_of_source="given" if facts.dataset_as_of else "upload")
    return record(db, principal.project_id, facts, results, actor=actor_of(principal), source="upload")


# --- reading ------------------------------------------------------------------------------------


def list_experiments(
    db: Database,
    principal: Principal,
    *,
    dataset: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Experiment summaries, newest first, and the total: all, or those of a dataset (id or name)."""
    with db.read() as conn:
        dataset_id = dataset_name = None
        if dataset is not None:
            try:
                dataset_id = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=dataset)["id"]
            except DatasetNotFound:
                dataset_name = dataset  # a dataset never hosted here, or deleted: its unlinked experiments
        rows, total = store.list_experiments(
            conn,
            project_id=principal.project_id,
            dataset_id=dataset_id,
            dataset_name=dataset_name,
            status=status,
            limit=limit,
            offset=offset,
        )
    return [_public(row) for row in rows], total


def get_experiment(db: Database, principal: Principal, experiment_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return _public(store.get_experiment(conn, project_id=principal.project_id, experiment_id=experiment_id))


def find_by_span(db: Database, project_id: str, trace_id: str, span_id: str) -> dict[str, Any] | None:
    """The experiment of a pydantic-evals `evaluate` span (resolves the link `logfire` prints)."""
    with db.read() as conn:
        row = store.find_by_span(conn, project_id=project_id, trace_id=trace_id.lower(), span_id=span_id.lower())
    return _public(row) if row else None


def list_results(
    db: Database,
    principal: Principal,
    experiment_id: str,
    *,
    status: Sequence[str] | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """An experiment's case results (by status, a name search; paged)."""
    with db.read() as conn:
        store.get_experiment(conn, project_id=principal.project_id, experiment_id=experiment_id)
        return store.results(
            conn, experiment_id=experiment_id, status=status, search=search, limit=limit, offset=offset
        )


def _side(conn: Conn, principal: Principal, experiment_id: str, side: str) -> dict[str, Any]:
    try:
        return store.get_experiment(conn, project_id=principal.project_id, experiment_id=experiment_id)
    except ExperimentNotFound:
        raise ExperimentNotFound(
            f"Experiment not found: no {side} experiment {experiment_id!r} in this project."
        ) from None


COMPARED_FIELDS = ("id", "dataset_case_id", *_STAT_FIELDS)
"""What the comparison reads of each run (`compare(full_runs=False)`): not its inputs, output, metadata..."""


def compare(
    db: Database,
    principal: Principal,
    baseline_id: str,
    candidate_id: str,
    *,
    primary: str | None = None,
    direction: str | None = None,
    full_runs: bool = True,
) -> dict[str, Any]:
    """Two experiments case by case (see domain.compare for the rules), with the overview. Each case lists
    both sides' runs in full; with `full_runs=False` only their `COMPARED_FIELDS` (what the web page needs:
    it links a run by its id), which skips reading and decoding every run's inputs and output."""
    try:
        chosen = rules.parse_primary(primary, direction)
    except ValueError as exc:
        raise _invalid("direction" if "direction" in str(exc) else "primary", str(exc)) from None
    fields = store.RESULT_FIELDS if full_runs else COMPARED_FIELDS
    with gc_paused():
        return _compare(db, principal, baseline_id, candidate_id, chosen, fields)


def _compare(
    db: Database,
    principal: Principal,
    baseline_id: str,
    candidate_id: str,
    chosen: rules.Primary,
    fields: Sequence[str],
) -> dict[str, Any]:
    with db.read() as conn:
        experiments = [
            _side(conn, principal, ref, side) for side, ref in (("baseline", baseline_id), ("candidate", candidate_id))
        ]
        baseline_results, candidate_results = (
            store.results(conn, experiment_id=e["id"], fields=fields) for e in experiments
        )
    available = rules.available_primaries([*baseline_results, *candidate_results])
    if chosen.label not in available:
        raise _invalid("primary", f"neither experiment has {chosen.label!r}; choose one of {', '.join(available)}.")
    cases = rules.compare_results(baseline_results, candidate_results, chosen)
    baseline, candidate = experiments
    same = baseline["dataset_id"] == candidate["dataset_id"] and (
        baseline["dataset_id"] is not None or baseline["dataset_name"] == candidate["dataset_name"]
    )
    return {
        "baseline": _public(baseline),
        "candidate": _public(candidate),
        "same_dataset": same,
        "primary": {"metric": chosen.label, "direction": chosen.direction},
        "overview": rules.overview(baseline, candidate, cases),
        "cases": cases,
    }


@retry_on_contention
def delete_experiment(db: Database, principal: Principal, experiment_id: str) -> None:
    with db.write() as conn:
        row = store.get_experiment(conn, project_id=principal.project_id, experiment_id=experiment_id, for_write=True)
        store.delete_experiment(conn, experiment_id=row["id"])
