"""Writes what the lane does into the store, each change with its outbox event in one SQL transaction.

The lane is pure; the daemon hands every action here. Wall-clock times are taken here (the lane
works in monotonic seconds), so stored and published times are UTC datetimes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from edge.decision import Decision, DecisionConfig, decide
from edge.lane_events import RequestDecision, TransactionEnded, Transition
from edge.store import DuplicateExitError, NewEvent, Store, StoreError
from edge.store.transactions import EvidenceImage, TxResult
from vision.identity import Identification, Read, Verification
from vision.plates import normalise_plate

log = logging.getLogger("edge.recorder")


def _read_json(read: Read | None) -> dict[str, Any] | None:
    if read is None:
        return None
    return {
        "text": read.text,
        "confidence": round(read.confidence, 4),
        "valid": read.valid,
        "source": read.source,
        "evidence_sha256": read.evidence_sha256,
        # How the text was arrived at (free: as read; verified: matched to an expected text), and the
        # expected texts' scores when the reads were checked against them (absent in older records).
        "path": read.path.value,
        "verification": _verification_json(read.verification),
    }


def _verification_json(checked: Verification | None) -> dict[str, Any] | None:
    if checked is None:
        return None
    return {
        "best": checked.best,
        "score": checked.score,
        "runner_up": checked.runner_up,
        "runner_up_score": checked.runner_up_score,
        "expected": checked.expected,
        "accepted": checked.accepted,
    }


def identification_json(ident: Identification | None) -> dict[str, Any]:
    if ident is None:
        return {"plate": None, "containers": []}
    return {"plate": _read_json(ident.plate), "containers": [_read_json(r) for r in ident.containers]}


def _evidence(ident: Identification) -> list[EvidenceImage]:
    """The reads' evidence images kept on disk, for the transaction's record (the history shows them)."""
    reads = [r for r in (ident.plate, *ident.containers) if r is not None and r.evidence_sha256]
    return [EvidenceImage(r.kind.value, r.text, str(r.evidence_sha256)) for r in reads]


class Recorder:
    """The lane's memory: transactions, transitions, decisions, exits, alarms and officer actions."""

    def __init__(
        self,
        store: Store,
        gate_id: str,
        lane_id: str,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.gate_id = gate_id
        self.lane_id = lane_id
        self._wall = wall
        self._decisions: dict[str, Decision] = {}

    def _event(self, kind: str, **payload: Any) -> NewEvent:
        """A lane event for central; every one is critical (never dropped), unlike telemetry."""
        body = {"gate_id": self.gate_id, "lane_id": self.lane_id, **payload}
        return NewEvent(kind=kind, payload=body, critical=True)

    def recover_interrupted(self) -> list[str]:
        """At start-up: transactions left open by a crash or power loss are marked interrupted."""
        return self.store.transactions.mark_interrupted_open(self._wall(), cause="daemon restarted")

    def started(self, tx_id: str) -> None:
        at = self._wall()
        self.store.transactions.start(
            tx_id, self.lane_id, at, state="IDLE", event=self._event("transaction.started", tx_id=tx_id)
        )

    def transition(self, action: Transition) -> None:
        at = self._wall()
        payload = action.as_dict()
        if action.tx_id is None:
            self.store.outbox.add(self._event("lane.transition", **payload), at)
            return
        try:
            self.store.transactions.record_transition(
                action.tx_id,
                action.from_state.value,
                action.to_state.value,
                action.cause,
                at,
                event=self._event("transaction.transition", **payload),
            )
        except StoreError as exc:  # the transaction was already closed: keep the fact as a lane event
            log.warning("transition for %s not attached to its transaction: %s", action.tx_id, exc)
            self.store.outbox.add(self._event("lane.transition", **payload), at)

    def decide(self, request: RequestDecision, config: DecisionConfig) -> Decision:
        """Run the decision against the cached declarations and record it with its inputs."""
        decision = self.evaluate(request, config)
        self.record_decision(request, decision)
        return decision

    def evaluate(self, request: RequestDecision, config: DecisionConfig) -> Decision:
        """The decision against the cached declarations, not recorded (it only reads the store)."""
        at = self._wall()
        ident = request.identification
        plate = normalise_plate(ident.plate.text) if ident.plate else None
        candidates = self.store.declarations.find_by_plate(plate) if plate else []
        exited = {d.number: self.store.exits.exited_pairs(d.number) for d in candidates}
        unconfirmed = {d.number: self.store.exits.unconfirmed_pairs(d.number) for d in candidates}
        watch = {plate} if plate and self.store.watchlist.contains(plate) else set()
        return decide(
            ident, request.weight_kg, candidates, exited, watch, at, config, unconfirmed=unconfirmed
        )

    def record_decision(self, request: RequestDecision, decision: Decision) -> None:
        """Record a decision with its inputs; the transaction's end reports it only once it is recorded."""
        at = self._wall()
        ident = request.identification
        plate = normalise_plate(ident.plate.text) if ident.plate else None
        containers = [r.text for r in ident.containers]
        with self.store.conn:
            self.store.transactions.update_identification(
                request.tx_id,
                at,
                plate=plate,
                plate_confidence=ident.plate.confidence if ident.plate else None,
                containers=containers,
                gross_kg=request.weight_kg,
                evidence=_evidence(ident),
            )
            self.store.transactions.record_decision(
                request.tx_id,
                decision.outcome,
                decision.reasons,
                decision.declaration_number,
                at,
                event=self._event(
                    "transaction.decision",
                    tx_id=request.tx_id,
                    identification=identification_json(ident),
                    weight_kg=request.weight_kg,
                    outcome=decision.outcome.value,
                    reasons=[r.value for r in decision.reasons],
                    details=list(decision.details),
                    declaration_number=decision.declaration_number,
                    reads=[read.as_dict() for read in decision.reads],
                ),
            )
        self._decisions[request.tx_id] = decision

    def ended(self, action: TransactionEnded) -> None:
        """Close the transaction; a vehicle that passed records one exit per declaration and container.

        An "unconfirmed" passage records them unconfirmed: the declaration counts as used (see ExitRepo).
        """
        at = self._wall()
        decision = self._decisions.get(action.tx_id)  # forgotten once recorded: a retry must still see it
        record = self.store.transactions.get(action.tx_id)
        declaration = record.declaration_number if record else None
        confirmed = action.result != "unconfirmed"
        exits: list[tuple[str, str]] = []
        if action.result in ("passed", "unconfirmed") and declaration:
            containers = record.containers if record else ()
            exits = [(declaration, c) for c in containers] or [(declaration, "")]

        def event(recorded: list[tuple[str, str]]) -> NewEvent:
            return self._event(
                "transaction.ended",
                tx_id=action.tx_id,
                result=action.result,
                outcome=decision.outcome.value if decision else None,
                exits=[list(e) for e in recorded],
                plate=record.plate if record else None,  # central names the vehicle to customs
            )

        try:
            self.store.transactions.complete(
                action.tx_id,
                at,
                exits=exits,
                event=event(exits),
                confirmed=confirmed,
                result=TxResult(action.result),
            )
        except DuplicateExitError as exc:  # an officer let an already-exited pair through: keep the record
            log.warning("transaction %s: %s; completed without new exits", action.tx_id, exc)
            self.store.transactions.complete(
                action.tx_id, at, exits=(), event=event([]), result=TxResult(action.result)
            )
        except StoreError as exc:
            log.error("transaction %s could not be completed: %s", action.tx_id, exc)
        self._decisions.pop(action.tx_id, None)

    def alarm(self, tx_id: str | None, code: str, detail: str) -> None:
        self.store.outbox.add(self._event("lane.alarm", tx_id=tx_id, code=code, detail=detail), self._wall())

    def device_fault(self, device: str, detail: str) -> None:
        self.store.outbox.add(self._event("device.fault", device=device, detail=detail), self._wall())

    def officer_action(
        self, tx_id: str | None, officer: str, action: str, reason: str, before: Any = None, after: Any = None
    ) -> None:
        """An officer's decision: into the hash-chained audit log and to central, in one SQL transaction."""
        at = self._wall()
        with self.store.conn:
            self.store.audit.append(
                actor=officer,
                action=action,
                subject=tx_id or "lane",
                reason=reason,
                before=before,
                after=after,
                at=at,
            )
            self.store.outbox.add(
                self._event("officer.action", tx_id=tx_id, officer=officer, action=action, reason=reason), at
            )
