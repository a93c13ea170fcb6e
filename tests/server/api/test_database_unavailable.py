"""A database that cannot serve now (out of connection slots, connections dropped) is a 503 with
`Retry-After` that says so, never a 500; the server recovers by itself once the database does.

PostgreSQL only: a role with a CONNECTION LIMIT makes "too many connections" real and repeatable."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, LiveServer, start_server, stop_server

LIMIT = 3


@pytest.fixture
def limited(pg_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, str, str, Path]]:
    """The real server on a database owned by a role that may hold at most LIMIT connections."""
    import psycopg
    from psycopg import sql

    suffix = uuid.uuid4().hex[:10]
    role, name = f"evalset_limited_{suffix}", f"evalset_limited_{suffix}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {}").format(sql.Identifier(role), sql.Literal(LIMIT))
        )
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(role)))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1].split("@")[-1]
    url = f"postgresql://{role}@{base}/{name}"
    log = tmp_path / "server.log"
    server = start_server(url, log, backend="postgresql")
    try:
        found = re.search(r"^(evalset_\S+)$", log.read_text(), re.MULTILINE)
        assert found, log.read_text()
        yield server, found.group(1), role, log
    finally:
        stop_server(server)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_out_of_connection_slots_is_a_503_and_recovers(limited: tuple[LiveServer, str, str, Path]) -> None:
    import psycopg

    server, key, role, log = limited
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        assert api.get("/v1/datasets/").status_code == 200

        # Take every connection the role may hold: the server's pooled ones are cut, new ones refused.
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            # Termination is asynchronous: a backend holds its slot until it has exited.
            for _ in range(200):
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone()
                if row and row[0] == 0:
                    break
                time.sleep(0.05)
        blockers = [psycopg.connect(server.db_url, autocommit=True) for _ in range(LIMIT)]
        try:
            for _ in range(3):  # a cut pooled connection, then refused new ones: each a 503
                listed = api.get("/v1/datasets/")
                assert listed.status_code == 503, listed.text
                assert listed.headers["Retry-After"] == "2"
                assert "database cannot be reached" in listed.json()["detail"]
            created = api.post("/v1/datasets/", json={"name": "while-down"})
            assert created.status_code == 503, created.text
        finally:
            for blocker in blockers:
                blocker.close()

        assert api.get("/v1/datasets/").status_code == 200  # back by itself
        assert api.get("/v1/datasets/while-down/").status_code == 404  # the refused write wrote nothing
        assert api.post("/v1/datasets/", json={"name": "after"}).status_code == 201
    assert "Traceback" not in log.read_text()
