"""Looking many cases up by name or id (imports, bulk edits) on both databases: right rows, index plans."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event

from evalset.server.domain.auth import Principal
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.storage import Database
from evalset.server.storage import cases as store


def _fill(db: Database, principal: Principal, name: str, count: int, *, prefix: str = "c") -> dict[str, Any]:
    dataset = dataset_service.create_dataset(db, principal, {"name": name})
    items = [{"name": f"{prefix}{i}", "inputs": i} for i in range(count)]
    case_service.create_cases(db, principal, name, items)
    return dataset


def test_find_by_names_returns_exactly_the_named_cases_of_the_dataset(db: Database, principal: Principal) -> None:
    one = _fill(db, principal, "one", 1200)
    _fill(db, principal, "two", 50)  # same names in another dataset: never found from "one"
    odd = ["", "x" * 255, "ü ' \" % _ \\", "c1"]  # c1 exists; the others do not
    wanted = [f"c{i}" for i in range(0, 1200, 2)] + ["missing", *odd, "c0"]  # past one chunk; a repeat
    with db.read() as conn:
        found = store.find_by_names(conn, dataset_id=one["id"], names=wanted)
    assert sorted(found) == sorted({f"c{i}" for i in range(0, 1200, 2)} | {"c1"})
    assert all(row["dataset_id"] == one["id"] and row["name"] == name for name, row in found.items())
    assert found["c4"]["inputs"] == 4 and found["c4"]["version"] == 1 and "seq" in found["c4"]
    with db.read() as conn:
        assert store.find_by_names(conn, dataset_id=one["id"], names=[]) == {}


def test_get_cases_by_id_stays_within_the_dataset(db: Database, principal: Principal) -> None:
    one = _fill(db, principal, "one", 600)
    other = _fill(db, principal, "other", 3)
    with db.read() as conn:
        listed = store.find_by_names(conn, dataset_id=one["id"], names=[f"c{i}" for i in range(600)])
        theirs = store.find_by_names(conn, dataset_id=other["id"], names=["c0"])
        ids = [row["id"] for row in listed.values()]
        got = store.get_cases(conn, dataset_id=one["id"], case_ids=[*ids, theirs["c0"]["id"], str(uuid.uuid4())])
    by_position = sorted(listed.values(), key=lambda row: row["seq"])
    assert [row["id"] for row in got] == [row["id"] for row in by_position]  # in dataset order, only this dataset's


def test_name_lookup_probes_the_unique_index_without_statistics(db: Database, principal: Principal) -> None:
    """The plan PostgreSQL picks for an import's lookup, on a table that has never been analysed."""
    dataset = _fill(db, principal, "big", 20_000)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    names = [f"c{i}" for i in range(0, 20_000, 7)]
    with db.read() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        found = store.find_by_names(conn, dataset_id=dataset["id"], names=names)
        event.remove(conn, "before_cursor_execute", capture)
        assert len(found) == len(names)
        lookups = [(s, p) for s, p in statements if "cases" in s]
        if db.dialect == "postgresql":
            assert len(lookups) == 1  # one statement for all the names
            statement, parameters = lookups[0]
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        else:
            statement, parameters = lookups[0]
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = "\n".join(row[-1] for row in rows)
    assert "Seq Scan on cases" not in plan and "SCAN cases" not in plan, plan
    assert "uq_cases_dataset_id_name" in plan or "INDEX" in plan, plan
