"""Gate events for the confirmation tests: exits as the gate's recorder writes them, and the ids they owe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from central.confirmations import confirmation_id
from sync.contract import encode_event

AT = datetime(2026, 3, 1, 8, tzinfo=UTC)


def ended(
    seq: int,
    exits: list[tuple[str, str]],
    *,
    result: str = "passed",
    event_id: str | None = None,
    gate: str = "g1",
    plate: str | None = "51C12345",
) -> bytes:
    """A ``transaction.ended`` envelope (the gate's exit event) with these (declaration, container) exits."""
    payload = {
        "gate_id": gate,
        "lane_id": "lane-1",
        "tx_id": f"tx-{seq}",
        "result": result,
        "outcome": "PASS",
        "exits": [list(e) for e in exits],
        "plate": plate,
    }
    return encode_event(
        event_id=event_id or str(uuid.uuid4()),
        gate_id=gate,
        seq=seq,
        prev_seq=seq - 1 or None,
        kind="transaction.ended",
        at=AT,
        payload=payload,
    )


def owed(event_id: str, exits: list[tuple[str, str]]) -> set[str]:
    """The confirmation ids an exit event owes: one per declaration."""
    return {str(confirmation_id(uuid.UUID(event_id), d)) for d, _ in exits}
