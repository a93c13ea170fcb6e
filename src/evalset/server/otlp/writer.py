"""The batch writer: a bounded queue of decoded spans, and one thread committing them in batches.

Receiving a trace export costs a request only the decoding: `SpanWriter.offer` queues the records (or
refuses them when the queue is full, which the route answers with 503 and Retry-After), and the writer
thread commits what has queued up, many exports per transaction. After each commit it calls the
registered `SpanConsumer`s with each project's part of the batch. A consumer's error is logged and
never undoes or loses the batch. A failed write is retried (the database may be restarting): spans
are only dropped, with an error in the log, when the database refuses them one by one.

The same thread runs retention: every `cleanup_interval` seconds it deletes traces older than the
retention period, a few hundred traces per transaction, so dataset writes are never held up for long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import timedelta

from evalset.server.domain.spans import SpanConsumer, SpanRecord
from evalset.server.storage import Database

__all__ = ["SpanWriter"]

log = logging.getLogger("evalset.otlp")

Batch = tuple[str, Sequence[SpanRecord]]  # (project_id, records) as offered


class SpanWriter:
    """Bounded span queue plus the thread that commits it. Thread-safe; `offer` never blocks."""

    def __init__(
        self,
        db: Database,
        *,
        consumers: Iterable[SpanConsumer] = (),
        max_queued_spans: int = 100_000,
        batch_spans: int = 2_048,  # per transaction: on SQLite, dataset writes wait at most one of these
        retention: timedelta | None = timedelta(days=30),
        cleanup_interval: float = 3600.0,
    ) -> None:
        from evalset.server.services import traces

        self.db = db
        self.consumers: list[SpanConsumer] = list(consumers)
        self.max_queued_spans = max_queued_spans
        self.batch_spans = batch_spans
        self.retention = retention
        self.cleanup_interval = cleanup_interval
        self._store_batches = traces.store_batches
        self._expire = traces.expire_old_traces
        self._queue: deque[Batch] = deque()
        self._queued = 0  # spans in _queue
        self._offered = 0  # exports ever accepted
        self._done = 0  # exports committed (or given up on)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._next_cleanup = time.monotonic() + min(60.0, cleanup_interval)

    # --- the request side ---------------------------------------------------------------------

    def add_consumer(self, consumer: SpanConsumer) -> None:
        """Call `consumer` after every committed batch (from now on)."""
        self.consumers.append(consumer)

    @property
    def queued_spans(self) -> int:
        return self._queued

    def offer(self, project_id: str, records: Sequence[SpanRecord]) -> bool:
        """Queue one export's records for `project_id`; False (nothing queued) when the queue is full.
        An export larger than the whole queue is taken when the queue is empty, so it can always get in."""
        if not records:
            return True
        with self._cond:
            if self._queued and self._queued + len(records) > self.max_queued_spans:
                return False
            self._queue.append((project_id, records))
            self._queued += len(records)
            self._offered += 1
            self._cond.notify()
        self.start()
        return True

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything offered before this call is committed; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._offered
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # --- the writer thread ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (once; `offer` starts it too)."""
        with self._cond:
            if self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(target=self._run, name="evalset-span-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _take(self) -> list[Batch] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                wait = self._next_cleanup - time.monotonic()
                if wait <= 0:
                    return []
                self._cond.wait(wait)
            taken: list[Batch] = []
            count = 0
            while self._queue and count < self.batch_spans:
                item = self._queue.popleft()
                taken.append(item)
                count += len(item[1])
            self._queued -= count
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            if taken:
                self._commit(taken)
                with self._cond:
                    self._done += len(taken)
                    self._cond.notify_all()
            if time.monotonic() >= self._next_cleanup:
                self._cleanup()

    def _commit(self, taken: list[Batch]) -> None:
        by_project: dict[str, list[SpanRecord]] = {}
        for project_id, records in taken:
            by_project.setdefault(project_id, []).extend(records)
        written = self._write(by_project)
        for project_id, records in written.items():
            for consumer in list(self.consumers):
                try:
                    consumer(self.db, project_id, records)
                except Exception:
                    log.exception(
                        "span consumer %r failed on %d spans of project %s", consumer, len(records), project_id
                    )

    def _write(self, by_project: dict[str, list[SpanRecord]]) -> dict[str, list[SpanRecord]]:
        """Write every project's spans, retrying while the database is unreachable; what was written."""
        delay = 0.05
        for attempt in range(6):
            try:
                self._store_batches(self.db, by_project)
                return by_project
            except Exception as error:  # a restarting database, a full disk: try again shortly
                if self._stopping and attempt >= 2:
                    break
                log.warning("writing %d spans failed (%s); retrying", sum(map(len, by_project.values())), error)
                time.sleep(delay)
                delay = min(delay * 4, 5.0)
        return self._write_each(by_project)

    def _write_each(self, by_project: dict[str, list[SpanRecord]]) -> dict[str, list[SpanRecord]]:
        """Last resort: span by span, so one span the database refuses does not take its batch with it."""
        written: dict[str, list[SpanRecord]] = {}
        for project_id, records in by_project.items():
            for record in records:
                try:
                    self._store_batches(self.db, {project_id: [record]})
                except Exception:
                    log.exception(
                        "span %s of trace %s (project %s) could not be stored; dropped",
                        record.span_id,
                        record.trace_id,
                        project_id,
                    )
                else:
                    written.setdefault(project_id, []).append(record)
        return written

    def _cleanup(self) -> None:
        self._next_cleanup = time.monotonic() + self.cleanup_interval
        if self.retention is None:
            return
        try:
            removed = self._expire(self.db, retention=self.retention)
        except Exception:
            log.exception("trace retention cleanup failed; trying again in %.0f s", self.cleanup_interval)
            return
        if removed:
            log.info("retention: deleted %d traces older than %s", removed, self.retention)
