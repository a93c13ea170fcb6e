"""Migration traces1 upgrades a database holding cases (both backends): they gain a null `source_span`."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from evalset.server.domain.auth import Principal
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.services import keys as key_service
from evalset.server.storage import Database, migrate
from evalset.server.storage.migrate import alembic_config


def _to(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_cases_made_before_traces1_read_with_a_null_source_span(db_url: str) -> None:
    db = Database(db_url)
    try:
        migrate(db)
        _, key = key_service.create_key(db, project="p", scopes=["project:read_datasets", "project:write_datasets"])
        principal = Principal(key["id"], key["name"], key["project_id"], frozenset())
        dataset_service.create_dataset(db, principal, {"name": "d"})
        (case,) = case_service.create_cases(db, principal, "d", [{"inputs": 1, "name": "old"}])
        _to(db, "web1", down=True)
        with db.engine.connect() as conn:
            assert "spans" not in inspect(conn).get_table_names()
            assert "source_span" not in {c["name"] for c in inspect(conn).get_columns("cases")}
        migrate(db)
        again = case_service.get_case(db, principal, "d", case["id"])
        assert again["source_span"] is None and again["inputs"] == 1
        case_service.delete_case(db, principal, "d", case["id"])
        assert case_service.restore_case(db, principal, "d", case["id"])["source_span"] is None
    finally:
        db.dispose()
