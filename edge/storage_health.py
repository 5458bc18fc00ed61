"""Whether the lane's store can keep its records: free space against a watermark, and writes that failed.

On a full file system records used to vanish with a log line as the only trace, while /readyz said ready.
This holds the figures that make such trouble loud: the kiosk's fault list, /readyz and /metrics read
them. The writer thread sets the write figures, the watch task the free-space ones; each field is one
atomic store, so a reader sees each figure whole (the sentence may mix two moments, never a torn value).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("edge.storage_health")

MB = 1024 * 1024

#: SQLite's primary result codes that mean "the storage under the database", not a bug or a bad record:
#: FULL (disk or quota full), IOERR (any I/O error), READONLY (remounted read-only), CANTOPEN (the file
#: or its journal cannot be opened, e.g. out of inodes). Such a write may well succeed later.
_STORAGE_CODES = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN}
)


def is_storage_error(exc: BaseException) -> bool:
    """True for a SQLite error caused by the disk (full, I/O, read-only), which a retry can outlive."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and isinstance(code, int) and code & 0xFF in _STORAGE_CODES


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding `folder`."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


@dataclass(slots=True)
class StorageHealth:
    """The store's trouble now, and counters of what it cost."""

    min_free_bytes: int
    free_bytes: int | None = None  # None until first measured
    probe_error: str | None = None  # why the free space could not be measured
    write_error: str | None = None  # the last storage error while writes fail; None once one succeeds
    pending_writes: int = 0  # records kept in memory, waiting for the store
    delayed_writes: int = 0  # records that had to wait (counter)
    dropped_writes: int = 0  # records given up because the wait queue was full (counter)

    @property
    def low_space(self) -> bool:
        return self.free_bytes is not None and self.free_bytes < self.min_free_bytes

    @property
    def ok(self) -> bool:
        return self.fault() is None

    def fault(self) -> str | None:
        """What is wrong with the store, in words, or None."""
        problems = []
        # A record being written is pending too, for a moment: only a refusal by the storage is a fault.
        if self.write_error is not None:
            problems.append(
                f"writes failing ({self.write_error}); {self.pending_writes} records wait in memory"
            )
        if self.dropped_writes:
            problems.append(f"{self.dropped_writes} records lost: too many waited")
        if self.low_space and self.free_bytes is not None:
            problems.append(
                f"free space {self.free_bytes / MB:.0f} MB, below {self.min_free_bytes / MB:.0f} MB"
            )
        if self.probe_error is not None:
            problems.append(f"free space unknown: {self.probe_error}")
        return "; ".join(problems) or None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "detail": self.fault() or "ok",
            "free_mb": None if self.free_bytes is None else round(self.free_bytes / MB, 1),
            "min_free_mb": round(self.min_free_bytes / MB, 1),
            "pending_writes": self.pending_writes,
            "delayed_writes": self.delayed_writes,
            "dropped_writes": self.dropped_writes,
        }


@dataclass
class StorageWatch:
    """Measures the free space every `every_s` and has writes that failed retried meanwhile.

    `on_low(detail)` runs once each time the space falls below the watermark (the daemon records an
    alarm, while there is still room for it); `retry()` runs every round in which records wait.
    """

    health: StorageHealth
    folder: Path
    every_s: float
    retry: Callable[[], None]
    on_low: Callable[[str], None]

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.every_s)

    async def check(self) -> None:
        """One round: measure the free space, raise or clear the low-space state, retry waiting writes."""
        health = self.health
        was_low = health.low_space
        try:
            health.free_bytes = await asyncio.to_thread(free_bytes, self.folder)
            health.probe_error = None
        except OSError as exc:
            if health.probe_error is None:
                log.error("cannot measure the free space of %s: %s", self.folder, exc)
            health.probe_error = str(exc)
        if health.low_space and not was_low:
            detail = f"store {self.folder}: {health.fault()}"
            log.error("storage low: %s", detail)
            self.on_low(detail)
        elif was_low and not health.low_space:
            log.warning("storage: free space above the watermark again (%s)", health.as_dict()["free_mb"])
        if health.pending_writes:
            self.retry()
