"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("project_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lookup", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_api_keys_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("lookup", name=op.f("uq_api_keys_lookup")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_project_id"), ["project_id"], unique=False)

    op.create_table(
        "datasets",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("project_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("input_schema", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("output_schema", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("metadata_schema", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("guidance", sa.Text(), nullable=True),
        sa.Column("ai_managed_guidance", sa.Boolean(), nullable=False),
        sa.Column("evaluators", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("report_evaluators", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=True),
        sa.Column("updated_by", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("updated_by_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_datasets_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_datasets_project_id_name")),
    )
    op.create_table(
        "case_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("case_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column(
            "state",
            sa.JSON(none_as_null=True)
            .with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")
            .with_variant(sa.Text(), "sqlite"),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_case_revisions_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_revisions")),
    )
    with op.batch_alter_table("case_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_revisions_case_id_version"), ["case_id", "version"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_revisions_dataset_id_at"), ["dataset_id", "at"], unique=False)

    op.create_table(
        "cases",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("dataset_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column(
            "inputs",
            sa.JSON(none_as_null=True)
            .with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")
            .with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "expected_output",
            sa.JSON(none_as_null=True)
            .with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")
            .with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            sa.JSON(none_as_null=True)
            .with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")
            .with_variant(sa.Text(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "evaluators",
            sa.JSON(none_as_null=True)
            .with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")
            .with_variant(sa.Text(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "tags",
            sa.JSON(none_as_null=True)
            .with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")
            .with_variant(sa.Text(), "sqlite"),
            nullable=False,
        ),
        sa.Column("source_trace_id", sa.String(length=64), nullable=True),
        sa.Column("source_span_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_op", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("updated_by_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_cases_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_cases")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_cases_dataset_id_name")),
        sa.UniqueConstraint("id", name=op.f("uq_cases_id")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_dataset_id_seq"), ["dataset_id", "seq"], unique=False)

    op.create_table(
        "dataset_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("state", sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_revisions_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_revisions")),
    )
    with op.batch_alter_table("dataset_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_revisions_dataset_id_at"), ["dataset_id", "at"], unique=False)

    op.create_table(
        "case_tags",
        sa.Column("dataset_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("case_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_tags_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_case_tags_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("dataset_id", "tag", "case_id", name=op.f("pk_case_tags")),
    )
    with op.batch_alter_table("case_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_tags_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_tags_case_id"))

    op.drop_table("case_tags")
    with op.batch_alter_table("dataset_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_revisions_dataset_id_at"))

    op.drop_table("dataset_revisions")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_dataset_id_seq"))

    op.drop_table("cases")
    with op.batch_alter_table("case_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_revisions_dataset_id_at"))
        batch_op.drop_index(batch_op.f("ix_case_revisions_case_id_version"))

    op.drop_table("case_revisions")
    op.drop_table("datasets")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_project_id"))

    op.drop_table("api_keys")
    op.drop_table("projects")
