"""Case history: every revision of a case, including deleted ones."""

from __future__ import annotations

from typing import Any

from evalset.server.domain.auth import Principal
from evalset.server.domain.names import canonical_uuid, looks_like_uuid
from evalset.server.errors import CaseNotFound
from evalset.server.storage import Database
from evalset.server.storage import cases as case_store
from evalset.server.storage import datasets as dataset_store
from evalset.server.storage import history as store

__all__ = ["case_history"]


def case_history(db: Database, principal: Principal, ref: str, case_id: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref)
        revisions = []
        if looks_like_uuid(case_id):
            current = case_store.get_case(conn, dataset_id=dataset["id"], case_id=case_id)
            revisions = store.list_revisions(
                conn, dataset_id=dataset["id"], case_id=canonical_uuid(case_id), current=current
            )
    if not revisions:
        raise CaseNotFound()
    return revisions
