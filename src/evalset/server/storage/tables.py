"""Table definitions (SQLAlchemy Core). The migrations in `migrations/` must agree with these."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)

from evalset.server.wire import dumps

__all__ = [
    "metadata",
    "projects",
    "api_keys",
    "datasets",
    "cases",
    "case_tags",
    "case_revisions",
    "dataset_revisions",
    "experiments",
    "experiment_cases",
    "server_settings",
    "spans",
    "pending_spans",
    "traces",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class JSONText(TypeDecorator[Any]):
    """JSON kept as TEXT on SQLite: a column declared JSON gets NUMERIC affinity there, which turns
    the stored text `1` into the integer 1 and breaks reading the column back as JSON text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(value)


# JSON is stored as the text that was sent (plain `json` on PostgreSQL, TEXT on SQLite), never as
# JSONB: JSONB reorders object keys and rewrites numbers, and a pulled dataset file must come back
# byte for byte as it went up, on both databases. (Tags are filtered through `case_tags`, so no
# JSONB operator or index is needed; json_build_object embeds `json` text as it is, which is also
# cheaper for exports than rendering JSONB.)
DOC = JSON(none_as_null=True).with_variant(JSONText(), "sqlite")
DATA = DOC
ID = Uuid(as_uuid=False)
BIGID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),  # the dataset name rules and length
    Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("lookup", String(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", String(500), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),  # moved at most once a minute (services.keys)
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("input_schema", DOC, nullable=True),
    Column("output_schema", DOC, nullable=True),
    Column("metadata_schema", DOC, nullable=True),
    Column("guidance", Text, nullable=True),
    Column("ai_managed_guidance", Boolean, nullable=False, default=False),
    Column("evaluators", DOC, nullable=False),
    Column("report_evaluators", DOC, nullable=False),
    Column("case_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("created_by", ID, nullable=True),
    Column("created_by_name", String(200), nullable=True),
    Column("updated_by", ID, nullable=True),
    Column("updated_by_name", String(200), nullable=True),
    UniqueConstraint("project_id", "name"),
)

cases = Table(
    "cases",
    metadata,
    Column("seq", BIGID, primary_key=True, autoincrement=True),
    Column("id", ID, nullable=False, unique=True),
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=True),
    Column("inputs", DATA, nullable=True),
    Column("expected_output", DATA, nullable=True),
    Column("metadata", DATA, nullable=True),
    Column("evaluators", DATA, nullable=False),
    Column("tags", DATA, nullable=False),
    Column("source_trace_id", String(64), nullable=True),
    Column("source_span_id", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Column("last_op", String(10), nullable=False),  # what made the current version: create, update, restore
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", ID, nullable=True),
    Column("created_by_name", String(200), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", ID, nullable=True),
    Column("updated_by_name", String(200), nullable=True),
    # What the web UI's case search matches (domain.cases.search_text): lowercased, bounded, plain text,
    # so a search scans short strings instead of rendering JSON per row.
    Column("search_text", Text, nullable=True),
    # A copy of the span the case was made from (name, ids, times, attributes), taken when the case was
    # added from a trace: it stays when the case is edited and when the trace expires.
    Column("source_span", DOC, nullable=True),
    UniqueConstraint("dataset_id", "name"),
    Index(None, "dataset_id", "seq"),
)

# One row per (case, tag): tag filters are index range scans on both databases.
case_tags = Table(
    "case_tags",
    metadata,
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("tag", String(255), nullable=False),
    Column("case_id", ID, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("dataset_id", "tag", "case_id"),
    Index(None, "case_id"),
)

# History, copy-on-write: the live `cases` row is a case's latest revision; when a change replaces
# it (update, upsert, delete), the replaced version's full state is archived here first, and a
# delete adds a "delete" revision. So every version stays recoverable, deleted cases included,
# while creating cases (10,000 in an import) writes each of them once.
case_revisions = Table(
    "case_revisions",
    metadata,
    Column("id", BIGID, primary_key=True, autoincrement=True),
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("case_id", ID, nullable=False),
    Column("case_seq", BIGID, nullable=False),  # the case's position in its dataset (restores keep it)
    Column("version", Integer, nullable=False),
    Column("op", String(10), nullable=False),
    Column("state", DATA, nullable=False),
    Column("actor_id", ID, nullable=True),
    Column("actor_name", String(200), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "case_id", "version"),
    Index(None, "dataset_id", "at"),
)

dataset_revisions = Table(
    "dataset_revisions",
    metadata,
    Column("id", BIGID, primary_key=True, autoincrement=True),
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("op", String(10), nullable=False),
    Column("state", DOC, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "dataset_id", "at"),
)

# Experiments: runs of pydantic-evals' Dataset.evaluate, uploaded as reports or (later) decoded from
# their spans. One row per experiment with its summary kept up to date as results arrive, and one row
# per case result (per run, with repeats). Results keep plain JSON on PostgreSQL too: evaluator results
# come back in the order pydantic-evals wrote them. Deleting a dataset keeps its experiments, unlinked
# (`dataset_id` null; `dataset_name` still says which dataset they ran on).
experiments = Table(
    "experiments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
    Column("dataset_name", String(255), nullable=True),
    Column("dataset_as_of", UTCDateTime(), nullable=True),
    Column("dataset_as_of_source", String(10), nullable=True),  # given, upload, run_start
    Column("name", String(1024), nullable=False),
    Column("task_name", String(1024), nullable=True),
    Column("metadata", DOC, nullable=True),
    Column("status", String(10), nullable=False),  # running, complete
    Column("source", String(10), nullable=False),  # upload, telemetry
    Column("trace_id", String(32), nullable=True),
    Column("span_id", String(16), nullable=True),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("repeat", Integer, nullable=False),
    Column("n_cases", Integer, nullable=True),
    Column("case_count", Integer, nullable=False),
    Column("passed_count", Integer, nullable=False),
    Column("failed_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("evaluator_failure_count", Integer, nullable=False),
    Column("assertion_pass_rate", Double(), nullable=True),
    Column("averages", DOC, nullable=True),
    Column("analyses", DOC, nullable=False),
    Column("report_evaluator_failures", DOC, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("created_by", ID, nullable=True),
    Column("created_by_name", String(200), nullable=True),
    UniqueConstraint("project_id", "trace_id", "span_id"),
    Index(None, "project_id", "created_at"),
    Index(None, "dataset_id", "created_at"),
)

experiment_cases = Table(
    "experiment_cases",
    metadata,
    Column("seq", BIGID, primary_key=True, autoincrement=True),
    Column("id", ID, nullable=False, unique=True),
    Column("experiment_id", ID, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("source_case_name", String(1024), nullable=True),
    Column("repeat_index", Integer, nullable=True),
    Column("status", String(10), nullable=False),  # passed, failed, error
    Column("dataset_case_id", ID, nullable=True),  # no foreign key: the case may be gone; the id still says which
    Column("dataset_case_version", Integer, nullable=True),
    Column("dataset_case_match", String(10), nullable=True),  # matched, differs, unmatched
    Column("inputs", DOC, nullable=True),
    Column("expected_output", DOC, nullable=True),
    Column("metadata", DOC, nullable=True),
    Column("output", DOC, nullable=True),
    Column("metrics", DOC, nullable=False),
    Column("attributes", DOC, nullable=False),
    Column("assertions", DOC, nullable=False),
    Column("scores", DOC, nullable=False),
    Column("labels", DOC, nullable=False),
    Column("task_duration", Double(), nullable=True),
    Column("total_duration", Double(), nullable=True),
    Column("task_error", DOC, nullable=True),
    Column("evaluator_failures", DOC, nullable=False),
    Column("trace_id", String(32), nullable=True),
    Column("span_id", String(16), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("experiment_id", "name"),
    Index(None, "experiment_id", "seq"),
    Index(None, "trace_id", "span_id"),  # a case span's result, for the spans of its evaluators
)

# Per-server values every process must share (the session signing secret), so several server
# processes behind a load balancer accept each other's sessions.
server_settings = Table(
    "server_settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Traces received over OTLP (server/otlp). Times are integer nanoseconds since the epoch (UTC), as OTLP
# sends them: exact, compact, cheap to sort and subtract. Ids are lower-case hex.
# `spans` holds ended spans; a span seen twice (an exporter's retry) is stored once.
FAILED = text("status = 'error'")
"""The condition of the index of failed spans (a query must say it in these words to use that index)."""

spans = Table(
    "spans",
    metadata,
    Column("id", BIGID, primary_key=True, autoincrement=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16), nullable=True),
    Column("name", String(1024), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(8), nullable=False),  # unset, ok, error
    Column("status_message", Text, nullable=True),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("service_name", String(255), nullable=True),
    Column("scope", String(255), nullable=True),
    Column("attributes", DOC, nullable=False),
    Column("resource", DOC, nullable=False),
    Column("events", DOC, nullable=False),
    # The one index: a trace's spans, dedup of re-sent spans, retention (whole traces), and search (which
    # walks `traces` newest first and checks each trace's spans through it). Every further index would
    # cost each of the 20,000 spans a second of ingest.
    UniqueConstraint("project_id", "trace_id", "span_id"),
    # ... but for failed spans only (few, so ingest barely notices): a span's failed children, which is how
    # the experiments decoder finds a case's failed evaluators without reading the whole trace. Partial
    # (WHERE status = 'error') on both databases, as migration telemetry1 creates it; not said here, because a
    # `postgresql_where` makes SQLAlchemy import its PostgreSQL dialect package (to check the option) in every
    # process, SQLite's too. Alembic's comparison of models and migrations does not look at an index's WHERE;
    # tests/server/storage/test_storage.py checks it on both databases.
    Index(None, "project_id", "trace_id", "parent_span_id"),
)

# The `logfire` SDK's pending spans: sent when a span starts, standing for it until it ends. One row per
# running span (`real_span_id`); deleted when the real span arrives, never stored once it has.
pending_spans = Table(
    "pending_spans",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("real_span_id", String(16), nullable=False),  # the running span (the pending span's parent)
    Column("span_id", String(16), nullable=False),  # the pending span's own id
    Column("name", String(1024), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("service_name", String(255), nullable=True),
    Column("scope", String(255), nullable=True),
    Column("attributes", DOC, nullable=False),
    Column("resource", DOC, nullable=False),
    PrimaryKeyConstraint("project_id", "trace_id", "real_span_id"),  # a trace's running spans; retention
)

# One row per trace, kept up to date by every batch (an idempotent upsert): the recent-traces listing
# reads a page of this table by (project, start) instead of grouping millions of spans.
traces = Table(
    "traces",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("start_ns", BigInteger, nullable=False),  # earliest start of its spans
    Column("end_ns", BigInteger, nullable=False),  # latest end (start, for a pending span)
    Column("name", String(1024), nullable=False),  # the root span's name (else the earliest span's)
    Column("service_name", String(255), nullable=True),
    Column("rooted", Boolean, nullable=False),  # name/service come from the root span
    Column("has_error", Boolean, nullable=False),
    PrimaryKeyConstraint("project_id", "trace_id"),
    Index(None, "project_id", "start_ns", "trace_id"),  # newest first (keyset pages); retention
)
