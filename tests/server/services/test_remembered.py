"""Remembered reads (the dataset list, a dataset): given again only while nothing was committed, by any
connection or process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import text

from evalset.server.domain.auth import Principal
from evalset.server.errors import DatasetNotFound
from evalset.server.services import _remembered, datasets, keys
from evalset.server.storage import Database, Stamp
from evalset.server.storage import datasets as store
from evalset.server.wire import dumps


@pytest.fixture
def other(db: Database, db_url: str) -> Iterator[Database]:
    """A second Database on the same data: what another server process holds."""
    second = Database(db_url)
    yield second
    second.dispose()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The project ids the list was read from the database for."""
    seen: list[str] = []
    real = store.list_datasets

    def counting(db: Database, *, project_id: str) -> object:
        seen.append(project_id)
        return real(db, project_id=project_id)

    monkeypatch.setattr(store, "list_datasets", counting)
    return seen


def _names(db: Database, principal: Principal) -> list[str]:
    """The list as the route answers it: the stamp read first (by the key check), then the service."""
    body = datasets.list_datasets(db, principal, seen=db.stamp())
    return [row["name"] for row in orjson.loads(body)]


def _stamp(db: Database) -> Stamp:
    stamp = db.stamp()
    assert stamp is not None and stamp.data is not None
    return stamp


def test_remembered_while_nothing_is_committed(db: Database, principal: Principal, reads: list[str]) -> None:
    datasets.create_dataset(db, principal, {"name": "a"})
    seen = _stamp(db)
    for _ in range(3):
        assert orjson.loads(datasets.list_datasets(db, principal, seen=seen))[0]["name"] == "a"
    assert reads == [principal.project_id]  # read once, then remembered
    body = datasets.remembered_list(db, principal, seen)
    assert body is not None and orjson.loads(body)[0]["name"] == "a"
    if db.dialect == "sqlite":  # (PostgreSQL's moves with any commit in the cluster: other tests' too)
        assert _stamp(db) == _stamp(db) == seen


def test_a_write_by_another_process_is_seen_at_the_next_list(
    db: Database, other: Database, principal: Principal, reads: list[str]
) -> None:
    assert _names(db, principal) == []
    created = datasets.create_dataset(other, principal, {"name": "a"})
    assert _names(db, principal) == ["a"]
    datasets.update_dataset(other, principal, "a", {"name": "b", "description": "renamed"})
    assert _names(db, principal) == ["b"]
    with other.write() as conn:  # a change the list shows, made below the services
        conn.execute(text("UPDATE datasets SET case_count = 7"))
    assert [row["case_count"] for row in orjson.loads(datasets.list_datasets(db, principal, seen=db.stamp()))] == [7]
    datasets.delete_dataset(other, principal, created["id"])
    assert _names(db, principal) == []
    assert len(reads) == 5  # every list after a write was read afresh


def test_a_write_by_this_process_is_seen_at_the_next_list(db: Database, principal: Principal) -> None:
    assert _names(db, principal) == []
    datasets.create_dataset(db, principal, {"name": "a"})
    assert _names(db, principal) == ["a"]


def test_a_write_by_another_os_process_is_seen(db: Database, db_url: str, principal: Principal) -> None:
    assert _names(db, principal) == []
    before = _stamp(db)
    script = textwrap.dedent(
        f"""
        from evalset.server.domain.auth import Principal
        from evalset.server.services import datasets
        from evalset.server.storage import Database

        db = Database({db_url!r})
        principal = Principal(key_id=None, key_name="x", project_id={principal.project_id!r}, scopes=frozenset())
        datasets.create_dataset(db, principal, {{"name": "from-elsewhere"}})
        db.dispose()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert _stamp(db).data != before.data
    assert _names(db, principal) == ["from-elsewhere"]


def test_an_uncommitted_write_is_not_shown_and_its_commit_is(
    db: Database, other: Database, principal: Principal
) -> None:
    datasets.create_dataset(db, principal, {"name": "a"})
    assert _names(db, principal) == ["a"]
    with other.write() as conn:
        conn.execute(text("UPDATE datasets SET description = 'pending'"))
        body = datasets.list_datasets(db, principal, seen=db.stamp())
        assert orjson.loads(body)[0]["description"] is None
    body = datasets.list_datasets(db, principal, seen=db.stamp())
    assert orjson.loads(body)[0]["description"] == "pending"


def test_each_project_has_its_own_list(db: Database, principal: Principal) -> None:
    _, row = keys.create_key(db, project="q", scopes=["project:read_datasets", "project:write_datasets"])
    second = Principal(key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset())
    datasets.create_dataset(db, principal, {"name": "in-p"})
    datasets.create_dataset(db, second, {"name": "in-q"})
    for _ in range(2):
        assert _names(db, principal) == ["in-p"]
        assert _names(db, second) == ["in-q"]


def test_without_a_stamp_nothing_is_remembered(db: Database, principal: Principal, reads: list[str]) -> None:
    datasets.list_datasets(db, principal)
    datasets.list_datasets(db, principal)
    assert len(reads) == 2
    assert datasets.remembered_list(db, principal, _stamp(db)) is None


def test_the_stamp_connection_cannot_write(db: Database) -> None:
    """A commit made on the connection reading the stamp would not move SQLite's data_version."""
    _stamp(db)
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL's snapshot moves with the reading connection's own commits too")
    conn = db._stamp._conn  # type: ignore[union-attr]
    with pytest.raises(Exception, match="readonly|read-only|query_only"):
        conn.cursor().execute("UPDATE datasets SET description = 'x'")


def test_a_reopened_stamp_connection_never_repeats_a_stamp(db: Database, principal: Principal) -> None:
    """SQLite's data_version starts afresh on a new connection: a stamp read there must differ from all before."""
    datasets.create_dataset(db, principal, {"name": "a"})
    assert _names(db, principal) == ["a"]
    first = _stamp(db)
    db._stamp.close()  # type: ignore[union-attr] # as after a failed read
    with db.write() as conn:
        conn.execute(text("UPDATE datasets SET description = 'changed'"))
    again = _stamp(db)
    if db.dialect == "sqlite":
        assert again.data != first.data
    assert orjson.loads(datasets.list_datasets(db, principal, seen=again))[0]["description"] == "changed"


def test_the_memory_is_bounded(db: Database, principal: Principal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_remembered, "REMEMBERED_ENTRIES", 3)
    principals = [
        Principal(key_id=None, key_name="x", project_id=keys.ensure_project(db, name=f"p{i}")["id"], scopes=frozenset())
        for i in range(5)
    ]
    seen = _stamp(db)
    for each in principals:
        datasets.list_datasets(db, each, seen=seen)
        assert len(db.memo["remembered"]) <= 3
    assert db.memo["remembered_bytes"] == sum(len(body) for _, body in db.memo["remembered"].values())
    monkeypatch.setattr(_remembered, "REMEMBERED_BYTES", 16 * 40)  # at most 40 bytes an answer: not kept
    datasets.create_dataset(db, principal, {"name": "a-dataset-with-a-long-enough-name"})
    datasets.list_datasets(db, principal, seen=_stamp(db))
    assert datasets.remembered_list(db, principal, _stamp(db)) is None


def test_a_dataset_by_name_or_id_is_remembered_until_a_commit(
    db: Database, other: Database, principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = datasets.create_dataset(db, principal, {"name": "a"})
    reads: list[str] = []
    real = datasets.get_dataset

    def counting(db: Database, principal: Principal, ref: str) -> dict[str, object]:
        reads.append(ref)
        return real(db, principal, ref)

    monkeypatch.setattr(datasets, "get_dataset", counting)
    seen = _stamp(db)
    for ref in ("a", "a", created["id"], created["id"]):
        body = datasets.get_dataset_json(db, principal, ref, seen=seen)
        assert orjson.loads(body)["id"] == created["id"]
    assert reads == ["a", created["id"]]
    assert body == dumps(real(db, principal, "a"))  # what the route answered before: its record, serialised
    datasets.update_dataset(other, principal, "a", {"name": "b"})  # another process
    with pytest.raises(DatasetNotFound):
        datasets.get_dataset_json(db, principal, "a", seen=_stamp(db))
    assert orjson.loads(datasets.get_dataset_json(db, principal, created["id"], seen=_stamp(db)))["name"] == "b"
    _, row = keys.create_key(db, project="q", scopes=["project:read_datasets"])
    stranger = Principal(key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset())
    with pytest.raises(DatasetNotFound):  # the same name in another project is another entry
        datasets.get_dataset_json(db, stranger, "b", seen=_stamp(db))
