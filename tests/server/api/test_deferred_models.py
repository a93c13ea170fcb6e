"""The API's deferred models and body validators, built by `serve` on a thread once it listens."""

from __future__ import annotations

from pydantic._internal._mock_val_ser import MockValSer

from evalset.server.api import (
    inputs,
    v1,  # every route's models and bodies
)
from evalset.server.api.v1.models import Record


def _all_records() -> list[type[Record]]:
    found, pending = [], list(Record.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def test_finish_start_up_builds_every_deferred_validator() -> None:
    assert v1.router is not None
    records = _all_records()
    assert len(records) > 20 and len(inputs._bodies) >= 7
    Record.build_all()
    inputs.build_deferred()
    unbuilt = [m.__name__ for m in records if isinstance(m.__pydantic_validator__, MockValSer)]
    unbuilt += [str(b.adapter._type) for b in inputs._bodies if isinstance(b.adapter.validator, MockValSer)]
    assert unbuilt == []
