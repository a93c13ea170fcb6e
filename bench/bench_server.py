"""End-to-end benchmark of the evalset server: the real server as a subprocess, one fresh database per backend.

Usage: .venv/bin/python bench/bench_server.py [--backend sqlite|postgresql|both] [--quick] [--profile]

Measures import, export (with the server's RSS growth), case listing, dataset-list latency (sequential and
concurrent), memory, start-up time, and the floor of a raw sqlite3 insert of the same rows. Prints one table
per backend with the targets, and writes everything as JSON to bench/results/<timestamp>.json.
Only talks to 127.0.0.1; every loop is bounded; the server is killed and the PostgreSQL database dropped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
PY_SPY_EXTRA = os.environ.get("BENCH_PY_SPY_ARGS", "--nonblocking").split()  # e.g. "--native" (pauses the server)
HOST = "127.0.0.1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"
EXPORT_CASE_KEYS = {"name", "inputs", "expected_output", "metadata", "evaluators"}
JSON_HEADERS = {"Content-Type": "application/json"}
MiB = 1024 * 1024
START_DEADLINE_S = 60.0
REQUEST_TIMEOUT = httpx.Timeout(600.0, connect=10.0)


@dataclass(frozen=True)
class Sizes:
    import_cases: int  # cases per import request (and per import batch of the export dataset)
    import_reps: int
    export_batches: int  # the export dataset holds export_batches * import_cases cases
    export_reps: int
    list_reps: int
    datasets: int  # datasets in the project for the GET /v1/datasets/ latency test
    seq_requests: int
    conc_requests: int
    clients: int
    restarts: int
    raw_reps: int


FULL = Sizes(10_000, 5, 10, 3, 5, 100, 2_000, 4_000, 16, 5, 5)
QUICK = Sizes(1_000, 3, 10, 2, 3, 100, 300, 800, 16, 3, 3)


# --------------------------------------------------------------------------------------------- data


_WORD_TEXT = (
    "the a model answer context question retrieval latency dataset evaluation token prompt system user "
    "agent tool call result output input score metric label span trace batch cache index query vector "
    "embedding document paragraph summary report error timeout retry schema field value number string "
    "list object city river mountain ocean planet energy water light sound history science market price"
)
WORDS = _WORD_TEXT.split()
CATEGORIES = ["geography", "science", "history", "math", "coding", "finance", "health", "sports"]
DIFFICULTIES = ["easy", "medium", "hard"]


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length].strip()


def make_cases(n: int, *, seed: int, prefix: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "name": f"{prefix}{i:06d}",
            "inputs": {"question": _text(rng, 59) + "?", "context": _text(rng, 200)},
            "expected_output": {"answer": _text(rng, rng.randint(8, 40)), "confidence": round(rng.random(), 4)},
            "metadata": {"category": rng.choice(CATEGORIES), "difficulty": rng.choice(DIFFICULTIES)},
        }
        for i in range(n)
    ]


def _object_schema(title: str, properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An object schema shaped like pydantic's model_json_schema() output."""
    return {"properties": properties, "required": list(properties), "title": title, "type": "object"}


INPUT_SCHEMA = _object_schema(
    "QuestionInputs",
    {"question": {"title": "Question", "type": "string"}, "context": {"title": "Context", "type": "string"}},
)
OUTPUT_SCHEMA = _object_schema(
    "Answer",
    {"answer": {"title": "Answer", "type": "string"}, "confidence": {"title": "Confidence", "type": "number"}},
)
METADATA_SCHEMA = _object_schema(
    "CaseMetadata",
    {
        "category": {"title": "Category", "type": "string"},
        "difficulty": {"enum": DIFFICULTIES, "title": "Difficulty", "type": "string"},
    },
)


def dataset_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": "benchmark dataset",
        "input_schema": INPUT_SCHEMA,
        "output_schema": OUTPUT_SCHEMA,
        "metadata_schema": METADATA_SCHEMA,
    }


def import_payload(cases: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"cases": cases})


# --------------------------------------------------------------------------------------------- stats


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rate_summary(n: int, times: list[float]) -> dict[str, Any]:
    return {
        "n": n,
        "times_s": [round(t, 4) for t in times],
        "best_per_s": n / min(times),
        "median_per_s": n / statistics.median(times),
        "median_s": statistics.median(times),
    }


# --------------------------------------------------------------------------------------------- /proc


def proc_mem(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) * 1024
    return out


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy / CLK_TCK, (busy + idle + iowait) / CLK_TCK


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """CPU seconds spent, during a block, by the server, by this benchmark process and by everything else.

    `server` is a pid, or a Server (then CPU of its earlier processes counts too, across restarts).
    """

    def __init__(self, server: int | Server) -> None:
        self._server_cpu = (lambda: proc_cpu(server)) if isinstance(server, int) else server.total_cpu
        self.result: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._start = (time.perf_counter(), self._server_cpu(), self_cpu(), *machine_cpu())
        return self

    def __exit__(self, *exc: object) -> None:
        end = (time.perf_counter(), self._server_cpu(), self_cpu(), *machine_cpu())
        wall, server, bench, busy, total = (b - a for a, b in zip(self._start, end, strict=True))
        self.result = {
            "wall_s": wall,
            "server_cpu_s": server,
            "bench_cpu_s": bench,
            "other_cpu_s": max(0.0, busy - server - bench),
            "machine_busy_fraction": busy / total if total else 0.0,
        }


class RssSampler:
    """Samples a process's VmRSS every few milliseconds in a thread; keeps the maximum."""

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid, self.interval = pid, interval
        self.baseline = proc_mem(pid)["VmRSS"]
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, KeyError):
                self.peak = max(self.peak, proc_mem(self.pid)["VmRSS"])
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError, KeyError):
            self.peak = max(self.peak, proc_mem(self.pid)["VmRSS"])


# --------------------------------------------------------------------------------------------- profiling


class Profiler:
    """py-spy attached to the server for one phase (raw collapsed stacks); a no-op when disabled."""

    def __init__(self, pid: int, out: Path | None) -> None:
        self.pid, self.out = pid, out
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.out is not None:
            cmd = [str(PY_SPY), "record", "--pid", str(self.pid), "--rate", "200", *PY_SPY_EXTRA]
            cmd += ["--format", "raw", "-o", str(self.out)]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # let it attach
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def summarize_profile(path: Path, top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Top functions by self and by inclusive share of samples, from py-spy's raw output."""
    if not path.exists():
        return {}
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    if not total:
        return {}
    return {
        "self": [(f, round(100 * n / total, 1)) for f, n in own.most_common(top)],
        "inclusive": [(f, round(100 * n / total, 1)) for f, n in incl.most_common(top * 3) if n < total][:top],
    }


# --------------------------------------------------------------------------------------------- server


class Server:
    """The real server as a subprocess (`python -m evalset.server.cli --db URL serve --port 0`)."""

    def __init__(self, db_url: str, log_path: Path) -> None:
        self.db_url, self.log_path = db_url, log_path
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.key: str | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.past_cpu = 0.0  # CPU seconds of earlier processes of this server (restarts)
        self.past_hwm = 0  # highest VmHWM of earlier processes
        self.extra_args: list[str] = []  # more `serve` options (bench_requests: --workers N)
        self.prefix: list[str] = []  # a command to run the server under (bench_requests: valgrind)
        self.start_deadline_s = START_DEADLINE_S

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def total_cpu(self) -> float:
        return self.past_cpu + (proc_cpu(self.pid) if self.running() else 0.0)

    def peak_hwm(self) -> int:
        return max(self.past_hwm, proc_mem(self.pid)["VmHWM"] if self.running() else 0)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @staticmethod
    def _read_stdout(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def _next_line(self, deadline: float) -> str:
        try:
            line = self.lines.get(timeout=max(0.01, deadline - time.perf_counter()))
        except queue.Empty:
            raise RuntimeError(f"server printed nothing in time; see {self.log_path}") from None
        if line is None:
            raise RuntimeError(f"server exited early (code {self.proc and self.proc.poll()}); see {self.log_path}")
        return line

    def start(self, key: str | None = None) -> dict[str, float]:
        """Spawn, wait for the first answered GET /health (and then an authenticated GET /v1/datasets/)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVALSET_")}
        # The dev venv carries logfire-sdk for the compatibility tests, and logfire registers a pydantic
        # plugin that every pydantic import then loads (~0.5 s, ~15 MiB). A deployed server has no logfire,
        # so measure it that way (BENCH_KEEP_PLUGINS=1 to measure the dev venv as it is).
        if not os.environ.get("BENCH_KEEP_PLUGINS"):
            env["PYDANTIC_DISABLE_PLUGINS"] = "logfire-plugin"
        cmd = [*self.prefix, PYTHON, "-m", "evalset.server.cli", "--db", self.db_url, "serve", "--port", "0"]
        cmd += self.extra_args
        with open(self.log_path, "a") as log:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(self.proc, self.lines), daemon=True).start()
        deadline = t0 + self.start_deadline_s
        before: list[str] = []  # the first key is printed before "serving at"
        while not (match := re.search(r"serving at (http://\S+)", line := self._next_line(deadline))):
            before.append(line)
        self.url = match.group(1)
        health = self._poll(deadline)
        t_health = time.perf_counter() - t0
        self.key = key or self._first_key(before)
        timing = {"health_s": t_health, "health_status": health}
        if self.key is not None:
            with httpx.Client(base_url=self.url, headers=auth(self.key), timeout=30) as client:
                client.get("/v1/datasets/").raise_for_status()
            timing["first_api_s"] = time.perf_counter() - t0
        return timing

    def _poll(self, deadline: float) -> int:
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.perf_counter() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"server exited (code {self.proc.returncode}); see {self.log_path}")
                with contextlib.suppress(httpx.TransportError):
                    response = client.get("/health")
                    if response.status_code == 200:
                        return response.status_code
                time.sleep(0.002)
        raise RuntimeError(f"server did not answer /health within {self.start_deadline_s}s; see {self.log_path}")

    def _first_key(self, before: list[str]) -> str | None:
        """The key printed alone on the line after "Created project ..." (on an empty database only), which
        `serve` prints before "serving at"."""
        for line, following in zip(before, before[1:], strict=False):
            if line.startswith("Created project"):
                return following.strip()
        return None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(OSError, KeyError):
            self.past_hwm = max(self.past_hwm, proc_mem(self.pid)["VmHWM"])
            self.past_cpu += proc_cpu(self.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def create_key(db_url: str) -> str:
    cmd = [PYTHON, "-m", "evalset.server.cli", "--db", db_url, "keys", "create", "--project", "default"]
    cmd += ["--scope", "project:read_datasets", "--scope", "project:write_datasets"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, check=True).stdout
    return out.strip().splitlines()[-1].strip()


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    """A brand-new empty database URL for one backend; dropped / deleted afterwards."""
    if backend == "sqlite":
        path = workdir / "sqlite" / "evalset.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{path}"
        return
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------------------------- phases


@dataclass
class Ctx:
    client: httpx.Client
    server: Server
    sizes: Sizes
    profile_dir: Path | None
    backend: str

    def restart_server(self) -> dict[str, float]:
        """Stop the server and start it again on the same database, with a new keep-alive client."""
        self.client.close()
        self.server.stop()
        timing = self.server.start(key=self.server.key)
        timing["rss_after_start"] = proc_mem(self.server.pid)["VmRSS"]
        self.client = new_client(self.server)
        return timing

    def profiler(self, phase: str) -> Profiler:
        out = None if self.profile_dir is None else self.profile_dir / f"{self.backend}-{phase}.txt"
        return Profiler(self.server.pid, out)


def new_client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=auth(server.key), timeout=REQUEST_TIMEOUT)


def create_dataset(client: httpx.Client, name: str) -> None:
    response = client.post("/v1/datasets/", json=dataset_body(name))
    if response.status_code not in (200, 201):
        raise RuntimeError(f"create dataset {name}: {response.status_code} {response.text[:300]}")


def post_import(client: httpx.Client, name: str, payload: bytes) -> httpx.Response:
    response = client.post(f"/v1/datasets/{name}/import/", content=payload, headers=JSON_HEADERS)
    if response.status_code != 200:
        raise RuntimeError(f"import into {name}: {response.status_code} {response.text[:300]}")
    return response


def bench_import(ctx: Ctx) -> dict[str, Any]:
    n = ctx.sizes.import_cases
    payload = import_payload(make_cases(n, seed=1, prefix="case-"))
    times: list[float] = []
    cpu: list[dict[str, float]] = []
    rss_baseline = rss_peak = 0
    with ctx.profiler("import"):
        for rep in range(ctx.sizes.import_reps):
            name = f"import-{rep}"
            create_dataset(ctx.client, name)
            with CpuMeter(ctx.server.pid) as meter, RssSampler(ctx.server.pid) as rss:
                t0 = time.perf_counter()
                response = post_import(ctx.client, name, payload)
                times.append(time.perf_counter() - t0)
            cpu.append(meter.result)
            rss_baseline = rss_baseline or rss.baseline
            rss_peak = max(rss_peak, rss.peak)
            if len(response.json()) != n:
                raise RuntimeError("import returned the wrong number of cases")
    result = rate_summary(n, times)
    result.update(
        request_bytes=len(payload),
        response_bytes=len(response.content),
        server_cpu_s_median=statistics.median(c["server_cpu_s"] for c in cpu),
        other_cpu_s_max=max(c["other_cpu_s"] for c in cpu),
        rss_before_first=rss_baseline,
        rss_peak=rss_peak,
    )
    return result


def build_export_dataset(ctx: Ctx) -> tuple[str, int]:
    name = "export-big"
    create_dataset(ctx.client, name)
    n = ctx.sizes.import_cases
    for batch in range(ctx.sizes.export_batches):
        post_import(ctx.client, name, import_payload(make_cases(n, seed=100 + batch, prefix=f"b{batch:02d}-")))
    return name, n * ctx.sizes.export_batches


def bench_export(ctx: Ctx) -> dict[str, Any]:
    t0 = time.perf_counter()
    name, total = build_export_dataset(ctx)
    build_s = time.perf_counter() - t0
    # A fresh server process, so the first export's RSS growth is not hidden by heap the imports left behind.
    restart = ctx.restart_server()
    times: list[float] = []
    reps: list[dict[str, Any]] = []
    with ctx.profiler("export"):
        for rep in range(ctx.sizes.export_reps):
            chunks: list[bytes] = []
            size = 0
            with CpuMeter(ctx.server.pid) as meter, RssSampler(ctx.server.pid) as rss:
                t0 = time.perf_counter()
                with ctx.client.stream("GET", f"/v1/datasets/{name}/export/") as response:
                    response.raise_for_status()
                    for chunk in response.iter_raw():
                        size += len(chunk)
                        if rep == 0:
                            chunks.append(chunk)
                times.append(time.perf_counter() - t0)
            reps.append({"baseline_rss": rss.baseline, "peak_rss": rss.peak, "growth": rss.peak - rss.baseline})
            reps[-1].update(body_bytes=size, server_cpu_s=meter.result["server_cpu_s"])
            if chunks:
                doc = orjson.loads(b"".join(chunks))
                if len(doc["cases"]) != total or set(doc["cases"][0]) - EXPORT_CASE_KEYS:
                    raise RuntimeError("export returned an unexpected document")
                del doc, chunks
    result = rate_summary(total, times)
    result.update(
        build_s=build_s,
        restart_before_export=restart,
        body_bytes=reps[0]["body_bytes"],
        reps=reps,
        rss_baseline=reps[0]["baseline_rss"],
        rss_peak=max(r["peak_rss"] for r in reps),
        rss_growth=max(r["growth"] for r in reps),
        server_cpu_s_median=statistics.median(r["server_cpu_s"] for r in reps),
    )
    return result


def bench_list_cases(ctx: Ctx) -> dict[str, Any]:
    n = ctx.sizes.import_cases
    times: list[float] = []
    cpu: list[float] = []
    with ctx.profiler("list_cases"):
        for rep in range(ctx.sizes.list_reps):
            with CpuMeter(ctx.server.pid) as meter:
                t0 = time.perf_counter()
                response = ctx.client.get("/v1/datasets/import-0/cases/")
                times.append(time.perf_counter() - t0)
            cpu.append(meter.result["server_cpu_s"])
            response.raise_for_status()
            if rep == 0 and len(response.json()) != n:
                raise RuntimeError("case list returned the wrong number of cases")
    result = rate_summary(n, times)
    result.update(body_bytes=len(response.content), server_cpu_s_median=statistics.median(cpu))
    return result


def ensure_datasets(client: httpx.Client, count: int) -> int:
    existing = client.get("/v1/datasets/").json()
    taken = {d["name"] for d in existing}
    fillers = [name for name in (f"filler-{i:03d}" for i in range(count + len(taken))) if name not in taken]
    for name in fillers[: max(0, count - len(existing))]:
        create_dataset(client, name)
    listed = client.get("/v1/datasets/").json()
    if len(listed) != max(count, len(existing)):
        raise RuntimeError(f"expected {count} datasets, the list has {len(listed)}")
    return len(listed)


def latency_summary(latencies: list[float], wall: float, cpu: dict[str, float]) -> dict[str, Any]:
    n = len(latencies)
    return {
        "requests": n,
        "req_per_s": n / wall,
        "p50_ms": 1000 * pct(latencies, 50),
        "p90_ms": 1000 * pct(latencies, 90),
        "p99_ms": 1000 * pct(latencies, 99),
        "max_ms": 1000 * max(latencies),
        "server_cpu_ms_per_req": 1000 * cpu["server_cpu_s"] / n,
        "bench_cpu_ms_per_req": 1000 * cpu["bench_cpu_s"] / n,
        "other_cpu_s": cpu["other_cpu_s"],
    }


def sequential_latency(ctx: Ctx, requests: int) -> dict[str, Any]:
    for _ in range(50):
        ctx.client.get("/v1/datasets/").raise_for_status()
    latencies: list[float] = []
    with CpuMeter(ctx.server.pid) as meter:
        for _ in range(requests):
            t0 = time.perf_counter()
            response = ctx.client.get("/v1/datasets/")
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise RuntimeError(f"GET /v1/datasets/: {response.status_code}")
    return latency_summary(latencies, meter.result["wall_s"], meter.result)


def threaded_latency(ctx: Ctx, clients: int, requests: int) -> dict[str, Any]:
    """`clients` threads, each with its own keep-alive httpx.Client, all released together."""
    per_client = max(1, requests // clients)
    barrier = threading.Barrier(clients + 1, timeout=120)
    results: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with httpx.Client(base_url=ctx.server.url, headers=auth(ctx.server.key), timeout=60) as client:
                for _ in range(5):
                    client.get("/v1/datasets/")
                barrier.wait()
                for _ in range(per_client):
                    t0 = time.perf_counter()
                    response = client.get("/v1/datasets/")
                    results[index].append(time.perf_counter() - t0)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET /v1/datasets/: {response.status_code}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    with CpuMeter(ctx.server.pid) as meter:
        for thread in threads:
            thread.join(timeout=600)
    if errors:
        raise RuntimeError(f"concurrent client failed: {errors[0]!r}")
    latencies = [x for r in results for x in r]
    return latency_summary(latencies, meter.result["wall_s"], meter.result)


def asyncio_latency(ctx: Ctx, clients: int, requests: int) -> dict[str, Any]:
    """`clients` asyncio tasks, each with its own keep-alive httpx.AsyncClient, in this thread."""
    per_client = max(1, requests // clients)

    async def worker(start: asyncio.Event, out: list[float]) -> None:
        async with httpx.AsyncClient(base_url=ctx.server.url, headers=auth(ctx.server.key), timeout=60) as client:
            for _ in range(5):
                await client.get("/v1/datasets/")
            await start.wait()
            for _ in range(per_client):
                t0 = time.perf_counter()
                response = await client.get("/v1/datasets/")
                out.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise RuntimeError(f"GET /v1/datasets/: {response.status_code}")

    async def main() -> tuple[list[float], dict[str, float]]:
        start = asyncio.Event()
        outs: list[list[float]] = [[] for _ in range(clients)]
        tasks = [asyncio.create_task(worker(start, out)) for out in outs]
        await asyncio.sleep(1.0)  # connections warmed up
        with CpuMeter(ctx.server.pid) as meter:
            start.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=600)
        return [x for o in outs for x in o], meter.result

    latencies, cpu = asyncio.run(main())
    return latency_summary(latencies, cpu["wall_s"], cpu)


def bench_list_datasets(ctx: Ctx, load: str) -> dict[str, Any]:
    count = ensure_datasets(ctx.client, ctx.sizes.datasets)
    with ctx.profiler("list_datasets"):
        seq = sequential_latency(ctx, ctx.sizes.seq_requests)
        runner = threaded_latency if load == "threads" else asyncio_latency
        conc = runner(ctx, ctx.sizes.clients, ctx.sizes.conc_requests)
    return {"datasets": count, "sequential": seq, "concurrent": {**conc, "clients": ctx.sizes.clients, "load": load}}


def bench_restarts(db_url: str, key: str | None, count: int, log_path: Path) -> dict[str, Any]:
    starts: list[dict[str, float]] = []
    for _ in range(count):
        server = Server(db_url, log_path)
        try:
            timing = server.start(key=key)
            timing["rss_after_start"] = proc_mem(server.pid)["VmRSS"]
            starts.append(timing)
        finally:
            server.stop()
    return {
        "starts": starts,
        "health_median_s": statistics.median(s["health_s"] for s in starts),
        "first_api_median_s": statistics.median(s["first_api_s"] for s in starts),
        "rss_after_start_median": statistics.median(s["rss_after_start"] for s in starts),
    }


# --------------------------------------------------------------------------------------------- raw floor


def _raw_schema(conn: sqlite3.Connection) -> None:
    """The server's own tables (DDL compiled from evalset.server.storage.tables for SQLite)."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    from evalset.server.storage import tables

    dialect = sqlite_dialect.dialect()
    for table in (tables.projects, tables.datasets, tables.cases, tables.case_revisions):
        conn.execute(str(CreateTable(table).compile(dialect=dialect)))
        for index in table.indexes:
            conn.execute(str(CreateIndex(index).compile(dialect=dialect)))


def _raw_insert_once(path: Path, cases: list[dict[str, Any]], *, revisions: bool) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        _raw_schema(conn)
        project, dataset, actor = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
        stamp = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ")
        conn.execute("INSERT INTO projects VALUES (?, ?, ?)", (project, "default", stamp))
        conn.execute(
            "INSERT INTO datasets (id, project_id, name, ai_managed_guidance, evaluators, report_evaluators,"
            " case_count, created_at, updated_at) VALUES (?, ?, ?, 0, '[]', '[]', 0, ?, ?)",
            (dataset, project, "raw", stamp, stamp),
        )
        t0 = time.perf_counter()
        now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ")
        rows = [
            (uuid.uuid4().hex, dataset, c["name"], orjson.dumps(c["inputs"]).decode(),
             orjson.dumps(c["expected_output"]).decode(), orjson.dumps(c["metadata"]).decode(), "[]", "[]",
             None, None, 1, "create", now, actor, "bench", now, actor, "bench")
            for c in cases
        ]  # fmt: skip
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO cases (id, dataset_id, name, inputs, expected_output, metadata, evaluators, tags,"
            " source_trace_id, source_span_id, version, last_op, created_at, created_by, created_by_name,"
            " updated_at, updated_by, updated_by_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if revisions:
            conn.executemany(
                "INSERT INTO case_revisions (dataset_id, case_id, case_seq, version, op, state, actor_id, actor_name,"
                " at) VALUES (?, ?, ?, 1, 'create', ?, ?, 'bench', ?)",
                [(dataset, r[0], i + 1, orjson.dumps({**c, "id": r[0], "version": 1}).decode(), actor, now)
                 for i, (r, c) in enumerate(zip(rows, cases, strict=True))],
            )  # fmt: skip
        conn.execute("UPDATE datasets SET case_count = case_count + ? WHERE id = ?", (len(rows), dataset))
        conn.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        conn.close()


def bench_raw_sqlite(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    n = sizes.import_cases
    cases = make_cases(n, seed=1, prefix="case-")
    out: dict[str, Any] = {}
    for label, revisions in (("cases_only", False), ("with_revisions", True)):
        times: list[float] = []
        for rep in range(sizes.raw_reps):
            folder = workdir / f"raw-{label}-{rep}"
            folder.mkdir(parents=True)
            times.append(_raw_insert_once(folder / "raw.db", cases, revisions=revisions))
            shutil.rmtree(folder, ignore_errors=True)
        out[label] = rate_summary(n, times)
    return out


# --------------------------------------------------------------------------------------------- one backend


def run_backend(backend: str, sizes: Sizes, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    log_path = workdir / f"server-{backend}.log"
    result: dict[str, Any] = {"backend": backend, "loadavg_before": os.getloadavg()}
    with fresh_database(backend, workdir) as db_url:
        server = Server(db_url, log_path)
        try:
            result["start_empty"] = server.start()
            result["start_empty"]["rss_after_start"] = proc_mem(server.pid)["VmRSS"]
            if server.key is None:
                server.key = create_key(db_url)
            ctx = Ctx(new_client(server), server, sizes, args.profile_dir, backend)
            try:
                with CpuMeter(server) as whole:
                    for phase, func in (
                        ("import", bench_import),
                        ("export", bench_export),
                        ("list_cases", bench_list_cases),
                        ("list_datasets", lambda c: bench_list_datasets(c, args.load)),
                    ):
                        log(f"[{backend}] {phase} ...")
                        result[phase] = func(ctx)
            finally:
                ctx.client.close()
            result["cpu_whole_run"] = whole.result
            result["peak_rss_run"] = server.peak_hwm()
        except BaseException:
            print(f"server log ({log_path}):\n" + tail(log_path), file=sys.stderr)
            raise
        finally:
            server.stop()
        log(f"[{backend}] restarts ...")
        result["restarts"] = bench_restarts(db_url, server.key, sizes.restarts, log_path)
    result["loadavg_after"] = os.getloadavg()
    if args.profile_dir is not None:
        result["profile"] = {
            phase: summarize_profile(args.profile_dir / f"{backend}-{phase}.txt")
            for phase in ("import", "export", "list_cases", "list_datasets")
        }
    return result


def tail(path: Path, lines: int = 40) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- report


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def report_rows(r: dict[str, Any], raw: dict[str, Any], sizes: Sizes) -> list[tuple[str, str, str, str]]:
    imp, exp, lc, ld = r["import"], r["export"], r["list_cases"], r["list_datasets"]
    seq, conc = ld["sequential"], ld["concurrent"]
    raw_rate = raw["cases_only"]["median_per_s"]
    ratio = raw_rate / imp["median_per_s"]
    ratio_rev = raw["with_revisions"]["median_per_s"] / imp["median_per_s"]
    restarts = r["restarts"]
    n, total = sizes.import_cases, exp["n"]
    rows = [
        (f"import {n:,} cases, 1 request: median cases/s", f"{imp['median_per_s']:,.0f}", ">= 20,000",
         _mark(imp["median_per_s"] >= 20_000)),
        ("  best cases/s  (times s)", f"{imp['best_per_s']:,.0f}  ({', '.join(f'{t:.2f}' for t in imp['times_s'])})",
         "", ""),
        ("  server CPU s per import (median)", f"{imp['server_cpu_s_median']:.2f}", "", ""),
        ("  RSS before first import -> peak during imports",
         f"{imp['rss_before_first'] / MiB:.1f} -> {imp['rss_peak'] / MiB:.1f} MiB", "", ""),
        ("raw sqlite3 insert (cases table): median cases/s", f"{raw_rate:,.0f}", "", ""),
        ("  import time / raw insert time", f"{ratio:.1f}x", "<= 3x", _mark(ratio <= 3)),
        ("  import time / raw insert + a revision per case", f"{ratio_rev:.1f}x", "", ""),
        (f"export {total:,} cases: median cases/s", f"{exp['median_per_s']:,.0f}", ">= 100,000",
         _mark(exp["median_per_s"] >= 100_000)),
        ("  best cases/s  (times s)", f"{exp['best_per_s']:,.0f}  ({', '.join(f'{t:.2f}' for t in exp['times_s'])})",
         "", ""),
        ("  body MB, server CPU s (median)", f"{exp['body_bytes'] / 1e6:.1f}, {exp['server_cpu_s_median']:.2f}",
         "", ""),
        ("  RSS growth during export (max over reps)", f"{exp['rss_growth'] / 1e6:.1f} MB", "< 100 MB",
         _mark(exp["rss_growth"] < 100e6)),
        ("  RSS before export (restarted server) -> peak",
         f"{exp['rss_baseline'] / MiB:.1f} -> {exp['rss_peak'] / MiB:.1f} MiB", "", ""),
        (f"list {n:,} cases (GET cases/): median s", f"{lc['median_s']:.3f} ({lc['median_per_s']:,.0f} cases/s)",
         "", ""),
        (f"GET /v1/datasets/ ({ld['datasets']} datasets), sequential p50 / p99",
         f"{seq['p50_ms']:.2f} / {seq['p99_ms']:.2f} ms", "p50 < 2 ms", _mark(seq["p50_ms"] < 2)),
        ("  sequential req/s, server CPU ms/req", f"{seq['req_per_s']:,.0f}, {seq['server_cpu_ms_per_req']:.2f}",
         "", ""),
        (f"  {conc['clients']} clients ({conc['load']}): req/s", f"{conc['req_per_s']:,.0f}", "", ""),
        (f"  {conc['clients']} clients: p50 / p99",
         f"{conc['p50_ms']:.1f} / {conc['p99_ms']:.1f} ms", "p99 < 40 ms", _mark(conc["p99_ms"] < 40)),
        ("  16 clients: server / load-generator CPU ms/req",
         f"{conc['server_cpu_ms_per_req']:.2f} / {conc['bench_cpu_ms_per_req']:.2f}", "", ""),
        ("start on empty database (migrations) to /health", f"{r['start_empty']['health_s']:.2f} s", "< 1.5 s",
         _mark(r["start_empty"]["health_s"] < 1.5)),
        (f"start on migrated database to /health (median of {len(restarts['starts'])})",
         f"{restarts['health_median_s']:.2f} s", "< 1.5 s", _mark(restarts["health_median_s"] < 1.5)),
        ("  ... to first authenticated GET /v1/datasets/", f"{restarts['first_api_median_s']:.2f} s", "", ""),
        ("RSS after start-up (empty db / migrated, median)",
         f"{r['start_empty']['rss_after_start'] / MiB:.1f} / {restarts['rss_after_start_median'] / MiB:.1f} MiB",
         "< 100 MiB", _mark(max(r["start_empty"]["rss_after_start"], restarts["rss_after_start_median"]) < 100 * MiB)),
        ("peak RSS over the whole run (VmHWM, all processes)", f"{r['peak_rss_run'] / MiB:.1f} MiB", "< 100 MiB",
         _mark(r["peak_rss_run"] < 100 * MiB)),
    ]  # fmt: skip
    return rows


def print_report(r: dict[str, Any], raw: dict[str, Any], sizes: Sizes) -> None:
    rows = report_rows(r, raw, sizes)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("metric", "value", "target (SQLite)", "met")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print(f"\n=== backend: {r['backend']} ===")
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    cpu = r["cpu_whole_run"]
    print(
        f"CPU over the run: server {cpu['server_cpu_s']:.1f}s, bench {cpu['bench_cpu_s']:.1f}s, other processes"
        f" {cpu['other_cpu_s']:.1f}s{' (incl. PostgreSQL)' if r['backend'] == 'postgresql' else ''}, wall"
        f" {cpu['wall_s']:.1f}s; load average before {fmt_load(r['loadavg_before'])},"
        f" after {fmt_load(r['loadavg_after'])}"
    )
    for phase, summary in (r.get("profile") or {}).items():
        if summary:
            top = ", ".join(f"{f} {p}%" for f, p in summary["self"][:6])
            print(f"py-spy {phase} top self: {top}")


def fmt_load(values: tuple[float, ...] | list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="small sizes (1k-case imports, 10k export)")
    parser.add_argument(
        "--load", choices=("threads", "asyncio"), default="threads", help="concurrent load generator (default threads)"
    )
    parser.add_argument("--profile", action="store_true", help="attach py-spy to the server per phase (slows it)")
    args = parser.parse_args(argv)
    if args.profile and not PY_SPY.exists():
        parser.error(f"--profile needs py-spy at {PY_SPY} (.venv/bin/pip install py-spy)")
    return args


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    args.profile_dir = RESULTS_DIR / f"{stamp}-profile" if args.profile else None
    if args.profile_dir is not None:
        args.profile_dir.mkdir()
    signal.signal(signal.SIGTERM, _on_sigterm)
    out: dict[str, Any] = {
        "timestamp": stamp,
        "argv": sys.argv[1:],
        "sizes": asdict(sizes),
        "machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "python": sys.version.split()[0]},
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="evalset-bench-") as tmp:
        workdir = Path(tmp)
        log("raw sqlite3 floor ...")
        out["raw_sqlite"] = bench_raw_sqlite(sizes, workdir)
        for backend in backends:
            out["backends"][backend] = run_backend(backend, sizes, workdir, args)
    out["machine"]["loadavg_end"] = os.getloadavg()
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"sizes: {'quick' if args.quick else 'full'} {asdict(sizes)}; {os.cpu_count()} CPUs")
    for backend in backends:
        print_report(out["backends"][backend], out["raw_sqlite"], sizes)
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
