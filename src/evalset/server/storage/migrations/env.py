"""Alembic environment: runs on the connection that `evalset.server.storage.migrate` hands it."""

from __future__ import annotations

from alembic import context

from evalset.server.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached through the alembic CLI, which we do not ship
    raise RuntimeError("run migrations through evalset.server.storage.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
