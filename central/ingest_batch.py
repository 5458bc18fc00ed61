"""The receiver's ingest queue: paho's thread hands messages over, one writer thread takes them in batches.

Why: one transaction per message holds an instance to about a thousand events a second (one commit, one
round trip each); hundreds of events in one transaction share that cost. The queue is bounded (paho's thread
waits when it is full, and an MQTT 5 broker sends no more unacknowledged messages than the instance's
Receive Maximum, which is this capacity), and messages are acknowledged only after their batch committed.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

M = TypeVar("M")

POLL_S = 0.1  # how often a wait looks at the stop flag
RECEIVE_MAXIMUM_LIMIT = 65535  # MQTT 5's largest Receive Maximum


@dataclass(frozen=True)
class BatchLimits:
    """How the writer batches: at most ``max_messages`` per transaction, waiting at most ``max_wait_s``
    for a batch to fill; ``capacity`` messages held (received, not yet stored) at most."""

    max_messages: int = 500
    max_wait_s: float = 0.02
    capacity: int = 2000

    def __post_init__(self) -> None:
        if self.max_messages < 1:
            raise ValueError(f"batch max_messages must be at least 1, not {self.max_messages}")
        if not 0 <= self.max_wait_s <= 10:
            raise ValueError(f"batch max_wait_s must be between 0 and 10 s, not {self.max_wait_s}")
        if not self.max_messages <= self.capacity <= RECEIVE_MAXIMUM_LIMIT:
            raise ValueError(
                f"batch capacity must be between max_messages ({self.max_messages}) and"
                f" {RECEIVE_MAXIMUM_LIMIT}, not {self.capacity}"
            )


DEFAULT_BATCHES = BatchLimits()


class IngestQueue(Generic[M]):
    """A bounded FIFO between one producer and one consumer, each of which gives up once ``stop`` is set."""

    def __init__(self, limits: BatchLimits, stop: threading.Event) -> None:
        self._limits = limits
        self._stop = stop
        self._items: queue.Queue[M] = queue.Queue(limits.capacity)

    def put(self, item: M) -> bool:
        """Add ``item``, waiting while the queue is full; False: stopped first (the item was not added)."""
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def take(self) -> list[M]:
        """The next batch: up to ``max_messages``, gathered for at most ``max_wait_s`` after the first
        arrived; [] when nothing arrived within a poll interval or the queue is stopping."""
        try:
            batch = [self._items.get(timeout=POLL_S)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self._limits.max_wait_s
        while len(batch) < self._limits.max_messages and not self._stop.is_set():
            try:
                batch.append(self._items.get_nowait())
                continue
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self._items.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def __len__(self) -> int:
        return self._items.qsize()
