"""Several `evalset serve` processes on one database (behind any load balancer): each sees the others'
writes at once, revocations included; servers starting together on an empty database migrate it once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import LiveServer, start_server, stop_server


def test_two_servers_on_one_database(db_url: str, tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:  # both start at once on the empty database: migrations take turns
        a, b = pool.map(lambda name: start_server(db_url, tmp_path / f"{name}.log"), ["a", "b"])
    try:
        key, _ = a.new_key()
        with a.client(key) as via_a, b.client(key) as via_b:
            created = via_a.post("/v1/datasets/", json={"name": "shared"}).json()
            assert via_b.get("/v1/datasets/shared/").json()["id"] == created["id"]

            cases = via_b.post("/v1/datasets/shared/import/", json={"cases": [{"name": "c1", "inputs": 1}]}).json()
            assert [c["name"] for c in via_a.get("/v1/datasets/shared/cases/").json()] == ["c1"]
            case_path = f"/v1/datasets/shared/cases/{cases[0]['id']}/"
            assert via_a.patch(case_path, json={"inputs": 2}, headers={"If-Match": '"1"'}).status_code == 200
            assert via_b.get(case_path).json()["version"] == 2
            assert via_b.patch(case_path, json={"inputs": 3}, headers={"If-Match": '"1"'}).status_code == 412

            def write(args: tuple[LiveServer, int]) -> int:
                server, n = args
                with server.client(key) as client:
                    body = {"cases": [{"name": f"{server.base_url}-{n}-{i}", "inputs": i} for i in range(20)]}
                    return client.post("/v1/datasets/shared/import/", json=body).status_code

            with ThreadPoolExecutor(4) as pool:
                assert set(pool.map(write, [(a, 0), (b, 0), (a, 1), (b, 1)])) == {200}
            assert via_a.get("/v1/datasets/shared/").json()["case_count"] == 81
            assert via_b.get("/v1/datasets/shared/").json()["case_count"] == 81

            revoke = [sys.executable, "-m", "evalset.server.cli", "--db", db_url, "keys", "revoke", key]
            assert subprocess.run(revoke, capture_output=True, timeout=60).returncode == 0
            assert via_a.get("/v1/datasets/").status_code == 401
            assert via_b.get("/v1/datasets/").status_code == 401
    finally:
        stop_server(a)
        stop_server(b)
