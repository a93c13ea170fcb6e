"""Web UI page times on a 100,000-case dataset, on SQLite and PostgreSQL.

Fills a fresh database with one dataset of N cases (tags on every case, a rare word in one), starts
`evalset serve` on it, signs in through the sign-in form, and times the dataset page: first page,
a page deep in the dataset (keyset), the page before it, a tag filter, a search for a common word
and one for a word only one case holds (a full scan of the search text). Each figure is the median
and worst of R requests, and a ratio to the baseline measured in the same run: the dataset page of a
100-case dataset on the same server (the machine is shared and noisy; ratios travel better).

    .venv/bin/python bench/bench_web.py --backend both [--cases 100000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import PG_ADMIN_URL, start_server, stop_server  # noqa: E402

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"]


def fill(db_url: str, cases: int) -> str:
    """Create project, key and the datasets through the services (the same code the API runs)."""
    from evalset.server.domain.auth import SCOPES, Principal
    from evalset.server.services import cases as case_service
    from evalset.server.services import datasets, keys
    from evalset.server.storage import Database, migrate

    db = Database(db_url)
    migrate(db)
    secret, row = keys.create_key(db, project="bench", scopes=list(SCOPES))
    principal = Principal(key_id=row["id"], key_name="bench", project_id=row["project_id"], scopes=frozenset(SCOPES))
    for name, count in (("small", 100), ("big", cases)):
        datasets.create_dataset(db, principal, {"name": name})
        rng = random.Random(7)
        for start in range(0, count, 10_000):
            batch = [
                {
                    "name": f"case-{i:06}",
                    "inputs": {"question": " ".join(rng.choices(WORDS, k=14)), "context": "lorem ipsum " * 8},
                    "expected_output": {"answer": rng.choice(WORDS)},
                    "tags": [rng.choice(["easy", "medium", "hard"]), *(["golden"] if i % 1000 == 0 else [])],
                }
                for i in range(start, min(count, start + 10_000))
            ]
            if start == 0:
                batch[len(batch) // 2]["inputs"]["question"] += " zanzibar"
            case_service.create_cases(db, principal, name, batch)
    db.dispose()
    return secret


def signed_in_client(base_url: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=120, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert token, "no sign-in form"
    client.post("/signin", data={"csrf_token": token.group(1), "api_key": key}).raise_for_status()
    return client


def timed(client: httpx.Client, path: str, repeat: int) -> list[float]:
    client.get(path).raise_for_status()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        response.raise_for_status()
    return times


def run(backend: str, cases: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "postgresql":
            import psycopg

            name = f"evalset_bench_web_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        else:
            db_url = f"sqlite:///{tmp}/evalset.db"
        started = time.perf_counter()
        key = fill(db_url, cases)
        print(f"\n{backend}: filled {cases:,} cases in {time.perf_counter() - started:.0f} s")
        server = start_server(db_url, Path(tmp) / "server.log", backend=backend)
        try:
            client = signed_in_client(server.base_url, key)
            try:
                first = client.get("/datasets/big").text
                seqs = [int(s) for s in re.findall(r"after=(\d+)", first)]
                deep_after = seqs[0] + cases - 100 if seqs else 0
                pages = {
                    "baseline: 100-case dataset page": "/datasets/small",
                    "first page (50 cases)": "/datasets/big",
                    "page deep in the dataset (keyset)": f"/datasets/big?after={deep_after}",
                    "the page before it": f"/datasets/big?before={deep_after}",
                    "tag filter (1 case in 1,000)": "/datasets/big?tag=golden",
                    "search, common word": "/datasets/big?q=kappa",
                    "search, one matching case (full scan)": "/datasets/big?q=zanzibar",
                }
                baseline = None
                print(f"{'page':42} {'median':>9} {'worst':>9} {'× baseline':>11}")
                for label, path in pages.items():
                    times = timed(client, path, repeat)
                    median = statistics.median(times)
                    baseline = baseline or median
                    print(f"{label:42} {median * 1000:7.1f}ms {max(times) * 1000:7.1f}ms {median / baseline:10.1f}×")
            finally:
                client.close()
        finally:
            stop_server(server)
            if backend == "postgresql":
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.cases, args.repeat)


if __name__ == "__main__":
    main()
