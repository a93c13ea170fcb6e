"""Projects, API keys and authentication."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from evalset.server.domain import auth, names
from evalset.server.domain.names import looks_like_uuid
from evalset.server.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from evalset.server.services._common import retry_on_contention, utcnow
from evalset.server.storage import Conn, Contention, Database, Stamp
from evalset.server.storage import keys as store

__all__ = [
    "settle",
    "ensure_project",
    "create_key",
    "list_keys",
    "revoke_key",
    "list_projects",
    "check_header",
    "authenticate",
    "principal_for",
    "principal_seen",
    "remembered_principal",
    "require_scope",
    "bootstrap",
    "get_project",
    "session_principal",
    "admin_principal",
    "server_secret",
    "LAST_USED_RESOLUTION",
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


def get_project(db: Database, *, id: str) -> dict[str, Any]:
    """The project with this id; NotFound when there is none."""
    project = None
    if looks_like_uuid(id):
        with db.read() as conn:
            project = store.get_project_by_id(conn, id=id)
    if project is None:
        raise NotFound("Project not found")
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


def list_keys(db: Database, *, project: str | None = None, project_id: str | None = None) -> list[dict[str, Any]]:
    """Keys (never their secrets), oldest first: all, or those of the project named `project` / with `project_id`."""
    with db.read() as conn:
        if project is not None:
            found = store.get_project(conn, name=project)
            if found is None:
                return []
            project_id = found["id"]
        return store.list_keys(conn, project_id=project_id)


@retry_on_contention
def revoke_key(db: Database, *, key: str, project_id: str | None = None) -> bool:
    """Revoke by the key itself or by its lookup id (the 12 hex characters after `evalset_`), within
    `project_id` when given. Sessions signed in with the key end with it (see session_principal)."""
    lookup = auth.split_key(key) or key
    with db.write() as conn:
        return store.revoke_key(conn, lookup=lookup, now=utcnow(), project_id=project_id)


def check_header(authorization: str | None, *, allow_bare: bool = False) -> tuple[str, str]:
    """The key and its lookup id from a `Bearer <key>` header (or, with `allow_bare`, a header holding just
    the key, as the logfire SDK sends it); Unauthorized when missing or malformed."""
    if not authorization:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if allow_bare and not key and auth.split_key(scheme) is not None:
        scheme, key = "bearer", scheme
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
    return principal_seen(db, key, lookup, db.stamp())


def principal_seen(db: Database, key: str, lookup: str, stamp: Stamp | None) -> auth.Principal:
    """principal_for, given the database's stamp (`db.stamp()`) read just before, or None (cannot tell).

    Keys found are remembered per process, each with the keys' stamp read before it was looked up
    (storage.stamp.Stamp.keys): the stamp moves with every key created or revoked by any process, so a
    remembered key is used only while nothing changed, and a revocation is refused by every server
    process from its next request on. That spares a read transaction per request.
    """
    row = _remembered(db, lookup, stamp)
    if row is None:
        with db.read() as conn:
            row = store.find_key(conn, lookup=lookup)
        if row is not None and stamp is not None:
            cache = _cache(db)
            if len(cache) >= _KEY_CACHE_SIZE:
                cache.clear()
            cache[lookup] = (stamp.keys, row)
    if row is None or not auth.key_matches(key, row["secret_hash"]):
        raise Unauthorized("Invalid API key.")
    return _active(db, row)


def remembered_principal(db: Database, key: str, lookup: str, stamp: Stamp) -> auth.Principal | None:
    """principal_seen's answer when it needs no database read (the key remembered under this stamp) and is
    a principal; None otherwise (then ask principal_seen, which reads and raises what it must)."""
    row = _remembered(db, lookup, stamp)
    if row is None or row["revoked_at"] is not None or not auth.key_matches(key, row["secret_hash"]):
        return None
    return _active(db, row)


def _cache(db: Database) -> dict[str, tuple[tuple[int, int], dict[str, Any]]]:
    return db.memo.setdefault("keys", {})  # type: ignore[no-any-return]


def _remembered(db: Database, lookup: str, stamp: Stamp | None) -> dict[str, Any] | None:
    hit = _cache(db).get(lookup)
    return hit[1] if stamp is not None and hit is not None and hit[0] == stamp.keys else None


_KEY_CACHE_SIZE = 10_000


def session_principal(db: Database, *, key_id: str) -> auth.Principal:
    """The principal of a web session signed in with the key `key_id`, checked afresh on every request,
    so a session ends the moment its key is revoked."""
    with db.read() as conn:
        row = store.find_key_by_id(conn, id=key_id)
    if row is None:
        raise Unauthorized("The API key this session signed in with no longer exists; sign in again.")
    return _active(db, row)


def admin_principal(db: Database, *, project_id: str) -> auth.Principal:
    """The principal of an admin-password session working in a project: every scope, no key."""
    project = get_project(db, id=project_id)
    return auth.Principal(key_id=None, key_name="admin", project_id=project["id"], scopes=frozenset(auth.SCOPES))


def _active(db: Database, row: dict[str, Any]) -> auth.Principal:
    if row["revoked_at"] is not None:
        raise Unauthorized("This API key has been revoked.")
    _note_use(db, row)
    return auth.Principal(
        key_id=row["id"], key_name=row["name"], project_id=row["project_id"], scopes=frozenset(row["scopes"].split())
    )


LAST_USED_RESOLUTION = timedelta(seconds=60)
"""A key's `last_used_at` moves at most this often, so authenticating is not a write per request."""
_touches = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalset-key-use")


def _note_use(db: Database, row: dict[str, Any]) -> None:
    now = utcnow()
    last: datetime | None = row.get("last_used_at")
    if last is not None and now - last < LAST_USED_RESOLUTION:
        return
    # Off the request's path: on SQLite the write would queue behind a long import. The row may be the
    # key cache's: noting the use there keeps the next minute's requests from asking again.
    row["last_used_at"] = now
    _touches.submit(_touch, db, row["id"], now)


def settle(timeout: float = 30) -> None:
    """Wait until the key uses noted so far are written (before a Database is disposed: a write queued
    behind it would open a connection nothing closes)."""
    _touches.submit(lambda: None).result(timeout=timeout)


def _touch(db: Database, key_id: str, now: datetime) -> None:
    try:
        with db.write() as conn:
            store.touch_key(conn, id=key_id, now=now, older_than=now - LAST_USED_RESOLUTION)
    except Contention:  # busy: the next request a minute on records the use
        pass


@retry_on_contention
def server_secret(db: Database, *, name: str) -> str:
    """A random secret stored in the database under `name`, created on first use: every server process
    on the database reads the same one (session signing keys)."""
    with db.write() as conn:
        value = store.get_setting(conn, name=name)
        if value is None:  # a concurrent first start inserts too: the loser re-runs and reads the winner's
            value = secrets.token_urlsafe(48)
            store.insert_setting(conn, name=name, value=value)
        return value


def require_scope(principal: auth.Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise Forbidden(f"This API key lacks the {scope!r} scope.")


def bootstrap(db: Database) -> str | None:
    """On an empty database: create project `default` and a key with every scope (it signs in to the
    web UI and may make more keys there), and return that key once."""
    if list_projects(db):
        return None
    secret, _ = create_key(db, project="default", scopes=list(auth.SCOPES), name="first key")
    return secret
