"""The gate side of the contract, assembled: link, drainer, clearance feed, commands, upkeep, telemetry.

:class:`GateSync` knows the gate only through the Protocols in :mod:`sync.ports`, :mod:`sync.clearances` and
:mod:`sync.commands`; the objects that touch the store are called on the :class:`~sync.ports.StoreThread`.
Inbound messages are handled one at a time, in arrival order, and acknowledged to the broker only once
handled: a clearance lost to a crash between arrival and commit is delivered again. No payload can stop
that: each one is applied or rejected (counted, logged, reported to central), a failure of the gate's own
while handling one is a rejection too (reason ``failed``), and the task itself is supervised: should it
die, it is restarted, counted, and raises the ``inbound_restarted`` alarm (:mod:`sync.supervisor`, which
runs the drainer, upkeep and telemetry the same way). :meth:`GateSync.inbound_alive` says whether it runs
and is not stuck on one message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pacing.backoff import Backoff
from sync.clearances import ClearanceStore, FeedResult, FeedRules, handle_clearance
from sync.client import BROKER_JITTER, Inbound, MqttLink
from sync.command_handler import CommandHandler
from sync.commands import CommandJournal
from sync.config import SyncConfig
from sync.contract import GateStatus, MessageRejected, Rejected, gate_topics
from sync.evidence_limits import EvidenceLimits
from sync.evidence_reply import EvidenceProvider, EvidenceSender
from sync.health import OutboxWatch, read_figures, seconds_since, telemetry_sample
from sync.outbox import Drainer, utc_now
from sync.ports import GateControl, OutboxSource, StoreThread
from sync.rejections import RejectionReports
from sync.supervisor import Supervisor

log = logging.getLogger("sync.service")

UPKEEP_S = 1.0
SNAPSHOT_ASK_AGAIN_S = 60.0


class GateSync:
    """Runs until :meth:`stop`; :meth:`status` is cheap and never touches the store."""

    def __init__(
        self,
        config: SyncConfig,
        gate_id: str,
        *,
        store: StoreThread,
        outbox: OutboxSource,
        clearances: ClearanceStore,
        journal: CommandJournal,
        gate: GateControl,
        event_fields: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] = utc_now,
        evidence: EvidenceProvider | None = None,
        evidence_limits: EvidenceLimits | None = None,
    ) -> None:
        self.config = config
        self.gate_id = gate_id
        self.topics = gate_topics(config.topic_prefix, gate_id)
        self._store = store
        self._outbox = outbox
        self._clearances = clearances
        self._journal = journal
        self._gate = gate
        self._event_fields = dict(event_fields or {})
        self._clock = clock
        self._feed_version = 0
        self._want_snapshot = False
        self.rejected: Counter[str] = Counter()
        self.watch = OutboxWatch(config)
        self._last_refusal: str | None = None
        self._feed_rules = FeedRules(
            gate_id,
            config.clearance_max_bytes,
            config.trusted_clearance_keys(),
            config.clearance_max_version_jump,
        )
        self._reports = RejectionReports(config.rejection_reports_per_min)
        self._inbound_task: asyncio.Task[None] | None = None
        self._busy_since: float | None = None
        self.inbound_handled = 0
        self.supervisor = Supervisor(clock)
        self._announced_at = 0.0
        self.link = MqttLink(
            config.broker,
            config.broker.resolved_client_id(gate_id),
            status_topic=self.topics.status,
            online_payload=lambda: self._status_payload("online", "connected"),
            offline_payload=lambda reason: self._status_payload("offline", reason),
            subscriptions=[self.topics.clearances, self.topics.commands],
            backoff=Backoff(config.backoff_initial_s, config.backoff_max_s, jitter=BROKER_JITTER),
            on_refused=self._on_refused,
            max_payload=max(config.clearance_max_bytes, config.command_max_bytes),
        )
        self.drainer = Drainer(outbox, store, self.link, self.topics, gate_id, config, clock)
        self._commands = CommandHandler(
            config,
            gate_id,
            store=store,
            journal=journal,
            gate=gate,
            link=self.link,
            ack_topic=self.topics.commands_ack,
            write=self._write,
            status=self.status,
            reload=self._ask_for_snapshot,
            clock=clock,
            evidence=None
            if evidence is None
            else EvidenceSender(
                evidence,
                evidence_limits or config.evidence,
                gate_id=gate_id,
                topics=self.topics,
                link=self.link,
                store=store,
            ),
        )
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve until :meth:`stop`: the last thing sent is the retained ``offline`` status."""
        await self._upkeep_once()
        link_task = asyncio.create_task(self.link.run(), name="sync-link")
        supervised = self.supervisor.run
        self._inbound_task = asyncio.create_task(supervised("inbound", self._inbound), name="sync-inbound")
        self._tasks = [
            asyncio.create_task(supervised("drainer", self.drainer.run), name="sync-drainer"),
            self._inbound_task,
            asyncio.create_task(supervised("upkeep", self._upkeep), name="sync-upkeep"),
            asyncio.create_task(supervised("telemetry", self._telemetry), name="sync-telemetry"),
        ]
        try:
            await link_task
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        await self.link.stop()

    def notify(self) -> None:
        """The gate wrote new events."""
        self.drainer.notify()

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        now = self._clock()
        figures = self.watch.figures
        stats = self.drainer.stats
        health = self.watch.health(now)
        return {
            "broker": {
                "connected": self.link.connected,
                "host": self.config.broker.host,
                "port": self.config.broker.port,
                "protocol": self.link.protocol,
                "connects": self.link.stats.connects,
                "refusals": self.link.stats.refusals,
                "last_error": self.link.stats.last_error,
            },
            "outbox": {
                "depth": health.depth,
                "oldest_age_s": health.oldest_age_s,
                "inflight": self.drainer.inflight,
                "published": stats.published,
                "delivered": stats.delivered,
                "refused": stats.refused,
                "last_refusal": stats.last_refusal,
                "telemetry_dropped": self.watch.telemetry_dropped,
                "telemetry_expired": stats.telemetry_expired,
            },
            "clearances": {
                "version": self._feed_version,
                "last_update_age_s": seconds_since(figures.clearance_updated_at, now) if figures else None,
                "want_snapshot": self._want_snapshot,
            },
            "inbound": {
                "alive": self.inbound_alive(),
                "handled": self.inbound_handled,
                "restarts": self.supervisor.restarts["inbound"],
                "last_crash": self.supervisor.last_crash("inbound"),
                "dropped_qos0": self.link.stats.inbound_dropped,
            },
            "restarts": dict(self.supervisor.restarts),
            "rejected": dict(self.rejected),
            "commands": dict(self._commands.counts),
            "alarms": self.alarms(),
        }

    def alarms(self) -> list[str]:
        found = set(self.watch.alarms)
        if self.link.stats.refusals and not self.link.connected:
            found.add("broker_refused")
        return sorted(found | self.supervisor.alarms())

    def inbound_alive(self) -> bool:
        """The inbound task runs and has held no message longer than ``inbound_stall_s`` (watchdog, ready)."""
        task = self._inbound_task
        if task is None or task.done():
            return False
        busy = self._busy_since
        return busy is None or time.monotonic() - busy < self.config.inbound_stall_s

    def _status_payload(self, state: str, reason: str) -> bytes:
        online = state == "online"
        message = GateStatus(
            gate_id=self.gate_id,
            state="online" if online else "offline",
            reason=reason,
            at=self._clock(),
            clearance_version=self._feed_version if reason != "connection lost" else None,
            want_snapshot=self._want_snapshot and online,
        )
        return message.model_dump_json().encode()

    def _announce(self) -> None:
        """Republish the retained online status (its clearance version or snapshot request changed)."""
        self.link.publish(self.topics.status, self._status_payload("online", "connected"), retain=True)
        self._announced_at = time.monotonic()

    def _ask_for_snapshot(self) -> None:
        """Ask central for a snapshot, once rather than per failing message.

        A fault that fails every snapshot too would otherwise ping-pong snapshots with central; upkeep asks
        again every SNAPSHOT_ASK_AGAIN_S while the gate still wants one.
        """
        if not self._want_snapshot:
            self._want_snapshot = True
            self._announce()

    # -- upkeep and telemetry -----------------------------------------------------------------
    async def _upkeep(self) -> None:
        while True:
            await asyncio.sleep(UPKEEP_S)
            await self._upkeep_once()

    async def _upkeep_once(self) -> None:
        now = self._clock()
        keep = self.config.telemetry_keep
        figures = await self._store.call(lambda: read_figures(self._outbox, self._clearances, keep, now))
        self._feed_version = figures.feed_version
        for kind, payload in self.watch.update(figures):
            await self._write(kind, payload)
        if self._want_snapshot and time.monotonic() - self._announced_at >= SNAPSHOT_ASK_AGAIN_S:
            self._announce()
        for task, kind, payload in self.supervisor.alarm_events():
            await self._write(kind, payload)
            self.supervisor.written(task, kind)
        for topic, reason, suppressed in self._reports.tallies_due():
            log.warning(
                "%d more messages on %s rejected (%s), not reported one by one", suppressed, topic, reason
            )
            tally = MessageRejected(
                topic=topic,
                reason=reason,
                detail=f"{suppressed} more rejected, not reported one by one",
                size=0,
                suppressed=suppressed,
            )
            await self._write("sync.message_rejected", tally.model_dump())
        if self.watch.purge_due(now):
            before = self.watch.purge_before(now)
            purged = await self._store.call(lambda: self._outbox.purge_delivered(before))
            if purged:
                log.info("purged %d delivered events older than %s", purged, before.isoformat())

    async def _telemetry(self) -> None:
        while True:
            await asyncio.sleep(self.config.telemetry_period_s)
            now = self._clock()
            kind, payload = telemetry_sample(self._gate.lane_status(), self.watch, now, self.alarms())
            await self._store.call(functools.partial(self._outbox.append, kind, payload, now, critical=False))
            self.drainer.notify()

    async def _write(self, kind: str, payload: dict[str, Any]) -> None:
        """Append one event of this gate's own to the outbox (critical: never dropped)."""
        at = self._clock()
        body = {"gate_id": self.gate_id, **self._event_fields, **payload}
        await self._store.call(lambda: self._outbox.append(kind, body, at))
        self.drainer.notify()

    def _on_refused(self, detail: str) -> None:
        if detail != self._last_refusal:  # one event per distinct refusal, not one per retry
            self._last_refusal = detail
            self._tasks.append(asyncio.ensure_future(self._write("sync.connect_refused", {"reason": detail})))

    # -- inbound ------------------------------------------------------------------------------
    async def _inbound(self) -> None:
        while True:
            message = await self.link.inbound.get()
            self._busy_since = time.monotonic()
            try:
                await self.handle(message)
            finally:
                self._busy_since = None
                self.link.ack(message)

    async def handle(self, message: Inbound) -> str:
        """Apply or reject one inbound message: what became of it. Nothing in the payload can make it raise.

        The outcome: ``applied`` or ``duplicate`` (clearances), the command's ack status (commands),
        ``rejected``, or ``failed`` (the gate's own fault while handling it: reported like a rejection).
        Only a fault that even the rejection's report cannot get past (the store refusing every write)
        raises, to the supervisor.
        """
        self.inbound_handled += 1
        self._commands.answered = False
        topics = self.topics
        limits = {
            topics.clearances: self.config.clearance_max_bytes,
            topics.commands: self.config.command_max_bytes,
        }
        try:
            if message.topic not in limits:
                await self._reject(
                    message.topic, Rejected("unexpected_topic", "not subscribed"), message.size
                )
                return "rejected"
            if message.size > limits[message.topic]:
                oversized = Rejected("oversized", f"{message.size} bytes, limit {limits[message.topic]}")
                await self._refuse(message, oversized)
                return "rejected"
            if message.topic == topics.clearances:
                return await self._clearance(message)
            return await self._command(message)
        except Exception as exc:  # store error, bug: reported as a rejection, the loop goes on
            if message.topic == topics.clearances:
                self._ask_for_snapshot()  # whatever the message held, a snapshot brings it back
            failed = Rejected("failed", f"{type(exc).__name__}: {exc}")
            await self._refuse(message, failed, exc, answer=not self._commands.answered)
            return "failed"

    async def _refuse(
        self, message: Inbound, rejected: Rejected, exc: BaseException | None = None, answer: bool = True
    ) -> None:
        """Report a rejection; a command also gets its rejection ack (by its claimed id, if readable)."""
        if message.topic == self.topics.commands and answer:
            self._commands.answer_rejection(message.payload, rejected)
        await self._reject(message.topic, rejected, message.size, exc)

    async def _reject(
        self, topic: str, rejected: Rejected, size: int, exc: BaseException | None = None
    ) -> None:
        name = topic.rsplit("/", 1)[-1]
        self.rejected[f"{name}:{rejected.reason}"] += 1
        suppressed = self._reports.admit(topic, rejected.reason)
        if suppressed is None:
            log.debug("rejected a message on %s (%d bytes): %s (not reported: rate)", topic, size, rejected)
            return
        more = f" ({suppressed} more were rejected before it)" if suppressed else ""
        log.warning("rejected a message on %s (%d bytes): %s%s", topic, size, rejected, more, exc_info=exc)
        body = MessageRejected(
            topic=topic, reason=rejected.reason, detail=rejected.detail, size=size, suppressed=suppressed
        )
        await self._write("sync.message_rejected", body.model_dump())

    async def _clearance(self, message: Inbound) -> str:
        raw = message.payload
        resync = self._want_snapshot

        def work() -> FeedResult:
            return handle_clearance(raw, self._feed_rules, self._clearances, self._clock, resync)

        result = await self._store.call(work)
        self._feed_version = result.version
        if result.rejection is not None:
            await self._reject(message.topic, result.rejection, message.size)
            if result.rejection.reason == "out_of_order":
                self._ask_for_snapshot()
            return "rejected"
        if result.outcome == "duplicate":
            self.rejected["clearances:already_applied"] += 1
            return "duplicate"
        log.info(
            "clearance %s applied: feed version %d, %d changed", result.kind, result.version, result.changed
        )
        await self._write(
            "clearance.applied",
            {"feed_version": result.version, "type": result.kind, "changed": result.changed},
        )
        if result.kind == "snapshot" and self._want_snapshot:
            self._want_snapshot = False
        self._announce()
        await self._upkeep_once()
        return "applied"

    async def _command(self, message: Inbound) -> str:
        try:
            return await self._commands.handle(message.payload)
        except Rejected as rejected:
            await self._refuse(message, rejected)
            return "rejected"
