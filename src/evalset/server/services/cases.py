"""Case use cases: create (one or bulk), import with upsert, get, update with If-Match, delete, restore."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from evalset.server.domain import cases as rules
from evalset.server.domain import values
from evalset.server.domain.auth import Principal
from evalset.server.domain.names import canonical_uuid, looks_like_uuid
from evalset.server.domain.schemas import summarize, validator_for_dataset
from evalset.server.errors import CaseNotFound, Conflict, InvalidInput, PreconditionFailed, Violation
from evalset.server.services._common import actor_of, retry_on_contention, streamed_read, utcnow
from evalset.server.storage import Conn, Database, history
from evalset.server.storage import cases as store
from evalset.server.storage import datasets as dataset_store

__all__ = [
    "create_cases",
    "import_cases",
    "write_case_batches",
    "CaseSink",
    "NotBatchable",
    "get_case",
    "update_case",
    "delete_case",
    "restore_case",
    "open_case_list",
    "insert_new_cases",
    "CasePage",
    "page_cases",
    "retag_cases",
    "delete_cases",
    "restore_version",
    "check_case",
]


def _validate(dataset: dict[str, Any], items: Sequence[dict[str, Any]], *, single: bool = False) -> None:
    validator = validator_for_dataset(dataset)
    if validator.empty:
        return
    violations: list[Violation] = []
    for index, item in enumerate(items):
        violations.extend(validator.violations(item, None if single else index))
    if violations:
        raise InvalidInput(summarize(violations), violations)


def _check_unique_names(items: Sequence[dict[str, Any]]) -> None:
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.get("name")
        if name is None:
            continue
        if name in first_seen:
            raise InvalidInput(
                f"Case name {name!r} appears twice in the request (cases {first_seen[name]} and {index}); "
                "case names must be unique within a dataset.",
                [Violation(case_index=index, case_name=name, field="name", pointer="", message="duplicate case name")],
            )
        first_seen[name] = index


def _name_conflict(names: Sequence[str], dataset_name: str) -> Conflict:
    shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return Conflict(f"Case name {shown} already exists in dataset {dataset_name!r}; case names must be unique.")


def _insert_new(
    conn: Conn,
    dataset: dict[str, Any],
    items: Sequence[dict[str, Any]],
    principal: Principal,
    now: datetime | None = None,
):
    actor = actor_of(principal)
    now = now or utcnow()
    ids = rules.new_ids(len(items))
    rows = [
        rules.new_case(item, dataset_id=dataset["id"], actor=actor, now=now, id=case_id)
        for item, case_id in zip(items, ids, strict=True)
    ]
    store.insert_cases(conn, rows=rows)  # history: the live row is version 1's revision
    dataset_store.add_case_count(conn, dataset_id=dataset["id"], delta=len(rows))
    return rows


@retry_on_contention
def create_cases(
    db: Database, principal: Principal, ref: str, items: Sequence[dict[str, Any]], *, single: bool = False
) -> list[dict[str, Any]]:
    """Create cases, all or none. A name already used in the dataset is a 409."""
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        created = insert_new_cases(conn, principal, dataset, items, single=single)
    db.wrote_many(len(created))
    return created


def insert_new_cases(
    conn: Conn, principal: Principal, dataset: dict[str, Any], items: Sequence[dict[str, Any]], *, single: bool = False
) -> list[dict[str, Any]]:
    """Within the caller's write transaction: check and add cases to a dataset (locked or just created)."""
    values.check_cases(items, single=single)
    _check_unique_names(items)
    _validate(dataset, items, single=single)
    names = [item["name"] for item in items if item.get("name") is not None]
    if names:
        taken = store.find_by_names(conn, dataset_id=dataset["id"], names=names)
        if taken:
            raise _name_conflict([n for n in names if n in taken], dataset["name"])
    return _insert_new(conn, dataset, items, principal)


def check_case(dataset: dict[str, Any], item: dict[str, Any]) -> list[Violation]:
    """What is wrong with one case's data under the dataset's schemas ([] when valid); writes nothing."""
    return validator_for_dataset(dataset).violations(item)


@retry_on_contention
def import_cases(
    db: Database,
    principal: Principal,
    ref: str,
    items: Sequence[dict[str, Any]],
    *,
    on_conflict: Literal["update", "error"] = "update",
) -> list[dict[str, Any]]:
    """Import: named cases whose name exists are updated (or the whole import fails); all or nothing."""
    values.check_cases(items)
    _check_unique_names(items)
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        _validate(dataset, items)
        names = [item["name"] for item in items if item.get("name") is not None]
        existing = store.find_by_names(conn, dataset_id=dataset["id"], names=names) if names else {}
        if existing and on_conflict == "error":
            raise _name_conflict([n for n in names if n in existing], dataset["name"])
        imported, written = _upsert(conn, principal, dataset, items, existing, now=utcnow())
    db.wrote_many(written)
    return imported


def _upsert(
    conn: Conn,
    principal: Principal,
    dataset: dict[str, Any],
    items: Sequence[dict[str, Any]],
    existing: dict[str, dict[str, Any]],
    *,
    now: datetime,
) -> tuple[list[dict[str, Any]], int]:
    """Write checked cases: those named like an `existing` case update it (when something changed), the
    others are created. Returns the resulting cases in the order of `items`, and how many rows were written."""
    actor = actor_of(principal)
    results: list[dict[str, Any] | None] = []
    fresh: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for item in items:
        name = item.get("name")
        current = existing.get(name) if name is not None else None
        if current is None:
            fresh.append(item)
            results.append(None)
            continue
        updated = rules.apply_upsert(current, item, actor=actor, now=now)
        if updated is not None:
            replaced.append(current)
            changed.append(updated)
        results.append(updated or current)
    _write_updates(conn, replaced, changed)
    created = iter(_insert_new(conn, dataset, fresh, principal, now))
    return [rules.public_case(r) if r is not None else next(created) for r in results], len(fresh) + len(changed)


class NotBatchable(Exception):
    """A case that `write_case_batches` does not take as it is: one that import_cases or create_cases would
    refuse (invalid, breaking a value rule or the schema, a duplicate name, a conflict). Nothing was
    written; the caller answers through those, which report it."""


class CaseSink(Protocol):
    """Where `write_case_batches` puts the resulting cases, a batch at a time, in request order."""

    def restart(self) -> None:
        """Forget what was put so far: the write runs again from the start (it lost a race)."""

    def add(self, cases: list[dict[str, Any]]) -> None: ...


@retry_on_contention
def write_case_batches(
    db: Database,
    principal: Principal,
    ref: str,
    batches: Callable[[], Iterable[list[dict[str, Any]]]],
    *,
    on_conflict: Literal["update", "error"],
    out: CaseSink,
) -> None:
    """import_cases (`on_conflict` "update" or "error") or create_cases ("error") for cases that come a batch
    at a time (`batches()` starts them over): each batch is checked, written and handed to `out` before the
    next is read, all in one transaction, so only one batch of cases is held at once.

    Only what succeeds is done here. At the first case that those services would refuse, this rolls back
    and raises NotBatchable (or the domain error met: dataset not found), so that the caller can answer
    through them, with every problem reported as they report it."""
    out.restart()
    seen = rules.SeenNames()  # not a set of the names: one grows with the import (docs/performance.md, memory)
    written = 0
    now = utcnow()
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        validator = validator_for_dataset(dataset)
        for batch in batches():
            names = []
            for item in batch:
                name = item.get("name")
                if name is not None:
                    names.append(name)
                if not values.is_clean(item) or (not validator.empty and validator.violations(item)):
                    raise NotBatchable("a case that breaks a value rule or the dataset's schema")
            if not seen.add_all(names):
                raise NotBatchable("a duplicate case name (or a name whose hash another one has)")
            existing = store.find_by_names(conn, dataset_id=dataset["id"], names=names) if names else {}
            if existing and on_conflict == "error":
                raise NotBatchable("a case name already in the dataset")
            cases, count = _upsert(conn, principal, dataset, batch, existing, now=now)
            out.add(cases)
            written += count
    db.wrote_many(written)


def _write_updates(conn: Conn, replaced: list[dict[str, Any]], updated: list[dict[str, Any]]) -> None:
    """Archive the versions being replaced, then write the new ones (only over the versions read)."""
    if not updated:
        return
    history.archive(conn, cases=replaced)
    store.update_cases(conn, rows=updated, expected_versions=[c["version"] for c in replaced])


def _find(
    conn: Conn, principal: Principal, ref: str, case_id: str, *, for_write: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=for_write)
    case = store.get_case(conn, dataset_id=dataset["id"], case_id=case_id)
    if case is None:
        raise CaseNotFound()
    return dataset, case


def get_case(db: Database, principal: Principal, ref: str, case_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return rules.public_case(_find(conn, principal, ref, case_id)[1])


@retry_on_contention
def update_case(
    db: Database, principal: Principal, ref: str, case_id: str, patch: dict[str, Any], *, if_match: int | None = None
) -> dict[str, Any]:
    """Partial update. With `if_match`, a stale version is refused with 412 and nothing changes."""
    values.check_cases([patch], single=True)
    if "inputs" in patch and patch["inputs"] is None:
        raise InvalidInput(
            "inputs cannot be cleared: every case needs inputs.",
            [Violation(case_index=None, case_name=None, field="inputs", pointer="", message="inputs cannot be null")],
        )
    with db.write() as conn:
        dataset, current = _find(conn, principal, ref, case_id, for_write=True)
        if if_match is not None and if_match != current["version"]:
            raise PreconditionFailed(
                f"Case was changed by someone else: you sent version {if_match} but it is now at version "
                f"{current['version']}. Reload it and apply your change again.",
                current_version=current["version"],
            )
        updated = rules.apply_patch(current, patch, actor=actor_of(principal), now=utcnow())
        _validate(dataset, [updated], single=True)
        new_name = patch.get("name")
        if new_name is not None and store.name_exists(
            conn, dataset_id=dataset["id"], name=new_name, other_than=current["id"]
        ):
            raise _name_conflict([new_name], dataset["name"])
        _write_updates(conn, [current], [updated])
        return rules.public_case(updated)


@retry_on_contention
def delete_case(db: Database, principal: Principal, ref: str, case_id: str) -> None:
    """Delete a case; its history stays, so it can be restored."""
    actor = actor_of(principal)
    with db.write() as conn:
        dataset, current = _find(conn, principal, ref, case_id, for_write=True)
        history.record_delete(conn, case=current, actor=actor, at=utcnow())
        store.delete_case(conn, dataset_id=dataset["id"], case_id=current["id"])
        dataset_store.add_case_count(conn, dataset_id=dataset["id"], delta=-1)


@retry_on_contention
def restore_case(db: Database, principal: Principal, ref: str, case_id: str) -> dict[str, Any]:
    """Bring a deleted case back, with its id, from its last recorded state."""
    actor = actor_of(principal)
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        if store.get_case(conn, dataset_id=dataset["id"], case_id=case_id) is not None:
            raise Conflict("This case is not deleted; only deleted cases can be restored.")
        last = None
        if looks_like_uuid(case_id):
            last = history.latest_revision(conn, dataset_id=dataset["id"], case_id=canonical_uuid(case_id))
        if last is None or last["op"] != "delete":
            raise CaseNotFound()
        state = {"source_span": None, **last["state"]}
        if state.get("name") is not None and store.name_exists(conn, dataset_id=dataset["id"], name=state["name"]):
            raise _name_conflict([state["name"]], dataset["name"])
        now = utcnow()
        state.update(version=last["version"] + 1, updated_at=now, updated_by=actor.id, updated_by_name=actor.name)
        state.update(seq=last["case_seq"], created_at=datetime.fromisoformat(state["created_at"]))
        store.insert_cases(conn, rows=[state], op="restore")  # back in its old place in the dataset
        dataset_store.add_case_count(conn, dataset_id=dataset["id"], delta=1)
        return rules.public_case(state)


def open_case_list(
    db: Database,
    principal: Principal,
    ref: str,
    *,
    tags: Sequence[str] | None,
    tags_match: Literal["any", "all"],
    limit: int | None,
    offset: int,
) -> Iterator[dict[str, Any]]:
    """Resolve the dataset now (so a 404 comes before any byte is sent), then stream its cases."""
    return streamed_read(
        db,
        lambda conn: dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref),
        lambda conn, dataset: store.iter_cases(
            conn, dataset_id=dataset["id"], tags=tags, tags_match=tags_match, limit=limit, offset=offset
        ),
    )


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of a dataset's cases (see storage.cases.page_cases) and what the page shows around it."""

    dataset: dict[str, Any]
    rows: list[dict[str, Any]]
    more_before: bool
    more_after: bool
    tags: list[str]


def page_cases(
    db: Database,
    principal: Principal,
    ref: str,
    *,
    tags: Sequence[str] = (),
    search: str = "",
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> CasePage:
    """A page of cases by keyset (after/before a position), filtered by tags (any) and search text."""
    pattern = rules.search_pattern(search)
    with db.read() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref)
        rows, more = store.page_cases(
            conn, dataset_id=dataset["id"], tags=tags, search=pattern, after=after, before=before, limit=limit
        )
        all_tags = dataset_store.list_tags(conn, dataset_id=dataset["id"])
    if before is not None:
        return CasePage(dataset, rows, more_before=more, more_after=True, tags=all_tags)
    return CasePage(dataset, rows, more_before=after is not None, more_after=more, tags=all_tags)


@retry_on_contention
def retag_cases(
    db: Database,
    principal: Principal,
    ref: str,
    case_ids: Sequence[str],
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> int:
    """Add and/or remove tags on many cases in one transaction (each changed case gets a new version).
    Returns how many cases changed."""
    actor, now = actor_of(principal), utcnow()
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        current = store.get_cases(conn, dataset_id=dataset["id"], case_ids=case_ids)
        replaced, updated = [], []
        for case in current:
            tags = [t for t in case["tags"] if t not in remove]
            tags.extend(t for t in add if t not in tags)
            if tags != case["tags"]:
                replaced.append(case)
                updated.append(rules.apply_patch(case, {"tags": tags}, actor=actor, now=now))
        _write_updates(conn, replaced, updated)
        return len(updated)


@retry_on_contention
def delete_cases(db: Database, principal: Principal, ref: str, case_ids: Sequence[str]) -> int:
    """Delete many cases in one transaction (their history stays). Returns how many were deleted."""
    actor, now = actor_of(principal), utcnow()
    with db.write() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        found = store.get_cases(conn, dataset_id=dataset["id"], case_ids=case_ids)
        for case in found:
            history.record_delete(conn, case=case, actor=actor, at=now)
            store.delete_case(conn, dataset_id=dataset["id"], case_id=case["id"])
        dataset_store.add_case_count(conn, dataset_id=dataset["id"], delta=-len(found))
        return len(found)


_RESTORED_FIELDS = ("name", "inputs", "expected_output", "metadata", "evaluators", "tags")


def restore_version(
    db: Database, principal: Principal, ref: str, case_id: str, *, version: int, if_match: int | None = None
) -> dict[str, Any]:
    """Make a past version of a case its current content again (as a new version; a deleted case comes
    back first). `if_match` is the current version the person saw: a stale one is refused (412)."""
    from evalset.server.services.history import case_history

    revisions = {r["version"]: r for r in case_history(db, principal, ref, case_id)}
    wanted = revisions.get(version)
    if wanted is None or wanted["op"] == "delete":
        raise CaseNotFound()
    latest = revisions[max(revisions)]
    if latest["op"] == "delete":
        restore_case(db, principal, ref, case_id)
        if_match = latest["version"] + 1
    patch = {field: wanted["state"][field] for field in _RESTORED_FIELDS}
    return update_case(db, principal, ref, case_id, patch, if_match=if_match)
