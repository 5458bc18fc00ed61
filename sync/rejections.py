"""Rejected inbound messages reported at a bounded rate: a flood cannot fill the outbox or the log.

Every rejection is counted by the caller. Per topic and reason, the first ``per_minute`` rejections of a
minute are reported one by one (a log line and a ``sync.message_rejected`` event each); the rest of that
minute are only counted here, and their number goes out as ``suppressed``: on the next report of the same
kind, or in a tally once the minute has ended, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sync.contract import RejectReason

WINDOW_S = 60.0


@dataclass(slots=True)
class _Window:
    started: float
    reported: int = 0
    suppressed: int = 0


class RejectionReports:
    """Decides which rejections are reported one by one; see the module docstring."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._windows: dict[tuple[str, RejectReason], _Window] = {}

    def admit(self, topic: str, reason: RejectReason) -> int | None:
        """None: count it only; else report it, with the number suppressed before it and not yet reported."""
        now = self._clock()
        key = (topic, reason)
        window = self._windows.get(key)
        if window is None or now - window.started >= WINDOW_S:
            carried = window.suppressed if window is not None else 0
            self._windows[key] = _Window(now, reported=1)
            return carried
        if window.reported < self._per_minute:
            window.reported += 1
            return 0
        window.suppressed += 1
        return None

    def tallies_due(self) -> list[tuple[str, RejectReason, int]]:
        """(topic, reason, suppressed) of every minute that ended with rejections not yet reported."""
        now = self._clock()
        due: list[tuple[str, RejectReason, int]] = []
        for key, window in list(self._windows.items()):
            if now - window.started >= WINDOW_S:
                del self._windows[key]
                if window.suppressed:
                    due.append((key[0], key[1], window.suppressed))
        return due
