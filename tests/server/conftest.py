"""Server-side fixtures: a migrated database of either backend, and a principal with read and write scopes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evalset.server.domain.auth import Principal
from evalset.server.services import keys as key_service
from evalset.server.storage import Database, migrate


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    migrate(database)
    yield database
    key_service.settle()  # a key use still being written must not outlive the database
    database.dispose()


@pytest.fixture
def principal(db: Database) -> Principal:
    _, row = key_service.create_key(db, project="p", scopes=["project:read_datasets", "project:write_datasets"])
    return Principal(key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset())
