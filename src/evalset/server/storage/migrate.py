"""Apply the Alembic migrations on start, skipping Alembic entirely when the database is current."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from evalset.server.storage.engine import Database

__all__ = ["HEAD_REVISION", "migrate", "current_revision"]

HEAD_REVISION = "experiments1"
"""The newest migration; a test checks it against Alembic's own view of the scripts."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(db: Database):  # noqa: ANN201 - alembic is imported lazily to keep start-up fast
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db.url)
    return config


def migrate(db: Database) -> None:
    """Bring the schema to HEAD_REVISION (a no-op costing one query when it is already there)."""
    if current_revision(db) == HEAD_REVISION:
        return
    from alembic import command

    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
