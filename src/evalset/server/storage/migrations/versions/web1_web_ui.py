"""web UI: keys' last use, case search text, per-server settings

Revision ID: web1
Revises: ops1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "web1"
down_revision = "ops1"
branch_labels = None
depends_on = None

_BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    op.create_table(
        "server_settings",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_settings")),
    )
    _backfill_search_text()


def _backfill_search_text() -> None:
    """Existing cases get their search text, computed by the same rule as new ones, in batches."""
    from evalset.server.domain.cases import search_text
    from evalset.server.storage.tables import cases

    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(cases.c.seq, cases.c.name, cases.c.inputs, cases.c.expected_output, cases.c.metadata)
            .where(cases.c.seq > last)
            .order_by(cases.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            sa.update(cases).where(cases.c.seq == sa.bindparam("_seq")).values(search_text=sa.bindparam("_text")),
            [{"_seq": row.seq, "_text": search_text(row._asdict())} for row in rows],
        )
        last = rows[-1].seq


def downgrade() -> None:
    op.drop_table("server_settings")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("search_text")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
