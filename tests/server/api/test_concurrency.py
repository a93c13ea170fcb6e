"""Concurrent writers over real HTTP, on both databases: they queue, they never fail.

32 clients at once upserting overlapping case names, and 32 clients PATCHing one case with and
without If-Match. No 5xx ever; no 412 without If-Match (last write wins); with If-Match exactly
one writer per version wins and the others get 412; every acknowledged write is in the history.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import LiveServer

WRITERS = 32


def _all_at_once(count: int, work: Callable[[int, httpx.Client], httpx.Response], server: LiveServer, key: str):
    """Run `work(i, client)` in `count` threads released together; return the responses in order."""
    barrier = threading.Barrier(count)
    responses: list[httpx.Response | None] = [None] * count
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with server.client(key) as client:
                client.get("/health")  # connect before the barrier: the requests really overlap
                barrier.wait()
                responses[i] = work(i, client)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's index
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return [r for r in responses if r is not None]


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


@pytest.fixture
def dataset(api: httpx.Client) -> str:
    response = api.post("/v1/datasets/", json={"name": "contended"})
    assert response.status_code == 201, response.text
    return "contended"


def test_concurrent_upserts_of_overlapping_names_all_succeed(
    live_server: LiveServer, key: str, api: httpx.Client, dataset: str
) -> None:
    names = [f"case-{n}" for n in range(40)]
    for round_ in range(3):

        def upsert(i: int, client: httpx.Client, round_: int = round_) -> httpx.Response:
            # Every writer sends 20 names; neighbours share most of them, in a different order.
            mine = [names[(i + j) % len(names)] for j in range(20)]
            if i % 2:
                mine.reverse()
            cases = [{"name": n, "inputs": {"round": round_, "writer": i}, "tags": [f"w{i}"]} for n in mine]
            return client.post(f"/v1/datasets/{dataset}/import/", json={"cases": cases})

        responses = _all_at_once(WRITERS, upsert, live_server, key)
        assert _statuses(responses) == {200: WRITERS}, [r.text for r in responses if r.status_code != 200][:3]

    listed = api.get(f"/v1/datasets/{dataset}/cases/").json()
    assert sorted(c["name"] for c in listed) == sorted(names)  # no duplicates, none lost
    assert api.get(f"/v1/datasets/{dataset}/").json()["case_count"] == len(names)
    for case in listed:  # each case's live state is one writer's whole write, of the last round
        assert case["inputs"]["round"] == 2 and case["tags"] == [f"w{case['inputs']['writer']}"]
        history = api.get(f"/v1/datasets/{dataset}/cases/{case['id']}/history/").json()
        assert [r["version"] for r in history] == list(range(1, case["version"] + 1))


def _one_case(api: httpx.Client, dataset: str) -> dict:
    response = api.post(f"/v1/datasets/{dataset}/cases/", json={"name": "hot", "inputs": {"n": -1}})
    assert response.status_code == 201, response.text
    return response.json()


def test_concurrent_patches_without_if_match_last_write_wins(
    live_server: LiveServer, key: str, api: httpx.Client, dataset: str
) -> None:
    case = _one_case(api, dataset)
    path = f"/v1/datasets/{dataset}/cases/{case['id']}/"
    responses = _all_at_once(WRITERS, lambda i, c: c.patch(path, json={"inputs": {"n": i}}), live_server, key)
    assert _statuses(responses) == {200: WRITERS}, [r.text for r in responses if r.status_code != 200][:3]

    # Every acknowledged write got its own version and is kept in the history, in that order.
    acknowledged = {r.json()["version"]: r.json()["inputs"] for r in responses}
    assert sorted(acknowledged) == list(range(2, WRITERS + 2))
    history = api.get(f"{path}history/").json()
    assert {r["version"]: r["state"]["inputs"] for r in history if r["version"] > 1} == acknowledged
    final = api.get(path).json()
    assert final["version"] == WRITERS + 1 and final["inputs"] == acknowledged[WRITERS + 1]


def test_concurrent_patches_with_if_match_one_winner_per_version(
    live_server: LiveServer, key: str, api: httpx.Client, dataset: str
) -> None:
    case = _one_case(api, dataset)
    path = f"/v1/datasets/{dataset}/cases/{case['id']}/"

    def patch(i: int, client: httpx.Client) -> httpx.Response:
        return client.patch(path, json={"inputs": {"n": i}}, headers={"If-Match": '"1"'})

    responses = _all_at_once(WRITERS, patch, live_server, key)
    assert _statuses(responses) == {200: 1, 412: WRITERS - 1}
    winner = next(r.json() for r in responses if r.status_code == 200)
    for lost in (r for r in responses if r.status_code == 412):
        assert lost.json()["current_version"] == 2 and "version" in lost.json()["detail"]
    final = api.get(path).json()
    assert final == winner and final["version"] == 2


def test_concurrent_creates_of_one_dataset_name_one_wins_the_rest_get_409(
    live_server: LiveServer, key: str, api: httpx.Client
) -> None:
    responses = _all_at_once(
        WRITERS, lambda i, c: c.post("/v1/datasets/", json={"name": "race", "description": str(i)}), live_server, key
    )
    assert _statuses(responses) == {201: 1, 409: WRITERS - 1}
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert api.get("/v1/datasets/race/").json()["description"] == winner["description"]


def test_concurrent_case_creates_of_one_name_one_wins_the_rest_get_409(
    live_server: LiveServer, key: str, api: httpx.Client, dataset: str
) -> None:
    def create(i: int, client: httpx.Client) -> httpx.Response:
        return client.post(f"/v1/datasets/{dataset}/cases/", json={"name": "same", "inputs": i})

    responses = _all_at_once(WRITERS, create, live_server, key)
    assert _statuses(responses) == {201: 1, 409: WRITERS - 1}
    assert api.get(f"/v1/datasets/{dataset}/").json()["case_count"] == 1
