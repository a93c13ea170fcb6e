"""Start-up time on an existing database, and the server's memory growth during one large import.

Usage: .venv/bin/python bench/bench_footprint.py [--backend sqlite|postgresql|both] [--cases 10000] [--starts 5]

- start-up: `evalset serve` spawned `--starts` times on an already migrated database holding a key; the
  median time from spawn to the first `200` on /health and on an authenticated `GET /v1/datasets/`, and
  the server's CPU seconds up to then (steadier than wall time on a busy machine). Target: under 1 s.
- memory: one import of `--cases` cases (the typed cases of bench_server.py) into a fresh dataset, VmRSS
  sampled every 5 ms; the peak increase over the RSS just before, against the request body's size.
  Target: the increase at most 2x the body. Repeated 3 times (the first import also warms caches).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import (  # noqa: E402 - the bench directory is not a package
    MiB,
    RssSampler,
    Server,
    create_dataset,
    create_key,
    fresh_database,
    import_payload,
    log,
    make_cases,
    new_client,
    post_import,
    proc_cpu,
    proc_mem,
)


def startups(url: str, key: str, starts: int, log_path: Path) -> dict[str, Any]:
    health, api, cpu = [], [], []
    for _ in range(starts):
        server = Server(url, log_path)
        try:
            timing = server.start(key=key)
            cpu.append(proc_cpu(server.pid))
        finally:
            server.stop()
        health.append(timing["health_s"])
        api.append(timing["first_api_s"])
    median = statistics.median
    return {"health_s": median(health), "first_api_s": median(api), "cpu_s": median(cpu)}


def import_memory(server: Server, cases: int) -> dict[str, Any]:
    payload = import_payload(make_cases(cases, seed=7, prefix="m-"))
    growth = []
    with new_client(server) as client:
        for rep in range(3):
            create_dataset(client, f"memory-{rep}")
            with RssSampler(server.pid) as rss:
                post_import(client, f"memory-{rep}", payload)
            growth.append(rss.peak - rss.baseline)
    return {"body_bytes": len(payload), "growth": growth, "rss_after": proc_mem(server.pid)["VmRSS"]}


def run(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    log_path = workdir / f"{backend}.log"
    with fresh_database(backend, workdir) as url:
        server = Server(url, log_path)
        server.start()
        try:
            server.key = server.key or create_key(url)
            log(f"{backend}: memory during {args.cases:,}-case imports ...")
            memory = import_memory(server, args.cases)
        finally:
            server.stop()
        log(f"{backend}: {args.starts} starts on the existing database ...")
        return {"memory": memory, "start": startups(url, server.key, args.starts, log_path)}


def report(backend: str, r: dict[str, Any], cases: int) -> None:
    m, s = r["memory"], r["start"]
    body = m["body_bytes"]
    print(f"\n{backend}")
    print(
        f"  start-up on an existing database (median): /health {s['health_s']:.2f} s, first API answer "
        f"{s['first_api_s']:.2f} s, server CPU {s['cpu_s']:.2f} s (target < 1 s: "
        f"{'ok' if s['first_api_s'] < 1 else 'MISSED'})"
    )
    ratios = [g / body for g in m["growth"]]
    print(
        f"  import of {cases:,} cases, body {body / MiB:.1f} MiB: RSS growth "
        + ", ".join(f"{g / MiB:.1f} MiB ({x:.1f}x)" for g, x in zip(m["growth"], ratios, strict=True))
        + f"; target <= 2x: {'ok' if max(ratios[1:] or ratios) <= 2 else 'MISSED'} (warm imports)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="evalset-bench-footprint-") as tmp:
        results = {backend: run(backend, args, Path(tmp)) for backend in backends}
    for backend, r in results.items():
        report(backend, r, args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
