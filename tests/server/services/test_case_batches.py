"""write_case_batches does what import_cases and create_cases do, a batch at a time in one transaction:
the same cases stored and answered, nothing kept when it stops at a case they would refuse, and a run
lost to a race starts its answer over."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import SeenNames
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.storage import Contention, Database

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
VOLATILE = ("id", "dataset_id", "created_at", "updated_at")


class Sink:
    def __init__(self, fail_first_adds: int = 0) -> None:
        self.cases: list[dict[str, Any]] = []
        self.restarts = 0
        self.fail = fail_first_adds

    def restart(self) -> None:
        self.restarts += 1
        self.cases = []

    def add(self, cases: list[dict[str, Any]]) -> None:
        if self.fail:
            self.fail -= 1
            raise Contention("lost a race")  # as the storage layer reports one
        self.cases.extend(cases)


def batched(items: list[dict[str, Any]], size: int = 7) -> Any:
    def batches() -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(items), size):
            yield [dict(item) for item in items[start : start + size]]

    return batches


def same(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k not in VOLATILE} for c in cases]


def items(n: int, *, answer: str = "a") -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    for i in range(n):
        item: dict[str, Any] = {"name": f"n{i}", "inputs": {"q": str(i)}, "expected_output": answer}
        if i % 5 == 0:
            item["tags"] = ["five"]
        if i % 9 == 0:
            del item["name"]
        made.append(item)
    return made


def stored(db: Database, principal: Principal, ds: str) -> list[dict[str, Any]]:
    rows = case_service.open_case_list(db, principal, ds, tags=None, tags_match="any", limit=None, offset=0)
    return orjson.loads(orjson.dumps(list(rows)))  # the rows are JSON fragments rendered by the database


def test_batches_store_and_answer_what_import_cases_does(db: Database, principal: Principal) -> None:
    for name in ("whole", "batched"):
        dataset_service.create_dataset(db, principal, {"name": name, "input_schema": SCHEMA})
    first = items(40)
    second = items(40, answer="b")[:12] + items(40)[12:25] + items(60)[40:]  # changed, unchanged, new
    for items_ in (first, second):
        whole = case_service.import_cases(db, principal, "whole", [dict(i) for i in items_])
        sink = Sink()
        case_service.write_case_batches(db, principal, "batched", batched(items_), on_conflict="update", out=sink)
        assert same(sink.cases) == same(whole)
    changed = [2 if i < 12 and "name" in item else 1 for i, item in enumerate(second)]
    assert [c["version"] for c in sink.cases] == changed and changed.count(2) == 10
    batched_rows = stored(db, principal, "batched")
    assert same(batched_rows) == same(stored(db, principal, "whole"))
    assert {c["id"] for c in sink.cases} <= {c["id"] for c in batched_rows}


@pytest.mark.parametrize(
    ("change", "on_conflict"),
    [
        (lambda cases: cases[33].update(name="n1"), "update"),  # duplicate name, in another batch
        (lambda cases: cases[33].update(inputs={"q": 1}), "update"),  # the schema
        (lambda cases: cases[33].update(metadata={"k": "\u0000"}), "update"),  # a value rule
        (lambda cases: cases[33].update(name="old"), "error"),  # a taken name
    ],
)
def test_a_refused_case_in_a_late_batch_leaves_nothing(
    db: Database, principal: Principal, change: Any, on_conflict: Any
) -> None:
    dataset_service.create_dataset(db, principal, {"name": "d", "input_schema": SCHEMA})
    case_service.create_cases(db, principal, "d", [{"name": "old", "inputs": {"q": "kept"}}])
    before = stored(db, principal, "d")
    cases = items(40)
    change(cases)
    with pytest.raises(case_service.NotBatchable):
        case_service.write_case_batches(db, principal, "d", batched(cases), on_conflict=on_conflict, out=Sink())
    assert stored(db, principal, "d") == before
    assert dataset_service.get_dataset(db, principal, "d")["case_count"] == 1


def test_a_run_lost_to_a_race_starts_its_answer_over(db: Database, principal: Principal) -> None:
    dataset_service.create_dataset(db, principal, {"name": "d"})
    sink = Sink(fail_first_adds=1)
    case_service.write_case_batches(db, principal, "d", batched(items(30)), on_conflict="update", out=sink)
    assert sink.restarts == 2
    rows = stored(db, principal, "d")
    assert len(rows) == 30 and [c["id"] for c in sink.cases] == [c["id"] for c in rows]


def test_two_names_with_one_hash_go_to_the_exact_check(
    db: Database, principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches remember names by hash (SeenNames); two names with one hash stop them as a duplicate
    would, and import_cases, which compares names, then takes both."""
    dataset_service.create_dataset(db, principal, {"name": "d"})
    cases = items(20)
    real_add = SeenNames.add_all  # n17 "collides" with a name met before
    monkeypatch.setattr(SeenNames, "add_all", lambda seen, names: "n17" not in names and real_add(seen, names))
    with pytest.raises(case_service.NotBatchable):
        case_service.write_case_batches(db, principal, "d", batched(cases), on_conflict="update", out=Sink())
    assert stored(db, principal, "d") == []
    written = case_service.import_cases(db, principal, "d", cases)
    assert len(written) == 20 and len(stored(db, principal, "d")) == 20
