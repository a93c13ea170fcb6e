"""`evalset serve --workers 2` on both databases: both processes serve, a revoked key is refused by every
worker from the next request on, and a write acknowledged by one worker is in the other's remembered answers
(the dataset list and datasets, services._remembered) from its next request on."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _worker_of(connection: http.client.HTTPConnection, workers: list[int]) -> int | None:
    """The worker process holding the server's end of this (connected, answered) client connection."""
    assert connection.sock is not None
    port = connection.sock.getsockname()[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:  # the server's end: its remote port is ours
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # closed meanwhile
                if os.readlink(fd) in inodes:
                    return pid
    return None


def _one_connection_per_worker(server: LiveServer) -> list[http.client.HTTPConnection]:
    """A kept-alive connection to each of the two workers (the kernel hands each new one to either)."""
    workers = _workers(server)
    address = server.base_url.split("//", 1)[1]
    found: dict[int, http.client.HTTPConnection] = {}
    for _ in range(100):
        connection = http.client.HTTPConnection(address, timeout=30)
        connection.request("GET", "/health")
        assert connection.getresponse().read() == b'{"status":"ok"}'
        pid = _worker_of(connection, workers)
        if pid is None or pid in found:
            connection.close()
        else:
            found[pid] = connection
        if len(found) == 2:
            return list(found.values())
    raise AssertionError(f"100 connections did not reach both workers: {found}")


def _call(connection: http.client.HTTPConnection, secret: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {secret}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    content = response.read()
    return response.status, json.loads(content) if content else None


ACTIONS = ("create", "rename", "import", "create", "describe", "delete")


def test_every_write_is_in_the_other_workers_remembered_answers_at_once(workers_server: LiveServer) -> None:
    """Each worker remembers the dataset list and datasets under the database's stamp: a write acknowledged by
    one worker must be in the other's next answers (list, and the dataset by id and by name), every time."""
    secret, _ = workers_server.new_key()
    other_secret, _ = workers_server.new_key()  # another project, with datasets of the same names
    connections = _one_connection_per_worker(workers_server)
    try:
        expected: dict[str, dict[str, Any]] = {}  # id -> the fields the answers must show
        for step in range(60):
            writer, reader = connections[step % 2], connections[1 - step % 2]
            action = ACTIONS[step % len(ACTIONS)] if expected else "create"
            name = f"ds-{step}"
            if action == "create":
                status, written = _call(writer, secret, "POST", "/v1/datasets/", {"name": name})
                assert status == 201, written
                assert _call(writer, other_secret, "POST", "/v1/datasets/", {"name": name})[0] == 201
                expected[written["id"]] = written
            else:
                ds = sorted(expected)[step % len(expected)]
                if action == "rename":
                    old_name = expected[ds]["name"]
                    status, written = _call(writer, secret, "PATCH", f"/v1/datasets/{old_name}/", {"name": name})
                elif action == "describe":
                    status, written = _call(writer, secret, "PATCH", f"/v1/datasets/{ds}/", {"description": name})
                elif action == "import":
                    cases = {"cases": [{"inputs": {"n": n}} for n in range(step % 3 + 1)]}
                    status, _ = _call(writer, secret, "POST", f"/v1/datasets/{ds}/import/", cases)
                    written = _call(writer, secret, "GET", f"/v1/datasets/{ds}/")[1]
                    assert written["case_count"] == expected[ds]["case_count"] + step % 3 + 1
                else:
                    status, written = _call(writer, secret, "DELETE", f"/v1/datasets/{ds}/")
                    gone = expected.pop(ds)
                    for ref in (ds, gone["name"]):
                        assert _call(reader, secret, "GET", f"/v1/datasets/{ref}/")[0] == 404, (step, action)
                assert status in (200, 204), written
                if written is not None:
                    expected[ds] = written
            for connection in (reader, writer):
                status, listed = _call(connection, secret, "GET", "/v1/datasets/")
                assert status == 200
                fields = ("id", "name", "description", "case_count", "updated_at")
                got = [{f: d[f] for f in fields} for d in listed]
                want = sorted(({f: d[f] for f in fields} for d in expected.values()), key=lambda d: d["name"])
                assert got == want, (step, action)
                for dataset in expected.values():
                    for ref in (dataset["id"], dataset["name"]):
                        assert _call(connection, secret, "GET", f"/v1/datasets/{ref}/") == (200, dataset), (step, ref)
                status, listed = _call(connection, other_secret, "GET", "/v1/datasets/")
                assert status == 200 and not {d["id"] for d in listed} & set(expected), (step, action)
    finally:
        for connection in connections:
            connection.close()
