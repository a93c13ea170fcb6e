"""Export a dataset in the pydantic-evals file shape, streamed, now or as it was at a past moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evalset.server.domain.auth import Principal
from evalset.server.domain.cases import export_case
from evalset.server.errors import DatasetNotFound
from evalset.server.services._common import retry_on_contention, streamed_read, utcnow
from evalset.server.storage import Conn, Database, history
from evalset.server.storage import cases as case_store
from evalset.server.storage import datasets as dataset_store
from evalset.server.wire import dumps

__all__ = ["open_export", "pin_moment", "stream_json_array"]

BATCH = 2000


def stream_json_array(items: Iterator[Any], *, batch: int = BATCH) -> Iterator[bytes]:
    """Serialise an iterator as one JSON array, a batch of items per chunk (one orjson call each)."""
    yield b"["
    first = True
    pending: list[Any] = []
    for item in items:
        pending.append(item)
        if len(pending) >= batch:
            yield (b"" if first else b",") + dumps(pending)[1:-1]
            first = False
            pending.clear()
    if pending:
        yield (b"" if first else b",") + dumps(pending)[1:-1]
    yield b"]"


@retry_on_contention
def pin_moment(db: Database, principal: Principal, ref: str) -> datetime:
    """Now, as a moment whose dataset state will never change: `open_export(as_of=<it>)` returns the same
    cases today and in a year (until the dataset is deleted), so an evaluation can name what it ran on.

    Every write to a dataset or its cases stamps its time while holding the dataset's write lock (its
    row lock on PostgreSQL, the write lock of the file on SQLite). Taking the moment under that lock
    means every write stamped earlier has committed, and every later one will be stamped later.
    """
    with db.write() as conn:
        dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref, for_write=True)
        return utcnow()


def open_export(
    db: Database, principal: Principal, ref: str, *, as_of: datetime | None = None, include_tags: bool = False
) -> Iterator[bytes]:
    """Resolve the dataset first (404s happen before streaming), then yield the export document in chunks;
    with `include_tags`, each case has its `tags` too."""

    def resolve(conn: Conn) -> dict[str, Any]:
        dataset = dataset_store.get_dataset(conn, project_id=principal.project_id, ref=ref)
        if as_of is None:
            return dataset
        then = dataset_store.revision_as_of(conn, dataset_id=dataset["id"], at=as_of)
        if then is None:
            raise DatasetNotFound()
        return then

    def document(conn: Conn, dataset: dict[str, Any]) -> Iterator[bytes]:
        if as_of is None:
            cases = case_store.iter_export_json(conn, dataset_id=dataset["id"], include_tags=include_tags)
        else:
            states = history.states_as_of(conn, dataset_id=dataset["id"], at=as_of)
            cases = (export_case(state, include_tags=include_tags) for state in states)
        return _document(dataset, cases)

    return streamed_read(db, resolve, document)


def _document(dataset: dict[str, Any], cases: Iterator[Any]) -> Iterator[bytes]:
    yield b'{"name":' + dumps(dataset["name"]) + b',"cases":'
    yield from stream_json_array(cases)
    yield (
        b',"evaluators":'
        + dumps(dataset["evaluators"] or [])
        + b',"report_evaluators":'
        + dumps(dataset["report_evaluators"] or [])
        + b"}"
    )
