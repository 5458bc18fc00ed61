"""The lane's records, written on a thread and connection of their own so the lane loop never waits on SQLite.

A write can wait seconds for the database lock (the uplink applying a clearance snapshot, a purge); the
barrier's reactions must not. Writes run in order on one worker thread; a busy database is retried, so a
record is late rather than lost. A write the storage refuses (disk full, I/O error, read-only) keeps its
record in a bounded queue in memory, with every record posted after it, and they are retried in order
(on each new record, and when the storage watch asks) until the store takes them; `StorageHealth` says so
meanwhile. Each record keeps the time it was posted, however late it is written. Any other failure is a
bad record: it is logged (with its traceback once per kind) and the records after it go on.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from edge.logs import FailureLog
from edge.recorder import Recorder
from edge.storage_health import StorageHealth, is_storage_error
from edge.store import Store
from pacing.backoff import Backoff

log = logging.getLogger("edge.lane_writer")

T = TypeVar("T")
BUSY_RETRY_S = 60.0  # how long a record waits for a locked database before it is given up
#: Records kept in memory while the storage refuses them: hours of a busy lane (a vehicle makes about ten).
MAX_WAITING = 20_000


class StoreUnavailable(Exception):
    """The store refuses writes: earlier records still wait for it, so this one would be out of order."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


@dataclass(slots=True)
class _Record:
    what: str
    fn: Callable[[Recorder], object]
    at: datetime  # when it was posted: the time it is recorded with


class LaneWriter:
    """One worker thread owning its own Store connection and Recorder."""

    def __init__(
        self,
        path: Path,
        gate_id: str,
        lane_id: str,
        health: StorageHealth | None = None,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._path = path
        self._gate_id = gate_id
        self._lane_id = lane_id
        self.health = health or StorageHealth(min_free_bytes=0)
        self._max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lane-store")
        self._recorder: Recorder | None = None
        self._failures = FailureLog(log)
        # Writer-thread state.
        self._waiting: deque[_Record] = deque()
        self._uncounted = 0  # the newest waiting records not yet counted as delayed (a suffix of the queue)
        self._at = datetime.now(UTC)  # the time of the record being written
        self._retry_queued = False

    @property
    def recorder(self) -> Recorder:
        """The writer thread's recorder (use it only through post() or call())."""
        if self._recorder is None:
            raise RuntimeError("LaneWriter.open() has not run")
        return self._recorder

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    def _open(self) -> None:
        self._recorder = Recorder(Store(self._path), self._gate_id, self._lane_id, wall=lambda: self._at)

    def post(self, what: str, fn: Callable[[Recorder], object]) -> None:
        """Queue a write and return at once; writes happen in the order they were posted."""
        self._executor.submit(self._write, _Record(what, fn, datetime.now(UTC)))

    async def call(self, fn: Callable[[Recorder], T], in_order: bool = True) -> T:
        """Run `fn` on the writer thread, after every write posted before it, and return its result.

        StoreUnavailable if earlier records still wait for the store (unless `in_order` is False).
        """
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, in_order)

    def retry(self) -> None:
        """Have the waiting records retried soon (from any thread)."""
        if not self._retry_queued:
            self._retry_queued = True
            self._executor.submit(self._retry)

    async def flush(self) -> None:
        """Wait until every write posted so far is written or waits for the store (tests, a clean stop)."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._drain)

    async def close(self) -> None:
        """Finish the queued writes (each record the store still refuses is logged as lost), then close."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        await loop.run_in_executor(None, self._executor.shutdown, True)

    # -- the writer thread ----------------------------------------------------------------------------
    def _with_retry(self, fn: Callable[[Recorder], T]) -> T:
        deadline = time.monotonic() + BUSY_RETRY_S
        pause = Backoff(0.05, 1.0)
        while True:
            try:
                return fn(self.recorder)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(pause.next())

    def _write(self, record: _Record) -> None:
        self._enqueue(record)
        self._drain()

    def _enqueue(self, record: _Record) -> None:
        if len(self._waiting) >= self._max_waiting:
            self.health.dropped_writes += 1
            log.error(
                "lane %s: %s (posted %s) lost: %d records already wait for the store",
                self._lane_id,
                record.what,
                record.at.isoformat(),
                len(self._waiting),
            )
            return
        self._waiting.append(record)
        self._uncounted += 1
        self.health.pending_writes = len(self._waiting)

    def _retry(self) -> None:
        self._retry_queued = False
        self._drain()

    def _drain(self) -> None:
        """Write the waiting records in order; stop at the first the storage refuses (it stays first)."""
        written = 0
        while self._waiting:
            record = self._waiting[0]
            self._at = record.at
            try:
                self._with_retry(record.fn)
            except Exception as exc:
                if is_storage_error(exc):
                    self._refused(exc)
                    return
                # A bad record, not a storage state: it must not stop the records after it.
                what = record.what
                self._failures.error(what, exc, "lane %s: %s failed: %s", self._lane_id, what, exc)
            else:
                written += 1
            self._waiting.popleft()
            self._uncounted = min(self._uncounted, len(self._waiting))
            self.health.pending_writes = len(self._waiting)
        if written and self.health.write_error is not None:
            log.warning(
                "lane %s: the store takes writes again; the waiting records are written", self._lane_id
            )
            self.health.write_error = None

    def _refused(self, exc: BaseException) -> None:
        """The storage refused the first waiting record: it and every record behind it wait."""
        if self._uncounted:
            newest = self._waiting[-1]
            self.health.delayed_writes += self._uncounted
            log.warning(
                "lane %s: %d more records wait for the store (%d in all; the newest %s posted %s): %s",
                self._lane_id,
                self._uncounted,
                len(self._waiting),
                newest.what,
                newest.at.isoformat(),
                exc,
            )
            self._uncounted = 0
        self._storage_failed(exc)

    def _storage_failed(self, exc: BaseException) -> None:
        """The storage refuses writes: say so once, and queue an alarm that central gets when it recovers."""
        if self.health.write_error is not None:
            self.health.write_error = str(exc)
            return
        log.error(
            "lane %s: the store refuses writes (%s): records wait in memory (at most %d) and are retried",
            self._lane_id,
            exc,
            self._max_waiting,
        )
        self.health.write_error = detail = str(exc)
        self._enqueue(
            _Record(
                "Alarm",
                lambda r: r.alarm(None, "store_write_failed", f"the store refused writes: {detail}"),
                datetime.now(UTC),
            )
        )

    def _call(self, fn: Callable[[Recorder], T], in_order: bool) -> T:
        self._drain()
        if in_order and self._waiting:
            raise StoreUnavailable(
                f"{self.health.write_error}; {len(self._waiting)} earlier records wait for the store"
            )
        self._at = datetime.now(UTC)
        try:
            result = self._with_retry(fn)
        except Exception as exc:
            if is_storage_error(exc):
                self._storage_failed(exc)
            raise
        if in_order:
            self.health.write_error = None
        return result

    def _close(self) -> None:
        try:
            self._drain()
        finally:
            for record in self._waiting:
                log.error(
                    "lane %s: %s (posted %s) lost at shutdown: the store refused it (%s)",
                    self._lane_id,
                    record.what,
                    record.at.isoformat(),
                    self.health.write_error,
                )
            self._waiting.clear()
            self.health.pending_writes = 0
            if self._recorder is not None:
                self._recorder.store.close()
