"""Database.read_cached: one statement outside a transaction, on a pooled connection, for the hot list read."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import bindparam, select, text

from evalset.server.domain.auth import Principal
from evalset.server.services import datasets as dataset_service
from evalset.server.storage import Database, Unavailable
from evalset.server.storage import datasets as store
from evalset.server.storage.tables import datasets


def test_list_renders_what_the_records_hold(db: Database, principal: Principal) -> None:
    assert orjson.loads(orjson.dumps(store.list_datasets(db, project_id=principal.project_id))) == []
    for name in ("b", "a", "c"):
        dataset_service.create_dataset(db, principal, {"name": name, "description": f"about {name}"})
    listed = orjson.loads(orjson.dumps(store.list_datasets(db, project_id=principal.project_id)))
    with db.read() as conn:
        records = store.list_dataset_rows(conn, project_id=principal.project_id)
    assert [row["name"] for row in listed] == ["a", "b", "c"]
    for row, record in zip(listed, records, strict=True):
        assert list(row) == list(store.SUMMARY_FIELDS)
        assert row["id"] == record["id"] and row["project_id"] == principal.project_id == record["project_id"]
        assert row["created_at"] == record["created_at"].isoformat(timespec="microseconds")
        assert (
            row["ai_managed_guidance"] is False
            and row["case_count"] == 0
            and row["description"] == record["description"]
        )


def test_leaves_no_transaction_open_and_the_pool_usable(db: Database, principal: Principal) -> None:
    dataset_service.create_dataset(db, principal, {"name": "x"})
    query = select(datasets.c.name).where(datasets.c.project_id == bindparam("project_id"))
    for _ in range(40):  # more than the pool holds: each connection went back
        assert db.read_cached("test_names", lambda: query, {"project_id": principal.project_id}) == [("x",)]
    with db.write() as conn:  # a write on a connection read_cached used: no transaction was left open on it
        conn.execute(datasets.update().values(description="after"))
    with db.read() as conn:
        assert conn.execute(text("SELECT description FROM datasets")).scalar() == "after"
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:  # the connections went back to the pool out of autocommit
            assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]


def test_a_failing_statement_raises_as_sqlalchemy_does(db: Database) -> None:
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError):
        db.read_cached("test_broken", lambda: select(text("no_such_column FROM datasets")), {})
    assert db.read_cached("test_ok", lambda: select(text("1")), {}) == [(1,)]


def test_a_database_that_refuses_connections_is_unavailable(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite opens a file")
    down = Database(db.url.replace("127.0.0.1:5432", "127.0.0.1:1"))
    try:
        with pytest.raises(Unavailable):
            down.read_cached("test_down", lambda: select(text("1")), {})
    finally:
        down.dispose()
