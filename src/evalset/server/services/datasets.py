"""Dataset use cases: list, get, create, update (re-validating cases on schema change), delete."""

from __future__ import annotations

import uuid
from typing import Any

from evalset.server.domain import values
from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import normalize_evaluators
from evalset.server.domain.schemas import SCHEMA_FIELDS, CaseValidator, check_schema, summarize
from evalset.server.errors import DatasetNotFound, InvalidInput, Violation
from evalset.server.services._common import retry_on_contention, utcnow
from evalset.server.services._remembered import read_through, remembered
from evalset.server.storage import Database, Stamp
from evalset.server.storage import cases as case_store
from evalset.server.storage import datasets as store
from evalset.server.wire import dumps

__all__ = [
    "list_datasets",
    "remembered_list",
    "get_dataset",
    "get_dataset_json",
    "create_dataset",
    "update_dataset",
    "delete_dataset",
    "search_datasets",
    "name_available",
]

MAX_REPORTED_VIOLATIONS = 100
_LIST_FIELDS = ("evaluators", "report_evaluators")


def list_datasets(db: Database, principal: Principal, *, seen: Stamp | None = None) -> bytes:
    """Dataset summaries, as the JSON array the API answers (its bytes). With `seen`, the database's stamp
    read before (`db.stamp()`, as the key check reads it), remembered until the next commit anywhere
    (services._remembered)."""
    project_id = principal.project_id
    return read_through(db, "list", project_id, seen, lambda: dumps(store.list_datasets(db, project_id=project_id)))


def remembered_list(db: Database, principal: Principal, seen: Stamp) -> bytes | None:
    """The project's dataset list as remembered under this stamp (see list_datasets), or None."""
    return remembered(db, "list", principal.project_id, seen)


def search_datasets(db: Database, principal: Principal, search: str | None = None) -> list[dict[str, Any]]:
    """Dataset summaries as records (for pages), by name; `search` keeps the names containing it."""
    with db.read() as conn:
        return store.list_dataset_rows(conn, project_id=principal.project_id, search=search)


def name_available(db: Database, principal: Principal, name: str) -> bool:
    """Whether no dataset of the project is called `name` (a create may still lose a race for it)."""
    try:
        with db.read() as conn:
            found = store.get_dataset(conn, project_id=principal.project_id, ref=name)
    except DatasetNotFound:
        return True
    return found["name"] != name


def get_dataset(db: Database, principal: Principal, ref: str) -> dict[str, Any]:
    with db.read() as conn:
        return store.get_dataset(conn, project_id=principal.project_id, ref=ref)


def get_dataset_json(db: Database, principal: Principal, ref: str, *, seen: Stamp | None = None) -> bytes:
    """get_dataset as the JSON the API answers; with `seen`, remembered as list_datasets is."""
    key = (principal.project_id, ref)
    return read_through(db, "dataset", key, seen, lambda: dumps(get_dataset(db, principal, ref)))


def _check_schemas(fields: dict[str, Any]) -> None:
    values.check_fields(fields)  # first: a schema nested too deep is refused before anything recurses into it
    for schema_field in SCHEMA_FIELDS.values():
        if schema_field in fields:
            check_schema(fields[schema_field], schema_field)


@retry_on_contention
def create_dataset(
    db: Database, principal: Principal, fields: dict[str, Any], *, first_cases: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Create a dataset, with `first_cases` (validated against its schemas) in the same transaction."""
    from evalset.server.services.cases import insert_new_cases

    _check_schemas(fields)
    now = utcnow()
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "project_id": principal.project_id,
        "name": fields["name"],
        "description": fields.get("description"),
        "input_schema": fields.get("input_schema"),
        "output_schema": fields.get("output_schema"),
        "metadata_schema": fields.get("metadata_schema"),
        "guidance": fields.get("guidance"),
        "ai_managed_guidance": bool(fields.get("ai_managed_guidance")),
        "evaluators": normalize_evaluators(fields.get("evaluators")),
        "report_evaluators": normalize_evaluators(fields.get("report_evaluators")),
        "case_count": 0,
        "created_at": now,
        "updated_at": now,
        "created_by": principal.key_id,
        "created_by_name": principal.key_name,
        "updated_by": principal.key_id,
        "updated_by_name": principal.key_name,
    }
    with db.write() as conn:
        store.insert_dataset(conn, row=row)
        store.insert_revision(conn, dataset=row, op="create", at=now)
        if first_cases:
            insert_new_cases(conn, principal, row, first_cases)
            row["case_count"] = len(first_cases)
    return row


@retry_on_contention
def update_dataset(db: Database, principal: Principal, ref: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Partial update: absent keys stay, null clears. A schema change that existing cases violate is refused."""
    _check_schemas(fields)
    changes = dict(fields)
    for field in _LIST_FIELDS:
        if field in changes:  # null clears: an empty list
            changes[field] = normalize_evaluators(changes[field])
    if changes.get("ai_managed_guidance", False) is None:
        changes["ai_managed_guidance"] = False
    with db.write() as conn:
        dataset = store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        now = utcnow()  # taken under the lock, as every write's time is: see services.export.pin_moment
        changes.update(updated_at=now, updated_by=principal.key_id, updated_by_name=principal.key_name)
        updated = {**dataset, **changes}
        schemas_changed = any(updated[f] != dataset[f] for f in SCHEMA_FIELDS.values())
        if schemas_changed and dataset["case_count"]:
            _refuse_if_cases_break(conn, dataset_id=dataset["id"], validator=CaseValidator(updated))
        store.update_dataset(conn, dataset=dataset, changes=changes)
        store.insert_revision(conn, dataset=updated, op="update", at=now)
    return updated


def _refuse_if_cases_break(conn: Any, *, dataset_id: str, validator: CaseValidator) -> None:
    if validator.empty:
        return
    violations: list[Violation] = []
    broken = 0
    for index, case in enumerate(case_store.iter_case_data(conn, dataset_id=dataset_id)):
        found = validator.violations(case, index)
        if found:
            broken += 1
            violations.extend(found[: MAX_REPORTED_VIOLATIONS - len(violations)])
    if violations:
        plural = "s" if broken > 1 else ""
        raise InvalidInput(
            summarize(violations, action=f"The new schema would invalidate {broken} existing case{plural}; first")
            + " Fix or delete those cases first, then change the schema.",
            violations,
        )


@retry_on_contention
def delete_dataset(db: Database, principal: Principal, ref: str) -> None:
    with db.write() as conn:
        dataset = store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        store.delete_dataset(conn, dataset_id=dataset["id"])
