"""What the value rules (docs/input.md) cost on a 10,000-case import, against parsing the same body.

    python bench/bench_inputs.py [cases]

Prints the median time of parsing the request body (pydantic-core, as the import route does) and of
checking every case's values, and their ratio: the checks' share of an import's request handling.
"""

from __future__ import annotations

import statistics
import sys
import time

import orjson

from evalset.server.api.v1.models import CASES_BODY
from evalset.server.domain.values import check_cases


def _cases(count: int) -> list[dict[str, object]]:
    return [
        {
            "name": f"case-{i}",
            "inputs": {"question": f"What is {i} + {i}?", "context": ["a", "b", "c"], "n": i, "w": i / 7},
            "expected_output": {"answer": str(2 * i)},
            "metadata": {"difficulty": "easy", "source": "généré", "nested": {"deep": [[1, 2], [3]]}},
            "tags": ["math", "gen"],
        }
        for i in range(count)
    ]


def _median(run: object, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(count: int = 10_000) -> None:
    raw = orjson.dumps({"cases": _cases(count)})
    parsed = CASES_BODY.validate_json(raw)["cases"]
    parse = _median(lambda: CASES_BODY.validate_json(raw))
    check = _median(lambda: check_cases(parsed))
    print(f"{count:,} cases, {len(raw) / 1e6:.1f} MB body")
    print(f"parse  {parse * 1000:8.1f} ms  (baseline)")
    print(f"check  {check * 1000:8.1f} ms  ratio {check / parse:.2f}x the parse")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
