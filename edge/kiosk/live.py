"""The live feed: every lane step the daemon reports becomes a fresh lane view pushed to each open screen.

The daemon calls `LiveHub.on_lane_event` on its loop, between lane events; the hub only schedules a push
(several steps in one loop turn become one view), so a screen never slows the lane. Each subscriber keeps
only the newest view: a slow screen skips stale pictures instead of queueing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from edge.decision import Decision
from edge.kiosk.lane_alarms import LaneAlarms
from edge.kiosk.views import LaneView, lane_view
from vision.identity import Identification

if TYPE_CHECKING:
    from edge.kiosk.lane_access import LaneAccess

log = logging.getLogger("edge.kiosk.live")

SyncStatus = Callable[[], Mapping[str, Any]]
"""The uplink's status (edge.uplink.Uplink.status): connected, clearance_age_s, alarms, ..."""

HEARTBEAT_S = 1.0  # device health (weight, link) changes without a lane step: refresh at least this often
_KEEP_TX = 32  # decisions kept for the screen: the current vehicle and a few before it


class _Closed:
    """Sentinel: the hub is shutting down; streams end."""


CLOSED = _Closed()


class Subscriber:
    """One open screen: a one-slot mailbox holding the newest view."""

    def __init__(self) -> None:
        self._box: asyncio.Queue[str | _Closed] = asyncio.Queue(maxsize=1)

    def offer(self, item: str | _Closed) -> None:
        if self._box.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._box.get_nowait()
        self._box.put_nowait(item)

    async def next(self, timeout: float) -> str | _Closed | None:
        """The next view, CLOSED at shutdown, or None after `timeout` seconds of quiet."""
        try:
            async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it can swallow a cancellation
                return await self._box.get()
        except TimeoutError:
            return None


class LiveHub:
    """Turns daemon steps into lane views for every subscriber, and remembers decisions and camera reads."""

    def __init__(self, lane: LaneAccess, sync_status: SyncStatus | None = None) -> None:
        self._lane = lane
        self._sync_status = sync_status
        self._subscribers: set[Subscriber] = set()
        self._pending = False
        self._closed = False
        self._heartbeat: asyncio.Task[None] | None = None
        self.decisions: OrderedDict[str, Decision] = OrderedDict()
        self.camera_reads: OrderedDict[str, Identification] = OrderedDict()
        self.pushes = 0
        self.alarms = LaneAlarms(lane.view.state, lambda: datetime.now(UTC))
        lane.add_listener(self.on_lane_event)

    # -- fed by the daemon ----------------------------------------------------------------------
    def on_lane_event(self, kind: str, data: dict[str, Any]) -> None:
        self.alarms.on_lane_event(kind, data)
        if kind == "decided":
            tx_id = str(data["tx_id"])
            decision = data.get("decision")
            if isinstance(decision, Decision):
                self.decisions[tx_id] = decision
                self._trim(self.decisions)
            ident = data.get("identification")
            if isinstance(ident, Identification) and tx_id not in self.camera_reads:
                self.camera_reads[tx_id] = ident  # the first decision runs on the cameras' reads
                self._trim(self.camera_reads)
        self.poke()

    @staticmethod
    def _trim(kept: OrderedDict[str, Any]) -> None:
        while len(kept) > _KEEP_TX:
            kept.popitem(last=False)

    def poke(self) -> None:
        """Push a fresh view soon (once per loop turn, however many steps came in it)."""
        if self._pending or self._closed or not self._subscribers:
            return
        self._pending = True
        asyncio.get_running_loop().call_soon(self._flush)

    def view(self) -> LaneView:
        sync = self._sync_status() if self._sync_status is not None else {}
        return lane_view(self._lane, self.decisions, self.camera_reads, sync, self.alarms.active)

    def _flush(self) -> None:
        self._pending = False
        if self._closed or not self._subscribers:
            return
        try:
            payload = self.view().model_dump_json()
        except Exception:  # a view that cannot be built must not kill the feed; it is logged once per push
            log.exception("lane view could not be built")
            return
        self.pushes += 1
        for subscriber in self._subscribers:
            subscriber.offer(payload)

    # -- screens ----------------------------------------------------------------------------------
    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        if self._closed:
            subscriber.offer(CLOSED)
        else:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._heartbeat is None and not self._closed:
            self._heartbeat = asyncio.create_task(self._beat(), name="kiosk-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            self.poke()

    async def close(self) -> None:
        """End every stream (so the server can stop at once) and the heartbeat."""
        self._closed = True
        for subscriber in self._subscribers:
            subscriber.offer(CLOSED)
        self._subscribers.clear()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
