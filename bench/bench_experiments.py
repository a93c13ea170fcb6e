"""Experiments against the real server: uploading a large report, reading its results, comparing two runs.

Usage: .venv/bin/python bench/bench_experiments.py [--backend sqlite|postgresql|both] [--cases N] [--repeat R]

A dataset of `--cases` cases is imported, then reports of `--cases` x `--repeat` results (three assertions,
two scores, a label, metrics and an output each; one run in twenty a failed task) are uploaded against it.
As a baseline measured in the same run, an import of as many dataset cases as the report has results
(one request) is timed too: the upload's time is printed as a ratio of it, and the compare of two reports
(`GET /v1/experiments/compare/`, both sides' runs in full) as a ratio of reading one report's results
(`GET /v1/experiments/{id}/cases/`). Prints medians of `--reps` (3; a compare needs two).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import JSON_HEADERS, REQUEST_TIMEOUT, Server, auth, create_key, fresh_database  # noqa: E402


def dataset_cases(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"case-{i}", "inputs": {"question": f"What is {i} + {i}?"}, "expected_output": {"answer": 2 * i}}
        for i in range(n)
    ]


def _result(name: str, value: Any, source: str) -> dict[str, Any]:
    return {"name": name, "value": value, "reason": None, "source": {"name": source, "arguments": None}}


def report(n: int, repeat: int, seed: int) -> dict[str, Any]:
    """A pydantic-evals report's JSON: `n` cases run `repeat` times."""
    rng = random.Random(seed)
    cases, failures = [], []
    for i in range(n):
        for run in range(1, repeat + 1):
            common = {
                "name": f"case-{i} [{run}/{repeat}]" if repeat > 1 else f"case-{i}",
                "source_case_name": f"case-{i}" if repeat > 1 else None,
                "inputs": {"question": f"What is {i} + {i}?"},
                "metadata": None,
                "expected_output": {"answer": 2 * i},
                "trace_id": None,
                "span_id": None,
            }
            if rng.random() < 0.05:
                failures.append({**common, "error_message": "ValueError: no", "error_stacktrace": "Traceback..."})
                continue
            cases.append(
                {
                    **common,
                    "output": {"answer": 2 * i + rng.choice((0, 0, 1))},
                    "metrics": {"tokens": rng.randint(10, 500)},
                    "attributes": {"model": "m"},
                    "assertions": {k: _result(k, rng.random() < 0.8, k) for k in ("Equals", "IsInstance", "Fast")},
                    "scores": {k: _result(k, rng.random(), k) for k in ("Closeness", "Judge")},
                    "labels": {"Tone": _result("Tone", rng.choice(("ok", "rude")), "Tone")},
                    "task_duration": rng.random(),
                    "total_duration": 1 + rng.random(),
                    "evaluator_failures": [],
                }
            )
    return {"name": f"run-{seed}", "cases": cases, "failures": failures, "dataset_name": "bench"}


def timed(client: httpx.Client, method: str, path: str, **request: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, path, **request)
    elapsed = time.perf_counter() - started
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return elapsed, response


def measure(client: httpx.Client, args: argparse.Namespace) -> dict[str, list[float]]:
    results = args.cases * args.repeat
    client.post("/v1/datasets/", json={"name": "bench"}).raise_for_status()
    client.post("/v1/datasets/bench/import/", json={"cases": dataset_cases(args.cases)}).raise_for_status()
    times: dict[str, list[float]] = {"import": [], "upload": [], "cases": [], "compare": [], "list": []}
    ids: list[str] = []
    for rep in range(args.reps):
        client.post("/v1/datasets/", json={"name": f"baseline-{rep}"}).raise_for_status()
        payload = orjson.dumps({"cases": dataset_cases(results)})
        path = f"/v1/datasets/baseline-{rep}/import/"
        times["import"].append(timed(client, "POST", path, content=payload, headers=JSON_HEADERS)[0])
        body = orjson.dumps({"report": report(args.cases, args.repeat, seed=rep)})
        elapsed, response = timed(client, "POST", "/v1/experiments/", content=body, headers=JSON_HEADERS)
        times["upload"].append(elapsed)
        ids.append(response.json()["id"])
        times["cases"].append(timed(client, "GET", f"/v1/experiments/{ids[-1]}/cases/")[0])
        if len(ids) > 1:
            params = {"baseline": ids[-2], "candidate": ids[-1]}
            times["compare"].append(timed(client, "GET", "/v1/experiments/compare/", params=params)[0])
        times["list"].append(timed(client, "GET", "/v1/experiments/", params={"dataset": "bench"})[0])
    return times


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    with fresh_database(backend, workdir) as db_url:
        server = Server(db_url, workdir / f"{backend}.log")
        server.start()
        if server.key is None:  # the server no longer prints a first key: make one
            server.key = create_key(db_url)
        try:
            with httpx.Client(base_url=server.url, headers=auth(server.key), timeout=REQUEST_TIMEOUT) as client:
                times = measure(client, args)
        finally:
            server.stop()
    median = {phase: statistics.median(values) for phase, values in times.items() if values}
    n = args.cases * args.repeat
    print(f"{backend}: {args.cases} cases x {args.repeat} runs = {n} results per report (medians of {args.reps})")
    print(f"  import of {n} dataset cases (baseline)   {median['import']:7.3f} s  {n / median['import']:8,.0f}/s")
    ratio = median["upload"] / median["import"]
    print(
        f"  upload of the report                     {median['upload']:7.3f} s  {n / median['upload']:8,.0f}/s", end=""
    )
    print(f"  ({ratio:.2f}x the import)")
    print(f"  GET its {n} case results                 {median['cases']:7.3f} s")
    if "compare" in median:
        ratio = median["compare"] / median["cases"]
        print(f"  compare two such experiments             {median['compare']:7.3f} s  ({ratio:.2f}x the GET)")
    print(f"  list the dataset's experiments           {median['list']:7.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory(prefix="evalset-experiments-") as tmp:
        for backend in backends:
            run_backend(backend, args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
