"""The lane's records, written on a thread and connection of their own so the lane loop never waits on SQLite.

A write can wait seconds for the database lock (the uplink applying a clearance snapshot, a purge); the
barrier's reactions must not. Writes run in order on one worker thread; a busy database is retried, so a
record is late rather than lost; any other failure is logged (with its traceback once per kind).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from edge.logs import FailureLog
from edge.recorder import Recorder
from edge.store import Store

log = logging.getLogger("edge.lane_writer")

T = TypeVar("T")
BUSY_RETRY_S = 60.0  # how long a record waits for a locked database before it is given up


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class LaneWriter:
    """One worker thread owning its own Store connection and Recorder."""

    def __init__(self, path: Path, gate_id: str, lane_id: str, lane_name: str | None = None) -> None:
        self._path = path
        self._gate_id = gate_id
        self._lane_id = lane_id
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lane-store")
        self._recorder: Recorder | None = None
        self._failures = FailureLog(log)

    @property
    def recorder(self) -> Recorder:
        """The writer thread's recorder (use it only through post() or call())."""
        if self._recorder is None:
            raise RuntimeError("LaneWriter.open() has not run")
        return self._recorder

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    def _open(self) -> None:
        self._recorder = Recorder(Store(self._path), self._gate_id, self._lane_id)

    def post(self, what: str, fn: Callable[[Recorder], object]) -> None:
        """Queue a write and return at once; writes happen in the order they were posted."""
        self._executor.submit(self._guarded, what, fn)

    async def call(self, fn: Callable[[Recorder], T]) -> T:
        """Run `fn` on the writer thread, after every write posted before it, and return its result."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._with_retry, fn)

    async def flush(self) -> None:
        """Wait until every write posted so far is done (tests, and a clean stop)."""
        await self.call(lambda _: None)

    async def close(self) -> None:
        """Finish the queued writes, then close the connection."""
        loop = asyncio.get_running_loop()
        if self._recorder is not None:
            await loop.run_in_executor(self._executor, self._recorder.store.close)
        await loop.run_in_executor(None, self._executor.shutdown, True)

    def _with_retry(self, fn: Callable[[Recorder], T]) -> T:
        deadline = time.monotonic() + BUSY_RETRY_S
        delay = 0.05
        while True:
            try:
                return fn(self.recorder)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _guarded(self, what: str, fn: Callable[[Recorder], object]) -> None:
        try:
            self._with_retry(fn)
        except Exception as exc:  # a failed record must not stop the records after it
            self._failures.error(what, exc, "lane %s: %s failed: %s", self._lane_id, what, exc)
