"""traces: OTLP spans, pending spans, a per-trace summary; the source-span snapshot of cases

Revision ID: traces1
Revises: web1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "traces1"
down_revision = "web1"
branch_labels = None
depends_on = None

_ID = sa.Uuid(as_uuid=False)
_DOC = sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite")
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("parent_span_id", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("service_name", sa.String(length=255), nullable=True),
        sa.Column("scope", sa.String(length=255), nullable=True),
        sa.Column("attributes", _DOC, nullable=False),
        sa.Column("resource", _DOC, nullable=False),
        sa.Column("events", _DOC, nullable=False),
        _project_fk("spans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spans")),
        sa.UniqueConstraint("project_id", "trace_id", "span_id", name=op.f("uq_spans_project_id_trace_id_span_id")),
    )
    op.create_table(
        "pending_spans",
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("real_span_id", sa.String(length=16), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("service_name", sa.String(length=255), nullable=True),
        sa.Column("scope", sa.String(length=255), nullable=True),
        sa.Column("attributes", _DOC, nullable=False),
        sa.Column("resource", _DOC, nullable=False),
        _project_fk("pending_spans"),
        sa.PrimaryKeyConstraint("project_id", "trace_id", "real_span_id", name=op.f("pk_pending_spans")),
    )
    op.create_table(
        "traces",
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("service_name", sa.String(length=255), nullable=True),
        sa.Column("rooted", sa.Boolean(), nullable=False),
        sa.Column("has_error", sa.Boolean(), nullable=False),
        _project_fk("traces"),
        sa.PrimaryKeyConstraint("project_id", "trace_id", name=op.f("pk_traces")),
    )
    op.create_index(op.f("ix_traces_project_id_start_ns_trace_id"), "traces", ["project_id", "start_ns", "trace_id"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_span", _DOC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("source_span")
    op.drop_table("traces")
    op.drop_table("pending_spans")
    op.drop_table("spans")
