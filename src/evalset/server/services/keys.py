"""Projects, API keys and authentication."""

from __future__ import annotations

import uuid
from typing import Any

from evalset.server.domain import auth, names
from evalset.server.errors import Forbidden, InvalidInput, Unauthorized
from evalset.server.services._common import retry_on_contention, utcnow
from evalset.server.storage import Conn, Database
from evalset.server.storage import keys as store

__all__ = [
    "ensure_project",
    "create_key",
    "list_keys",
    "revoke_key",
    "list_projects",
    "check_header",
    "authenticate",
    "principal_for",
    "require_scope",
    "bootstrap",
]


@retry_on_contention
def ensure_project(db: Database, *, name: str) -> dict[str, Any]:
    """The project called `name`, created if missing."""
    with db.write() as conn:
        return _project(conn, name)


def _project(conn: Conn, name: str) -> dict[str, Any]:
    project = store.get_project(conn, name=name)
    if project is None:
        problem = names.name_problem(name)
        if problem:
            raise InvalidInput(f"Invalid project name {name!r}: {problem}.")
        project = store.insert_project(conn, id=str(uuid.uuid4()), name=name, now=utcnow())
    return project


def list_projects(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return store.list_projects(conn)


@retry_on_contention
def create_key(db: Database, *, project: str, scopes: list[str], name: str | None = None) -> tuple[str, dict[str, Any]]:
    """A new key for `project` (created if missing). Returns the secret, shown only this once, and the record."""
    unknown = sorted(set(scopes) - set(auth.SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"Unknown or missing scope {unknown}; choose from {', '.join(auth.SCOPES)}.")
    new = auth.generate_key()
    row = {
        "id": str(uuid.uuid4()),
        "name": name or f"key {new.lookup}",
        "lookup": new.lookup,
        "secret_hash": new.secret_hash,
        "scopes": " ".join(dict.fromkeys(scopes)),
        "created_at": utcnow(),
        "revoked_at": None,
    }
    with db.write() as conn:  # the project (if new) and its key, together or not at all
        row["project_id"] = _project(conn, project)["id"]
        store.insert_key(conn, row=row)
    return new.secret, row


def list_keys(db: Database, *, project: str | None = None) -> list[dict[str, Any]]:
    with db.read() as conn:
        project_id = None
        if project is not None:
            found = store.get_project(conn, name=project)
            if found is None:
                return []
            project_id = found["id"]
        return store.list_keys(conn, project_id=project_id)


@retry_on_contention
def revoke_key(db: Database, *, key: str) -> bool:
    """Revoke by the key itself or by its lookup id (the 12 hex characters after `evalset_`)."""
    lookup = auth.split_key(key) or key
    with db.write() as conn:
        return store.revoke_key(conn, lookup=lookup, now=utcnow())


def check_header(authorization: str | None) -> tuple[str, str]:
    """The key and its lookup id from a `Bearer <key>` header; Unauthorized when missing or malformed."""
    if not authorization:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <key>'.")
    lookup = auth.split_key(key)
    if lookup is None:
        raise Unauthorized("Invalid API key.")
    return key, lookup


def authenticate(db: Database, authorization: str | None) -> auth.Principal:
    """The principal of a `Bearer <key>` header; Unauthorized when missing, malformed, unknown or revoked."""
    return principal_for(db, *check_header(authorization))


def principal_for(db: Database, key: str, lookup: str) -> auth.Principal:
    """The principal of a well-formed key (see check_header); Unauthorized when unknown or revoked."""
    with db.read() as conn:
        row = store.find_key(conn, lookup=lookup)
    if row is None or not auth.key_matches(key, row["secret_hash"]):
        raise Unauthorized("Invalid API key.")
    if row["revoked_at"] is not None:
        raise Unauthorized("This API key has been revoked.")
    return auth.Principal(
        key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset(row["scopes"].split())
    )


def require_scope(principal: auth.Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise Forbidden(f"This API key lacks the {scope!r} scope.")


def bootstrap(db: Database) -> str | None:
    """On an empty database: create project `default` and a read+write key, and return that key once."""
    if list_projects(db):
        return None
    secret, _ = create_key(
        db, project="default", scopes=[auth.READ_DATASETS, auth.WRITE_DATASETS, auth.WRITE_TRACES], name="first key"
    )
    return secret
