"""The lane daemon: wires the Modbus I/O, the barrier, the scale, identification, the store and the lane.

Two loops. The lane loop, on a thread of its own (`edge/lane_thread.py`), polls the I/O controller, feeds
device events and timers to the pure `Lane` one at a time and carries out the actions it returns (barrier,
light, records queued to the writer thread). Nothing else runs there. The main loop runs everything that
can take long or arrive in floods: the kiosk, the uplink, identification, decisions (on the writer
thread), evidence, the watchdog. The two meet only through a bounded event queue into the lane, an
immutable `LaneStatus` published after every step, and callbacks posted to the main loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devices.barrier import Barrier, InterlockRefused
from devices.lane_inputs import InputChanged, InputSnapshot, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, IOWriteError, LaneIO
from devices.scale.driver import ScaleDriver
from devices.scale.reading import ScaleEvent, ScaleFault, ScaleRecovered, StableWeight, WeightReading
from edge.config import GateConfig
from edge.decision import Decision, unrecorded
from edge.evidence import prune_evidence, save_evidence
from edge.lane import Lane
from edge.lane_events import (
    Alarm,
    CloseBarrier,
    Decided,
    Identified,
    Inputs,
    LaneAction,
    LaneEvent,
    LinkLost,
    LinkRestored,
    OfficerApproved,
    OfficerCorrected,
    OfficerRejected,
    OpenBarrier,
    RequestDecision,
    ScaleFaulted,
    ScaleStable,
    ScaleUnstable,
    SetLight,
    StartIdentification,
    Tick,
    TransactionEnded,
    TransactionStarted,
    Transition,
)
from edge.lane_events import ScaleRecovered as LaneScaleRecovered
from edge.lane_health import DeviceHealth
from edge.lane_lag import LagRecorder
from edge.lane_status import LaneStatus
from edge.lane_thread import LaneBusy, LaneThread
from edge.lane_writer import LaneWriter
from edge.logs import FailureLog, log_transaction
from edge.metrics import CameraStats, GateMetrics, GateSnapshot, ModbusStats, SerialStats, StoreStats, age_s
from edge.officer import OfficerDesk
from edge.recorder import Recorder
from edge.sdnotify import Notifier, SdNotifier, notify_when_ready
from edge.storage_health import MB, StorageHealth, StorageWatch
from edge.store import Store
from edge.watchdog import Heartbeat, LivenessCheck, Watchdog, all_of, progress_check, task_check
from vision.identity import Identification, IdentificationSource

log = logging.getLogger("edge.daemon")

TICK_S = 0.05
STOP_WAIT_S = 5.0  # how long the shutdown waits for each group of tasks to end
EVIDENCE_PRUNE_EVERY_S = 3600.0
#: The lane loop handles a Tick every TICK_S; this long without handling any event means it is stuck.
LANE_LOOP_MAX_AGE_S = 5.0
#: A camera reader that neither reads a frame nor retries for this long is stuck (OpenCV can block ~30 s
#: opening an unreachable RTSP source, and the reader backs off up to 10 s between attempts).
CAMERA_MAX_STALL_S = 60.0
#: With the I/O controller unreachable, report READY after this long anyway: the kiosk shows the fault.
READY_GRACE_S = 60.0
#: Events from outside the lane thread (officers, identification, decisions) waiting to be stepped: a
#: vehicle brings a handful, so more than this means something floods the lane, and it is refused.
MAX_EXTERNAL_PENDING = 64

Listener = Callable[[str, dict[str, Any]], None]


class LaneDaemon:
    """One lane, running until `stop()`."""

    def __init__(
        self,
        config: GateConfig,
        identifier: IdentificationSource,
        clock: Callable[[], float] = time.monotonic,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self._identifier = identifier
        self._clock = clock
        # The live Lane belongs to the lane thread; everyone else reads `self.view`.
        self.lane = Lane(config.lane, barrier=config.devices.barrier)
        self.view = LaneStatus.of(self.lane)
        self.store = Store(config.store.path)  # the main loop's connection (kiosk, officer actions)
        self.recorder = Recorder(self.store, config.gate_id, config.lane.lane_id)
        # The lane's own records go through the writer, so the lane loop never waits on the database lock.
        self.storage = StorageHealth(min_free_bytes=int(config.store.min_free_mb * MB))
        self.writer = LaneWriter(config.store.path, config.gate_id, config.lane.lane_id, self.storage)
        self._storage_watch = StorageWatch(
            self.storage, config.store.path.parent, config.store.check_s, self.writer.retry, self._storage_low
        )
        self.health = DeviceHealth()
        self.lag = LagRecorder(clock)
        self.ready = asyncio.Event()
        self.officer = OfficerDesk(
            lambda: self.view, self.submit, self.check_accepting, self.recorder, self.store, self.ready.is_set
        )
        self.light: str | None = None  # the colour last commanded, for the kiosk
        self.uplink_status: Callable[[], dict[str, Any]] | None = None  # set when sync runs beside the lane
        self.notifier: Notifier = notifier or SdNotifier(None)
        self.watchdog = Watchdog(self.notifier, {})
        self.metrics = GateMetrics(config.gate_id, config.lane.lane_id, self)
        self._thread = LaneThread(f"lane-{config.lane.lane_id}")
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._main_thread: threading.Thread | None = None
        self._io = LaneIO(config.devices, on_event=self._on_io_event, clock=clock)
        self._barrier = Barrier(self._io, config.devices.barrier, clock=clock)
        self._scale = ScaleDriver(config.devices.scale, on_event=self._on_scale_event_threaded, clock=clock)
        # Lane-thread state: created or touched on the lane loop only.
        self._events: asyncio.Queue[LaneEvent | _Startup | _Queued] | None = None
        self._external = 0  # events from outside queued to the lane loop and not yet stepped
        self._external_lock = threading.Lock()
        self._lane_stop: asyncio.Event | None = None
        self._io_task: asyncio.Task[None] | None = None
        self._started = False
        self._scale_moving = False
        self._tx_notes: dict[str, _TxNotes] = {}
        self._lane_heartbeat = Heartbeat(LANE_LOOP_MAX_AGE_S, clock)
        self._failures = FailureLog(log)
        # Main-loop state.
        self._stopping = asyncio.Event()
        self._lane_ended = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._listeners: list[Listener] = []

    # -- crossing between the loops -----------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call `listener(kind, data)` on the main loop for every transaction step (kiosk, uplink, demo)."""
        self._listeners.append(listener)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        if self._thread.in_thread():
            self._on_main(self._emit_here, kind, data)
        else:
            self._emit_here(kind, data)

    def _emit_here(self, kind: str, data: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(kind, data)
            except Exception:  # a broken listener must not stop the lane
                log.exception("listener failed on %s", kind)

    def _on_main(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` on the main loop, soon; dropped (logged) once that loop is gone."""
        loop = self._main_loop
        try:
            if loop is None or loop.is_closed():
                raise RuntimeError("main loop closed")
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            log.debug("main loop gone: %s not run", getattr(fn, "__name__", fn))

    def _spawn(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start `make()` as a task of the main loop (from either thread), kept until it ends."""

        def start() -> None:
            task = asyncio.create_task(make())
            self._side_tasks.add(task)  # keep a reference until done, then let it go (months of uptime)
            task.add_done_callback(self._side_tasks.discard)

        if self._thread.in_thread():
            self._on_main(start)
        else:
            start()

    def check_accepting(self) -> None:
        """Raise LaneBusy if an event handed over now would be refused (before recording what it does)."""
        if self._thread.loop is None or self._events is None:
            raise LaneBusy("the lane loop is not running")
        if self._external >= MAX_EXTERNAL_PENDING:
            raise LaneBusy(f"{self._external} events already wait for the lane")

    def submit(self, event: LaneEvent | _Startup) -> None:
        """Hand an event to the lane loop, from any thread; LaneBusy if the lane cannot take it."""
        if self._thread.in_thread():
            self._enqueue(event, external=False)
            return
        with self._external_lock:
            if self._external >= MAX_EXTERNAL_PENDING:
                raise LaneBusy(f"{self._external} events already wait for the lane")
            self._external += 1
        if not self._thread.call(self._enqueue, event, True):
            with self._external_lock:
                self._external -= 1
            raise LaneBusy("the lane loop is not running")

    def _enqueue(self, event: LaneEvent | _Startup, external: bool) -> None:
        if self._events is None:
            raise LaneBusy("the lane loop is not running")
        self._events.put_nowait(_Queued(event, external) if external else event)

    # -- device callbacks (lane loop) -----------------------------------------------------------------
    def _on_io_event(self, event: LaneIOEvent) -> None:
        if self._stopping.is_set():  # the driver reports its own shutdown as a link loss: not a fault
            return
        if isinstance(event, LinkChanged):
            self.health.modbus_up = event.up
            self.health.modbus_detail = "connected" if event.up else event.detail
            if event.up and not self._started:
                self._started = True
                self.submit(_Startup(event.snapshot))
                return
            self.submit(LinkRestored(event.snapshot) if event.up else LinkLost(event.detail))
        elif isinstance(event, InputChanged):
            self.lag.polled(event.at)
            self.submit(Inputs(event.snapshot))

    def _on_scale_event_threaded(self, event: ScaleEvent) -> None:
        self._thread.call(self._on_scale_event, event)

    def _on_scale_event(self, event: ScaleEvent) -> None:
        if isinstance(event, WeightReading):
            self.health.last_weight_kg = event.gross_kg
            self.health.scale_ok = True
            self.health.scale_detail = "reading"
            if event.motion and not self._scale_moving:
                self.submit(ScaleUnstable())
            self._scale_moving = event.motion
        elif isinstance(event, StableWeight):
            self.submit(ScaleStable(event.kg))
        elif isinstance(event, ScaleFault):
            self.health.scale_ok = False
            self.health.scale_detail = event.detail
            detail = event.detail
            self.writer.post("device fault", lambda r: r.device_fault("scale", detail))
            self.submit(ScaleFaulted(event.detail))
        elif isinstance(event, ScaleRecovered):
            self.health.scale_ok = True
            self.health.scale_detail = "reading"
            self.submit(LaneScaleRecovered())

    # -- running (main loop) --------------------------------------------------------------------------
    async def run(self) -> None:
        """Start the devices and the lane thread; run until `stop()` (or until the lane loop fails)."""
        self._main_loop = asyncio.get_running_loop()
        self._main_thread = threading.current_thread()
        await self.writer.open()
        interrupted = await self.writer.call(lambda r: r.recover_interrupted())
        for tx_id in interrupted:
            log.warning("transaction %s was interrupted by a restart: marked interrupted", tx_id)
            self.metrics.observe_transaction_end("interrupted")
            log_transaction(tx_id, "interrupted")
        lane_up = asyncio.Event()
        self._thread.start(
            lambda: self._lane_main(lane_up), on_exit=lambda: self._on_main(self._lane_ended.set)
        )
        stopping = asyncio.create_task(self._stopping.wait())
        ended = asyncio.create_task(self._lane_ended.wait())
        try:
            await asyncio.wait({asyncio.create_task(lane_up.wait()), ended}, return_when="FIRST_COMPLETED")
            if self._io_task is not None:
                for name, check in self._liveness_checks(self._io_task).items():
                    self.watchdog.register(name, check)
            self._tasks = [
                asyncio.create_task(self.watchdog.run(), name="watchdog"),
                asyncio.create_task(self._notify_ready(), name="sd-ready"),
                asyncio.create_task(self._prune(), name="evidence-prune"),
                asyncio.create_task(self._storage_watch.run(), name="storage-watch"),
            ]
            await asyncio.wait({stopping, ended}, return_when="FIRST_COMPLETED")
            if not self._stopping.is_set():
                log.critical("the lane loop ended by itself: the daemon stops (%r)", self._thread.error)
        finally:
            stopping.cancel()
            ended.cancel()
            await self._shutdown()

    async def stop(self) -> None:
        self._stopping.set()

    async def _shutdown(self) -> None:
        # The lane stops first, so it never acts on the frozen inputs of a driver that is going away.
        # Each wait is bounded: a task that swallowed its cancellation must not keep the daemon from
        # stopping the drivers and closing the store. The store is closed whatever happens on the way, a
        # second cancellation of the daemon included.
        self.notifier.stopping()
        try:
            self._thread.call(self._request_lane_stop)
            if not await asyncio.to_thread(self._thread.join, STOP_WAIT_S * 2):
                log.error("the lane thread did not end within %.0f s of the stop", STOP_WAIT_S * 2)
            await _cancel([*self._tasks, *self._side_tasks])
        finally:
            self._io.request_stop()  # the poller ends by its flag even if this stop was cut short
            try:
                await asyncio.to_thread(self._scale.stop)
                await self.writer.close()
            finally:
                self.store.close()

    async def _prune(self) -> None:
        store = self.config.store
        while True:
            await asyncio.to_thread(prune_evidence, store.evidence_dir, store.evidence_keep_days * 86400)
            await asyncio.sleep(EVIDENCE_PRUNE_EVERY_S)

    # -- the lane loop (lane thread) ------------------------------------------------------------------
    async def _lane_main(self, lane_up: asyncio.Event) -> None:
        self._events = asyncio.Queue()
        self._lane_stop = asyncio.Event()
        self._scale.start()  # its reader thread posts to this loop, which now exists
        io_task = self._io_task = asyncio.create_task(self._io.run(), name="modbus-io")
        tasks = [
            io_task,
            asyncio.create_task(self._ticker(), name="lane-ticker"),
            asyncio.create_task(self._process(), name="lane-loop"),
        ]
        self._on_main(lane_up.set)
        stop = asyncio.create_task(self._lane_stop.wait())
        try:
            done, _ = await asyncio.wait({*tasks, stop}, return_when="FIRST_COMPLETED")
            failed = [t for t in done if t is not stop]
            if failed and not self._lane_stop.is_set():  # a lane task ended by itself: that is a failure
                raise RuntimeError(f"lane task {failed[0].get_name()} ended: {failed[0]!r}")
        finally:
            stop.cancel()
            self._events = None
            await _cancel([t for t in tasks if t is not io_task])
            stopping_io = asyncio.create_task(self._io.stop(), name="modbus-io-stop")
            await _cancel([io_task], also=[stopping_io])

    def _request_lane_stop(self) -> None:
        if self._lane_stop is not None:
            self._lane_stop.set()

    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + TICK_S
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.lag.ticked(loop.time() - due)
            due = max(due + TICK_S, loop.time())
            self.submit(Tick())

    async def _process(self) -> None:
        events = self._events
        if events is None:
            raise RuntimeError("the lane queue is made by _lane_main")
        while True:
            queued = await events.get()
            event = queued.event if isinstance(queued, _Queued) else queued
            if isinstance(queued, _Queued):
                with self._external_lock:
                    self._external -= 1
            self._lane_heartbeat.beat()
            try:
                actions = await self._step(event)
            except Exception:  # a lane bug must not silently end the loop (the watchdog would only see it)
                log.exception("lane %s: handling %s failed", self.config.lane.lane_id, type(event).__name__)
                actions = []
            if isinstance(event, OfficerApproved | OfficerRejected | OfficerCorrected):
                self._on_main(self.officer.applied, event.tx_id)  # the next officer may act
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
            self._on_main(self.ready.set)
        else:
            if isinstance(event, Inputs | LinkRestored):
                await self._barrier_inputs(event.snapshot)
            elif isinstance(event, LinkLost):
                self._barrier.link_lost()
            actions = self.lane.handle(event, now)
            self.view = LaneStatus.of(self.lane)  # before the listeners hear of it
            if isinstance(event, Inputs | LinkRestored | LinkLost):
                self._emit("inputs", {"snapshot": self.lane.snapshot})
        if isinstance(event, _Startup | LinkRestored) and self.lane.barrier_commanded != "open":
            await self._release_open_coil()
        return actions

    async def _release_open_coil(self) -> None:
        """After a restart or an outage: an open coil left ON by the last command must not lift the arm later.

        I/O modules keep their coils across a client disconnect; switching the open coil off is always safe.
        """
        try:
            await self._io.write_coil(CoilName.BARRIER_OPEN, False)
        except IOWriteError as exc:
            log.error("could not switch the barrier open coil off: %s", exc)

    async def _barrier_inputs(self, snapshot: InputSnapshot) -> None:
        try:
            if await self._barrier.on_inputs(snapshot):
                log.warning("barrier reopened by the driver interlock: path obstructed while closing")
        except IOWriteError as exc:
            log.error("barrier reopen failed: %s", exc)

    async def _execute(self, action: LaneAction) -> None:
        try:
            await self._do(action)
        except (IOWriteError, InterlockRefused) as exc:
            log.error("lane %s: %s failed: %s", self.config.lane.lane_id, type(action).__name__, exc)
            tx_id, detail = self.lane.tx_id, f"{type(action).__name__}: {exc}"
            self.writer.post("Alarm", lambda r: r.alarm(tx_id, "device_command_failed", detail))
        except Exception as exc:  # a store or listener failure must not stop the lane loop
            what = type(action).__name__
            self._failures.error(what, exc, "lane %s: %s failed: %s", self.config.lane.lane_id, what, exc)

    async def _do(self, action: LaneAction) -> None:
        if isinstance(action, OpenBarrier):
            await self._barrier.open()
        elif isinstance(action, CloseBarrier):
            await self._barrier.close()
        elif isinstance(action, SetLight):
            self.light = action.color
            green = action.color == "green"
            await self._io.write_coil(CoilName.LIGHT_RED, not green)
            await self._io.write_coil(CoilName.LIGHT_GREEN, green)
        elif isinstance(action, StartIdentification):
            tx_id = action.tx_id
            self._spawn(lambda: self._identify(tx_id))
        elif isinstance(action, RequestDecision):
            request = action
            self._spawn(lambda: self._decide(request))
        elif isinstance(action, TransactionStarted):
            self._tx_notes[action.tx_id] = _TxNotes(started_at=action.at)
            tx_id = action.tx_id
            self.writer.post("TransactionStarted", lambda r: r.started(tx_id))
            self._emit("started", {"tx_id": action.tx_id})
        elif isinstance(action, Transition):
            transition = action
            self.writer.post("Transition", lambda r: r.transition(transition))
            self._emit(
                "transition",
                {
                    "tx_id": action.tx_id,
                    "from_state": action.from_state.value,
                    "to_state": action.to_state.value,
                    "cause": action.cause,
                },
            )
        elif isinstance(action, TransactionEnded):
            ended = action
            self.writer.post("TransactionEnded", lambda r: r.ended(ended))
            self._log_transaction(action)
            self._emit("ended", {"tx_id": action.tx_id, "result": action.result})
        elif isinstance(action, Alarm):
            log.warning("lane alarm %s: %s", action.code, action.detail)
            alarm_tx, alarm = self.lane.tx_id, action
            self.writer.post("Alarm", lambda r: r.alarm(alarm_tx, alarm.code, alarm.detail))

    # -- side work (main loop) ------------------------------------------------------------------------
    async def _identify(self, tx_id: str) -> None:
        started = self._clock()
        try:
            ident = await self._identifier.identify(tx_id, self.config.lane.identify_timeout_s * 0.8)
            self.metrics.observe_identification(ident, self._clock() - started)
        except Exception as exc:  # a failing camera pipeline holds the vehicle, it must not stop the lane
            log.error("identification for %s failed: %s", tx_id, exc)
            ident = Identification(plate=None)
        await asyncio.to_thread(save_evidence, self.config.store.evidence_dir, ident)
        if self.view.tx_id == tx_id:
            self._submit_from_main(Identified(ident, tx_id=tx_id))

    async def _decide(self, request: RequestDecision) -> None:
        """Decide on the writer thread (after the transaction's records); the lane waits in DECIDING."""
        config = self.config.decision
        try:
            decision = await self.writer.call(lambda r: r.decide(request, config))
        except Exception as exc:  # no vehicle passes on a decision that is not recorded
            decision = await self._not_recorded(request, exc)
        self.metrics.observe_decision(decision.outcome, decision.reasons)
        notes = self._tx_notes.get(request.tx_id)
        if notes is not None:
            notes.decision, notes.identification = decision, request.identification
            notes.weight_kg = request.weight_kg
        self._emit(
            "decided",
            {
                "tx_id": request.tx_id,
                "identification": request.identification,
                "weight_kg": request.weight_kg,
                "decision": decision,
            },
        )
        self._submit_from_main(
            Decided(decision.outcome, decision.reasons, decision.declaration_number, tx_id=request.tx_id)
        )

    async def _not_recorded(self, request: RequestDecision, exc: Exception) -> Decision:
        """A decision the store did not record: held for an officer, saying why; recorded when the store can.

        The rules are run once more without recording (reads still work on a full disk), so the officer
        sees their reasons and an approval records the exit under the declaration they found.
        """
        self._failures.error("decision", exc, "decision for %s not recorded: %s", request.tx_id, exc)
        config = self.config.decision
        judged: Decision | None = None
        try:
            judged = await self.writer.call(lambda r: r.evaluate(request, config), in_order=False)
        except Exception as again:  # the rules themselves fail: the officer sees only why it was held
            log.error("decision for %s could not be evaluated either: %s", request.tx_id, again)
        held = unrecorded(judged, str(exc)[:200])
        self.writer.post("Decision (held)", lambda r: r.record_decision(request, held))
        detail = f"transaction {request.tx_id}: the decision could not be recorded ({str(exc)[:200]})"
        self.writer.post("Alarm", lambda r: r.alarm(request.tx_id, "decision_not_recorded", detail))
        return held

    def _storage_low(self, detail: str) -> None:
        tx_id = self.view.tx_id
        self.writer.post("Alarm", lambda r: r.alarm(tx_id, "storage_low", detail))

    def _submit_from_main(self, event: Identified | Decided) -> None:
        """Identification and decision results: a full or stopped lane is logged (the lane times out)."""
        try:
            self.submit(event)
        except LaneBusy as exc:
            log.error("%s for %s not handed to the lane: %s", type(event).__name__, event.tx_id, exc)

    # -- what others read (any thread) --------------------------------------------------------------
    def lane_alive(self) -> bool:
        """The lane thread runs and has stepped an event within LANE_LOOP_MAX_AGE_S."""
        return self._thread.alive() and self._lane_heartbeat.alive()

    def faults(self) -> list[str]:
        """Every device and storage fault now, in words, for the lane status and the kiosk."""
        found = self.health.fault_list(self.view.fault)
        storage = self.storage.fault()
        return [*found, f"store: {storage}"] if storage else found

    def status(self) -> dict[str, Any]:
        """The lane status: state, detectors, barrier, device health, outbox (main loop: reads the store)."""
        return {
            "faults": self.faults(),
            "light": self.light,
            "gate_id": self.config.gate_id,
            "lane": self.view.status(),
            "devices": self.health.devices(),
            "storage": self.storage.as_dict(),
            "outbox_depth": self.store.outbox.depth(),
            "sync": self.uplink_status() if self.uplink_status is not None else None,
        }

    # -- operations: systemd and metrics ----------------------------------------------------------
    def metrics_snapshot(self) -> GateSnapshot:
        """What /metrics reads at each scrape (on the main loop: the store connection is its thread's)."""
        cameras = getattr(self._identifier, "stats", None)
        uplink = self.uplink_status() if self.uplink_status is not None else None
        return GateSnapshot(
            lane_state=self.view.state.value,
            modbus=ModbusStats.of(self._io.stats, self._io.link_up),
            scale=SerialStats.of(self._scale.stats, faulted=not self.health.scale_ok),
            cameras=(
                {
                    name: CameraStats(str(s.state) == "OK", s.fps, s.last_frame_age_s)
                    for name, s in cameras().items()
                }
                if callable(cameras)
                else None
            ),
            outbox_depth=self.store.outbox.depth(),
            outbox_oldest_age_s=age_s(self.store.outbox.oldest_pending_at(), datetime.now(UTC)),
            liveness=self.watchdog.status(),
            store=StoreStats.of(self.storage),
            mqtt_connected=bool(uplink["connected"]) if uplink is not None else None,
            clearance_cache_age_s=uplink.get("clearance_age_s") if uplink is not None else None,
            lane_lag=self.lag.summary(),
        )

    def _liveness_checks(self, io_task: asyncio.Task[None]) -> dict[str, LivenessCheck]:
        """What must be alive for the watchdog to ping: the lane loop, the pollers, the camera readers."""
        link = self.config.devices.io
        # One full reconnect backoff (with jitter) plus a connect and a request guard, with room.
        io_stall_s = link.backoff_max_s * 1.1 + 2 * (link.timeout_s * 2 + 0.1) + 2.0
        io = self._io.stats
        checks: dict[str, LivenessCheck] = {
            "lane-loop": self.lane_alive,
            "modbus-poller": all_of(
                task_check(io_task),
                progress_check(lambda: io.polls + io.errors + io.reconnects, io_stall_s, self._clock),
            ),
        }
        scale = self._scale
        # A read returns within its timeout, a reopen attempt comes every reconnect_s: a stall is a hang.
        checks["scale-reader"] = progress_check(
            lambda: scale.turns, self.config.devices.scale.reconnect_s + 3.0, self._clock
        )
        cameras = getattr(self._identifier, "stats", None)
        if callable(cameras):
            for name in cameras():
                checks[f"camera:{name}"] = progress_check(_camera_progress(cameras, name), CAMERA_MAX_STALL_S)
        return checks

    async def _notify_ready(self) -> None:
        await notify_when_ready(
            self.notifier,
            self.ready,
            READY_GRACE_S,
            waiting=lambda: f"lane I/O controller: {self.health.modbus_detail}",
        )

    def _log_transaction(self, ended: TransactionEnded) -> None:
        notes = self._tx_notes.pop(ended.tx_id, None) or _TxNotes(started_at=ended.at)
        self.metrics.observe_transaction_end(ended.result)
        log_transaction(
            ended.tx_id,
            ended.result,
            decision=notes.decision,
            identification=notes.identification,
            weight_kg=notes.weight_kg,
            duration_s=ended.at - notes.started_at,
            gate_id=self.config.gate_id,
            lane_id=self.config.lane.lane_id,
        )


@dataclass(frozen=True, slots=True)
class _Queued:
    """An event from outside the lane thread, counted against MAX_EXTERNAL_PENDING until stepped."""

    event: LaneEvent | _Startup
    external: bool


def _camera_progress(stats: Callable[[], dict[str, Any]], name: str) -> Callable[[], int]:
    """Frames read plus reconnect attempts of one camera: grows while its reader thread is alive."""
    return lambda: int(stats()[name].frames + stats()[name].reconnects)


@dataclass(slots=True)
class _TxNotes:
    """What the one log line per transaction reports, gathered while it runs."""

    started_at: float
    decision: Decision | None = None
    identification: Identification | None = None
    weight_kg: float | None = None


@dataclass(frozen=True, slots=True)
class _Startup:
    """First contact with the controller: the lane comes up safe from what the inputs show."""

    snapshot: InputSnapshot


async def _cancel(tasks: list[asyncio.Task[Any]], also: list[asyncio.Task[Any]] | None = None) -> None:
    """Cancel `tasks` and wait (bounded) for them and for `also`.

    A task that swallowed a cancellation is cancelled again until it ends or STOP_WAIT_S runs out; one
    still running then is logged by name. A task that had failed has its exception logged here: nothing
    else awaits it any more.
    """
    waited = [*tasks, *(also or [])]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_WAIT_S
    pending = set(waited)
    while pending and loop.time() < deadline:
        for task in tasks:
            if not task.done():
                task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(0.1, max(0.0, deadline - loop.time())))
    for task in waited:
        if task in pending:
            log.error("%s did not end within %.0f s of the stop", task.get_name(), STOP_WAIT_S)
        elif not task.cancelled() and task.exception() is not None:
            log.error("%s had failed: %r", task.get_name(), task.exception())
