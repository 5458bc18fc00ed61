"""The lane loop: polls the I/O controller, steps the pure `Lane` and drives the barrier and the light.

It runs alone in the lane process (`edge/lane_process.py`). Device callbacks and timers become lane events
on one queue; one task feeds them to the `Lane` and carries out what it returns: barrier and light
commands here, everything else (records, announcements, recognition, decisions) handed to the main loop
as a `LaneMessage`. Events from outside (officers, identification, decisions) come in through `offer`,
bounded. After every step an immutable `LaneStatus` is published for everyone else to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from devices.barrier import Barrier, InterlockRefused
from devices.lane_inputs import InputChanged, InputSnapshot, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, IOWriteError, LaneIO
from devices.scale.driver import ScaleDriver
from devices.scale.reading import ScaleEvent, ScaleFault, ScaleRecovered, StableWeight, WeightReading
from edge.config import GateConfig
from edge.lane import Lane
from edge.lane_events import (
    Alarm,
    CloseBarrier,
    Inputs,
    LaneAction,
    LaneEvent,
    LinkLost,
    LinkRestored,
    OfficerApproved,
    OfficerCorrected,
    OfficerRejected,
    OpenBarrier,
    ScaleFaulted,
    ScaleStable,
    ScaleUnstable,
    SetLight,
    Tick,
)
from edge.lane_events import ScaleRecovered as LaneScaleRecovered
from edge.lane_health import DeviceHealth
from edge.lane_lag import LagRecorder
from edge.lane_messages import AlarmRaised, Announced, DeviceFaulted, LaneMessage, LaneStarted, OfficerApplied
from edge.lane_status import LaneStatus
from edge.logs import FailureLog
from edge.task_stop import cancel_within
from edge.watchdog import Heartbeat

log = logging.getLogger("edge.lane_core")

TICK_S = 0.05
#: The lane loop handles a Tick every TICK_S; this long without handling any event means it is stuck.
LANE_LOOP_MAX_AGE_S = 5.0
#: Events from outside the lane loop (officers, identification, decisions) waiting to be stepped: a
#: vehicle brings a handful, so more than this means something floods the lane, and it is refused.
MAX_EXTERNAL_PENDING = 64
#: A loop that stepped nothing (not even a Tick) for this long is stuck: the controller's watchdog is let
#: expire. Ticks come every TICK_S; a barrier command's read-back takes a few polls at most.
STUCK_S = 1.0
STOP_WAIT_S = 5.0


class LaneBusy(Exception):
    """The lane's inbound queue is full (or the lane is not running): the event was not taken."""


class LaneCore:
    """The lane's devices, its state machine and the loop that joins them; `run()` in the lane process."""

    def __init__(
        self,
        config: GateConfig,
        tell: Callable[[LaneMessage], None],
        clock: Callable[[], float] = time.monotonic,
        offer_done: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._tell = tell
        self._offer_done = offer_done  # the lane process counts finished offers for the parent's bound
        self._clock = clock
        self.lane = Lane(config.lane, barrier=config.devices.barrier)
        self.view = LaneStatus.of(self.lane)
        self.health = DeviceHealth()
        self.lag = LagRecorder(clock)
        self.heartbeat = Heartbeat(LANE_LOOP_MAX_AGE_S, clock)
        self.light: str | None = None  # the colour last commanded, for the kiosk
        # While the loop is stuck the controller's watchdog is not refreshed: its outputs go safe.
        self.io = LaneIO(
            config.devices,
            on_event=self._on_io_event,
            clock=clock,
            alive=lambda: self.heartbeat.age_s <= STUCK_S,
        )
        self.barrier = Barrier(self.io, config.devices.barrier, clock=clock)
        self.scale = ScaleDriver(config.devices.scale, on_event=self._on_scale_event_threaded, clock=clock)
        self.io_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: asyncio.Queue[LaneEvent | _Startup | _Offered] | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._external = 0  # offered events not yet stepped
        self._external_lock = threading.Lock()
        self._started = False
        self._scale_moving = False
        self._failures = FailureLog(log)

    # -- from outside (any thread) ------------------------------------------------------------------
    def offer(self, event: LaneEvent) -> None:
        """Hand an event to the lane loop from another thread; LaneBusy if it cannot take it now."""
        with self._external_lock:
            if self._external >= MAX_EXTERNAL_PENDING:
                raise LaneBusy(f"{self._external} events already wait for the lane")
            self._external += 1
        loop = self._loop
        try:
            if loop is None or loop.is_closed():
                raise RuntimeError("no lane loop")
            loop.call_soon_threadsafe(self._enqueue, _Offered(event))
        except RuntimeError:
            with self._external_lock:
                self._external -= 1
            raise LaneBusy("the lane loop is not running") from None

    def call_soon(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` on the lane loop (from any thread); nothing if the loop is not running."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(fn, *args)

    def request_stop(self) -> None:
        """Stop the loop (from any thread): it ends its tasks, then the devices."""
        self._stopping = True  # the driver reports its own shutdown as a link loss: not a fault
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:  # asyncio objects are set from their own loop only
                loop.call_soon_threadsafe(stop.set)
                loop.call_soon_threadsafe(self.io.request_stop)
                return
            except RuntimeError:  # closed meanwhile: it is stopping anyway
                log.debug("lane loop closed before the stop request")
        self.io.request_stop()

    # -- the loop (lane process) -----------------------------------------------------------------------
    async def run(self) -> None:
        """Poll, step and act until request_stop(); raises if a lane task ends by itself."""
        self._loop = asyncio.get_running_loop()
        self._events = asyncio.Queue()
        self._stop = asyncio.Event()
        self.scale.start()  # its reader thread posts to this loop, which now exists
        io_task = self.io_task = asyncio.create_task(self.io.run(), name="modbus-io")
        tasks = [
            io_task,
            asyncio.create_task(self._ticker(), name="lane-ticker"),
            asyncio.create_task(self._process(), name="lane-loop"),
        ]
        stop = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({*tasks, stop}, return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in done if t is not stop]
            if failed and not self._stop.is_set():  # a lane task ended by itself: that is a failure
                raise RuntimeError(f"lane task {failed[0].get_name()} ended: {failed[0]!r}")
        finally:
            stop.cancel()
            self._events = None
            await cancel_within([t for t in tasks if t is not io_task], STOP_WAIT_S)
            stopping_io = asyncio.create_task(self.io.stop(), name="modbus-io-stop")
            await cancel_within([io_task], STOP_WAIT_S, also=[stopping_io])
            await asyncio.to_thread(self.scale.stop)

    def _enqueue(self, event: LaneEvent | _Startup | _Offered) -> None:
        if self._events is None:  # stopped meanwhile: an offered event is dropped with the lane
            if isinstance(event, _Offered):
                self._stepped_offer()
            return
        self._events.put_nowait(event)

    def _stepped_offer(self) -> None:
        with self._external_lock:
            self._external -= 1
        if self._offer_done is not None:
            self._offer_done()

    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + TICK_S
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.lag.ticked(loop.time() - due)
            due = max(due + TICK_S, loop.time())
            self._enqueue(Tick())

    async def _process(self) -> None:
        events = self._events
        if events is None:
            raise RuntimeError("the lane queue is made by run()")
        while True:
            queued = await events.get()
            event = queued.event if isinstance(queued, _Offered) else queued
            if isinstance(queued, _Offered):
                self._stepped_offer()
            self.heartbeat.beat()
            try:
                actions = await self._step(event)
            except Exception:  # a lane bug must not silently end the loop (the watchdog would only see it)
                log.exception("lane %s: handling %s failed", self.config.lane.lane_id, type(event).__name__)
                actions = []
            if isinstance(event, OfficerApproved | OfficerRejected | OfficerCorrected):
                self._tell(OfficerApplied(event.tx_id))
            for action in actions:
                await self._execute(action)
            self.view = LaneStatus.of(self.lane)
            if isinstance(event, Inputs):
                self.lag.stepped()

    async def _step(self, event: LaneEvent | _Startup) -> list[LaneAction]:
        now = self._clock()
        if isinstance(event, _Startup):
            await self._barrier_inputs(event.snapshot)
            actions = self.lane.startup(event.snapshot, now)
            self.view = LaneStatus.of(self.lane)
            self._tell(LaneStarted())
        else:
            if isinstance(event, Inputs | LinkRestored):
                await self._barrier_inputs(event.snapshot)
            elif isinstance(event, LinkLost):
                self.barrier.link_lost()
            actions = self.lane.handle(event, now)
            self.view = LaneStatus.of(self.lane)  # before anyone hears of it
            if isinstance(event, Inputs | LinkRestored | LinkLost):
                self._tell(Announced("inputs", {"snapshot": self.lane.snapshot}))
        if isinstance(event, _Startup | LinkRestored) and self.lane.barrier_commanded != "open":
            await self._release_open_coil()
        return actions

    async def _release_open_coil(self) -> None:
        """After a restart or an outage: an open coil left ON by the last command must not lift the arm later.

        I/O modules keep their coils across a client disconnect; switching the open coil off is always safe.
        """
        try:
            await self.io.write_coil(CoilName.BARRIER_OPEN, False)
        except IOWriteError as exc:
            log.error("could not switch the barrier open coil off: %s", exc)

    async def _barrier_inputs(self, snapshot: InputSnapshot) -> None:
        try:
            if await self.barrier.on_inputs(snapshot):
                log.warning("barrier reopened by the driver interlock: path obstructed while closing")
        except IOWriteError as exc:
            log.error("barrier reopen failed: %s", exc)

    async def _execute(self, action: LaneAction) -> None:
        try:
            await self._do(action)
        except (IOWriteError, InterlockRefused) as exc:
            log.error("lane %s: %s failed: %s", self.config.lane.lane_id, type(action).__name__, exc)
            detail = f"{type(action).__name__}: {exc}"
            self._tell(AlarmRaised(self.lane.tx_id, "device_command_failed", detail))
        except Exception as exc:  # a driver bug must not stop the lane loop
            what = type(action).__name__
            self._failures.error(what, exc, "lane %s: %s failed: %s", self.config.lane.lane_id, what, exc)

    async def _do(self, action: LaneAction) -> None:
        if isinstance(action, OpenBarrier):
            await self.barrier.open()
        elif isinstance(action, CloseBarrier):
            await self.barrier.close()
        elif isinstance(action, SetLight):
            self.light = action.color
            green = action.color == "green"
            await self.io.write_coil(CoilName.LIGHT_RED, not green)
            await self.io.write_coil(CoilName.LIGHT_GREEN, green)
        elif isinstance(action, Alarm):
            log.warning("lane alarm %s: %s", action.code, action.detail)
            self._tell(AlarmRaised(self.lane.tx_id, action.code, action.detail))
        else:  # records, announcements, recognition and decisions: the main loop's work
            self._tell(action)

    # -- device callbacks ---------------------------------------------------------------------------
    def _on_io_event(self, event: LaneIOEvent) -> None:
        if self._stopping:
            return
        if isinstance(event, LinkChanged):
            self.health.modbus_up = event.up
            self.health.modbus_detail = "connected" if event.up else event.detail
            if event.up and not self._started:
                self._started = True
                self._enqueue(_Startup(event.snapshot))
                return
            self._enqueue(LinkRestored(event.snapshot) if event.up else LinkLost(event.detail))
        elif isinstance(event, InputChanged):
            self.lag.polled(event.at)
            self._enqueue(Inputs(event.snapshot))

    def _on_scale_event_threaded(self, event: ScaleEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._on_scale_event, event)
            except RuntimeError:  # the lane loop closed meanwhile
                log.debug("scale event after the lane loop ended: %r", event)

    def _on_scale_event(self, event: ScaleEvent) -> None:
        if isinstance(event, WeightReading):
            self.health.last_weight_kg = event.gross_kg
            self.health.scale_ok = True
            self.health.scale_detail = "reading"
            if event.motion and not self._scale_moving:
                self._enqueue(ScaleUnstable())
            self._scale_moving = event.motion
        elif isinstance(event, StableWeight):
            self._enqueue(ScaleStable(event.kg))
        elif isinstance(event, ScaleFault):
            self.health.scale_ok = False
            self.health.scale_detail = event.detail
            self._tell(DeviceFaulted("scale", event.detail))
            self._enqueue(ScaleFaulted(event.detail))
        elif isinstance(event, ScaleRecovered):
            self.health.scale_ok = True
            self.health.scale_detail = "reading"
            self._enqueue(LaneScaleRecovered())


@dataclass(frozen=True, slots=True)
class _Startup:
    """First contact with the controller: the lane comes up safe from what the inputs show."""

    snapshot: InputSnapshot


@dataclass(frozen=True, slots=True)
class _Offered:
    """An event from outside the lane loop, counted against MAX_EXTERNAL_PENDING until stepped."""

    event: LaneEvent
