"""The gate side of the contract, assembled: link, drainer, clearance feed, commands, upkeep, telemetry.

:class:`GateSync` knows the gate only through the Protocols in :mod:`sync.ports`, :mod:`sync.clearances` and
:mod:`sync.commands`; the objects that touch the store are called on the :class:`~sync.ports.StoreThread`.
Inbound messages are handled one at a time, in arrival order, and acknowledged to the broker only once
handled: a clearance lost to a crash between arrival and commit is delivered again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sync.clearances import ClearanceStore, FeedResult, handle_clearance
from sync.client import Backoff, Inbound, MqttLink
from sync.commands import AckStatus, Command, CommandAck, CommandJournal, claimed_id, verify
from sync.config import SyncConfig
from sync.contract import GateStatus, MessageRejected, Rejected, gate_topics
from sync.health import OutboxWatch, read_figures, seconds_since, telemetry_sample
from sync.outbox import Drainer, utc_now
from sync.ports import GateControl, OutboxSource, StoreThread

log = logging.getLogger("sync.service")

UPKEEP_S = 1.0


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
        self._connected_at = clock()
        self.rejected: Counter[str] = Counter()
        self.commands: Counter[str] = Counter()
        self.watch = OutboxWatch(config)
        self._last_refusal: str | None = None
        self.link = MqttLink(
            config.broker,
            config.broker.resolved_client_id(gate_id),
            status_topic=self.topics.status,
            online_payload=lambda: self._status_payload("online", "connected"),
            offline_payload=lambda reason: self._status_payload("offline", reason),
            subscriptions=[self.topics.clearances, self.topics.commands],
            backoff=Backoff(config.backoff_initial_s, config.backoff_max_s),
            on_refused=self._on_refused,
        )
        self.drainer = Drainer(outbox, store, self.link, self.topics, gate_id, config, clock)
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve until :meth:`stop`: the last thing sent is the retained ``offline`` status."""
        await self._upkeep_once()
        link_task = asyncio.create_task(self.link.run(), name="sync-link")
        self._tasks = [
            asyncio.create_task(self.drainer.run(), name="sync-drainer"),
            asyncio.create_task(self._inbound(), name="sync-inbound"),
            asyncio.create_task(self._upkeep(), name="sync-upkeep"),
            asyncio.create_task(self._telemetry(), name="sync-telemetry"),
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
            "rejected": dict(self.rejected),
            "commands": dict(self.commands),
            "alarms": self.alarms(),
        }

    def alarms(self) -> list[str]:
        found = set(self.watch.alarms)
        if self.link.stats.refusals and not self.link.connected:
            found.add("broker_refused")
        return sorted(found)

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
            try:
                if message.topic == self.topics.clearances:
                    await self._clearance(message)
                elif message.topic == self.topics.commands:
                    await self._command(message)
                else:
                    log.warning("message on unexpected topic %s ignored", message.topic)
            finally:
                self.link.ack(message)

    async def _reject(self, topic: str, rejected: Rejected, size: int) -> None:
        name = topic.rsplit("/", 1)[-1]
        self.rejected[f"{name}:{rejected.reason}"] += 1
        log.warning("rejected a message on %s (%d bytes): %s", topic, size, rejected)
        body = MessageRejected(topic=topic, reason=rejected.reason, detail=rejected.detail, size=size)
        await self._write("sync.message_rejected", body.model_dump())

    async def _clearance(self, message: Inbound) -> None:
        limit = self.config.clearance_max_bytes
        raw = message.payload
        resync = self._want_snapshot

        def work() -> FeedResult:
            return handle_clearance(raw, self.gate_id, limit, self._clearances, self._clock, resync)

        result = await self._store.call(work)
        self._feed_version = result.version
        if result.rejection is not None:
            await self._reject(message.topic, result.rejection, len(raw))
            if result.rejection.reason == "out_of_order":
                self._want_snapshot = True
                self._announce()
            return
        if result.outcome == "duplicate":
            self.rejected["clearances:already_applied"] += 1
            return
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

    async def _command(self, message: Inbound) -> None:
        config = self.config
        key = config.command_key.get_secret_value() if config.command_key else None
        now = self._clock()
        try:
            command = verify(
                message.payload, key, self.gate_id, now, config.command_max_age_s, config.command_max_bytes
            )
        except Rejected as rejected:
            await self._reject(message.topic, rejected, len(message.payload))
            self._ack(claimed_id(message.payload), None, "rejected", str(rejected), now)
            return
        if await self._store.call(lambda: self._journal.seen(command.command_id)):
            self.commands["duplicate"] += 1
            self._ack(command.command_id, command.name, "duplicate", "already handled: not done again", now)
            return
        status, detail = self._decide(command)
        await self._store.call(lambda: self._journal.record(command, status, detail, now))
        result = self._execute(command) if status == "accepted" else None
        self.commands[status] += 1
        await self._write(
            "command.handled",
            {
                "command_id": str(command.command_id),
                "name": command.name,
                "issuer": command.issuer,
                "status": status,
                "detail": detail,
            },
        )
        self._ack(command.command_id, command.name, status, detail, now, result)

    def _decide(self, command: Command) -> tuple[AckStatus, str]:
        if command.name == "open_barrier" and not self.config.remote_open_allowed:
            return "refused", "remote opening is not allowed by this gate's configuration"
        if command.name == "open_barrier":
            # Decided before the command is journalled, so the audit never says "opening" for a lane that
            # could not act on it.
            refusal = self._gate.open_refusal()
            if refusal is not None:
                return "refused", f"the lane cannot open now: {refusal}"
        return "accepted", {
            "reload_clearances": "snapshot requested",
            "status_report": "status attached",
            "open_barrier": "barrier opening",
        }[command.name]

    def _execute(self, command: Command) -> dict[str, Any] | None:
        if command.name == "status_report":
            return {"lane": self._gate.lane_status(), "sync": self.status()}
        if command.name == "reload_clearances":
            self._want_snapshot = True
            self._announce()
        elif command.name == "open_barrier":
            self._gate.open_barrier(f"central:{command.issuer}", command.reason or "remote open by central")
        return None

    def _ack(
        self,
        command_id: Any,
        name: str | None,
        status: AckStatus,
        detail: str,
        at: datetime,
        result: dict[str, Any] | None = None,
    ) -> None:
        ack = CommandAck(
            gate_id=self.gate_id,
            command_id=command_id,
            name=name,
            status=status,
            detail=detail[:500],
            at=at,
            result=result,
        )
        self.link.publish(self.topics.commands_ack, ack.model_dump_json().encode())
