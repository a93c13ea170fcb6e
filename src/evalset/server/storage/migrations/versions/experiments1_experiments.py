"""experiments: runs of pydantic-evals evaluations and their case results

Revision ID: experiments1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "experiments1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("project_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("dataset_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("dataset_name", sa.String(length=255), nullable=True),
        sa.Column("dataset_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dataset_as_of_source", sa.String(length=10), nullable=True),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("task_name", sa.String(length=1024), nullable=True),
        sa.Column("metadata", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("span_id", sa.String(length=16), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=True),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("passed_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("evaluator_failure_count", sa.Integer(), nullable=False),
        sa.Column("assertion_pass_rate", sa.Double(), nullable=True),
        sa.Column("averages", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("analyses", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column(
            "report_evaluator_failures", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_experiments_dataset_id_datasets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_experiments_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint(
            "project_id", "trace_id", "span_id", name=op.f("uq_experiments_project_id_trace_id_span_id")
        ),
    )
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiments_dataset_id_created_at"), ["dataset_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiments_project_id_created_at"), ["project_id", "created_at"], unique=False
        )

    op.create_table(
        "experiment_cases",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("experiment_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("source_case_name", sa.String(length=1024), nullable=True),
        sa.Column("repeat_index", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("dataset_case_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("dataset_case_version", sa.Integer(), nullable=True),
        sa.Column("dataset_case_match", sa.String(length=10), nullable=True),
        sa.Column("inputs", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("expected_output", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("metadata", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("output", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("metrics", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("attributes", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("assertions", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("scores", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("labels", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("task_duration", sa.Double(), nullable=True),
        sa.Column("total_duration", sa.Double(), nullable=True),
        sa.Column("task_error", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("evaluator_failures", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("span_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_cases_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_experiment_cases")),
        sa.UniqueConstraint("experiment_id", "name", name=op.f("uq_experiment_cases_experiment_id_name")),
        sa.UniqueConstraint("id", name=op.f("uq_experiment_cases_id")),
    )
    with op.batch_alter_table("experiment_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_cases_experiment_id_seq"), ["experiment_id", "seq"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_experiment_cases_trace_id_span_id"), ["trace_id", "span_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("experiment_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_cases_trace_id_span_id"))
        batch_op.drop_index(batch_op.f("ix_experiment_cases_experiment_id_seq"))

    op.drop_table("experiment_cases")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiments_project_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_experiments_dataset_id_created_at"))

    op.drop_table("experiments")
