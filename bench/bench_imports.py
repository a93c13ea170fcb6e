"""Import scaling: ten successive upsert imports into one dataset, and an import into a very large dataset.

Usage: .venv/bin/python bench/bench_imports.py [--backend sqlite|postgresql|both] [--cases 10000] [--imports 10]
       [--big 1000000] [--no-big]

Against the real server (a subprocess on a fresh database per backend, see bench_server.py):

- `--imports` successive imports of `--cases` new named cases each (default on_conflict=update, so every
  import looks its names up first) into one dataset, then one import that updates the first import's cases;
  prints each import's time and the last/first ratio (target: at most 1.5);
- a dataset grown to `--big` cases (by 50,000-case imports, timed as they go), then one more import of
  `--cases` new cases into it, compared with the first import into the empty dataset (target: at most 1.5);
- at the end, when both backends ran: PostgreSQL's import throughput against SQLite's (target: within 2x).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import (  # noqa: E402 - the bench directory is not a package
    CpuMeter,
    Server,
    _on_sigterm,
    create_dataset,
    create_key,
    fresh_database,
    import_payload,
    log,
    make_cases,
    new_client,
    post_import,
)

BIG_STEP = 50_000


def timed_import(client: Any, server: Server, dataset: str, payload: bytes) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) of one import request."""
    with CpuMeter(server.pid) as meter:
        post_import(client, dataset, payload)
    return meter.result["wall_s"], meter.result["server_cpu_s"]


def successive(client: Any, server: Server, cases: int, imports: int) -> dict[str, Any]:
    create_dataset(client, "successive")
    times: list[tuple[float, float]] = []
    for i in range(imports):
        payload = import_payload(make_cases(cases, seed=i, prefix=f"r{i:02d}-"))
        times.append(timed_import(client, server, "successive", payload))
        log(f"  import {i + 1:2d}: {times[-1][0]:7.2f} s wall, {times[-1][1]:6.2f} s server CPU")
    update = timed_import(client, server, "successive", import_payload(make_cases(cases, seed=99, prefix="r00-")))
    log(f"  update of import 1's cases: {update[0]:.2f} s")
    return {"times": times, "update": update, "ratio": times[-1][0] / times[0][0]}


def big(client: Any, server: Server, cases: int, size: int) -> dict[str, Any]:
    create_dataset(client, "big")
    first = timed_import(client, server, "big", import_payload(make_cases(cases, seed=1000, prefix="first-")))
    held, step = cases, 0
    fill: list[float] = []
    while held < size:
        n = min(BIG_STEP, size - held)
        payload = import_payload(make_cases(n, seed=step, prefix=f"f{step}-"))
        fill.append(timed_import(client, server, "big", payload)[0])
        held += n
        step += 1
        if step % 5 == 0:
            log(f"  filled {held:,} cases ({n / fill[-1]:,.0f} cases/s for the last step)")
    last = timed_import(client, server, "big", import_payload(make_cases(cases, seed=2000, prefix="last-")))
    log(f"  import into {held:,} cases: {last[0]:.2f} s (first into empty: {first[0]:.2f} s)")
    return {"held": held, "first": first, "last": last, "ratio": last[0] / first[0], "fill_s": fill}


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with fresh_database(backend, workdir) as url:
        server = Server(url, workdir / f"{backend}.log")
        server.start()
        if server.key is None:
            server.key = create_key(url)
        client = new_client(server)
        try:
            log(f"{backend}: {args.imports} successive imports of {args.cases:,} cases")
            out: dict[str, Any] = {"successive": successive(client, server, args.cases, args.imports)}
            if not args.no_big:
                log(f"{backend}: filling a dataset to {args.big:,} cases")
                out["big"] = big(client, server, args.cases, args.big)
            return out
        finally:
            client.close()
            server.stop()


def report(backend: str, r: dict[str, Any], cases: int) -> None:
    s = r["successive"]
    print(f"\n{backend}: successive imports of {cases:,} cases into one dataset")
    for i, (wall, cpu) in enumerate(s["times"], 1):
        print(f"  import {i:2d}: {wall:7.2f} s  ({cases / wall:8,.0f} cases/s, server CPU {cpu:6.2f} s)")
    print(f"  update of import 1's cases: {s['update'][0]:.2f} s")
    mark = "ok" if s["ratio"] <= 1.5 else "MISSED"
    cpu_ratio = s["times"][-1][1] / max(s["times"][0][1], 1e-9)
    print(f"  last/first: {s['ratio']:.2f}x wall, {cpu_ratio:.2f}x server CPU  (target <= 1.5x: {mark})")
    if "big" in r:
        b = r["big"]
        mark = "ok" if b["ratio"] <= 1.5 else "MISSED"
        print(
            f"  import into {b['held']:,} cases: {b['last'][0]:.2f} s vs {b['first'][0]:.2f} s into an empty dataset: "
            f"{b['ratio']:.2f}x wall, {b['last'][1] / max(b['first'][1], 1e-9):.2f}x server CPU "
            f"(target <= 1.5x: {mark}); filling ran at "
            f"{BIG_STEP * len(b['fill_s']) / max(sum(b['fill_s']), 1e-9):,.0f} cases/s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=10_000, help="cases per import (default 10,000)")
    parser.add_argument("--imports", type=int, default=10, help="successive imports (default 10)")
    parser.add_argument("--big", type=int, default=1_000_000, help="size of the large dataset (default 1,000,000)")
    parser.add_argument("--no-big", action="store_true", help="skip the large dataset")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="evalset-bench-imports-") as tmp:
        for backend in backends:
            results[backend] = run_backend(backend, args, Path(tmp))
    for backend in backends:
        report(backend, results[backend], args.cases)
    if len(results) == 2:
        rate = {b: statistics.median(args.cases / w for w, _ in r["successive"]["times"]) for b, r in results.items()}
        ratio = rate["sqlite"] / rate["postgresql"]
        mark = "ok" if ratio <= 2 else "MISSED"
        print(
            f"\nmedian import throughput: SQLite {rate['sqlite']:,.0f} cases/s, PostgreSQL {rate['postgresql']:,.0f} "
            f"cases/s: SQLite/PostgreSQL {ratio:.2f}x (target <= 2x: {mark})"
        )
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(took {time.perf_counter() - started:.0f} s)")
    sys.exit(code)
