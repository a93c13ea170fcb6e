"""Imports write in batches, yet stay one transaction: a row the database refuses late in a large import
(a trigger refusing one name, in the last batch) leaves no case, no revision and no count behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from evalset.server.domain.auth import Principal
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.storage import Database
from evalset.server.storage import cases as store

POISON = "poison-9990"


@pytest.fixture
def poisoned(db: Database) -> Iterator[Database]:
    """The database refuses, by a trigger, to store a case named POISON (insert or update)."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            for event in ("INSERT", "UPDATE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON cases "
                    f"WHEN NEW.name = '{POISON}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN IF NEW.name = '{POISON}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON cases FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    yield db


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM cases")).scalar_one(),
            conn.execute(text("SELECT count(*) FROM case_revisions")).scalar_one(),
        )


def test_a_row_refused_late_in_a_big_import_leaves_nothing(poisoned: Database, principal: Principal) -> None:
    db = poisoned
    dataset_service.create_dataset(db, principal, {"name": "atomic"})
    kept = [{"name": f"n{i}", "inputs": {"v": i}} for i in range(3000)]
    case_service.import_cases(db, principal, "atomic", kept)
    before = _counts(db)
    # 3,000 updates of existing cases (archived revisions written first), then 7,000 new cases, one refused
    # near the end: every batch before it has been written inside the transaction.
    items = [{"name": f"n{i}", "inputs": {"v": -i}} for i in range(3000)]
    items += [{"name": f"poison-{i}" if i == 9990 else f"m{i}", "inputs": i} for i in range(3000, 10_000)]
    with pytest.raises(DBAPIError, match="refused"):
        case_service.import_cases(db, principal, "atomic", items)
    assert _counts(db) == before
    assert dataset_service.get_dataset(db, principal, "atomic")["case_count"] == 3000
    with db.read() as conn:
        dataset_id = dataset_service.get_dataset(db, principal, "atomic")["id"]
        stored = store.find_by_names(conn, dataset_id=dataset_id, names=["n0", "n2999", "m3000"])
    assert sorted(stored) == ["n0", "n2999"]  # no new case, and the updates rolled back too
    assert stored["n2999"]["version"] == 1 and stored["n2999"]["inputs"] == {"v": 2999}
