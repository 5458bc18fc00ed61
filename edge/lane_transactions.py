"""The lane's transactions, one at a time: the vehicle being handled, what is learnt of it, how it ends.

`Lane` (edge/lane.py) owns one `Transactions` (its handlers reach it as `lane.tx`) and appends the events
it returns to its actions; ids come from an injected factory (random UUIDs by default; tests inject a
counter).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from edge.lane_events import TransactionEnded, TransactionStarted, TxResult, Vehicle


class Transactions:
    """The current transaction of one lane, if any."""

    def __init__(self, new_id: Callable[[], str] | None = None) -> None:
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self.current: Vehicle | None = None

    @property
    def tx_id(self) -> str | None:
        return self.current.tx_id if self.current is not None else None

    @property
    def cleared(self) -> bool:
        """There is a transaction and it may pass (decision PASS, or approved by an officer)."""
        return self.current is not None and self.current.cleared

    def start(self, now: float) -> TransactionStarted:
        self.current = Vehicle(self._new_id(), now)
        return TransactionStarted(self.current.tx_id, now)

    def is_current(self, tx_id: str | None) -> bool:
        """An event naming `tx_id` (None: whatever is current) is for the current transaction."""
        return self.current is not None and (tx_id is None or tx_id == self.current.tx_id)

    def open_to_officer(self, tx_id: str | None) -> bool:
        """An officer's correction or approval naming `tx_id` applies: current, and not rejected by one."""
        return self.is_current(tx_id) and self.current is not None and self.current.rejected_by is None

    def update(self, **changes: Any) -> None:
        if self.current is not None:
            self.current = replace(self.current, **changes)

    def end(self, result: TxResult, now: float) -> TransactionEnded | None:
        """End the current transaction with `result`; None when there is none."""
        if self.current is None:
            return None
        ended = TransactionEnded(self.current.tx_id, result, now)
        self.current = None
        return ended
