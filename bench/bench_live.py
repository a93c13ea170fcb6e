"""Live view page times on a project with many traces, on SQLite and PostgreSQL.

Fills a fresh database through the services (the code the OTLP writer runs) with T traces of 5 spans
each, one trace of 1,000 spans, and a few traces with a rare attribute; starts `evalset serve` on it,
signs in through the sign-in form, and times: the Live view's first page, its poll (the list's block
alone), a page deep in the list (keyset), a search by span name and by a rare attribute, the trace page
of a 5-span trace and of the 1,000-span trace, and Add to Dataset for one span. Each figure is the
median and worst of R requests, and a ratio to a baseline measured in the same run on the same server:
the datasets page (`/`) of the same project (the machine is shared and noisy; ratios travel better).

    .venv/bin/python bench/bench_live.py --backend both [--traces 20000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_web import Page, bench_database, print_page_times, signed_in_client  # noqa: E402
from tests.conftest import start_server, stop_server  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _trace(n: int, spans: int, rare: bool = False) -> list:
    from evalset.server.domain.spans import SpanRecord

    trace_id = f"{n + 1:032x}"
    start = T0 + timedelta(seconds=n)
    records = []
    for i in range(spans):
        attributes = {"input.value": f'{{"question": "q{n}-{i}"}}', "input.mime_type": "application/json"}
        if rare and i == 0:
            attributes["customer.tier"] = "platinum"
        records.append(
            SpanRecord(
                trace_id=trace_id,
                span_id=f"{i + 1:016x}",
                parent_span_id=None if i == 0 else f"{(i - 1) // 4 + 1:016x}",
                name="answer question" if i == 0 else f"step {i % 7}",
                start_time=start + timedelta(milliseconds=i),
                end_time=start + timedelta(milliseconds=i + 5),
                service_name="support-bot",
                attributes=attributes,
                resource={"service.name": "support-bot"},
            )
        )
    return records


def fill(db_url: str, traces: int) -> tuple[str, str]:
    """A project with `traces` traces (and the big one); returns (key, the big trace's id)."""
    from evalset.server.domain.auth import SCOPES
    from evalset.server.services import datasets, keys
    from evalset.server.services import traces as trace_service
    from evalset.server.services.keys import authenticate
    from evalset.server.storage import Database, migrate

    db = Database(db_url)
    migrate(db)
    secret, row = keys.create_key(db, project="bench", scopes=list(SCOPES))
    principal = authenticate(db, f"Bearer {secret}")
    datasets.create_dataset(db, principal, {"name": "qa"})
    batch: list = []
    for n in range(traces):
        batch.extend(_trace(n, 5, rare=n % 5000 == 17))
        if len(batch) >= 5000:
            trace_service.store_batches(db, {row["project_id"]: batch})
            batch = []
    big = _trace(traces, 1000)
    trace_service.store_batches(db, {row["project_id"]: [*batch, *big]})
    db.dispose()
    return secret, big[0].trace_id


def run(backend: str, traces: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database(backend, tmp, "evalset_bench_live") as db_url:
        started = time.perf_counter()
        key, big = fill(db_url, traces)
        spans = traces * 5 + 1000
        print(f"\n{backend}: filled {traces:,} traces ({spans:,} spans) in {time.perf_counter() - started:.0f} s")
        server = start_server(db_url, Path(tmp) / "server.log", backend=backend)
        try:
            with closing(signed_in_client(server.base_url, key)) as client:
                first = client.get("/live").text
                older = re.search(r'href="/live\?cursor=([^"&]+)"', first)
                small = f"{traces // 2 + 1:032x}"
                pages: dict[str, Page] = {
                    "baseline: datasets page (/)": "/",
                    "Live view, first page (50 traces)": "/live",
                    "its poll (the list's block alone)": ("/live", {"HX-Request": "true"}),
                    "the second page (keyset)": f"/live?cursor={older.group(1) if older else ''}",
                    'search: span name (name:"step 3")': '/live?q=name:"step 3"',
                    "search: a rare attribute": "/live?q=attr:customer.tier=platinum",
                    "trace page, 5 spans": f"/live/traces/{small}",
                    "trace page, 1,000 spans": f"/live/traces/{big}",
                    "Add to Dataset, one span, dataset chosen": f"/live/traces/{small}/add?span={1:016x}&dataset=qa",
                }
                print_page_times(client, pages, repeat)
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--traces", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.traces, args.repeat)


if __name__ == "__main__":
    main()
