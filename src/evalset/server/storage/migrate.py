"""Apply the Alembic migrations on start, skipping Alembic entirely when the database is current."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from evalset.server.storage.engine import Database

__all__ = ["HEAD_REVISION", "migrate", "current_revision", "known_revisions"]

HEAD_REVISION = "telemetry1"
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


def known_revisions() -> set[str]:
    """Every revision this code has a migration for."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


_MIGRATION_LOCK = 0x65_76_61_6C_73_65_74  # "evalset": the PostgreSQL advisory lock that serialises migrations


def migrate(db: Database) -> None:
    """Bring the schema to HEAD_REVISION (a no-op costing one query when it is already there).

    On PostgreSQL, servers starting together against one database take turns (an advisory lock held
    by the migration's transaction); the later ones find the schema current and do nothing. On SQLite,
    foreign keys are off while migrating, as SQLite prescribes for table rebuilds: Alembic's batch mode
    copies a table and drops the old one, and that drop would otherwise cascade-delete every row that
    refers to it. The keys are checked before the migration commits.
    """
    if current_revision(db) == HEAD_REVISION:
        return
    from alembic import command

    config = alembic_config(db)
    # A write transaction (BEGIN IMMEDIATE on SQLite): servers starting together queue, and each finds
    # the revision its predecessor left.
    with db.engine.connect().execution_options(evalset_write=True) as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # on the driver's connection: a pragma only takes effect outside a transaction
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("the migration left rows whose foreign keys point nowhere; rolled back")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
