"""Sessions over plain HTTP: shared by server processes, ended by revocation; keys' last use; the
web1 migration's backfill of existing cases."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from tests.conftest import READ, WRITE, LiveServer, start_server, stop_server


def _sign_in(client: httpx.Client, key: str) -> httpx.Response:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert token
    return client.post("/signin", data={"csrf_token": token.group(1), "api_key": key})


def test_a_session_works_on_every_server_process_of_the_database(live_server: LiveServer, tmp_path: Path) -> None:
    key, _ = live_server.new_key(READ, WRITE)
    with httpx.Client(base_url=live_server.base_url) as first:
        signed_in = _sign_in(first, key)
        assert signed_in.status_code == 303
        set_cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        cookie = first.cookies["evalset_session"]
        assert first.get("/").status_code == 200
    other = start_server(live_server.db_url, tmp_path / "second.log", backend=live_server.backend)
    try:
        with httpx.Client(base_url=other.base_url, cookies={"evalset_session": cookie}) as second:
            page = second.get("/")
            assert page.status_code == 200 and "Sign out" in page.text
        with httpx.Client(base_url=other.base_url, cookies={"evalset_session": cookie[:-2] + "xx"}) as forged:
            tampered = forged.get("/")
            assert tampered.status_code == 303 and tampered.headers["location"].startswith("/signin")
    finally:
        stop_server(other)


def test_revoking_the_key_ends_the_session_on_the_next_request(live_server: LiveServer) -> None:
    from evalset.server.services.keys import revoke_key

    key, _ = live_server.new_key(READ)
    with httpx.Client(base_url=live_server.base_url) as client:
        _sign_in(client, key)
        assert client.get("/").status_code == 200
        revoke_key(live_server.db, key=key)
        gone = client.get("/")
        assert gone.status_code == 303 and gone.headers["location"] == "/signin"
        assert "revoked" in client.get("/signin").text


def test_last_used_moves_at_most_once_a_minute(live_server: LiveServer) -> None:
    from evalset.server.services.keys import list_keys

    key, project = live_server.new_key(READ)

    def last_used() -> object:
        (row,) = list_keys(live_server.db, project=project)
        return row["last_used_at"]

    assert last_used() is None
    with live_server.client(key) as client:
        client.get("/v1/datasets/").raise_for_status()
        deadline = time.monotonic() + 30
        while last_used() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # recorded off the request's path
        first = last_used()
        assert first is not None
        for _ in range(5):
            client.get("/v1/datasets/").raise_for_status()
    time.sleep(0.5)
    assert last_used() == first


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_web1_migration_backfills_search_text_of_existing_cases(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import select

    from evalset.server.storage import Database, migrate
    from evalset.server.storage.migrate import alembic_config
    from evalset.server.storage.tables import cases, datasets, projects

    db = Database(db_url)
    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with db.engine.begin() as conn:
        pid, did, cid = (str(uuid.uuid4()) for _ in range(3))
        conn.execute(projects.insert().values(id=pid, name="p", created_at=now))
        conn.execute(
            datasets.insert().values(
                id=did,
                project_id=pid,
                name="d",
                ai_managed_guidance=False,
                evaluators=[],
                report_evaluators=[],
                case_count=1,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            cases.insert().values(
                id=cid,
                dataset_id=did,
                name="Old Case",
                inputs={"q": "Café au lait"},
                evaluators=[],
                tags=[],
                version=1,
                last_op="create",
                created_at=now,
                updated_at=now,
            )
        )
    migrate(db)
    with db.read() as conn:
        text = conn.execute(select(cases.c.search_text)).scalar()
    db.dispose()
    assert text is not None and "old case" in text and "café au lait" in text
