"""The officers' actions as the demo console prints them, read from the audit log they are recorded in.

Every officer action (the kiosk's, the simulated officer's) is audited before the lane hears of it, so the
demo drains this feed before it prints any lane step: an action is always printed before what it caused.
"""

from __future__ import annotations

from typing import Any

from edge.store.audit import AuditRecord, AuditRepo

_SCAN = 50  # newest records looked at per drain: far more than officers act between two lane steps


def _corrected(after: dict[str, Any] | None) -> str:
    if not after:
        return "corrected the reads"
    plate = after.get("plate")
    plate_text = plate.get("text") if isinstance(plate, dict) else None
    boxes = [c.get("text") for c in after.get("containers") or () if isinstance(c, dict)]
    shown = f"plate {plate_text or '-'}" + (f", containers {','.join(map(str, boxes))}" if boxes else "")
    return f"corrected the reads to {shown}"


def describe(record: AuditRecord) -> str:
    """`officer NAME ACTION: REASON` for one audit record."""
    actions = {
        "approve": "approved",
        "reject": "rejected",
        "inspection_done": "recorded the inspection done",
        "manual_open": "opened the barrier by hand",
    }
    action = _corrected(record.after) if record.action == "correct_read" else actions.get(record.action)
    return f"officer {record.actor} {action or record.action}: {record.reason or 'no reason given'}"


class OfficerFeed:
    """Audit records newer than the last drained, oldest first (main loop only: it reads the store)."""

    def __init__(self, audit: AuditRepo) -> None:
        self._audit = audit
        newest = audit.records(limit=1)
        self._last_id = newest[0].id if newest else 0  # an earlier run's records are not this run's

    def drain(self) -> list[AuditRecord]:
        newest = self._audit.records(limit=1)  # one row: this runs before every lane step printed
        if not newest or newest[0].id <= self._last_id:
            return []
        fresh = [r for r in self._audit.records(limit=_SCAN) if r.id > self._last_id]
        if fresh:
            self._last_id = fresh[0].id
        return fresh[::-1]
