"""telemetry: spans found by their parent within a trace (a case span's evaluators, for the experiments decoder)

Revision ID: telemetry1
Revises: traces1
"""

from __future__ import annotations

from alembic import op

revision = "telemetry1"
down_revision = "traces1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_spans_project_id_trace_id_parent_span_id"), "spans", ["project_id", "trace_id", "parent_span_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_spans_project_id_trace_id_parent_span_id"), table_name="spans")
