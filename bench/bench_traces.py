"""Trace ingest and the recent-traces listing, on SQLite and PostgreSQL.

Ingest: B protobuf OTLP exports of 512 spans each (traces of 16 spans with logfire-style attributes, one
JSON-encoded value per span) are posted over HTTP to a real `evalset serve` (2 client threads, 503s
retried after a pause), and timed from the first post until every span is committed. Baselines from the
same run, in-process on the same database: decoding alone (protobuf -> SpanRecords) and storing alone
(`services.traces.store_batches`, one transaction per 512 spans). The ratio says how much of the
pipeline's own ceiling the HTTP path reaches.

Listing: a project of N spans (traces of 10 spans) is filled through the same storage code, then the
recent-traces list is timed over HTTP (`GET /v1/traces`): the first page, a page 20 pages deep, a service
search, an attribute search matching one trace in a thousand, and one trace's spans. The baseline is the
first page of a project of 100 traces on the same server.

    .venv/bin/python bench/bench_traces.py --backend both [--batches 100] [--large-spans 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import PG_ADMIN_URL, start_server, stop_server  # noqa: E402

SPANS_PER_EXPORT = 512


def _any(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    return {"string_value": str(value)}


def make_exports(count: int) -> list[bytes]:
    """`count` OTLP protobuf exports of 512 spans: 32 traces of 16 spans, logfire-style attributes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    schema = orjson.dumps({"type": "object", "properties": {"payload": {"type": "object"}}}).decode()
    now = time.time_ns()
    exports = []
    for index in range(count):
        request = ExportTraceServiceRequest()
        group = request.resource_spans.add()
        group.resource.attributes.extend(
            [
                KeyValue(key="service.name", value=AnyValue(string_value="bench")),
                KeyValue(key="telemetry.sdk.language", value=AnyValue(string_value="python")),
            ]
        )
        scope = group.scope_spans.add()
        scope.scope.name = "logfire"
        for _trace in range(SPANS_PER_EXPORT // 16):
            trace_id, root = os.urandom(16), os.urandom(8)
            for n in range(16):
                start = now + index * 1_000_000 + n * 1000
                attributes = {
                    "logfire.msg_template": "step {n}",
                    "logfire.msg": f"step {n}",
                    "logfire.span_type": "span",
                    "code.function": "handle",
                    "code.lineno": 42,
                    "n": n,
                    "payload": orjson.dumps({"question": "what is 2+2?", "context": ["a", "b"], "n": n}).decode(),
                    "logfire.json_schema": schema,
                }
                scope.spans.append(
                    Span(
                        trace_id=trace_id,
                        span_id=root if n == 0 else os.urandom(8),
                        parent_span_id=b"" if n == 0 else root,
                        name=f"step {n % 4}",
                        kind=Span.SPAN_KIND_INTERNAL,
                        start_time_unix_nano=start,
                        end_time_unix_nano=start + 500_000,
                        attributes=[KeyValue(key=k, value=AnyValue(**_any(v))) for k, v in attributes.items()],  # type: ignore[arg-type]
                    )
                )
        exports.append(request.SerializeToString())
    return exports


def new_database(backend: str, directory: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'bench.db'}", None
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", name


def drop_database(name: object) -> None:
    if name is None:
        return
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_project(db: object, scopes: list[str]) -> tuple[str, str]:
    from evalset.server.services import keys

    secret, row = keys.create_key(db, project=f"p-{uuid.uuid4().hex[:8]}", scopes=scopes)  # type: ignore[arg-type]
    return secret, row["project_id"]


def span_count(db: object, project_id: str) -> int:
    from sqlalchemy import func, select

    from evalset.server.storage.tables import spans

    with db.read() as conn:  # type: ignore[attr-defined]
        return conn.execute(select(func.count()).where(spans.c.project_id == project_id)).scalar_one()


def baselines(db: object, exports: list[bytes]) -> tuple[float, float, float, float]:
    """In-process decode-only and store-only rates: spans per second, and per CPU-second of this process."""
    from evalset.server.otlp.decode import decode_traces
    from evalset.server.services.traces import store_batches

    total = len(exports) * SPANS_PER_EXPORT
    start, cpu = time.perf_counter(), time.process_time()
    decoded = [decode_traces(body, "protobuf")[0].records for body in exports]
    decode_rate, decode_cpu = total / (time.perf_counter() - start), total / (time.process_time() - cpu)
    _, project_id = new_project(db, ["project:write_traces"])
    start, cpu = time.perf_counter(), time.process_time()
    for records in decoded:
        store_batches(db, {project_id: records})  # type: ignore[arg-type]
    store_rate, store_cpu = total / (time.perf_counter() - start), total / (time.process_time() - cpu)
    return decode_rate, decode_cpu, store_rate, store_cpu


def http_ingest(base_url: str, db: object, exports: list[bytes]) -> tuple[float, int]:
    """Spans/s from the first post until all are committed, and how many posts got 503."""
    key, project_id = new_project(db, ["project:write_traces"])
    refused = 0
    lock = threading.Lock()

    def post(part: list[bytes]) -> None:
        nonlocal refused
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            for body in part:
                while True:
                    answer = client.post("/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
                    if answer.status_code != 503:
                        answer.raise_for_status()
                        break
                    with lock:
                        refused += 1
                    time.sleep(0.05)

    start = time.perf_counter()
    threads = [threading.Thread(target=post, args=(exports[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = len(exports) * SPANS_PER_EXPORT
    while span_count(db, project_id) < total:
        time.sleep(0.02)
    return total / (time.perf_counter() - start), refused


def fill(db: object, spans: int, traces_per_batch: int = 500) -> tuple[str, str]:
    """A project of `spans` spans in traces of 10, written through the storage code; returns (key, id)."""
    from evalset.server.domain.spans import SpanRecord
    from evalset.server.services.traces import store_batches

    key, project_id = new_project(db, ["project:read_datasets"])
    t0 = datetime.now(timezone.utc) - timedelta(days=1)
    made = 0
    number = 0
    while made < spans:
        batch = []
        for _ in range(traces_per_batch):
            trace_id, root = os.urandom(16).hex(), os.urandom(8).hex()
            start = t0 + timedelta(milliseconds=number)
            rare = number % 1000 == 0
            for n in range(10):
                batch.append(
                    SpanRecord(
                        trace_id=trace_id,
                        span_id=root if n == 0 else os.urandom(8).hex(),
                        parent_span_id=None if n == 0 else root,
                        name=f"step {n}",
                        start_time=start + timedelta(microseconds=n),
                        end_time=start + timedelta(microseconds=n + 300),
                        service_name=f"svc-{number % 3}",
                        attributes={"n": n, "user.id": "rare" if rare else f"u{number % 50}"},
                    )
                )
            number += 1
        store_batches(db, {project_id: batch})  # type: ignore[arg-type]
        made += len(batch)
    return key, project_id


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client: httpx.Client, path: str, repeat: int, **params: object) -> float:
    client.get(path, params=params).raise_for_status()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def listing(base_url: str, db: object, large: int, repeat: int) -> list[tuple[str, float]]:
    small_key, _ = fill(db, 1000)
    started = time.perf_counter()
    key, _ = fill(db, large, traces_per_batch=1000)
    print(f"  filled {large:,} spans in {time.perf_counter() - started:.0f} s", flush=True)
    results = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {small_key}"}, timeout=120) as client:
        results.append(("first page, 100-trace project (baseline)", timed(client, "/v1/traces", repeat)))
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        results.append(("first page (50 traces)", timed(client, "/v1/traces", repeat)))
        cursor = None
        for _ in range(20):
            cursor = client.get("/v1/traces", params={"cursor": cursor} if cursor else {}).json()["next_cursor"]
        results.append(("page 21 (keyset cursor)", timed(client, "/v1/traces", repeat, cursor=cursor)))
        results.append(("search service:svc-1", timed(client, "/v1/traces", repeat, q="service:svc-1")))
        results.append(('search name:"step 3"', timed(client, "/v1/traces", repeat, q='name:"step 3"')))
        results.append(
            ("search attr:user.id=rare (1 in 1,000)", timed(client, "/v1/traces", repeat, q="attr:user.id=rare"))
        )
        trace_id = client.get("/v1/traces").json()["traces"][0]["trace_id"]
        results.append(("one trace's 10 spans", timed(client, f"/v1/traces/{trace_id}", repeat)))
    return results


def run(backend: str, batches: int, large: int, repeat: int) -> None:
    from evalset.server.storage import Database, migrate

    print(f"\n== {backend} ==", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        url, pg_name = new_database(backend, directory)
        try:
            db = Database(url)
            migrate(db)
            exports = make_exports(batches)
            decode_rate, decode_cpu, store_rate, store_cpu = baselines(db, exports)
            env = {"EVALSET_TRACE_QUEUE_SPANS": "200000"}
            server = start_server(url, directory / "server.log", env=env, backend=backend)
            try:
                cpu_before = server_cpu(server.process.pid)
                rate, refused = http_ingest(server.base_url, db, exports)
                cpu_us = (server_cpu(server.process.pid) - cpu_before) / (len(exports) * SPANS_PER_EXPORT) * 1e6
                ceiling = min(decode_rate, store_rate)
                print(f"  ingest, {batches} exports of {SPANS_PER_EXPORT} spans (protobuf):")
                print(
                    f"    decode only (in-process)  {decode_rate:>10,.0f} spans/s  ({decode_cpu:,.0f} per CPU-second)"
                )
                print(
                    f"    store only (in-process)   {store_rate:>10,.0f} spans/s  ({store_cpu:,.0f} per CPU-second of "
                    "Python; one transaction per 512)"
                )
                print(
                    f"    HTTP end to end           {rate:>10,.0f} spans/s  ({rate / ceiling:.2f} x the in-process "
                    f"ceiling; {refused} posts got 503 and were retried)"
                )
                print(f"    server CPU per span       {cpu_us:>10.1f} us  (= {1e6 / cpu_us:,.0f} spans per CPU-second)")
                print(
                    f"    load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True
                )
                if not large:
                    return
                print(f"  recent traces over HTTP, project of {large:,} spans (median of {repeat}):")
                results = listing(server.base_url, db, large, repeat)
                baseline = results[0][1]
                for label, ms in results:
                    print(f"    {label:<42} {ms:8.1f} ms  ({ms / baseline:.1f} x baseline)")
            finally:
                stop_server(server)
            db.dispose()
        finally:
            drop_database(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--batches", type=int, default=100, help="exports of 512 spans to ingest")
    parser.add_argument("--large-spans", type=int, default=1_000_000, help="spans in the large project (0: no listing)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.batches, args.large_spans, args.repeat)


if __name__ == "__main__":
    main()
