"""The lane daemon: wires the lane loop, identification, the store, the kiosk's officer desk and supervision.

Two processes. The lane loop (`edge/lane_core.py`) runs alone in a process of its own
(`edge/lane_process.py`): it polls the I/O controller, steps the pure `Lane` and drives the barrier and
the light. This process runs everything that can take long or arrive in floods: the kiosk, the uplink,
identification, decisions (on the writer thread), evidence, storage checks, the watchdog. They meet only
through a bounded queue of offers into the lane, the immutable `LaneStatus` (and device health) it
reports after every step, and the `LaneMessage`s it hands to this loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.config import GateConfig
from edge.decision import Decision, expected, unrecorded
from edge.evidence import prune_evidence, save_evidence, without_images
from edge.lane import Lane
from edge.lane_core import LaneBusy
from edge.lane_events import (
    Decided,
    Identified,
    LaneEvent,
    RequestDecision,
    StartIdentification,
    TransactionEnded,
    TransactionStarted,
    Transition,
)
from edge.lane_health import DeviceHealth
from edge.lane_messages import AlarmRaised, Announced, DeviceFaulted, LaneMessage, LaneStarted, OfficerApplied
from edge.lane_process import LaneProcess
from edge.lane_status import LaneStatus
from edge.lane_writer import LaneWriter
from edge.logs import FailureLog, log_transaction
from edge.metrics import GateMetrics
from edge.officer import OfficerDesk
from edge.recorder import Recorder
from edge.sdnotify import Notifier, SdNotifier, notify_when_ready
from edge.storage_health import MB, StorageHealth, StorageWatch
from edge.store import Store
from edge.supervision import LaneReport, Readiness, Supervision
from edge.task_stop import cancel_within
from edge.watchdog import Watchdog
from vision.identity import ExpectingSource, Identification, IdentificationSource

if TYPE_CHECKING:
    from vision.cameras import CameraStats

log = logging.getLogger("edge.daemon")

STOP_WAIT_S = 5.0  # how long the shutdown waits for each group of tasks to end
EVIDENCE_PRUNE_EVERY_S = 3600.0
#: With the I/O controller unreachable, report READY after this long anyway: the kiosk shows the fault.
READY_GRACE_S = 60.0

Listener = Callable[[str, dict[str, Any]], None]


class LaneProcessEnded(Exception):
    """The lane process ended without being asked to: the daemon stopped, and must be restarted."""


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
        if isinstance(identifier, ExpectingSource):  # reads checked against the cleared declarations' texts
            # Valid now and of the lane's plate grammar: the declarations a verified read could pass under.
            grammar = config.vision.plate_grammar
            identifier.expect(lambda: expected(self.store.declarations.all(), datetime.now(UTC), grammar))
        # The lane loop and its devices, run alone in a process of their own; everyone reads `self.view`.
        self.lane_process = LaneProcess(config, self._on_lane_message)
        self.store = Store(config.store.path)  # the main loop's connection (kiosk, officer actions)
        self.recorder = Recorder(self.store, config.gate_id, config.lane.lane_id)
        # The lane's own records go through the writer, so the lane loop never waits on the database lock.
        self.storage = StorageHealth(min_free_bytes=int(config.store.min_free_mb * MB))
        self.writer = LaneWriter(config.store.path, config.gate_id, config.lane.lane_id, self.storage)
        self._storage_watch = StorageWatch(
            self.storage, config.store.path.parent, config.store.check_s, self.writer.retry, self._storage_low
        )
        self.ready = asyncio.Event()
        self.uplink_status: Callable[[], dict[str, Any]] | None = None  # set when sync runs beside the lane
        self.notifier: Notifier = notifier or SdNotifier(None)
        self.watchdog = Watchdog(self.notifier, {})
        # Everyone reads the lane as the lane process last reported it, through the supervision.
        self.supervision = Supervision(
            config,
            self.lane_process,
            LaneStatus.of(Lane(config.lane, barrier=config.devices.barrier)),
            self.store,
            self.storage,
            identifier,
            self.watchdog,
            self.ready,
            lambda: self.uplink_status,
            clock,
        )
        self.lag = self.supervision.lag
        self.officer = OfficerDesk(
            lambda: self.view,
            self.submit,
            self.lane_process.check_accepting,
            self.recorder,
            self.store,
            self.ready.is_set,
            config.vision.plate_grammar,
        )
        self.metrics = GateMetrics(config.gate_id, config.lane.lane_id, self.supervision)
        self._tx_notes: dict[str, _TxNotes] = {}
        self._failures = FailureLog(log)
        # Main-loop state.
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._listeners: list[Listener] = []

    # -- crossing between the loops -----------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call `listener(kind, data)` on the main loop for every transaction step (kiosk, uplink, demo)."""
        self._listeners.append(listener)

    # What the lane process last reported: read it, act on the lane only through submit().
    @property
    def view(self) -> LaneStatus:
        """The lane as of its last step (immutable)."""
        return self.supervision.view

    @property
    def health(self) -> DeviceHealth:
        return self.supervision.health

    def submit(self, event: LaneEvent) -> None:
        """Hand an event to the lane loop; LaneBusy if it cannot take it now."""
        self.lane_process.offer(event)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(kind, data)
            except Exception:  # a broken listener must not stop the daemon
                log.exception("listener failed on %s", kind)

    def _spawn(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.create_task(make())
        self._side_tasks.add(task)  # keep a reference until done, then let it go (months of uptime)
        task.add_done_callback(self._side_tasks.discard)

    def _on_lane_message(self, message: LaneMessage) -> None:
        """What the lane loop hands over: records to write, steps to announce, work to start."""
        if isinstance(message, LaneStarted):
            self.ready.set()
        elif isinstance(message, OfficerApplied):
            self.officer.applied(message.tx_id)
        elif isinstance(message, Announced):
            self._emit(message.kind, message.data)
        elif isinstance(message, StartIdentification):
            tx_id = message.tx_id
            self._spawn(lambda: self._identify(tx_id))
        elif isinstance(message, RequestDecision):
            self._spawn(lambda: self._decide(message))
        elif isinstance(message, TransactionStarted):
            self._tx_notes[message.tx_id] = _TxNotes(started_at=message.at)
            self.writer.post("TransactionStarted", lambda r: r.started(message.tx_id))
            self._emit("started", {"tx_id": message.tx_id})
        elif isinstance(message, Transition):
            self.writer.post("Transition", lambda r: r.transition(message))
            self._emit("transition", message.as_dict())
        elif isinstance(message, TransactionEnded):
            self.writer.post("TransactionEnded", lambda r: r.ended(message))
            self._log_transaction(message)
            self._emit("ended", {"tx_id": message.tx_id, "result": message.result})
        elif isinstance(message, AlarmRaised):
            self.writer.post("Alarm", lambda r: r.alarm(message.tx_id, message.code, message.detail))
            self._emit("alarm", {"tx_id": message.tx_id, "code": message.code, "detail": message.detail})
        elif isinstance(message, DeviceFaulted):
            self.writer.post("device fault", lambda r: r.device_fault(message.device, message.detail))

    # -- running (main loop) --------------------------------------------------------------------------
    async def run(self) -> None:
        """Start the lane process; run until `stop()`; LaneProcessEnded when the lane ends by itself."""
        await self.writer.open()
        interrupted = await self.writer.call(lambda r: r.recover_interrupted())
        for tx_id in interrupted:
            log.warning("transaction %s was interrupted by a restart: marked interrupted", tx_id)
            self.metrics.observe_transaction_end("interrupted")
            log_transaction(tx_id, "interrupted")
        await self.lane_process.start()
        lane_died = False
        stopping = asyncio.create_task(self._stopping.wait())
        ended = asyncio.create_task(self.lane_process.ended.wait())
        try:
            for name, check in self.supervision.liveness_checks().items():
                self.watchdog.register(name, check)
            self._tasks = [
                asyncio.create_task(self.watchdog.run(), name="watchdog"),
                asyncio.create_task(self._notify_ready(), name="sd-ready"),
                asyncio.create_task(self._prune(), name="evidence-prune"),
                asyncio.create_task(self._storage_watch.run(), name="storage-watch"),
            ]
            await asyncio.wait({stopping, ended}, return_when="FIRST_COMPLETED")
            lane_died = not self._stopping.is_set()
            if lane_died:
                log.critical("the lane process ended by itself: the daemon stops")
        finally:
            stopping.cancel()
            ended.cancel()
            await self._shutdown()
        if lane_died:  # a failure: `gate-edge run` exits non-zero and systemd restarts it
            raise LaneProcessEnded("the lane process ended by itself")

    async def stop(self) -> None:
        self._stopping.set()

    async def settle(self) -> None:
        """Wait until what the lane did so far is handled here and written (tests; the demo's end)."""
        await self.lane_process.settle()
        await self.writer.flush()

    async def _shutdown(self) -> None:
        # The lane stops first, so it never acts on the frozen inputs of a driver that is going away.
        # Each wait is bounded: a task that swallowed its cancellation must not keep the daemon from
        # stopping the drivers and closing the store. The store is closed whatever happens on the way, a
        # second cancellation of the daemon included.
        self.notifier.stopping()
        try:
            await self.lane_process.stop(STOP_WAIT_S * 3)
            await cancel_within([*self._tasks, *self._side_tasks], STOP_WAIT_S)
        finally:
            try:
                await self.writer.close()
            finally:
                self.store.close()

    async def _prune(self) -> None:
        store = self.config.store
        while True:
            await asyncio.to_thread(prune_evidence, store.evidence_dir, store.evidence_keep_days * 86400)
            await asyncio.sleep(EVIDENCE_PRUNE_EVERY_S)

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
        if self.view.tx_id == tx_id:  # the lane needs the reads, not the images (kept by their SHA-256)
            self._submit_from_main(Identified(without_images(ident), tx_id=tx_id))

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

    # -- what others read (main loop) -----------------------------------------------------------------
    @property
    def evidence_dir(self) -> Path:
        return self.config.store.evidence_dir

    def camera_stats(self) -> dict[str, CameraStats]:
        """Each camera reader's state, fps, last frame age and fault; none where no cameras identify."""
        stats = getattr(self._identifier, "stats", None)
        return stats() if callable(stats) else {}

    def lane_alive(self) -> bool:
        return self.supervision.lane_alive()

    def faults(self) -> list[str]:
        return self.supervision.faults()

    def report(self) -> LaneReport:
        return self.supervision.report()

    def readiness(self) -> Readiness:
        return self.supervision.readiness()

    def status(self) -> dict[str, Any]:
        """The lane status as plain data: state, detectors, barrier, devices, outbox (for telemetry)."""
        return self.report().as_dict()

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


@dataclass(slots=True)
class _TxNotes:
    """What the one log line per transaction reports, gathered while it runs."""

    started_at: float
    decision: Decision | None = None
    identification: Identification | None = None
    weight_kg: float | None = None
