"""The outbox drainer: publishes undelivered events in seq order and marks them delivered on the broker's ack.

The outbox on disk is the source of truth, not paho's memory. Each connection starts a drain session that
reads from the oldest undelivered event; a session ends when the connection drops or the broker refuses an
event, and the next one starts again from the oldest undelivered event. Events the broker received but
whose acknowledgement was lost are therefore sent twice: central de-duplicates by event id. Memory stays
flat: at most ``inflight_window`` events in flight, two batches read ahead, and acknowledged seqs are
written back in batches.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pacing.backoff import Backoff
from sync.client import BROKER_JITTER, NO_MATCHING_SUBSCRIBERS, MqttLink, wait_set
from sync.config import SyncConfig
from sync.contract import GateTopics, encode_event
from sync.ports import OutboxRow, OutboxSource, StoreThread

log = logging.getLogger("sync.outbox")

SETTLE_S = 5.0  # after a refused event: how long to wait for the rest of the window's acks


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class DrainStats:
    published: int = 0
    delivered: int = 0
    refused: int = 0
    no_subscriber: int = 0
    telemetry_expired: int = 0
    sessions: int = 0
    last_refusal: str | None = None


class Drainer:
    """Drains one gate's outbox to the broker for as long as it runs."""

    def __init__(
        self,
        source: OutboxSource,
        store: StoreThread,
        link: MqttLink,
        topics: GateTopics,
        gate_id: str,
        config: SyncConfig,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._source = source
        self._store = store
        self._link = link
        self._topics = topics
        self._gate_id = gate_id
        self._config = config
        self._clock = clock
        self.stats = DrainStats()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._inflight: dict[int, tuple[int, bool]] = {}  # mid -> (seq, critical)
        self._acked: list[int] = []
        self._generation = -1
        self._refused: str | None = None
        self._flushing: asyncio.Future[None] | None = None
        self._hold = Backoff(config.backoff_initial_s, config.backoff_max_s, jitter=BROKER_JITTER)
        link.set_ack_sink(self._on_acks)
        link.add_listener(self._on_link)

    def notify(self) -> None:
        """New events were written: look now instead of at the next idle poll."""
        self._wake.set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def run(self) -> None:
        while True:
            await self._link.wait_connected()
            try:
                await self._session(self._link.generation)
            finally:
                await self._flush()
            if self._refused is not None:
                await asyncio.sleep(self._hold.next())
            else:
                self._hold.reset()

    async def _session(self, generation: int) -> None:
        self._generation = generation
        self._inflight = {}
        self._refused = None
        self.stats.sessions += 1
        window = self._config.inflight_window
        if self._link.receive_maximum:
            window = max(1, min(window, self._link.receive_maximum - 4))
        cursor = 0
        prev_event: int | None = None
        first = True
        ahead = asyncio.ensure_future(self._read(cursor))
        try:
            while self._live(generation):
                batch = await ahead
                if not batch:
                    await self._idle(generation)
                    ahead = asyncio.ensure_future(self._read(cursor))
                    continue
                cursor = batch[-1].seq
                ahead = asyncio.ensure_future(self._read(cursor))
                if first:
                    prev_event = await self._store.call(
                        functools.partial(self._source.previous_event_seq, batch[0].seq)
                    )
                    first = False
                for row in batch:
                    if len(self._inflight) >= window:
                        await self._refill_point(generation, window)
                    if not self._live(generation):
                        break
                    prev_event = self._publish(row, prev_event)
                if len(self._acked) >= self._config.batch_size and self._flushing is None:
                    # Written back while the next batch is published; only one write at a time.
                    self._flushing = asyncio.ensure_future(self._flush())
            if self._refused is not None:
                await self._settle(generation)
        finally:
            ahead.cancel()
            # asyncio.wait, not await: it neither raises ahead's cancellation nor swallows our own.
            await asyncio.wait([ahead])

    async def _refill_point(self, generation: int, window: int) -> None:
        """Wait until half the window is acknowledged: refilling in bursts, not one by one, halves the
        wake-ups of the loop and of paho's thread."""
        low = window // 2
        while len(self._inflight) > low and self._live(generation):
            self._space.clear()
            await self._space.wait()

    async def _read(self, after_seq: int) -> list[OutboxRow]:
        limit = self._config.batch_size
        return list(await self._store.call(lambda: self._source.pending(after_seq, limit)))

    def _publish(self, row: OutboxRow, prev_event: int | None) -> int | None:
        """Publish one row; returns the prev_seq the next event must carry."""
        if row.critical:
            topic, expiry, expires_at = self._topics.events, None, None
        else:
            age = (self._clock() - row.created_at).total_seconds()
            remaining = int(self._config.telemetry_expiry_s - age)
            if remaining <= 0:  # past its lifetime: retired unsent
                self.stats.telemetry_expired += 1
                self._acked.append(row.seq)
                return prev_event
            topic, expiry = self._topics.telemetry, remaining
            expires_at = row.created_at.timestamp() + self._config.telemetry_expiry_s
        body = encode_event(
            event_id=row.event_id,
            gate_id=self._gate_id,
            seq=row.seq,
            prev_seq=prev_event if row.critical else None,
            kind=row.kind,
            at=row.created_at,
            payload=row.payload,
            expires_at=None if expires_at is None else datetime.fromtimestamp(expires_at, UTC),
        )
        mid = self._link.publish(topic, body, expiry_s=expiry)
        if mid is None:
            return prev_event  # the connection went: this session ends at the next check
        self._inflight[mid] = (row.seq, row.critical)
        self.stats.published += 1
        return row.seq if row.critical else prev_event

    def _on_acks(self, generation: int, acks: list[tuple[int, int]]) -> None:
        if generation != self._generation:
            return  # an older connection's: those events will be resent
        hold_unheard = self._config.require_subscriber
        for mid, reason in acks:
            entry = self._inflight.pop(mid, None)
            if entry is None:
                continue
            seq, critical = entry
            if reason >= 0x80 or (reason == NO_MATCHING_SUBSCRIBERS and critical and hold_unheard):
                if reason == NO_MATCHING_SUBSCRIBERS:
                    self.stats.no_subscriber += 1
                    why = "no subscriber for events at the broker (is central subscribed?)"
                else:
                    why = f"broker refused event seq {seq}: reason code {reason}"
                self.stats.refused += 1
                if self._refused is None:
                    log.warning("holding the outbox: %s", why)
                self._refused = why
                self.stats.last_refusal = why
            else:
                self._acked.append(seq)
        self._space.set()
        self._wake.set()

    def _on_link(self, up: bool) -> None:
        self._space.set()
        self._wake.set()

    def _live(self, generation: int) -> bool:
        return self._refused is None and self._link.connected and self._link.generation == generation

    async def _idle(self, generation: int) -> None:
        await self._flush()
        self._wake.clear()
        if self._live(generation):
            await wait_set(self._wake, self._config.idle_poll_s)

    async def _settle(self, generation: int) -> None:
        """Let the rest of the window's acks arrive, so the retry resends only what needs it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_S
        while self._inflight and self._link.connected and self._link.generation == generation:
            self._space.clear()
            await wait_set(self._space, deadline - loop.time())
            if loop.time() >= deadline:
                break

    async def _flush(self) -> None:
        """Mark acknowledged events delivered (after any write already under way)."""
        running = self._flushing
        if running is not None and running is not asyncio.current_task():
            await asyncio.wait([running])
        try:
            if not self._acked:
                return
            seqs, self._acked = self._acked, []
            at = self._clock()
            marked = await self._store.call(lambda: self._source.mark_delivered(seqs, at))
            self.stats.delivered += marked
        finally:
            if self._flushing is asyncio.current_task():
                self._flushing = None
