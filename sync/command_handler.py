"""Central's commands at the gate: verified, done at most once, decided, audited, reported and answered.

The checks themselves (signature, freshness, shape) are :func:`sync.commands.verify`; this is what follows:
the journal says whether the id was already handled, the gate's configuration and lane decide whether it
may be done, the audit trail records it before it is carried out, and every command is answered on
``commands/ack``, a rejected one too (by the id it claims, where that can be read).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sync.client import MqttLink
from sync.commands import AckStatus, Command, CommandAck, CommandJournal, claimed_id, verify
from sync.config import SyncConfig
from sync.contract import Rejected
from sync.evidence_reply import EvidenceAsk, EvidenceSender
from sync.ports import GateControl, StoreThread

log = logging.getLogger("sync.command_handler")

EventWriter = Callable[[str, dict[str, Any]], Awaitable[None]]


class CommandHandler:
    """One gate's command handling; :meth:`handle` raises :class:`Rejected` for a command it must not run."""

    def __init__(
        self,
        config: SyncConfig,
        gate_id: str,
        *,
        store: StoreThread,
        journal: CommandJournal,
        gate: GateControl,
        link: MqttLink,
        ack_topic: str,
        write: EventWriter,
        status: Callable[[], dict[str, Any]],
        reload: Callable[[], None],
        clock: Callable[[], datetime],
        evidence: EvidenceSender | None = None,
    ) -> None:
        self._config = config
        self._gate_id = gate_id
        self._store = store
        self._journal = journal
        self._gate = gate
        self._link = link
        self._ack_topic = ack_topic
        self._write = write
        self._status = status
        self._reload = reload
        self._clock = clock
        self._evidence = evidence
        self.counts: Counter[str] = Counter()
        self.answered = False  # the message in hand has had its ack

    async def handle(self, raw: bytes) -> AckStatus:
        """Verify and carry out one command message; what was done (the ack's status).

        Central is answered as soon as the outcome is known, before the ``command.handled`` event is
        written: should that write fail, :attr:`answered` tells the caller not to answer again.
        """
        self.answered = False
        config = self._config
        key = config.command_key.get_secret_value() if config.command_key else None
        now = self._clock()
        command = verify(raw, key, self._gate_id, now, config.command_max_age_s, config.command_max_bytes)
        if await self._store.call(lambda: self._journal.seen(command.command_id)):
            self.counts["duplicate"] += 1
            self.answer(command.command_id, command.name, "duplicate", "already handled: not done again", now)
            return "duplicate"
        status, detail = self._decide(command)
        await self._store.call(lambda: self._journal.record(command, status, detail, now))
        result = None
        if status == "accepted":
            try:
                if command.name == "evidence":
                    result = await self._send_evidence(command)
                else:
                    result = self._execute(command)
            except Exception as exc:  # the lane did not take it (its queue full, say): refused, on record
                status, detail = "refused", f"the lane did not take it: {type(exc).__name__}: {exc}"[:500]
                log.warning("command %s %s: %s", command.name, command.command_id, detail)
                await self._store.call(lambda: self._journal.record(command, status, detail, now))
        self.counts[status] += 1
        self.answer(command.command_id, command.name, status, detail, now, result)
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
        return status

    def answer_rejection(self, raw: bytes, rejected: Rejected) -> None:
        """Tell central a command message was rejected, by the id it claims (null if unreadable)."""
        command_id = claimed_id(raw, self._config.command_max_bytes)
        self.answer(command_id, None, "rejected", str(rejected), self._clock())

    def _decide(self, command: Command) -> tuple[AckStatus, str]:
        if command.name == "open_barrier" and not self._config.remote_open_allowed:
            return "refused", "remote opening is not allowed by this gate's configuration"
        if command.name == "open_barrier":
            # Decided before the command is journalled, so the audit never says "opening" for a lane that
            # could not act on it.
            refusal = self._gate.open_refusal()
            if refusal is not None:
                return "refused", f"the lane cannot open now: {refusal}"
        if command.name == "evidence":
            if self._evidence is None:
                return "refused", "this gate serves no evidence images"
            if not self._evidence.rate.admit():  # before any image is read: a flood costs an audit line
                per_min = self._evidence.limits.per_minute
                return "refused", f"rate limited: at most {per_min} evidence commands a minute, ask later"
        return "accepted", {
            "reload_clearances": "snapshot requested",
            "status_report": "status attached",
            "open_barrier": "barrier opening",
            "evidence": "evidence images sent on the evidence topic",
        }[command.name]

    async def _send_evidence(self, command: Command) -> dict[str, Any]:
        """The images asked for, published one by one off the lane loop; what became of each."""
        assert self._evidence is not None  # noqa: S101 (_decide refused the command otherwise)
        ask = EvidenceAsk(command.command_id, command.transaction_id, command.sha256)
        names, known = await self._evidence.wanted(ask)
        return await self._evidence.send(ask, names, known)

    def _execute(self, command: Command) -> dict[str, Any] | None:
        if command.name == "status_report":
            return {"lane": self._gate.lane_status(), "sync": self._status()}
        if command.name == "reload_clearances":
            self._reload()
        elif command.name == "open_barrier":
            self._gate.open_barrier(f"central:{command.issuer}", command.reason or "remote open by central")
        return None

    def answer(
        self,
        command_id: UUID | None,
        name: str | None,
        status: AckStatus,
        detail: str,
        at: datetime,
        result: dict[str, Any] | None = None,
    ) -> None:
        ack = CommandAck(
            gate_id=self._gate_id,
            command_id=command_id,
            name=name,
            status=status,
            detail=detail[:500],
            at=at,
            result=result,
        )
        self._link.publish(self._ack_topic, ack.model_dump_json().encode())
        self.answered = True
