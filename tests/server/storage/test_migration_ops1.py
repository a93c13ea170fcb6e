"""Migration ops1 on data written under 0001: case data JSONB -> json on PostgreSQL, nothing lost."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from evalset.server.storage import Database
from evalset.server.storage.migrate import HEAD_REVISION, alembic_config, current_revision, migrate


def test_upgrade_from_0001_keeps_every_case_and_revision(db_url: str) -> None:
    db = Database(db_url)
    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    project, dataset, case = (f"00000000-0000-0000-0000-00000000000{n}" for n in (1, 2, 3))
    value = {"z": 1, "a": [1, 2.5, None], "m": {"y": "é", "b": True}}
    with db.engine.begin() as conn:
        now = "2026-01-01 00:00:00"
        conn.execute(text("INSERT INTO projects VALUES (:id, 'p', :now)"), {"id": project, "now": now})
        conn.execute(
            text(
                "INSERT INTO datasets (id, project_id, name, ai_managed_guidance, evaluators, report_evaluators, "
                "case_count, created_at, updated_at) VALUES (:id, :p, 'd', false, '[]', '[]', 1, :now, :now)"
            ),
            {"id": dataset, "p": project, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO cases (id, dataset_id, name, inputs, expected_output, metadata, evaluators, tags, "
                "version, last_op, created_at, updated_at) VALUES (:id, :d, 'c', :v, :v, NULL, '[]', '[\"t\"]', 1, "
                "'create', :now, :now)"
            ),
            {"id": case, "d": dataset, "v": json.dumps(value), "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO case_revisions (dataset_id, case_id, case_seq, version, op, state, at) "
                "VALUES (:d, :c, 1, 1, 'create', :v, :now)"
            ),
            {"d": dataset, "c": case, "v": json.dumps({"inputs": value}), "now": now},
        )
    migrate(db)
    assert current_revision(db) == HEAD_REVISION
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT inputs, tags FROM cases")).one()
        state = conn.execute(text("SELECT state FROM case_revisions")).scalar()
        if db.dialect == "postgresql":
            kinds = conn.execute(
                text(
                    "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name IN ('cases', 'case_revisions') AND column_name IN ('inputs', 'tags', 'state')"
                )
            ).scalars()
            assert set(kinds) == {"json"}
    decoded = [json.loads(v) if isinstance(v, str) else v for v in (row[0], row[1], state)]
    assert decoded == [value, ["t"], {"inputs": value}]
    db.dispose()
