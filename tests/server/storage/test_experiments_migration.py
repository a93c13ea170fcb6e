"""The experiments migration upgrades a database holding data (both backends), and goes back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from evalset.server.services import datasets as dataset_service
from evalset.server.services import experiments as experiment_service
from evalset.server.storage import Database, migrate
from evalset.server.storage.migrate import HEAD_REVISION, alembic_config, current_revision


def _to(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_upgrade_from_the_initial_schema_keeps_the_data(db_url: str) -> None:
    from evalset.server.domain.auth import Principal
    from evalset.server.services import keys as key_service

    db = Database(db_url)
    try:
        _to(db, "0001")
        _, key = key_service.create_key(db, project="p", scopes=["project:read_datasets", "project:write_datasets"])
        principal = Principal(key["id"], key["name"], key["project_id"], frozenset())
        dataset_service.create_dataset(db, principal, {"name": "kept"})
        migrate(db)
        assert current_revision(db) == HEAD_REVISION
        assert dataset_service.get_dataset(db, principal, "kept")["name"] == "kept"
        assert experiment_service.list_experiments(db, principal) == ([], 0)
        _to(db, "0001", down=True)
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert "experiments" not in tables and "experiment_cases" not in tables and "datasets" in tables
    finally:
        db.dispose()
