"""Lane alarms on the screen: each alarm the lane raises, with its time, shown until the lane moved on.

The lane raises an alarm once (pass_timeout: the barrier stays open and the path is not clear) and goes
on; the record and central get it, but an officer looking at the lane needs to see it while it holds.
An alarm is cleared when the lane leaves the state it was in when the alarm came: pass_timeout when the
path clears and the barrier closes, link_lost and a barrier timeout when the lane leaves FAULT. An alarm
about a vehicle that has gone (passage_unconfirmed, raised as the lane leaves FAULT; unauthorized_passage)
stays until another transaction ends, so the officer sees it beside the next vehicle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from edge.lane import LaneState

MAX_ALARMS = 16  # a flapping link raises the same alarm again, not a new one; this bounds the rest
ABOUT_A_PAST_VEHICLE = frozenset({"passage_unconfirmed", "unauthorized_passage"})


@dataclass(frozen=True, slots=True)
class ActiveAlarm:
    code: str
    detail: str
    tx_id: str | None
    since: datetime  # when it was first raised in this spell
    state: LaneState  # the lane state it was raised in
    repeats: int = 1


class LaneAlarms:
    """The alarms standing now, fed with the daemon's lane steps (on its loop)."""

    def __init__(self, state: LaneState, wall: Callable[[], datetime]) -> None:
        self._state = state
        self._wall = wall
        self._active: list[ActiveAlarm] = []

    @property
    def active(self) -> tuple[ActiveAlarm, ...]:
        return tuple(self._active)

    def on_lane_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "alarm":
            self._raise(str(data.get("code") or "alarm"), str(data.get("detail") or ""), data.get("tx_id"))
        elif kind == "transition":
            self._left(str(data.get("from_state")), str(data.get("to_state")))
        elif kind == "ended":
            ended = data.get("tx_id")
            self._active = [
                a for a in self._active if not (a.code in ABOUT_A_PAST_VEHICLE and a.tx_id != ended)
            ]

    def _raise(self, code: str, detail: str, tx_id: object) -> None:
        tx = str(tx_id) if tx_id is not None else None
        for i, alarm in enumerate(self._active):
            if alarm.code == code and alarm.state is self._state:  # raised again in the same spell
                self._active[i] = replace(alarm, detail=detail, tx_id=tx, repeats=alarm.repeats + 1)
                return
        self._active.append(ActiveAlarm(code, detail, tx, self._wall(), self._state))
        del self._active[:-MAX_ALARMS]

    def _left(self, from_state: str, to_state: str) -> None:
        self._active = [
            a for a in self._active if a.code in ABOUT_A_PAST_VEHICLE or a.state.value != from_state
        ]
        try:
            self._state = LaneState(to_state)
        except ValueError:  # not a state this version knows: keep the last one rather than guess
            return
