"""The `evalset` command, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import start_server, stop_server


def evalset(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalset.server.cli", "--db", db, *args], capture_output=True, text=True, timeout=60
    )


def test_keys_and_projects_lifecycle(db_url: str) -> None:
    created = evalset(
        "keys", "create", "--project", "team", "--scope", "project:read_datasets", "--name", "ci", db=db_url
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("evalset_") and " " not in secret
    listed = evalset("keys", "list", db=db_url).stdout
    assert "team" in listed and "ci" in listed and secret not in listed and "active" in listed
    assert "team" in evalset("projects", "list", db=db_url).stdout
    assert evalset("projects", "create", "other", db=db_url).returncode == 0
    assert evalset("keys", "revoke", secret, db=db_url).returncode == 0
    assert "revoked" in evalset("keys", "list", "--project", "team", db=db_url).stdout
    assert evalset("keys", "revoke", secret, db=db_url).returncode == 1
    bad = evalset("keys", "create", "--project", "team", "--scope", "everything", db=db_url)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_serve_on_an_empty_database_prints_url_and_a_working_key(db_url: str, tmp_path: Path) -> None:
    server = start_server(db_url, tmp_path / "serve.log")
    try:
        output = (tmp_path / "serve.log").read_text().strip().splitlines()
        key = output[-1]
        assert key.startswith("evalset_")
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}) as client:
            assert client.post("/v1/datasets/", json={"name": "first"}).status_code == 201
            assert [d["name"] for d in client.get("/v1/datasets").json()] == ["first"]
    finally:
        stop_server(server)
    again = start_server(db_url, tmp_path / "again.log")  # not empty any more: no new key
    try:
        assert "evalset_" not in (tmp_path / "again.log").read_text()
    finally:
        stop_server(again)


def test_the_server_does_not_load_the_http_client() -> None:
    """Start-up time: `evalset serve` imports neither httpx nor the SDK's clients (nor pydantic-evals)."""
    code = (
        "import sys, evalset.server.app, evalset.server.cli;"
        "print(sorted(m for m in ('httpx', 'evalset._client', 'pydantic_evals') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "[]"
