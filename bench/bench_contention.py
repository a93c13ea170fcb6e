"""Concurrent writers against the real server: do they queue, or fail?

Usage: .venv/bin/python bench/bench_contention.py [--backend sqlite|postgresql|both] [--clients 32] [--rounds 4]

Three scenarios, each `--rounds` rounds of `--clients` threads released together:
- upsert: every client imports 20 overlapping case names into one dataset (default on_conflict=update);
- patch: every client PATCHes the same case without If-Match (last write wins: all must succeed);
- patch-if-match: every client PATCHes the same case with the version it read (one 200, the rest 412).
Prints the status counts and requests per second for each; 5xx and unexpected 412s are failures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import Server, auth, fresh_database  # noqa: E402

NAMES = [f"case-{n}" for n in range(40)]


def together(url: str, key: str, clients: int, work: Callable[[int, httpx.Client], httpx.Response]) -> list[int]:
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        with httpx.Client(base_url=url, headers=auth(key), timeout=120) as client:
            client.get("/health")
            barrier.wait()
            status = work(i, client).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def scenario(name: str, url: str, key: str, args: argparse.Namespace, make_work, expected: Callable[[Counter], bool]):
    counts: Counter[int] = Counter()
    started = time.perf_counter()
    for round_ in range(args.rounds):
        counts.update(together(url, key, args.clients, make_work(round_)))
    wall = time.perf_counter() - started
    total = args.clients * args.rounds
    verdict = "ok" if expected(counts) else "FAIL"
    shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
    print(f"  {name:<15} {total} requests  {shown:<24} {total / wall:7.1f} req/s  {verdict}")
    return verdict == "ok"


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> bool:
    with fresh_database(backend, workdir) as db_url:
        server = Server(db_url, workdir / f"{backend}.log")
        server.start()
        try:
            assert server.key is not None
            url, key = server.url, server.key
            with httpx.Client(base_url=url, headers=auth(key), timeout=60) as client:
                client.post("/v1/datasets/", json={"name": "contended"}).raise_for_status()
                case = client.post("/v1/datasets/contended/cases/", json={"name": "hot", "inputs": 0}).json()
            path = f"/v1/datasets/contended/cases/{case['id']}/"
            print(f"{backend}: {args.clients} clients x {args.rounds} rounds")

            def upserts(round_: int):
                def work(i: int, client: httpx.Client) -> httpx.Response:
                    mine = [NAMES[(i + j) % len(NAMES)] for j in range(20)][:: -1 if i % 2 else 1]
                    body = {"cases": [{"name": n, "inputs": {"round": round_, "writer": i}} for n in mine]}
                    return client.post("/v1/datasets/contended/import/", json=body)

                return work

            def patches(round_: int):
                return lambda i, client: client.patch(path, json={"inputs": {"round": round_, "writer": i}})

            def patches_if_match(round_: int):
                def work(i: int, client: httpx.Client) -> httpx.Response:
                    version = client.get(path).json()["version"]
                    return client.patch(path, json={"inputs": i}, headers={"If-Match": str(version)})

                return work

            all_ok = lambda c: set(c) == {200}  # noqa: E731
            ok = scenario("upsert", url, key, args, upserts, all_ok)
            ok &= scenario("patch", url, key, args, patches, all_ok)
            ok &= scenario("patch-if-match", url, key, args, patches_if_match, lambda c: set(c) <= {200, 412})
            return ok
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory(prefix="evalset-contention-") as tmp:
        results = [run_backend(backend, args, Path(tmp)) for backend in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
