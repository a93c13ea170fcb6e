"""Evals page times on experiments of N results, on SQLite and PostgreSQL.

Fills a fresh database with a dataset of N cases and two experiments of it with N results each (an
assertion, a score, a label per result; some failing, some task errors), plus a 10-result experiment,
through the services the API uses. Starts `evalset serve`, signs in, and times: the experiment page
(charts over all N results and the first 50 rows), a page deep in the results, the table alone (what
a filter or a page link fetches), the 'failed' filter, a name search, one case result, Compare of
the two big runs, and the Evals list. Each figure is the median and worst of R requests and a ratio
to the baseline measured in the same run: the 10-result experiment's page.

    .venv/bin/python bench/bench_evals_web.py --backend both [--results 10000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_web import Page, bench_database, print_page_times, signed_in_client  # noqa: E402
from tests.conftest import start_server, stop_server  # noqa: E402


def results(count: int, seed: int) -> list[dict]:
    from evalset.server.domain.experiments import result_from_report_case, result_from_report_failure

    rng = random.Random(seed)
    made = []
    for i in range(count):
        item = {"name": f"case-{i:06}", "inputs": {"q": f"question {i}"}, "expected_output": i, "metadata": None}
        if i % 97 == 0:
            made.append(result_from_report_failure({**item, "error_message": "ValueError: no", "error_stacktrace": ""}))
            continue
        ok = rng.random() < 0.8
        case = {
            **item,
            "output": i if ok else i + 1,
            "assertions": {"EqualsExpected": {"name": "EqualsExpected", "value": ok, "reason": None, "source": None}},
            "scores": {"Closeness": {"name": "Closeness", "value": rng.random(), "reason": None, "source": None}},
            "labels": {
                "Parity": {"name": "Parity", "value": rng.choice(["even", "odd"]), "reason": None, "source": None}
            },
            "metrics": {},
            "attributes": {},
            "task_duration": rng.random() / 10,
            "total_duration": rng.random() / 5,
        }
        made.append(result_from_report_case(case))
    return made


def fill(db_url: str, count: int) -> tuple[str, list[str], str]:
    """Key, the two big experiments' ids and the small one's, through the services."""
    from evalset.server.domain.auth import SCOPES, Principal
    from evalset.server.domain.experiments import ExperimentFacts
    from evalset.server.services import cases as case_service
    from evalset.server.services import datasets, experiments, keys
    from evalset.server.storage import Database, migrate

    db = Database(db_url)
    migrate(db)
    secret, row = keys.create_key(db, project="bench", scopes=list(SCOPES))
    principal = Principal(key_id=row["id"], key_name="bench", project_id=row["project_id"], scopes=frozenset(SCOPES))
    datasets.create_dataset(db, principal, {"name": "big"})
    for start in range(0, count, 10_000):
        batch = [
            {"name": f"case-{i:06}", "inputs": {"q": f"question {i}"}, "expected_output": i}
            for i in range(start, min(count, start + 10_000))
        ]
        case_service.create_cases(db, principal, "big", batch)
    ids = []
    for seed, size in ((1, count), (2, count), (3, 10)):
        facts = ExperimentFacts(dataset="big", name=f"run-{seed}", complete=True)
        experiment, _ = experiments.upload(db, principal, facts, results(size, seed))
        ids.append(experiment["id"])
    db.dispose()
    return secret, ids[:2], ids[2]


def run(backend: str, count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database(backend, tmp, "evalset_bench_evals") as db_url:
        started = time.perf_counter()
        key, (baseline_id, candidate_id), small = fill(db_url, count)
        print(
            f"\n{backend}: {count:,} cases, 2 experiments of {count:,} results: {time.perf_counter() - started:.0f} s"
        )
        server = start_server(db_url, Path(tmp) / "server.log", backend=backend)
        try:
            with closing(signed_in_client(server.base_url, key)) as client:
                page = f"/evals/experiments/{candidate_id}"
                one = client.get(
                    f"/v1/experiments/{candidate_id}/cases/",
                    params={"limit": 1, "offset": count // 2},
                    headers={"Authorization": f"Bearer {key}"},
                )
                pages: dict[str, Page] = {
                    "baseline: 10-result experiment page": (f"/evals/experiments/{small}", {}),
                    f"experiment page ({count:,} results charted)": (page, {}),
                    "a page deep in the results": (f"{page}?page={count // 50 - 1}", {}),
                    "the table alone (filter, page link)": (f"{page}?page=2", {"HX-Request": "true"}),
                    "filter: failed": (f"{page}?show=failed", {}),
                    "search a case name": (f"{page}?q=case-0042", {}),
                    "one case result": (f"{page}/cases/{one.json()[0]['id']}", {}),
                    f"compare two runs of {count:,}": (
                        f"/evals/compare?baseline={baseline_id}&candidate={candidate_id}",
                        {},
                    ),
                    "Evals list": ("/evals", {}),
                }
                print_page_times(client, pages, repeat, width=42)
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.results, args.repeat)


if __name__ == "__main__":
    main()
