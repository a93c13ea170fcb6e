"""SDK fixtures: clients of both kinds over real HTTP to the live server (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic_evals import Case

from evalset import AsyncDatasetsClient, DatasetsClient
from tests.conftest import LiveServer
from tests.sdk.models import SEED_CASES, AnswerOutput, CaseMetadata, QuestionInput


@pytest.fixture
def connect(live_server: LiveServer, key: str) -> dict[str, Any]:
    """Keyword arguments that point a client at the live server with a fresh project's key."""
    return {"api_key": key, "base_url": live_server.base_url}


@pytest.fixture
def client(connect: dict[str, Any]) -> Iterator[DatasetsClient]:
    with DatasetsClient(**connect) as client:
        yield client


def seed_cases() -> list[Case[QuestionInput, AnswerOutput, CaseMetadata]]:
    return [
        Case(
            name=name,
            inputs=QuestionInput(question=question),
            expected_output=AnswerOutput(answer=answer, confidence=confidence),
            metadata=CaseMetadata(category=category, difficulty=difficulty),
        )
        for name, question, answer, confidence, category, difficulty in SEED_CASES
    ]


@pytest.fixture
def qa_dataset(client: DatasetsClient) -> str:
    """The seed docs' 'qa-golden-set', typed, with its three cases."""
    client.create_dataset(
        "qa-golden-set", input_type=QuestionInput, output_type=AnswerOutput, metadata_type=CaseMetadata
    )
    client.add_cases("qa-golden-set", seed_cases())
    return "qa-golden-set"


class AsyncDriven:
    """The async client behind a sync face, for running one test body against both clients.

    Each call opens an `AsyncDatasetsClient`, awaits the method in a fresh event loop and closes it.
    (Test scaffolding only: the SDK's own sync client never runs an event loop.)
    """

    def __init__(self, connect: dict[str, Any]) -> None:
        self._connect = connect

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            async with AsyncDatasetsClient(**self._connect) as client:
                return await getattr(client, name)(*args, **kwargs)

        return lambda *args, **kwargs: asyncio.run(call(*args, **kwargs))


@pytest.fixture(params=["sync", "async"])
def api_client(request: pytest.FixtureRequest, connect: dict[str, Any]) -> Iterator[Any]:
    """`DatasetsClient`, or `AsyncDatasetsClient` driven call by call: every method test runs on both."""
    if request.param == "async":
        yield AsyncDriven(connect)
        return
    with DatasetsClient(**connect) as client:
        yield client
