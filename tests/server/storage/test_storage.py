"""Storage on both databases: migrations match the models, tag filters use the index, concurrency."""

from __future__ import annotations

import threading
import uuid

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from evalset.server.domain.auth import Principal
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.storage import Database, migrate
from evalset.server.storage.cases import filter_cases
from evalset.server.storage.migrate import HEAD_REVISION, alembic_config, current_revision
from evalset.server.storage.tables import cases, metadata


def test_migrations_agree_with_the_models(db: Database) -> None:
    assert current_revision(db) == HEAD_REVISION
    assert ScriptDirectory.from_config(alembic_config(db)).get_current_head() == HEAD_REVISION
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_migrate_is_idempotent(db: Database) -> None:
    migrate(db)
    assert current_revision(db) == HEAD_REVISION


def test_dialect_specifics(db: Database) -> None:
    """SQLite runs in WAL mode with foreign keys on; PostgreSQL stores case data as json (the text as sent)."""
    with db.read() as conn:
        if db.dialect == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        else:
            types = dict(
                conn.execute(
                    text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'cases'")
                ).all()
            )
            assert types["inputs"] == "json" and types["id"] == "uuid"


def test_failed_spans_index_is_partial(db: Database) -> None:
    """The index of failed spans by parent holds failed spans only, on both databases (migration telemetry1; the
    model in tables.py leaves its WHERE out, and comparing models and migrations does not look at it)."""
    name = "ix_spans_project_id_trace_id_parent_span_id"
    with db.read() as conn:
        if db.dialect == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar_one()
        else:
            sql = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}).scalar_one()
    assert "WHERE" in sql and "status" in sql and "'error'" in sql, sql


def test_tag_filter_uses_the_tag_index(db: Database, principal: Principal) -> None:
    ds = dataset_service.create_dataset(db, principal, {"name": "tagged"})
    items = [{"inputs": i, "tags": [f"t{i % 500}", "common"]} for i in range(20_000)]
    case_service.create_cases(db, principal, "tagged", items)
    query = filter_cases(select(cases.c.id), dataset_id=ds["id"], tags=["t7"])
    with db.read() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        if db.dialect == "sqlite":
            plan = " | ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "SCAN cases" not in plan and "case_tags" in plan and "INDEX" in plan, plan
        else:
            conn.execute(text("ANALYZE cases; ANALYZE case_tags"))
            plan = " | ".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
            assert "Seq Scan on cases" not in plan and "pk_case_tags" in plan, plan
        assert len(conn.execute(query).all()) == 40


def test_concurrent_writers_all_land(db: Database, principal: Principal) -> None:
    """Eight threads writing to one dataset at once: no 'database is locked', every case counted."""
    dataset_service.create_dataset(db, principal, {"name": "busy"})
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                case_service.create_cases(db, principal, "busy", [{"name": f"{n}-{i}", "inputs": i}])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert dataset_service.get_dataset(db, principal, "busy")["case_count"] == 200


def test_failed_import_rolls_back_everything(db: Database, principal: Principal) -> None:
    from evalset.server.errors import Conflict

    dataset_service.create_dataset(db, principal, {"name": "atomic"})
    case_service.create_cases(db, principal, "atomic", [{"name": "taken", "inputs": 1}])
    with pytest.raises(Conflict):
        case_service.create_cases(
            db,
            principal,
            "atomic",
            [{"name": f"n{i}", "inputs": i} for i in range(50)] + [{"name": "taken", "inputs": 2}],
        )
    assert dataset_service.get_dataset(db, principal, "atomic")["case_count"] == 1
    rows = case_service.open_case_list(db, principal, "atomic", tags=None, tags_match="any", limit=None, offset=0)
    assert [r["name"] for r in orjson.loads(orjson.dumps(list(rows)))] == ["taken"]


def test_unknown_dataset_id_is_not_found(db: Database, principal: Principal) -> None:
    from evalset.server.errors import DatasetNotFound

    with pytest.raises(DatasetNotFound):
        dataset_service.get_dataset(db, principal, str(uuid.uuid4()))
