"""The lane's uplink to central: sync's protocols adapted to this gate's store and lane daemon.

sync/ knows nothing of edge/; this module gives it the outbox (the store's repository), the
declaration cache with its feed version (kept in the store's ``meta`` table), the audit trail for commands,
and the lane for telemetry and remote opening. The uplink opens its own connection to the store file on a
dedicated thread, so draining and applying clearances never block the lane's event loop; WAL lets the lane
read and write meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from edge.declaration import Declaration
from edge.evidence_provider import StoreEvidence
from edge.store import Store
from sync.clearances import ClearanceDelta, ClearanceSnapshot, WireDeclaration
from sync.commands import AckStatus, Command
from sync.config import SyncConfig
from sync.ports import GateControl, StoreThread
from sync.service import GateSync

if TYPE_CHECKING:
    from edge.daemon import LaneDaemon

log = logging.getLogger("edge.uplink")

FEED_VERSION_KEY = "clearances.feed_version"
FEED_DIGEST_KEY = "clearances.feed_digest"


def to_declaration(wire: WireDeclaration) -> Declaration:
    """Central's wire declaration as the gate's own model (same fields, the gate's enums)."""
    return Declaration.model_validate(wire.model_dump())


class StoreClearances:
    """The declaration cache and its feed version, changed together in one SQL transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def feed_version(self) -> int:
        value = self._store.meta.get(FEED_VERSION_KEY)
        return 0 if value is None else int(value)

    def feed_digest(self) -> str | None:
        return self._store.meta.get(FEED_DIGEST_KEY)

    def last_update_at(self) -> datetime | None:
        return self._store.meta.updated_at(FEED_VERSION_KEY)

    def apply(self, message: ClearanceSnapshot | ClearanceDelta, at: datetime, digest: str) -> int:
        repo = self._store.declarations
        changed = 0
        with self._store.conn:
            if isinstance(message, ClearanceSnapshot):
                keep = {d.number for d in message.declarations}
                for decl in repo.all():
                    if decl.number not in keep:
                        changed += repo.delete(decl.number)
                upserts, removals = message.declarations, []
            else:
                upserts, removals = message.upserts, message.removals
            for number in removals:
                changed += repo.delete(number)
            for wire in upserts:
                changed += repo.upsert(to_declaration(wire), at)
            self._store.meta.put({FEED_VERSION_KEY: str(message.feed_version), FEED_DIGEST_KEY: digest}, at)
        return changed


class StoreJournal:
    """Commands in the hash-chained audit trail; a command id found there was already handled."""

    def __init__(self, store: Store) -> None:
        self._audit = store.audit

    def seen(self, command_id: UUID) -> bool:
        return bool(self._audit.records(subject=f"command:{command_id}", limit=1))

    def record(self, command: Command, status: AckStatus, detail: str, at: datetime) -> None:
        self._audit.append(
            actor=f"central:{command.issuer}",
            action=f"command.{command.name}",
            subject=f"command:{command.command_id}",
            reason=command.reason or None,
            before=None,
            after={"status": status, "detail": detail, "issued_at": command.issued_at.isoformat()},
            at=at,
        )


class NoLane:
    """For an uplink that runs without a lane (tools, tests): empty status, nothing to open."""

    def lane_status(self) -> dict[str, Any]:
        return {}

    def open_refusal(self) -> str | None:
        return "no lane attached"

    def open_barrier(self, actor: str, reason: str) -> None:
        log.warning("open_barrier from %s ignored: no lane attached (%s)", actor, reason)


class DaemonLane:
    """The lane daemon as sync's GateControl."""

    def __init__(self, daemon: LaneDaemon) -> None:
        self._daemon = daemon

    def lane_status(self) -> dict[str, Any]:
        return self._daemon.status()

    def open_refusal(self) -> str | None:
        return self._daemon.officer.open_refusal()

    def open_barrier(self, actor: str, reason: str) -> None:
        self._daemon.officer.open(actor, reason)


class Uplink:
    """Store-and-forward to central for one lane; ``run()`` until ``stop()``."""

    def __init__(
        self,
        config: SyncConfig,
        gate_id: str,
        store_path: Path | str,
        *,
        lane_id: str | None = None,
        gate: GateControl | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        evidence_dir: Path | None = None,
    ) -> None:
        self.config = config
        self._disabled_stop = asyncio.Event()
        self._thread = StoreThread("uplink-store")
        store = self._thread.call_sync(lambda: Store(store_path))
        self._store = store
        self.sync = GateSync(
            config,
            gate_id,
            store=self._thread,
            outbox=store.outbox,
            clearances=StoreClearances(store),
            journal=StoreJournal(store),
            gate=gate or NoLane(),
            event_fields={"lane_id": lane_id} if lane_id else {},
            clock=clock,
            evidence=None if evidence_dir is None else StoreEvidence(store, evidence_dir),
        )

    @classmethod
    def for_daemon(cls, daemon: LaneDaemon, config: SyncConfig) -> Uplink:
        """An uplink on the daemon's store file, woken by every lane step the daemon records."""
        path = daemon.store.path
        if path is None:
            raise ValueError("the uplink needs the lane store on a file, not in memory")
        uplink = cls(
            config,
            daemon.config.gate_id,
            path,
            lane_id=daemon.config.lane.lane_id,
            gate=DaemonLane(daemon),
            evidence_dir=daemon.evidence_dir,
        )
        daemon.add_listener(lambda _kind, _data: uplink.notify())
        return uplink

    async def run(self) -> None:
        """Serve until stop(); then close the uplink's store connection."""
        try:
            if self.config.enabled:
                await self.sync.run()
            else:
                await self._disabled_stop.wait()
        finally:
            await self._thread.call(self._store.close)
            self._thread.close()

    async def stop(self) -> None:
        """Leave cleanly: a retained offline status, then disconnect (events stay in the outbox)."""
        self._disabled_stop.set()
        await self.sync.stop()

    def notify(self) -> None:
        """New events are in the outbox: drain now rather than at the next poll."""
        self.sync.notify()

    def inbound_alive(self) -> bool:
        """Clearances and commands are being received: the watchdog's and readiness's check (see GateSync).

        A disabled uplink receives nothing and is alive by definition.
        """
        return not self.config.enabled or self.sync.inbound_alive()

    def status(self) -> dict[str, Any]:
        """For the lane status: link, outbox depth and age, clearance age, alarms; details under ``sync``."""
        detail = self.sync.status()
        return {
            "enabled": self.config.enabled,
            "connected": detail["broker"]["connected"],
            "inbound_alive": self.inbound_alive(),
            "task_restarts": detail["restarts"],
            "outbox_depth": detail["outbox"]["depth"],
            "oldest_undelivered_age_s": detail["outbox"]["oldest_age_s"],
            "clearance_version": detail["clearances"]["version"],
            "clearance_age_s": detail["clearances"]["last_update_age_s"],
            "alarms": detail["alarms"],
            "sync": detail,
        }
