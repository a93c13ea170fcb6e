"""Per-request server CPU and the tail under load: evalset's dataset list against a bare ASGI app.

Usage: .venv/bin/python bench/bench_requests.py [--backend sqlite|postgresql|both] [--workers N] [--requests 2000]
       [--clients 16] [--generators 2] [--callgrind 300]

Both servers run as their own processes under the same uvicorn set-up (`evalset serve`, and a 10-line
Starlette app answering a small JSON list under `uvicorn.Server` with evalset's config); the load generator
runs in processes of its own (httpx, one keep-alive connection per client thread; the clients are spread
over `--generators` processes, 2 by default, started together after their warm-up). For each: `--requests`
sequential requests, then `--clients` clients together, each sending `--requests / --clients`. The
generators' own CPU per request is printed too: once the server costs less than the client (httpx: 16
threads under one GIL cost three times what one does), a single generator process, not the server, bounds
the concurrent throughput; the bare app's ratio in the same run shows how far. Server CPU is read from
/proc for the server and its worker processes. Prints per request server CPU, p50/p99 and throughput, and
the ratios the targets are about: evalset's CPU per request / the bare app's (target <= 3),
concurrent / sequential throughput (>= 1), concurrent p99 (< 40 ms).

With `--callgrind N`, both servers run under `valgrind --tool=callgrind` instead (one process each) and the
figure is the instructions each executes per request over N sequential requests after a warm-up: a count that
other load on the machine does not move, unlike CPU time. (It leaves out kernel time: system calls, thread
switches.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import (  # noqa: E402 - the bench directory is not a package
    PYTHON,
    ROOT,
    Server,
    create_key,
    ensure_datasets,
    fresh_database,
    log,
    new_client,
    pct,
    proc_cpu,
)

BARE_APP = textwrap.dedent(
    """
    import socket, sys, uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    BODY = b'[' + b','.join(b'{"id":"%032d","name":"dataset-%03d","case_count":0}' % (i, i) for i in range(100)) + b']'

    async def listing(request):
        return Response(BODY, media_type="application/json")

    app = Starlette(routes=[Route("/v1/datasets/", listing)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"serving at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_config=None, access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
    """
)


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (uvicorn's worker processes)."""
    total = proc_cpu(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_cpu(int(child)) for child in children)


def load(url: str, key: str, clients: int, per_client: int) -> None:
    """Run in a generator process of its own (see measure): `clients` threads, each on its own keep-alive
    connection. Prints "ready" after the warm-up, starts on a line on stdin, and prints its latencies and CPU."""
    import httpx

    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]

    def client(index: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            for _ in range(10):
                http.get("/v1/datasets/").raise_for_status()
            barrier.wait()
            for _ in range(per_client):
                t0 = time.perf_counter()
                response = http.get("/v1/datasets/")
                latencies[index].append(time.perf_counter() - t0)
                response.raise_for_status()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    sys.stdin.readline()
    cpu0 = time.process_time()
    barrier.wait()
    for thread in threads:
        thread.join()
    flat = [x for part in latencies for x in part]
    print(json.dumps({"latencies": flat, "cpu_s": time.process_time() - cpu0}), flush=True)


def measure(url: str, key: str, pid: int, clients: int, requests: int, generators: int = 1) -> dict[str, Any]:
    """`clients` clients spread over `generators` processes, started together once all have warmed up."""
    generators = max(1, min(generators, clients))
    per_client = max(1, requests // clients)
    shares = [clients // generators + (1 if i < clients % generators else 0) for i in range(generators)]
    procs = [
        subprocess.Popen(
            [PYTHON, __file__, "--generate", url, key, str(n), str(per_client)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in shares
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("load generator failed")
        cpu0 = tree_cpu(pid)
        t0 = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outs = [proc.communicate(timeout=900)[0] for proc in procs]
        wall = time.perf_counter() - t0
        cpu = tree_cpu(pid) - cpu0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    if any(proc.returncode != 0 for proc in procs):
        raise RuntimeError("load generator failed")
    parts = [json.loads(out) for out in outs]
    flat = [x for part in parts for x in part["latencies"]]
    return {
        "requests": len(flat),
        "wall_s": wall,
        "p50_ms": 1000 * pct(flat, 50),
        "p99_ms": 1000 * pct(flat, 99),
        "req_per_s": len(flat) / wall,
        "cpu_ms": 1000 * cpu / len(flat),
        "generator_cpu_ms": 1000 * sum(part["cpu_s"] for part in parts) / len(flat),
    }


class Bare:
    def __init__(self, log_path: Path, prefix: list[str] | None = None) -> None:
        self.log = open(log_path, "a")  # noqa: SIM115 - closed in stop()
        cmd = [*(prefix or []), PYTHON, "-c", BARE_APP]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().split("serving at ")[1].strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.log.close()


def run(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    bare = Bare(workdir / "bare.log")
    try:
        log("bare ASGI app ...")
        results["bare"] = {
            "sequential": measure(bare.url, "none", bare.proc.pid, 1, args.requests),
            "concurrent": measure(bare.url, "none", bare.proc.pid, args.clients, args.requests, args.generators),
        }
    finally:
        bare.stop()
    workers = ["--workers", str(args.workers)] if args.workers > 1 else []
    with evalset_with_datasets(backend, workdir, extra_args=workers) as (server, key):
        log(f"evalset on {backend} ({args.workers} worker(s)) ...")
        results["evalset"] = {
            "sequential": measure(server.url, key, server.pid, 1, args.requests),
            "concurrent": measure(server.url, key, server.pid, args.clients, args.requests, args.generators),
        }
    return results


@contextmanager
def evalset_with_datasets(
    backend: str, workdir: Path, *, extra_args: list[str] | None = None, prefix: list[str] | None = None
) -> Iterator[tuple[Server, str]]:
    """`evalset serve` on a fresh database holding 100 datasets, and a key; stopped on exit."""
    with fresh_database(backend, workdir) as url:
        server = Server(url, workdir / f"{backend}.log")
        server.extra_args = extra_args or []
        if prefix:
            server.prefix = prefix
            server.start_deadline_s = 600
        server.start()
        try:
            key = server.key or create_key(url)
            with new_client(server) as client:
                client.headers["Authorization"] = f"Bearer {key}"
                ensure_datasets(client, 100)
            yield server, key
        finally:
            server.stop()


def callgrind_prefix(workdir: Path, name: str) -> list[str]:
    out = workdir / f"callgrind.{name}.%p"
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no", "--collect-jumps=no"]


def instructions(url: str, key: str, pid: int, workdir: Path, name: str, requests: int) -> float:
    """Instructions the server at `pid` (under callgrind) executes per sequential request."""
    import httpx

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        for _ in range(50):
            http.get("/v1/datasets/").raise_for_status()
        subprocess.run(["callgrind_control", "--zero", str(pid)], check=True, capture_output=True)
        for _ in range(requests):
            http.get("/v1/datasets/").raise_for_status()
        subprocess.run(["callgrind_control", "--dump=requests", str(pid)], check=True, capture_output=True)
    dumps = [path for path in workdir.glob(f"callgrind.{name}.{pid}*") if "Trigger: dump requests" in path.read_text()]
    totals = [line for line in dumps[-1].read_text().splitlines() if line.startswith(("summary:", "totals:"))]
    return int(totals[0].split()[1]) / requests


def run_callgrind(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    bare = Bare(workdir / "bare.log", prefix=callgrind_prefix(workdir, "bare"))
    try:
        log("bare ASGI app under callgrind ...")
        bare_ir = instructions(bare.url, "none", bare.proc.pid, workdir, "bare", args.callgrind)
    finally:
        bare.stop()
    with evalset_with_datasets(backend, workdir, prefix=callgrind_prefix(workdir, backend)) as (server, key):
        log(f"evalset on {backend} under callgrind ...")
        evalset_ir = instructions(server.url, key, server.pid, workdir, backend, args.callgrind)
    return {"bare": bare_ir, "evalset": evalset_ir}


def report_callgrind(backend: str, r: dict[str, float], args: argparse.Namespace) -> None:
    print(f"\n{backend}, GET /v1/datasets/ (100 datasets), instructions per request over {args.callgrind} (callgrind)")
    print(f"  bare ASGI app {r['bare'] / 1e6:8.2f} M")
    print(f"  evalset       {r['evalset'] / 1e6:8.2f} M")
    ratio = r["evalset"] / r["bare"]
    print(f"  evalset / bare: {ratio:.1f}x (target <= 3x: {'ok' if ratio <= 3 else 'MISSED'})")


def report(backend: str, r: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n{backend}, GET /v1/datasets/ (100 datasets), {args.workers} worker process(es), {os.cpu_count()} CPUs")
    print(f"  {'':28s} {'CPU ms/req':>10s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'generator CPU ms/req':>21s}")
    for app in ("bare", "evalset"):
        for mode in ("sequential", "concurrent"):
            m = r[app][mode]
            label = f"{app} {mode}" + (f" ({args.clients} clients)" if mode == "concurrent" else "")
            print(
                f"  {label:28s} {m['cpu_ms']:10.2f} {m['req_per_s']:8.0f} {m['p50_ms']:7.1f} {m['p99_ms']:7.1f}"
                f" {m['generator_cpu_ms']:21.2f}"
            )
    ev, bare = r["evalset"], r["bare"]
    cpu_ratio = ev["sequential"]["cpu_ms"] / bare["sequential"]["cpu_ms"]
    scale = ev["concurrent"]["req_per_s"] / ev["sequential"]["req_per_s"]
    p99 = ev["concurrent"]["p99_ms"]

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"  server CPU per request, evalset / bare: {cpu_ratio:.1f}x (target <= 3x: {mark(cpu_ratio <= 3)})")
    bare_scale = bare["concurrent"]["req_per_s"] / bare["sequential"]["req_per_s"]
    print(
        f"  throughput, {args.clients} clients / sequential: {scale:.2f}x (target >= 1: {mark(scale >= 1)});"
        f" the bare app's in the same run: {bare_scale:.2f}x"
    )
    print(f"  p99 with {args.clients} clients: {p99:.1f} ms (target < 40 ms: {mark(p99 < 40)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="evalset serve --workers N (default 1)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--generators", type=int, default=2, help="load generator processes the clients are spread over (default 2)"
    )
    parser.add_argument("--callgrind", type=int, metavar="N", help="instructions per request over N requests instead")
    parser.add_argument("--generate", nargs=4, help=argparse.SUPPRESS)  # the load generator's own process
    args = parser.parse_args(argv)
    if args.generate:
        url, key, clients, per_client = args.generate
        load(url, key, int(clients), int(per_client))
        return 0
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.callgrind:
        if shutil.which("valgrind") is None:
            parser.error("--callgrind needs valgrind (apt-get install valgrind)")
        with tempfile.TemporaryDirectory(prefix="evalset-bench-requests-") as tmp:
            counts = {backend: run_callgrind(backend, args, Path(tmp)) for backend in backends}
        for backend, r in counts.items():
            report_callgrind(backend, r, args)
        return 0
    with tempfile.TemporaryDirectory(prefix="evalset-bench-requests-") as tmp:
        results = {backend: run(backend, args, Path(tmp)) for backend in backends}
    for backend, r in results.items():
        report(backend, r, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
