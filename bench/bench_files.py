"""Benchmark of `evalset push` and `evalset pull`: YAML against JSONL, 20,000 cases by default.

Usage: .venv/bin/python bench/bench_files.py [--cases 20000] [--reps 3] [--backend sqlite|postgresql]

Starts the real server (`evalset serve`) on a fresh database, writes one dataset file per format, then
runs the real commands as subprocesses, as a user would: `evalset push FILE --name ...` into a new
dataset and `evalset pull NAME -o FILE`. Prints, per format and direction, the median wall time, the
CPU time of the command (client side) and the YAML/JSONL ratios (target: YAML within 2x of JSONL);
also the time of the file step alone (parse on push, format on pull) measured once in this process, and
the load average (the machine may be shared).
The machine is shared: compare the ratio, measured in the same run, rather than absolute times.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import PG_ADMIN_URL, PG_URL, PYTHON, make_cases  # noqa: E402

from evalset import files  # noqa: E402

FORMATS = ("yaml", "jsonl")


def start_server(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    out = log.open("w")
    process = subprocess.Popen(
        [PYTHON, "-m", "evalset.server.cli", "--db", url, "serve", "--port", "0"], stdout=out, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        key = re.search(r"^(evalset_\S+)$", text, re.MULTILINE)
        found = re.search(r"serving at (http://\S+)", text)
        if found and key:
            return process, found.group(1), key.group(1)
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{text}")
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def run(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Run `evalset ARGS`; return (wall seconds, CPU seconds of the command)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "evalset.server.cli", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"evalset {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def file_step(path: Path, fmt: files.Format, data: Any) -> tuple[float, float]:
    """In-process time of parsing the file (push's file step) and of formatting it (pull's)."""
    start = time.perf_counter()
    files.read_dataset_file(path)
    parse = time.perf_counter() - start
    start = time.perf_counter()
    files.format_dataset(data, fmt)
    return parse, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    pg_name = None
    if args.backend == "postgresql":
        import psycopg

        pg_name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}"')
        url = PG_URL.format(name=pg_name)
    else:
        url = f"sqlite:///{work / 'evalset.db'}"
    data: dict[str, Any] = {"name": "bench", "cases": make_cases(args.cases, seed=1, prefix="c"), "evaluators": []}
    sources = {fmt: work / f"bench.{fmt}" for fmt in FORMATS}
    for fmt, path in sources.items():
        files.write_dataset_file(data, path, fmt=fmt)
    sizes = {fmt: path.stat().st_size / 1e6 for fmt, path in sources.items()}
    process, base_url, key = start_server(url, work / "server.log")
    env = {**os.environ, "EVALSET_API_KEY": key, "EVALSET_BASE_URL": base_url}
    env.pop("EVALSET_DATABASE_URL", None)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        for rep in range(args.reps):
            for fmt, path in sources.items():
                name = f"{fmt}-{rep}"
                results.setdefault(("push", fmt), []).append(run(env, "push", str(path), "--name", name))
                out = work / f"pulled-{rep}.{fmt}"
                results.setdefault(("pull", fmt), []).append(run(env, "pull", name, "-o", str(out)))
        steps = {fmt: file_step(path, fmt, data) for fmt, path in sources.items()}
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(work, ignore_errors=True)
        if pg_name:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')

    print(
        f"{args.cases:,} cases, {args.backend}, median of {args.reps}; file sizes: "
        + ", ".join(f"{fmt} {size:.1f} MB" for fmt, size in sizes.items())
    )
    print(f"{'command':<6} {'format':<6} {'wall s':>8} {'cli CPU s':>10} {'file step s':>12}")
    for direction in ("push", "pull"):
        medians: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for fmt in FORMATS:
            runs = results[(direction, fmt)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            step = steps[fmt][0 if direction == "push" else 1]
            medians[fmt], cpus[fmt] = wall, cpu
            print(f"{direction:<6} {fmt:<6} {wall:>8.2f} {cpu:>10.2f} {step:>12.2f}")
        step = 0 if direction == "push" else 1
        print(
            f"{direction:<6} yaml/jsonl ratio: wall {medians['yaml'] / medians['jsonl']:.2f}, "
            f"cli CPU {cpus['yaml'] / cpus['jsonl']:.2f} (target <= 2); "
            f"file step {steps['yaml'][step] / steps['jsonl'][step]:.2f}"
        )
    print(f"load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
