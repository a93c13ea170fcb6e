"""case data as json (key order kept) on PostgreSQL; project names as long as dataset names

Revision ID: ops1
Revises: experiments1

On PostgreSQL, the case data columns change from JSONB to JSON, so that values keep the key order
and number spelling they were sent with (JSONB had already normalised what is stored: existing rows
keep that order). One ALTER TABLE per table rewrites it once. SQLite stores JSON as TEXT already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ops1"
down_revision = "experiments1"
branch_labels = None
depends_on = None

_JSON_COLUMNS = {"cases": ("inputs", "expected_output", "metadata", "evaluators", "tags"), "case_revisions": ("state",)}


def _retype(to: str) -> None:
    for table, columns in _JSON_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {to} USING {column}::{to}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _retype("json")
    # On SQLite this rebuilds the table: `migrate()` runs with foreign keys off, so rows referring to
    # projects are not cascade-deleted by the rebuild's DROP TABLE.
    with op.batch_alter_table("projects") as batch:
        batch.alter_column("name", existing_type=sa.String(200), type_=sa.String(255), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.alter_column("name", existing_type=sa.String(255), type_=sa.String(200), existing_nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        _retype("jsonb")
