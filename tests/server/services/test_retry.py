"""retry_on_contention: a use case that lost a race runs again; one that keeps losing gets 503."""

from __future__ import annotations

import pytest

from evalset.server.errors import ServiceUnavailable
from evalset.server.services import _common
from evalset.server.storage import Contention


def test_a_lost_race_runs_the_use_case_again() -> None:
    runs: list[int] = []

    @_common.retry_on_contention
    def use_case(value: int) -> int:
        runs.append(value)
        if len(runs) < 3:
            raise Contention("deadlock detected")
        return value * 2

    assert use_case(21) == 42 and runs == [21, 21, 21]


def test_a_race_lost_every_time_is_a_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.time, "sleep", lambda _: None)
    runs = 0

    @_common.retry_on_contention
    def use_case() -> None:
        nonlocal runs
        runs += 1
        raise Contention("could not serialize access")

    with pytest.raises(ServiceUnavailable) as raised:
        use_case()
    assert runs == _common.CONTENTION_ATTEMPTS
    assert raised.value.headers() == {"Retry-After": "1"} and "could not serialize access" in raised.value.detail


def test_other_errors_are_not_retried() -> None:
    runs = 0

    @_common.retry_on_contention
    def use_case() -> None:
        nonlocal runs
        runs += 1
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        use_case()
    assert runs == 1
