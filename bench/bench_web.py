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
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
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


def timed(client: httpx.Client, path: str, repeat: int, headers: Mapping[str, str] | None = None) -> list[float]:
    client.get(path, headers=headers).raise_for_status()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(time.perf_counter() - start)
        response.raise_for_status()
    return times


Page = str | tuple[str, Mapping[str, str]]
"""A page to time: its path, or its path and the request headers (`HX-Request` for a fragment)."""


def print_page_times(client: httpx.Client, pages: Mapping[str, Page], repeat: int, *, width: int = 44) -> None:
    """Median and worst time of each page, and the median against the first page's (the baseline)."""
    baseline = None
    print(f"{'page':{width}} {'median':>9} {'worst':>9} {'× baseline':>11}")
    for label, page in pages.items():
        path, headers = page if isinstance(page, tuple) else (page, {})
        times = timed(client, path, repeat, headers)
        median = statistics.median(times)
        baseline = baseline or median
        print(f"{label:{width}} {median * 1000:7.1f}ms {max(times) * 1000:7.1f}ms {median / baseline:10.1f}×")


@contextmanager
def bench_database(backend: str, tmp: str, prefix: str) -> Iterator[str]:
    """The URL of a new database for one run: a SQLite file in `tmp`, or a PostgreSQL database dropped after."""
    if backend != "postgresql":
        yield f"sqlite:///{tmp}/evalset.db"
        return
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(backend: str, cases: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database(backend, tmp, "evalset_bench_web") as db_url:
        started = time.perf_counter()
        key = fill(db_url, cases)
        print(f"\n{backend}: filled {cases:,} cases in {time.perf_counter() - started:.0f} s")
        server = start_server(db_url, Path(tmp) / "server.log", backend=backend)
        try:
            with closing(signed_in_client(server.base_url, key)) as client:
                first = client.get("/datasets/big").text
                seqs = [int(s) for s in re.findall(r"after=(\d+)", first)]
                deep_after = seqs[0] + cases - 100 if seqs else 0
                pages: dict[str, Page] = {
                    "baseline: 100-case dataset page": "/datasets/small",
                    "first page (50 cases)": "/datasets/big",
                    "page deep in the dataset (keyset)": f"/datasets/big?after={deep_after}",
                    "the page before it": f"/datasets/big?before={deep_after}",
                    "tag filter (1 case in 1,000)": "/datasets/big?tag=golden",
                    "search, common word": "/datasets/big?q=kappa",
                    "search, one matching case (full scan)": "/datasets/big?q=zanzibar",
                }
                print_page_times(client, pages, repeat, width=42)
        finally:
            stop_server(server)


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
