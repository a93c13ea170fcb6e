"""Server logs, read from a real `evalset serve`: an access line per request (never the key), levels, JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.conftest import LiveServer, start_server, stop_server


def wait_for(log: Path, text: str) -> str:
    """The log once it contains `text` (lines are written after the response is sent)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        content = log.read_text()
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in the log:\n{log.read_text()}")


def requests(server: LiveServer) -> str:
    """A success, a 404 and a 401 with a key that is not the first one; returns that key."""
    key, _ = server.new_key()
    with server.client(key) as client:
        assert client.get("/v1/datasets/").status_code == 200
        assert client.get("/v1/datasets/no-such-set/").status_code == 404
    with server.client("evalset_000000000000_wrong") as client:
        assert client.get("/v1/datasets/marker-set/cases/?limit=1").status_code == 401
    return key


def test_text_access_lines_at_the_default_level(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", log)
    try:
        key = requests(server)
        content = wait_for(log, "marker-set/cases/?limit=1")
    finally:
        stop_server(server)
    lines = [line for line in content.splitlines() if " evalset.access " in line]
    ok, missing, refused = lines[-3:]
    assert " INFO " in ok and "GET /v1/datasets/ 200 " in ok and "ms project=" in ok and "client=127.0.0.1" in ok
    assert " WARNING " in missing and "GET /v1/datasets/no-such-set/ 404" in missing
    assert (
        " WARNING " in refused
        and "GET /v1/datasets/marker-set/cases/?limit=1 401" in refused
        and "project=-" in refused
    )
    project_id = ok.split("project=")[1].split()[0]
    assert len(project_id) == 36 and f"project={project_id}" in missing
    assert key not in content and key.split("_")[-1] not in content and "evalset_000000000000_wrong" not in content


def test_warning_level_keeps_4xx_and_json_lines_parse(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {"EVALSET_LOG_LEVEL": "warning", "EVALSET_LOG_FORMAT": "json"}
    server = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", log, env=env)
    try:
        requests(server)
        content = wait_for(log, "marker-set/cases/?limit=1")
    finally:
        stop_server(server)
    records = [json.loads(line) for line in content.splitlines() if line.startswith("{")]
    assert all(line.startswith("{") for line in content.splitlines() if line.strip()), content
    start = [r["message"] for r in records if r["logger"] == "evalset.start"]
    assert start[0].startswith("evalset ") and any(m.startswith("Database: SQLite file") for m in start)
    access = [r for r in records if r["logger"] == "evalset.access"]
    assert [(r["status"], r["level"]) for r in access] == [(404, "warning"), (401, "warning")]
    assert set(access[0]) >= {"time", "method", "path", "status", "duration_ms", "project", "client"}
    assert access[1]["project"] is None and isinstance(access[0]["duration_ms"], float)


def test_start_up_names_version_database_address_and_masks_the_password(pg_url: str, tmp_path: Path) -> None:
    url = pg_url.replace("postgres@", "postgres:sekret@")  # the local server trusts: the password is ignored
    log = tmp_path / "serve.log"
    server = start_server(url, log)
    try:
        with httpx.Client(base_url=server.base_url) as client:
            assert client.get("/health").json() == {"status": "ok"}
        content = log.read_text()
    finally:
        stop_server(server)
    assert "sekret" not in content
    assert f"Database: PostgreSQL postgresql://postgres:***@127.0.0.1:5432/{url.rsplit('/', 1)[1]}" in content
    assert "evalset is serving at http://127.0.0.1:" in content
