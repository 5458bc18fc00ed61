"""The lane daemon: wires the Modbus I/O, the barrier, the scale, identification, the store and the lane.

One asyncio loop. Device callbacks and timers turn into lane events on one queue; one task feeds
them to the pure `Lane` and carries out the actions it returns, in order. Every transition and
decision is written to the store together with its outbox event.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devices.barrier import Barrier, InterlockRefused
from devices.lane_inputs import InputChanged, InputSnapshot, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, IOWriteError, LaneIO
from devices.scale.driver import ScaleDriver
from devices.scale.reading import ScaleEvent, ScaleFault, ScaleRecovered, StableWeight, WeightReading
from edge.config import GateConfig
from edge.decision import Decision, normalise_plate
from edge.lane import Lane, LaneState
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
    OfficerOpen,
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
from edge.lane_writer import LaneWriter
from edge.logs import FailureLog, log_transaction
from edge.metrics import CameraStats, GateMetrics, GateSnapshot, ModbusStats, SerialStats, age_s
from edge.recorder import Recorder, identification_json
from edge.sdnotify import Notifier, SdNotifier, notify_when_ready
from edge.store import Store
from edge.watchdog import Heartbeat, LivenessCheck, Watchdog, all_of, progress_check, task_check
from vision import iso6346
from vision.identity import Identification, IdentificationSource, Read, ReadKind

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

Listener = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class DeviceHealth:
    """What the lane status shows about each device."""

    modbus_up: bool = False
    modbus_detail: str = "connecting"
    scale_ok: bool = False
    scale_detail: str = "waiting for first frame"
    last_weight_kg: float | None = None
    faults: list[str] = field(default_factory=list)


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
        self.lane = Lane(config.lane, barrier=config.devices.barrier)
        self.store = Store(config.store.path)
        # Officer actions write from the loop (rare, and the officer waits for them); the lane's own records
        # go through the writer, so the lane loop never waits on the database lock.
        self.recorder = Recorder(self.store, config.gate_id, config.lane.lane_id)
        self.writer = LaneWriter(config.store.path, config.gate_id, config.lane.lane_id)
        self.health = DeviceHealth()
        self._events: asyncio.Queue[LaneEvent | _Startup] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._io = LaneIO(config.devices, on_event=self._on_io_event, clock=clock)
        self._barrier = Barrier(self._io, config.devices.barrier, clock=clock)
        self._scale = ScaleDriver(config.devices.scale, on_event=self._on_scale_event_threaded, clock=clock)
        self._started = False
        self._scale_moving = False
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._io_task: asyncio.Task[None] | None = None
        self._failures = FailureLog(log)
        self._listeners: list[Listener] = []
        self.last_decision: Decision | None = None
        self.light: str | None = None  # the colour last commanded, for the kiosk
        self.officer_pending: str | None = None  # tx id of an officer action not yet applied by the lane
        self.uplink_status: Callable[[], dict[str, Any]] | None = None  # set when sync runs beside the lane
        self.ready = asyncio.Event()
        self.notifier: Notifier = notifier or SdNotifier(None)
        self.watchdog = Watchdog(self.notifier, {})
        self.metrics = GateMetrics(config.gate_id, config.lane.lane_id, self)
        self._lane_heartbeat = Heartbeat(LANE_LOOP_MAX_AGE_S, clock)
        self._tx_notes: dict[str, _TxNotes] = {}

    # -- wiring ---------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call `listener(kind, data)` for every transaction step (the demo prints them)."""
        self._listeners.append(listener)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(kind, data)
            except Exception:  # a broken listener must not stop the lane
                log.exception("listener failed on %s", kind)

    def submit(self, event: LaneEvent | _Startup) -> None:
        if isinstance(event, OfficerApproved | OfficerRejected | OfficerCorrected):
            # Until the lane has applied it, a second officer's action on the same vehicle is refused: the
            # audit log must only ever hold actions the lane acted on.
            self.officer_pending = event.tx_id
        self._events.put_nowait(event)

    def _on_io_event(self, event: LaneIOEvent) -> None:
        if self._stopping.is_set():  # the driver reports its own shutdown as a link loss: not a fault
            return
        if isinstance(event, LinkChanged):
            self.health.modbus_up = event.up
            self.health.modbus_detail = "connected" if event.up else event.detail
            if event.up and not self._started:
                self._started = True
                self._run_startup(event.snapshot)
                return
            self.submit(LinkRestored(event.snapshot) if event.up else LinkLost(event.detail))
        elif isinstance(event, InputChanged):
            self.submit(Inputs(event.snapshot))

    def _run_startup(self, snapshot: InputSnapshot) -> None:
        self.submit(_Startup(snapshot))

    def _on_scale_event_threaded(self, event: ScaleEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_scale_event, event)

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

    # -- running --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Start the devices and process lane events until `stop()`."""
        self._loop = asyncio.get_running_loop()
        await self.writer.open()
        interrupted = await self.writer.call(lambda r: r.recover_interrupted())
        for tx_id in interrupted:
            log.warning("transaction %s was interrupted by a restart: marked interrupted", tx_id)
            self.metrics.observe_transaction_end("interrupted")
            log_transaction(tx_id, "interrupted")
        self._scale.start()
        io_task = self._io_task = asyncio.create_task(self._io.run(), name="modbus-io")
        self._tasks = [
            io_task,
            asyncio.create_task(self._ticker(), name="lane-ticker"),
            asyncio.create_task(self._process(), name="lane-loop"),
        ]
        for name, check in self._liveness_checks(io_task).items():
            self.watchdog.register(name, check)
        self._tasks += [
            asyncio.create_task(self.watchdog.run(), name="watchdog"),
            asyncio.create_task(self._notify_ready(), name="sd-ready"),
        ]
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        self._stopping.set()

    async def _shutdown(self) -> None:
        # The lane stops first, so it never acts on the frozen inputs of a driver that is going away.
        # Each wait is bounded: a task that swallowed its cancellation (Python 3.11's wait_for can, when
        # the awaited call completes in the same step) must not keep the daemon from stopping the
        # drivers and closing the store; the Modbus poller is also told to stop by its flag. The store
        # is closed whatever happens on the way, a second cancellation of the daemon included.
        self.notifier.stopping()
        try:
            io_task = self._io_task
            await _cancel([t for t in (*self._tasks, *self._side_tasks) if t is not io_task])
            stopping_io = asyncio.create_task(self._io.stop(), name="modbus-io-stop")
            await _cancel([io_task] if io_task else [], also=[stopping_io])
        finally:
            self._io.request_stop()  # the poller ends by its flag even if this stop was cut short
            try:
                await asyncio.to_thread(self._scale.stop)
                await self.writer.close()
            finally:
                self.store.close()

    async def _ticker(self) -> None:
        next_prune = self._clock()
        while True:
            await asyncio.sleep(TICK_S)
            self.submit(Tick())
            if self._clock() >= next_prune:
                next_prune = self._clock() + EVIDENCE_PRUNE_EVERY_S
                store = self.config.store
                task = asyncio.create_task(
                    asyncio.to_thread(prune_evidence, store.evidence_dir, store.evidence_keep_days * 86400)
                )
                self._side_tasks.add(task)
                task.add_done_callback(self._side_tasks.discard)

    async def _process(self) -> None:
        while True:
            event = await self._events.get()
            self._lane_heartbeat.beat()
            try:
                actions = await self._step(event)
            except Exception:  # a lane bug must not silently end the loop (the watchdog would only see it)
                log.exception("lane %s: handling %s failed", self.config.lane.lane_id, type(event).__name__)
                actions = []
            if isinstance(event, OfficerApproved | OfficerRejected | OfficerCorrected):
                self.officer_pending = None  # applied or ignored by the lane: the next officer may act
            for action in actions:
                await self._execute(action)

    async def _step(self, event: LaneEvent | _Startup) -> list[LaneAction]:
        now = self._clock()
        if isinstance(event, _Startup):
            await self._barrier_inputs(event.snapshot)
            actions = self.lane.startup(event.snapshot, now)
            self.ready.set()
        else:
            if isinstance(event, Inputs | LinkRestored):
                await self._barrier_inputs(event.snapshot)
            elif isinstance(event, LinkLost):
                self._barrier.link_lost()
            actions = self.lane.handle(event, now)
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

    # -- actions --------------------------------------------------------------------------------
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
            task = asyncio.create_task(self._identify(action.tx_id))
            self._side_tasks.add(task)  # keep a reference until done, then let it go (months of uptime)
            task.add_done_callback(self._side_tasks.discard)
        elif isinstance(action, RequestDecision):
            task = asyncio.create_task(self._decide(action))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)
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

    async def _identify(self, tx_id: str) -> None:
        started = self._clock()
        try:
            ident = await self._identifier.identify(tx_id, self.config.lane.identify_timeout_s * 0.8)
            self.metrics.observe_identification(ident, self._clock() - started)
        except Exception as exc:  # a failing camera pipeline holds the vehicle, it must not stop the lane
            log.error("identification for %s failed: %s", tx_id, exc)
            ident = Identification(plate=None)
        await asyncio.to_thread(self._save_evidence, ident)
        if self.lane.tx_id == tx_id:
            self.submit(Identified(ident, tx_id=tx_id))

    def _save_evidence(self, ident: Identification) -> None:
        """Keep each read's evidence image by its SHA-256, so the kiosk and an audit can show it later."""
        reads = [r for r in (ident.plate, *ident.containers) if r is not None]
        for read in reads:
            if read.evidence_jpeg is None or read.evidence_sha256 is None:
                continue
            if hashlib.sha256(read.evidence_jpeg).hexdigest() != read.evidence_sha256:
                log.error("evidence of %s %s does not match its SHA-256: not kept", read.kind, read.text)
                continue
            folder = self.config.store.evidence_dir
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{read.evidence_sha256}.jpg"
                if not path.exists():
                    tmp = path.with_suffix(".part")
                    tmp.write_bytes(read.evidence_jpeg)
                    tmp.replace(path)
            except OSError as exc:
                log.error("evidence image could not be kept in %s: %s", folder, exc)

    async def _decide(self, request: RequestDecision) -> None:
        """Decide on the writer thread (after the transaction's records); the lane waits in DECIDING."""
        config = self.config.decision
        try:
            decision = await self.writer.call(lambda r: r.decide(request, config))
        except Exception:  # the lane's decide timeout then holds the vehicle for an officer
            log.exception("decision for %s failed", request.tx_id)
            return
        self.last_decision = decision
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
        self.submit(
            Decided(decision.outcome, decision.reasons, decision.declaration_number, tx_id=request.tx_id)
        )

    # -- officer actions (the kiosk and the demo call these) -------------------------------------
    def _held_tx(self) -> str:
        vehicle = self.lane.current
        if vehicle is None or self.lane.state is not LaneState.HOLD:
            raise LaneNotHolding("no held vehicle")
        if self.officer_pending == vehicle.tx_id:
            raise LaneNotHolding("another officer's action on this vehicle is being applied")
        return vehicle.tx_id

    def officer_approve(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None:
        """Let the held vehicle pass (role checks are the caller's: the kiosk)."""
        tx_id = self._held_tx()
        self.recorder.officer_action(tx_id, officer, "approve", reason, before=before, after=after)
        self.submit(OfficerApproved(officer, reason, tx_id=tx_id))

    def officer_reject(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None:
        """Refuse the held vehicle: it must back out. Final for the transaction."""
        tx_id = self._held_tx()
        self.recorder.officer_action(tx_id, officer, "reject", reason, before=before, after=after)
        self.submit(OfficerRejected(officer, reason, tx_id=tx_id))

    def officer_correct(
        self, officer: str, reason: str, plate: str | None = None, containers: list[str] | None = None
    ) -> None:
        """Replace a misread plate and/or container list and decide again; both reads stay on record."""
        tx_id = self._held_tx()
        vehicle = self.lane.current
        if vehicle is None or vehicle.tx_id != tx_id:
            raise LaneNotHolding("no held vehicle to correct")
        before = vehicle.identification or Identification(plate=None)
        source = f"officer:{officer}"
        new_plate = before.plate
        if plate is not None:
            text = normalise_plate(plate)
            new_plate = Read(ReadKind.PLATE, text, 1.0, valid=bool(text), source=source)
        new_containers = before.containers
        if containers is not None:
            new_containers = tuple(
                Read(ReadKind.CONTAINER, iso6346.normalise(c), 1.0, iso6346.is_valid(c), source=source)
                for c in containers
            )
        after = Identification(plate=new_plate, containers=new_containers)
        self.recorder.officer_action(
            vehicle.tx_id,
            officer,
            "correct_read",
            reason,
            before=identification_json(before),
            after=identification_json(after),
        )
        self.submit(OfficerCorrected(officer, reason, after, tx_id=vehicle.tx_id))

    def officer_inspection_done(self, officer: str, reason: str) -> None:
        """Record a red-channel inspection done for the held vehicle's declaration, then decide again."""
        self._held_tx()
        vehicle = self.lane.current
        if vehicle is None or not vehicle.declaration_number:
            raise LaneNotHolding("no held vehicle with a matched declaration")
        number = vehicle.declaration_number
        with self.store.conn:  # the flag, its audit record and its event: all or nothing
            self.store.declarations.mark_inspected(number, datetime.now(UTC))
            self.recorder.officer_action(
                vehicle.tx_id,
                officer,
                "inspection_done",
                reason,
                before={"declaration": number, "inspection_done": False},
                after={"declaration": number, "inspection_done": True},
            )
        ident = vehicle.identification or Identification(plate=None)
        self.submit(OfficerCorrected(officer, f"inspection done: {reason}", ident, tx_id=vehicle.tx_id))

    def open_refusal(self) -> str | None:
        """Why a manual open would be ignored by the lane now, or None (for central's remote open)."""
        if not self.ready.is_set():
            return "the lane has not started"
        if not self.lane.link_up:
            return "the lane controller is not reachable"
        if self.lane.state in (LaneState.OPENING, LaneState.PASSING):
            return "the barrier is already open"
        return None

    def officer_open(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None:
        """Open the barrier by hand outside a transaction (supervisors only; checked by the caller)."""
        self.recorder.officer_action(
            self.lane.tx_id, officer, "manual_open", reason, before=before, after=after
        )
        self.submit(OfficerOpen(officer, reason))

    def faults(self) -> list[str]:
        """Every device fault now, in words, for the lane status and the kiosk."""
        found = []
        if not self.health.modbus_up:
            found.append(f"I/O controller: {self.health.modbus_detail}")
        if not self.health.scale_ok:
            found.append(f"weighbridge: {self.health.scale_detail}")
        if self.lane.fault:
            found.append(f"lane: {self.lane.fault}")
        return found

    def status(self) -> dict[str, Any]:
        """The lane status: state, detectors, barrier, device health, outbox."""
        return {
            "faults": self.faults(),
            "light": self.light,
            "gate_id": self.config.gate_id,
            "lane": self.lane.status(),
            "devices": {
                "modbus": {"up": self.health.modbus_up, "detail": self.health.modbus_detail},
                "scale": {
                    "ok": self.health.scale_ok,
                    "detail": self.health.scale_detail,
                    "last_weight_kg": self.health.last_weight_kg,
                },
            },
            "outbox_depth": self.store.outbox.depth(),
            "sync": self.uplink_status() if self.uplink_status is not None else None,
        }

    # -- operations: systemd and metrics ----------------------------------------------------------
    def metrics_snapshot(self) -> GateSnapshot:
        """What /metrics reads at each scrape (on the loop: the store connection is this thread's)."""
        cameras = getattr(self._identifier, "stats", None)
        uplink = self.uplink_status() if self.uplink_status is not None else None
        return GateSnapshot(
            lane_state=self.lane.state.value,
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
            mqtt_connected=bool(uplink["connected"]) if uplink is not None else None,
            clearance_cache_age_s=uplink.get("clearance_age_s") if uplink is not None else None,
        )

    def _liveness_checks(self, io_task: asyncio.Task[None]) -> dict[str, LivenessCheck]:
        """What must be alive for the watchdog to ping: the lane loop, the pollers, the camera readers."""
        link = self.config.devices.io
        # One full reconnect backoff (with jitter) plus a connect and a request guard, with room.
        io_stall_s = link.backoff_max_s * 1.1 + 2 * (link.timeout_s * 2 + 0.1) + 2.0
        io = self._io.stats
        checks: dict[str, LivenessCheck] = {
            "lane-loop": self._lane_heartbeat.alive,
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


class LaneNotHolding(Exception):
    """An officer action that needs a held vehicle came when none is held."""


def prune_evidence(folder: Path, keep_s: float, now: float | None = None) -> int:
    """Delete evidence images older than `keep_s` so months of uptime never fill the disk; count them."""
    cutoff = (time.time() if now is None else now) - keep_s
    removed = 0
    try:
        files = list(folder.glob("*.jpg"))
    except OSError:
        return 0
    for path in files:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError as exc:  # vanished meanwhile, or not ours to delete: try again next time
            log.debug("evidence %s not pruned: %s", path, exc)
    if removed:
        log.info("pruned %d evidence images older than %.0f days", removed, keep_s / 86400)
    return removed


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
