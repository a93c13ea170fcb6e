"""Import and bulk create, read from the request's bytes a batch at a time (docs/performance.md, memory).

Parsing a 10,000-case body at once makes about four times its size in Python objects, and its answer
(every case, with ids and timestamps) is twice its size again. Here the body is kept as bytes (1x) and
cut into its cases without parsing them (msgspec: each case a view of the bytes); each case is parsed by
pydantic exactly as the whole body would be, then checked and written with its batch in the one
transaction (`services.cases.write_case_batches`). The answer goes, batch by batch, to a temporary file
(in memory while under 256 KiB), streamed once committed.

Only successes are answered from here. Anything else (a body msgspec cannot cut, a case that does not
parse, breaks a rule or the schema, a duplicate name, a conflict, an unknown dataset, a refused key)
rolls back and is answered by the whole-body route, which parses everything at once and reports every
problem exactly as before: one code path for errors, whatever this one does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
from anyio import to_thread
from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from evalset.server.api.deps import json_response
from evalset.server.api.inputs import RawBody
from evalset.server.errors import EvalsetError
from evalset.server.services import keys
from evalset.server.services.cases import CaseSink, NotBatchable
from evalset.server.wire import dumps

__all__ = ["cases_body", "write_in_batches", "BATCH_CASES", "BATCH_BYTES"]

BATCH_CASES = 1000
BATCH_BYTES = 64 * 1024
"""A batch ends at this many cases or this many bytes of request JSON: a batch's working set (its cases
parsed, their rows and search text, its answer) is several times its bytes, so it is kept small. The
import's own cost per batch (a name lookup, an insert, a count update) stays small beside the cases':
at 64 KiB, a 10,000-case import of 4.3 MB writes in about 70 batches."""
SPOOL_IN_MEMORY = 256 * 1024
"""An answer larger than this goes to a temporary file (in TMPDIR) until it is sent."""
_CHUNK = 64 * 1024


class _Cases(msgspec.Struct, forbid_unknown_fields=True):
    cases: list[msgspec.Raw]


_CUT = msgspec.json.Decoder(_Cases)


def cases_body(raw: Any) -> Any:
    """The dependency giving a route its RawBody (`raw`, from `inputs.raw_json_body`). A request whose
    Authorization header the key check will refuse before the route runs (missing or malformed) has its
    body parsed whole here first: on every JSON route a bad body is a 422 before that 401."""

    async def body(request: Request, data: RawBody = raw) -> RawBody:  # (a default: `raw` is not a global)
        try:
            keys.check_header(request.headers.get("authorization"))
        except EvalsetError:
            await to_thread.run_sync(data.parse_whole)
        return data

    return Depends(body)


WriteBatches = Callable[[Callable[[], Iterable[list[dict[str, Any]]]], CaseSink], None]


def write_in_batches(
    body: RawBody,
    case: TypeAdapter[Any],
    write_batches: WriteBatches,
    write_all: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> Response:
    """Answer a `{"cases": [...]}` write: through `write_batches(batches, sink)` with each case parsed by
    `case` (see the module docstring), or, for anything but a success, through `write_all(cases)` with the
    body parsed whole."""
    try:
        try:
            cases = _CUT.decode(body.data).cases
        except (msgspec.DecodeError, msgspec.ValidationError):
            cases = None
        if cases is not None:
            answer = _Answer()
            first = [cases]  # a run consumes its views; a run again (a lost race) cuts the body anew
            try:
                write_batches(lambda: _batches(first.pop() if first else _CUT.decode(body.data).cases, case), answer)
            except NotBatchable:
                answer.close()
            except EvalsetError as error:
                answer.close()
                if error.status_code >= 500:
                    raise
            except BaseException:
                answer.close()
                raise
            else:
                return answer.response()
            del cases  # views of the body: the whole-body parse below does not need them
        return json_response(write_all(body.parse_whole()["cases"]))
    finally:
        body.release()


def _batches(cases: list[msgspec.Raw], case: TypeAdapter[Any]) -> Iterator[list[dict[str, Any]]]:
    """`cases` parsed, a batch at a time; each view is dropped from `cases` once parsed, so that the memory
    of the views read so far serves what the import keeps (the names seen) instead of adding to it."""
    batch: list[dict[str, Any]] = []
    size = 0
    cases.reverse()
    while cases:
        raw = cases.pop()
        try:
            batch.append(case.validate_json(bytes(raw)))
        except ValidationError:
            raise NotBatchable("a case that does not parse") from None
        size += len(raw)
        if len(batch) >= BATCH_CASES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _Answer:
    """The JSON array of resulting cases, serialised batch by batch into a spooled temporary file; the
    same bytes as serialising the whole list at once."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the stream
        self.count = 0

    def restart(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.count = 0

    def add(self, cases: list[dict[str, Any]]) -> None:
        if not cases:
            return
        self.file.write(b"," if self.count else b"[")
        self.file.write(memoryview(dumps(cases))[1:-1])
        self.count += len(cases)

    def close(self) -> None:
        self.file.close()

    def response(self) -> Response:
        self.file.write(b"]" if self.count else b"[]")
        size = self.file.tell()
        self.file.seek(0)
        return StreamingResponse(self._chunks(), media_type="application/json", headers={"content-length": str(size)})

    def _chunks(self) -> Iterator[bytes]:
        try:
            while chunk := self.file.read(_CHUNK):
                yield chunk
        finally:
            self.file.close()
