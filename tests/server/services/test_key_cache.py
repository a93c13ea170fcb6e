"""The per-process key cache: a key created or revoked by another process is seen at the next request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evalset.server.errors import Unauthorized
from evalset.server.services import keys
from evalset.server.storage import Database


@pytest.fixture
def other(db: Database, db_url: str) -> Iterator[Database]:
    """A second Database on the same data: what another server process holds."""
    second = Database(db_url)
    yield second
    second.dispose()


@pytest.fixture(autouse=True)
def _settled(db: Database) -> Iterator[None]:
    """Wait for the last-use writes the lookups queued, so no connection is in use when the databases close."""
    yield
    keys.settle()


def _principal(db: Database, secret: str):  # noqa: ANN202
    return keys.principal_for(db, *keys.check_header(f"Bearer {secret}"))


def test_a_key_revoked_elsewhere_is_refused_at_the_next_request(db: Database, other: Database) -> None:
    secret, row = keys.create_key(db, project="p", scopes=["project:read_datasets"])
    for _ in range(3):  # remembered by this process from the first request on
        assert _principal(db, secret).key_id == row["id"]
    assert row["lookup"] in db.memo["keys"]
    assert keys.revoke_key(other, key=secret)
    with pytest.raises(Unauthorized, match="revoked"):
        _principal(db, secret)


def test_a_wrong_secret_with_a_remembered_lookup_is_refused(db: Database) -> None:
    secret, _ = keys.create_key(db, project="p", scopes=["project:read_datasets"])
    _principal(db, secret)
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized, match="Invalid"):
        _principal(db, forged)


def test_keys_made_and_revoked_in_turn_across_processes(db: Database, other: Database) -> None:
    first, _ = keys.create_key(db, project="p", scopes=["project:read_datasets"])
    _principal(db, first)
    second, _ = keys.create_key(other, project="p", scopes=["project:read_datasets"])  # another process's key
    assert _principal(db, second).project_id == _principal(db, first).project_id
    keys.revoke_key(other, key=second)
    with pytest.raises(Unauthorized):
        _principal(db, second)
    assert _principal(db, first)  # the other key stays good
    keys.revoke_key(db, key=first)  # revoked by this process itself
    with pytest.raises(Unauthorized):
        _principal(db, first)
