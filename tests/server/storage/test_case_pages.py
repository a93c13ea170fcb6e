"""Pages of cases for the web UI (keyset paging, tag filter plans, search, loose tag scan), both databases."""

from __future__ import annotations

import pytest

from evalset.server.domain.auth import Principal
from evalset.server.services import cases as case_service
from evalset.server.services import datasets as dataset_service
from evalset.server.services import keys as key_service
from evalset.server.storage import Database, migrate
from evalset.server.storage import cases as store


@pytest.fixture
def filled(db_url: str):
    db = Database(db_url)
    migrate(db)
    _, row = key_service.create_key(db, project="p", scopes=["project:read_datasets", "project:write_datasets"])
    principal = Principal(key_id=row["id"], key_name="k", project_id=row["project_id"], scopes=frozenset())
    dataset_service.create_dataset(db, principal, {"name": "other"})
    dataset_service.create_dataset(db, principal, {"name": "d"})
    for start in range(0, 300, 100):  # another dataset's cases in between: positions are not contiguous
        case_service.create_cases(db, principal, "other", [{"inputs": i} for i in range(10)])
        items = [
            {
                "name": f"c{i:03}",
                "inputs": {"text": "Crème Brûlée" if i % 7 == 0 else f"plain {i}"},
                "tags": ["rare"] if i % 50 == 0 else ["common", *(["x"] if i % 3 == 0 else [])],
            }
            for i in range(start, start + 100)
        ]
        case_service.create_cases(db, principal, "d", items)
    yield db, principal
    db.dispose()


def _walk_all(db: Database, principal: Principal, **filters) -> list[str]:
    """Every matching case name through the pages forwards; reading the pages backwards gives the same."""
    names, rows, after = [], [], None
    while True:
        page = case_service.page_cases(db, principal, "d", after=after, limit=7, **filters)
        names.extend(r["name"] for r in page.rows)
        rows.extend(page.rows)
        if not page.more_after:
            break
        after = page.rows[-1]["seq"]
    backwards, before = [], (rows[-1]["seq"] + 1 if rows else None)
    while before is not None:
        page = case_service.page_cases(db, principal, "d", before=before, limit=7, **filters)
        backwards = [r["name"] for r in page.rows] + backwards
        before = page.rows[0]["seq"] if page.rows and page.more_before else None
    assert backwards == names
    return names


@pytest.mark.parametrize("rare_limit, stretch", [(20_000, 4096), (0, 3)])
def test_pages_filters_and_search_find_exactly_the_matching_cases(filled, monkeypatch, rare_limit, stretch) -> None:
    """Both tag plans (index listing and per-case probe) and tiny search stretches give the same pages."""
    monkeypatch.setattr(store, "RARE_TAG_ENTRIES", rare_limit)
    monkeypatch.setattr(store, "FIRST_STRETCH", stretch)
    db, principal = filled
    everything = [f"c{i:03}" for i in range(300)]
    assert _walk_all(db, principal) == everything
    assert _walk_all(db, principal, tags=["rare"]) == [f"c{i:03}" for i in range(0, 300, 50)]
    assert _walk_all(db, principal, tags=["x", "rare"]) == [
        n for i, n in enumerate(everything) if i % 3 == 0 or i % 50 == 0
    ]
    assert _walk_all(db, principal, search="crème BRÛLÉE") == [n for i, n in enumerate(everything) if i % 7 == 0]
    tagged_x_in_c1xx = [f"c{i:03}" for i in range(100, 200) if i % 3 == 0 and i % 50]
    assert _walk_all(db, principal, search="c1", tags=["x"]) == tagged_x_in_c1xx
    assert _walk_all(db, principal, search="100%") == []  # LIKE wildcards are text here
    assert _walk_all(db, principal, search="nothing like it") == []


def test_a_page_before_a_position_is_the_one_just_before_it(filled) -> None:
    db, principal = filled
    first = case_service.page_cases(db, principal, "d", limit=10)
    second = case_service.page_cases(db, principal, "d", after=first.rows[-1]["seq"], limit=10)
    back = case_service.page_cases(db, principal, "d", before=second.rows[0]["seq"], limit=10)
    assert [r["name"] for r in back.rows] == [r["name"] for r in first.rows]
    assert not back.more_before and second.more_before and "inputs_preview" in first.rows[0]
    assert first.tags == ["common", "rare", "x"]
