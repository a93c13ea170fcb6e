"""Export a dataset in the pydantic-evals file shape, streamed, now or as it was at a past moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import export_case
from evalset.server.errors import DatasetNotFound
from evalset.server.services._common import streamed_read
from evalset.server.storage import Conn, Database, history
from evalset.server.storage import cases as case_store
from evalset.server.storage import datasets as dataset_store
from evalset.server.storage._util import fragment

__all__ = ["open_export", "stream_json_array"]

BATCH = 2000
_EXPORT_KEYS = ("name", "inputs", "metadata", "expected_output", "evaluators")


def stream_json_array(items: Iterator[Any], *, batch: int = BATCH) -> Iterator[bytes]:
    """Serialise an iterator as one JSON array, a batch of items per chunk (one orjson call each)."""
    yield b"["
    first = True
    pending: list[Any] = []
    for item in items:
        pending.append(item)
        if len(pending) >= batch:
            yield (b"" if first else b",") + orjson.dumps(pending)[1:-1]
            first = False
            pending.clear()
    if pending:
        yield (b"" if first else b",") + orjson.dumps(pending)[1:-1]
    yield b"]"


def open_export(db: Database, principal: Principal, ref: str, *, as_of: datetime | None = None) -> Iterator[bytes]:
    """Resolve the dataset first (404s happen before streaming), then yield the export document in chunks."""

    def resolve(conn: Conn) -> dict[str, Any]:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref)
        if as_of is None:
            return dataset
        then = dataset_store.revision_as_of(conn, dataset_id=dataset["id"], at=as_of)
        if then is None:
            raise DatasetNotFound()
        return then

    def cases(conn: Conn, dataset: dict[str, Any]) -> Iterator[Any]:
        if as_of is None:
            for row in case_store.iter_export_rows(conn, dataset_id=dataset["id"]):
                yield dict(zip(_EXPORT_KEYS, (row[0], *map(fragment, row[1:])), strict=True))
        else:
            for state in history.states_as_of(conn, dataset_id=dataset["id"], at=as_of):
                yield export_case(state)

    def document(conn: Conn, dataset: dict[str, Any]) -> Iterator[bytes]:
        yield b'{"name":' + orjson.dumps(dataset["name"]) + b',"cases":'
        yield from stream_json_array(cases(conn, dataset))
        yield (
            b',"evaluators":'
            + orjson.dumps(dataset["evaluators"] or [])
            + b',"report_evaluators":'
            + orjson.dumps(dataset["report_evaluators"] or [])
            + b"}"
        )

    return streamed_read(db, resolve, document)
