"""telemetry: failed spans found by their parent within a trace (a case span's failed evaluators, for the
experiments decoder); a partial index, so the ingest of the other spans does not pay for it

Revision ID: telemetry1
Revises: traces1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "telemetry1"
down_revision = "traces1"
branch_labels = None
depends_on = None

FAILED = sa.text("status = 'error'")


def upgrade() -> None:
    op.create_index(
        op.f("ix_spans_project_id_trace_id_parent_span_id"),
        "spans",
        ["project_id", "trace_id", "parent_span_id"],
        sqlite_where=FAILED,
        postgresql_where=FAILED,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_spans_project_id_trace_id_parent_span_id"), table_name="spans")
