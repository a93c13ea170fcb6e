"""The async client used as async code uses it: one client, many requests in flight at once."""

from __future__ import annotations

import asyncio

from logfire.experimental.api_client import AsyncLogfireAPIClient, CaseNotFoundError, DatasetNotFoundError
from pydantic_evals import Case

from tests.conftest import LiveServer

from .models import Question

CONCURRENCY = 8


def test_concurrent_requests_on_one_async_client(live_server: LiveServer, key: str) -> None:
    async def scenario() -> None:
        async with AsyncLogfireAPIClient(api_key=key, base_url=live_server.base_url) as lf:
            names = [f"parallel-{i}" for i in range(CONCURRENCY)]
            created = await asyncio.gather(*(lf.create_dataset(name, input_type=Question) for name in names))
            assert sorted(d["name"] for d in created) == names

            batches = await asyncio.gather(
                *(
                    lf.add_cases(name, [Case(name=f"c{j}", inputs=Question(f"q{j}")) for j in range(3)])
                    for name in names
                )
            )
            assert [len(batch) for batch in batches] == [3] * CONCURRENCY

            summaries = await lf.list_datasets()
            assert {s["name"]: s["case_count"] for s in summaries} == dict.fromkeys(names, 3)

            results = await asyncio.gather(
                lf.get_case(names[0], "not-a-uuid"),
                lf.list_cases("never-created"),
                lf.list_cases(names[1]),
                return_exceptions=True,
            )
            assert isinstance(results[0], CaseNotFoundError)
            assert isinstance(results[1], DatasetNotFoundError)
            assert isinstance(results[2], list) and len(results[2]) == 3

    asyncio.run(scenario())
