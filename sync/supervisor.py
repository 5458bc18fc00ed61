"""The uplink's long-running tasks, supervised: one that dies is logged, counted, alarmed and started again.

An exception escaping one of them is a fault of the gate's own (its store failing, a bug), never a message's
doing: messages are rejected where they are read. Either way the gate must go on receiving revocations and
sending events, so the task starts again after a backoff, its restarts are counted, and the alarm
``<task>_restarted`` holds until the task has run ALARM_HOLD_S without dying. A run of the same error is
logged once with its traceback, then one line per restart (no traceback loops). The alarm's raise and
clear events are written by the caller when the store takes them (:meth:`Supervisor.alarm_events`), so an
alarm raised while the store fails is recorded once it works again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pacing.backoff import Backoff
from sync.client import BROKER_JITTER

log = logging.getLogger("sync.supervisor")

ALARM_HOLD_S = 600.0
RESTART_MIN_S = 0.1
RESTART_MAX_S = 10.0


@dataclass(frozen=True, slots=True)
class Crash:
    at: datetime
    detail: str


def alarm_code(task: str) -> str:
    return f"{task}_restarted"


class Supervisor:
    """Runs tasks by name; see the module docstring."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.restarts: Counter[str] = Counter()
        self._last: dict[str, Crash] = {}
        self._raised: set[str] = set()  # alarms whose raise event is written
        self._unrecorded: set[str] = set()  # alarms raised, their event not yet written

    async def run(self, task: str, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body()`` until it returns or is cancelled, starting it again whenever it raises."""
        backoff = Backoff(RESTART_MIN_S, RESTART_MAX_S, jitter=BROKER_JITTER)
        while True:
            try:
                await body()
                return
            except Exception as exc:  # the gate's own fault: say so, and keep the task going
                self.restarts[task] += 1
                detail = f"{type(exc).__name__}: {exc}"[:500]
                before = self._last.get(task)
                self._last[task] = Crash(self._clock(), detail)
                if task not in self._raised:  # one alarm event per episode, not one per restart
                    self._unrecorded.add(task)
                again = before is not None and before.detail == detail
                log.error(
                    "sync task %s died (restart %d): %s",
                    task,
                    self.restarts[task],
                    detail,
                    exc_info=None if again else exc,
                    extra={"task": task},
                )
                await asyncio.sleep(backoff.next())

    def last_crash(self, task: str) -> str | None:
        crash = self._last.get(task)
        return None if crash is None else crash.detail

    def holds(self, task: str) -> bool:
        crash = self._last.get(task)
        return crash is not None and (self._clock() - crash.at).total_seconds() < ALARM_HOLD_S

    def alarms(self) -> set[str]:
        return {alarm_code(task) for task in self._last if self.holds(task)}

    def alarm_events(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(task, event kind, payload) of alarm raises and clears not yet written; see :meth:`written`."""
        events: list[tuple[str, str, dict[str, Any]]] = []
        for task in sorted(self._unrecorded):
            crash = self._last[task]
            payload = {
                "tx_id": None,
                "code": alarm_code(task),
                "detail": crash.detail,
                "restarts": self.restarts[task],
            }
            events.append((task, "lane.alarm", payload))
        for task in sorted(self._raised - self._unrecorded):
            if not self.holds(task):
                payload = {"code": alarm_code(task), "restarts": self.restarts[task]}
                events.append((task, "lane.alarm_cleared", payload))
        return events

    def written(self, task: str, kind: str) -> None:
        """The event of :meth:`alarm_events` for ``task`` is in the outbox."""
        if kind == "lane.alarm":
            self._unrecorded.discard(task)
            self._raised.add(task)
            log.warning("alarm %s raised", alarm_code(task))
        else:
            self._raised.discard(task)
            log.info("alarm %s cleared: no restart for %.0f s", alarm_code(task), ALARM_HOLD_S)
