"""Start-up time on an existing database, and the server's memory growth during one large import.

Usage: .venv/bin/python bench/bench_footprint.py [--backend sqlite|postgresql|both] [--cases 10000] [--starts 5]
       [--tracemalloc] [--compiled] [--smaps]   (--starts 0: the memory figures alone)

- start-up: `evalset serve` spawned `--starts` times on an already migrated database holding a key; the
  median time from spawn to the first `200` on /health and on an authenticated `GET /v1/datasets/`, and
  the server's CPU seconds up to then (steadier than wall time on a busy machine). Target: under 1 s.
- memory: one import of `--cases` cases (the typed cases of bench_server.py) into a fresh dataset; the peak
  RSS increase over the RSS just before, and over the idle RSS before the first import, against the
  request body's size. The peak is the kernel's VmHWM, reset just before the import
  (`echo 5 > /proc/PID/clear_refs`); where that reset is refused, VmRSS sampled every 5 ms. Target: the
  increase at most 2x the body, the first import into the fresh server included (reported on its own
  line). Repeated 3 times, then a fourth import of changed content under the same names into the first
  dataset (10,000 updates). The server's CPU seconds for each import are given too.
- `--smaps`: during the first import, read /proc/PID/smaps every 10 ms and keep the reading with the most
  RSS; print, by kind of mapping (glibc's main heap and thread arenas, pymalloc's 1 MiB arenas, other
  anonymous mappings such as a large body, files), how much each grew at that peak and after the import.
- `--compiled`: byte-compile evalset's modules first, as `pip install` of the wheel does. An editable
  install under `PYTHONDONTWRITEBYTECODE=1` (as on the CI machines) otherwise compiles them at every start.
- `--tracemalloc`: the same four imports in this process, through the ASGI app with the body sent in
  64 KiB chunks (as uvicorn does) and the response counted, not kept; the peak of Python's allocations
  (`tracemalloc`) during each request over what was allocated before the first import, and what is still
  allocated after it. No allocator noise: the steady figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import (  # noqa: E402 - the bench directory is not a package
    MiB,
    RssSampler,
    Server,
    create_dataset,
    create_key,
    dataset_body,
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
    return {
        "health_s": median(health),
        "first_api_s": median(api),
        "cpu_s": median(cpu),
        "best_first_api_s": min(api),
        "best_cpu_s": min(cpu),
    }


def payloads(cases: int) -> tuple[bytes, bytes]:
    """The body of the new-case imports, and one with other content under the same names (updates)."""
    return (
        import_payload(make_cases(cases, seed=7, prefix="m-")),
        import_payload(make_cases(cases, seed=8, prefix="m-")),
    )


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+, same user or root); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


ARENA_ALIGN = 64 * MiB  # glibc's thread arenas live in 64 MiB-aligned reservations (HEAP_MAX_SIZE)


def smaps(pid: int) -> list[tuple[int, int, str, int]]:
    """(start, size, name, Rss) of every mapping of the process."""
    maps: list[tuple[int, int, str, int]] = []
    start = size = 0
    name = ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(None, 5)
            if "-" in head[0] and not head[0].endswith(":"):
                low, high = (int(x, 16) for x in head[0].split("-"))
                start, size, name = low, high - low, head[5].strip() if len(head) > 5 else ""
            elif head[0] == "Rss:":
                maps.append((start, size, name, int(head[1]) * 1024))
    return maps


def kind(start: int, size: int, name: str) -> str:
    if name == "[heap]":
        return "main heap (glibc's main arena)"
    if name.startswith("/"):
        return "files (libraries, the database's files)"
    if name:
        return name
    if start % ARENA_ALIGN == 0 and size < ARENA_ALIGN:
        return "thread arenas (glibc's, of worker threads)"
    if size == MiB:
        return "1 MiB mappings (pymalloc arenas)"
    return "other anonymous mappings (large blocks, adjacent pymalloc arenas)"


def by_kind(maps: list[tuple[int, int, str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for start, size, name, rss in maps:
        totals[kind(start, size, name)] = totals.get(kind(start, size, name), 0) + rss
    return totals


class SmapsSampler(threading.Thread):
    """Reads /proc/PID/smaps every 10 ms; keeps the reading with the most RSS (the peak's make-up)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.before = pid, smaps(pid)
        self.peak, self.peak_rss = self.before, sum(m[3] for m in self.before)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            maps = smaps(self.pid)
            if (rss := sum(m[3] for m in maps)) > self.peak_rss:
                self.peak, self.peak_rss = maps, rss

    def __enter__(self) -> SmapsSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()
        self.after = smaps(self.pid)

    def report(self) -> dict[str, tuple[int, int]]:
        """Per kind of mapping: its RSS growth at the peak and after, over the reading before."""
        before, peak, after = by_kind(self.before), by_kind(self.peak), by_kind(self.after)
        return {k: (peak.get(k, 0) - before.get(k, 0), after.get(k, 0) - before.get(k, 0)) for k in {*peak, *after}}


def import_memory(server: Server, cases: int, *, with_smaps: bool = False) -> dict[str, Any]:
    payload, changed = payloads(cases)
    growth, over_idle, cpu = [], [], []
    exact = False
    highest = 0
    first_smaps: dict[str, tuple[int, int]] = {}
    with new_client(server) as client:
        for rep in range(3):
            create_dataset(client, f"memory-{rep}")
        idle = proc_mem(server.pid)["VmRSS"]
        for rep in range(4):
            name, body = (f"memory-{rep}", payload) if rep < 3 else ("memory-0", changed)
            exact = reset_peak(server.pid)
            cpu_before = proc_cpu(server.pid)
            sampler = SmapsSampler(server.pid) if with_smaps and rep == 0 else contextlib.nullcontext()
            with sampler, RssSampler(server.pid) as rss:
                post_import(client, name, body)
            if isinstance(sampler, SmapsSampler):
                first_smaps = sampler.report()
            cpu.append(proc_cpu(server.pid) - cpu_before)
            peak = proc_mem(server.pid)["VmHWM"] if exact else rss.peak
            growth.append(peak - rss.baseline)
            highest = max(highest, peak)
            over_idle.append(peak - idle)
    return {
        "body_bytes": len(payload),
        "idle": idle,
        "growth": growth,
        "over_idle": over_idle,
        "cpu_s": cpu,
        "exact_peak": exact,
        "peak": highest,
        "rss_after": proc_mem(server.pid)["VmRSS"],
        "first_smaps": first_smaps,
    }


async def _asgi_post(app: Any, path: str, body: bytes, key: str) -> tuple[int, int, bytes]:
    """POST `body` to the ASGI app in 64 KiB chunks; the status, the response's size and its first bytes."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {key}".encode()),
        (b"host", b"bench"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    chunk = 65536
    offsets = iter(range(0, max(len(body), 1), chunk))
    status, size, head = 0, 0, b""

    async def receive() -> dict[str, Any]:
        start = next(offsets, None)
        if start is None:
            await asyncio.sleep(3600)  # a disconnect would only come after the response
        assert start is not None
        return {"type": "http.request", "body": body[start : start + chunk], "more_body": start + chunk < len(body)}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size, head
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))
            head = head or bytes(message.get("body", b""))[:300]

    await app(scope, receive, send)
    return status, size, head


def traced_imports(backend: str, url: str, cases: int) -> dict[str, Any]:
    """The four imports of import_memory in this process: each request's tracemalloc peak, and what is still
    allocated after it, over what was allocated before the first (what a request leaves alive counts)."""
    import tracemalloc

    from evalset.server.app import create_app
    from evalset.server.services.keys import create_key as new_key
    from evalset.server.settings import Settings

    app = create_app(Settings(database_url=url))
    db = app.state.db
    key, _ = new_key(db, project="traced", scopes=["project:read_datasets", "project:write_datasets"])
    payload, changed = payloads(cases)
    peaks, kept = [], []

    async def run() -> None:
        for rep in range(3):
            status, _, head = await _asgi_post(app, "/v1/datasets/", orjson.dumps(dataset_body(f"t-{rep}")), key)
            assert status in (200, 201), head
        tracemalloc.start()
        idle = tracemalloc.get_traced_memory()[0]
        for rep in range(4):
            name, body = (f"t-{rep}", payload) if rep < 3 else ("t-0", changed)
            tracemalloc.reset_peak()
            status, size, head = await _asgi_post(app, f"/v1/datasets/{name}/import/", body, key)
            if status != 200:
                raise RuntimeError(f"traced import: {status} {head!r}")
            current, peak = tracemalloc.get_traced_memory()
            peaks.append(peak - idle)
            kept.append(current - idle)
        tracemalloc.stop()

    try:
        asyncio.run(run())
    finally:
        db.dispose()
    log(f"{backend}: traced imports done")
    return {"body_bytes": len(payload), "peaks": peaks, "kept": kept}


def run(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    log_path = workdir / f"{backend}.log"
    with fresh_database(backend, workdir) as url:
        server = Server(url, log_path)
        server.start()
        try:
            server.key = server.key or create_key(url)
            log(f"{backend}: memory during {args.cases:,}-case imports ...")
            memory = import_memory(server, args.cases, with_smaps=args.smaps)
        finally:
            server.stop()
        result: dict[str, Any] = {"memory": memory}
        if args.starts:
            log(f"{backend}: {args.starts} starts on the existing database ...")
            result["start"] = startups(url, server.key, args.starts, log_path)
    if args.tracemalloc:
        with fresh_database(backend, workdir / "traced") as url:
            result["traced"] = traced_imports(backend, url, args.cases)
    return result


def report(backend: str, r: dict[str, Any], cases: int) -> None:
    m, s = r["memory"], r.get("start")
    body = m["body_bytes"]
    print(f"\n{backend}")
    if s:
        print(
            f"  start-up on an existing database (median): /health {s['health_s']:.2f} s, first API answer "
            f"{s['first_api_s']:.2f} s, server CPU {s['cpu_s']:.2f} s (target < 1 s: "
            f"{'ok' if s['first_api_s'] < 1 else 'MISSED'}); best start: first API answer "
            f"{s['best_first_api_s']:.2f} s, server CPU {s['best_cpu_s']:.2f} s"
        )
    how = "VmHWM reset before each" if m["exact_peak"] else "VmRSS sampled every 5 ms"

    def figures(values: list[int]) -> str:
        return ", ".join(f"{v / MiB:.1f} MiB ({v / body:.1f}x)" for v in values)

    print(
        f"  imports of {cases:,} cases, body {body / MiB:.1f} MiB, idle RSS {m['idle'] / MiB:.0f} MiB; peak RSS "
        f"({how}) over the RSS just before: new cases into 3 datasets {figures(m['growth'][:3])}, updates of "
        f"the first {figures(m['growth'][3:])}; over idle: {figures(m['over_idle'])}"
    )
    first, warm = m["growth"][0], max(m["growth"][1:])
    print(
        f"  target: peak RSS increase <= 2x the body: first import into the fresh server {first / body:.2f}x "
        f"({'ok' if first <= 2 * body else 'MISSED'}), later imports at most {warm / body:.2f}x "
        f"({'ok' if warm <= 2 * body else 'MISSED'}); peak VmHWM {m['peak'] / MiB:.1f} MiB, RSS after the imports "
        f"{m['rss_after'] / MiB:.1f} MiB"
    )
    print("  server CPU per import: " + ", ".join(f"{c:.2f} s" for c in m["cpu_s"]))
    if m["first_smaps"]:
        print("  the first import's RSS growth by kind of mapping (/proc/PID/smaps every 10 ms), at the peak / after:")
        for name, (peak, after) in sorted(m["first_smaps"].items(), key=lambda item: -item[1][0]):
            if abs(peak) >= MiB // 20 or abs(after) >= MiB // 20:
                print(f"    {name:68s} {peak / MiB:+6.2f} / {after / MiB:+6.2f} MiB")
    traced = r.get("traced")
    if traced:
        print(
            "  tracemalloc peak per import request over the idle app (in-process): "
            + ", ".join(f"{p / MiB:.1f} MiB ({p / body:.1f}x)" for p in traced["peaks"])
            + "; kept after: "
            + ", ".join(f"{k / MiB:.1f} MiB" for k in traced["kept"])
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5, help="start-ups to time (0: memory only)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the imports' allocations in-process")
    parser.add_argument("--compiled", action="store_true", help="byte-compile the evalset modules first")
    parser.add_argument("--smaps", action="store_true", help="where the first import's RSS goes, by kind of mapping")
    args = parser.parse_args(argv)
    if args.compiled:
        import compileall

        import evalset

        compileall.compile_dir(str(Path(evalset.__file__).parent), quiet=1)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="evalset-bench-footprint-") as tmp:
        results = {backend: run(backend, args, Path(tmp)) for backend in backends}
    for backend, r in results.items():
        report(backend, r, args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
