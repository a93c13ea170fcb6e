"""Experiments from telemetry: what the experiments consumer adds to storing a pydantic-evals run's spans.

Usage: .venv/bin/python bench/bench_telemetry.py [--backend sqlite|postgresql|both] [--cases 1000] [--batch 512]

A real `Dataset.evaluate` of `--cases` cases (repeat 2; an assertion, a score and a label per run, one
evaluator in fifty raising) runs here with the real `logfire` SDK into memory, and its spans are decoded
as the receiver decodes them. Then, on a fresh database per backend and in batches of `--batch` in the
order `logfire` sent them, as the receiver's batch writer does:

- baseline: storing the spans (`services.traces.store_batches`) alone;
- telemetry: storing them and running the experiments consumer after each batch;
- upload: `services.experiments.upload` of the same run's report (the other way in).

Prints the times, the consumer's share (telemetry - baseline) as a ratio of the baseline and of the
upload, and checks the stored experiment has every result. In-process: no server, no network.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_server import fresh_database  # noqa: E402


def run_evaluation(cases: int) -> tuple[list[Any], dict[str, Any]]:
    import logfire
    from logfire.testing import TestExporter
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from pydantic_evals import Case, Dataset
    from pydantic_evals.evaluators import EqualsExpected, Evaluator, EvaluatorContext
    from tests.evals_scenario import report_json
    from tests.otel_records import span_record
    from tests.telemetry_run import span_json

    class Closeness(Evaluator[int, int, Any]):
        def evaluate(self, ctx: EvaluatorContext[int, int, Any]) -> float:
            return 1 / (1 + abs(ctx.output - (ctx.expected_output or 0)))

    class Parity(Evaluator[int, int, Any]):
        def evaluate(self, ctx: EvaluatorContext[int, int, Any]) -> str:
            return "even" if ctx.output % 2 == 0 else "odd"

    class Fragile(Evaluator[int, int, Any]):
        def evaluate(self, ctx: EvaluatorContext[int, int, Any]) -> bool:
            if ctx.inputs % 50 == 0:
                raise RuntimeError("judge unavailable")
            return True

    exporter = TestExporter()
    logfire.configure(send_to_logfire=False, console=False, additional_span_processors=[SimpleSpanProcessor(exporter)])
    dataset = Dataset[int, int, Any](
        name="bench",
        cases=[Case(name=f"c{i}", inputs=i, expected_output=2 * i) for i in range(cases)],
        evaluators=[EqualsExpected(), Closeness(), Parity(), Fragile()],
    )

    async def double(x: int) -> int:
        return 2 * x if x % 7 else 2 * x + 1

    report = asyncio.run(dataset.evaluate(double, progress=False, repeat=2, max_concurrency=50))
    spans = [span_record(span_json(span)) for span in exporter.exported_spans]
    return spans, report_json(report)


@contextmanager
def database(backend: str, workdir: Path) -> Any:
    """A fresh migrated database and a principal of a new project in it."""
    from evalset.server.domain.auth import Principal
    from evalset.server.services import keys
    from evalset.server.storage import Database, migrate

    with fresh_database(backend, workdir) as url:
        db = Database(url)
        migrate(db)
        _, row = keys.create_key(db, project="bench", scopes=["project:read_datasets", "project:write_datasets"])
        try:
            yield db, Principal(row["id"], row["name"], row["project_id"], frozenset())
        finally:
            db.dispose()


def timed(function: Any) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench(backend: str, spans: list[Any], report: dict[str, Any], batch: int) -> None:
    from evalset.server.domain.experiments import facts_from_upload
    from evalset.server.services import experiments, traces
    from evalset.server.services.experiment_telemetry import record_experiments

    batches = [spans[i : i + batch] for i in range(0, len(spans), batch)]
    results = len(report["cases"]) + len(report["failures"])
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with database(backend, Path(tmp) / "a") as (db, principal):
            project = principal.project_id
            times["baseline"] = timed(lambda: [traces.store_batches(db, {project: b}) for b in batches])
        with database(backend, Path(tmp) / "b") as (db, principal):
            project = principal.project_id

            def telemetry() -> None:
                for b in batches:
                    traces.store_batches(db, {project: b})
                    record_experiments(db, project, b)

            times["telemetry"] = timed(telemetry)
            [experiment], _ = experiments.list_experiments(db, principal)
            assert experiment["case_count"] == results and experiment["status"] == "complete", experiment
        with database(backend, Path(tmp) / "c") as (db, principal):
            facts, rows = facts_from_upload({"report": report})
            times["upload"] = timed(lambda: experiments.upload(db, principal, facts, rows))
    consumer = times["telemetry"] - times["baseline"]
    print(f"\n{backend}: {len(spans)} spans in {len(batches)} batches of <= {batch}; {results} results")
    for name, seconds in times.items():
        print(f"  {name:<10} {seconds:8.2f} s")
    print(f"  consumer   {consumer:8.2f} s = {consumer / times['baseline']:.2f} x storing the spans")
    print(f"  {'':<10} {'':>8}     = {consumer / times['upload']:.2f} x uploading the report")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    spans, report = run_evaluation(args.cases)
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        bench(backend, spans, report, args.batch)


if __name__ == "__main__":
    main()
