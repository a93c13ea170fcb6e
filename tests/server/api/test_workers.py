"""`evalset serve --workers 2` on both databases: both processes serve, and a revoked key is refused by
every worker from the next request on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evalset.server.services import keys
from tests.conftest import LiveServer, start_server, stop_server


def _workers(server: LiveServer) -> list[int]:
    """The worker processes of the supervisor (uvicorn spawns them with multiprocessing)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _cpu(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.fixture
def workers_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(db_url, tmp_path / "server.log", env={"EVALSET_WORKERS": "2"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the supervisor announces before its workers answer
        try:
            if httpx.get(server.base_url + "/health", timeout=2).status_code == 200 and len(_workers(server)) == 2:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    yield server
    stop_server(server)


def _spread(server: LiveServer, secret: str, requests: int = 30) -> list[int]:
    """Statuses of `requests` list requests, each on a new connection (the kernel hands them to either worker)."""
    statuses = []
    for _ in range(requests):
        with server.client(secret) as client:
            statuses.append(client.get("/v1/datasets/").status_code)
    return statuses


def test_two_workers_share_the_port_and_both_answer(workers_server: LiveServer) -> None:
    workers = _workers(workers_server)
    assert len(workers) == 2
    secret, _ = workers_server.new_key()
    before = {pid: _cpu(pid) for pid in workers}
    assert set(_spread(workers_server, secret, 100)) == {200}
    used = [pid for pid in workers if _cpu(pid) > before[pid]]
    assert len(used) == 2, "one worker answered every request"


def test_a_revoked_key_is_refused_by_every_worker_at_once(workers_server: LiveServer) -> None:
    secret, _ = workers_server.new_key()
    keep_alive = workers_server.client(secret)
    assert keep_alive.get("/v1/datasets/").status_code == 200
    assert set(_spread(workers_server, secret)) == {200}  # both workers have looked the key up
    assert keys.revoke_key(workers_server.db, key=secret)  # another process: the test
    assert keep_alive.get("/v1/datasets/").status_code == 401
    statuses = _spread(workers_server, secret)
    keep_alive.close()
    assert set(statuses) == {401}
