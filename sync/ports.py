"""What the uplink needs from the gate, as Protocols: sync/ never imports the gate's packages.

The gate's store satisfies :class:`OutboxSource` (its outbox repository plus one query), and the gate adapts
its declaration cache, audit trail and lane to the other protocols (see ``edge/uplink.py``). Store-facing
objects are used from one dedicated thread (:class:`StoreThread`): sqlite connections stay in one thread and
the event loop never waits on a disk write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class OutboxRow(Protocol):
    """One stored event (the gate's ``OutboxEvent``)."""

    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def critical(self) -> bool: ...


class OutboxSource(Protocol):
    """The durable outbox: the source of truth for what central has not yet acknowledged."""

    def pending(self, after_seq: int = 0, limit: int = 500) -> Sequence[OutboxRow]: ...
    def mark_delivered(self, seqs: Iterable[int], at: datetime) -> int: ...
    def depth(self) -> int: ...
    def oldest_pending_at(self) -> datetime | None: ...
    def drop_telemetry_oldest(self, keep: int) -> int: ...
    def purge_delivered(self, before: datetime) -> int: ...
    def append(
        self, kind: str, payload: Mapping[str, Any], at: datetime, critical: bool = True
    ) -> object: ...
    def previous_event_seq(self, before_seq: int) -> int | None:
        """The seq of the newest critical (non-telemetry) event below ``before_seq`` still stored."""
        ...


class GateControl(Protocol):
    """The lane, as commands and telemetry see it; called on the event loop."""

    def lane_status(self) -> dict[str, Any]:
        """Lane, device and camera status (keys lane, devices, cameras, recognition_latency_ms)."""
        ...

    def open_refusal(self) -> str | None:
        """Why the lane cannot open the barrier now (link down, already open, ...), or None."""
        ...

    def open_barrier(self, actor: str, reason: str) -> None:
        """Open the barrier on central's order (only called when open_refusal() said None)."""
        ...


class StoreThread:
    """A single worker thread for every call that touches the gate's store."""

    def __init__(self, name: str = "sync-store") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store thread and wait for its result without blocking the loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def call_sync(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store thread from outside the event loop (start-up), blocking until done."""
        return self._executor.submit(fn).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
