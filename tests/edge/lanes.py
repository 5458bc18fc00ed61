"""Driving the pure lane in tests: numbered transactions, a run that records every action, action filters."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from devices.lane_inputs import InputSnapshot
from edge import lane_events as ev
from edge.decision import Outcome, Reason
from edge.lane import Lane, LaneConfig
from vision.identity import Identification, Read, ReadKind

S = ev.LaneState
A = TypeVar("A")
PLATE = Identification(plate=Read(ReadKind.PLATE, "51C12345", 0.97, valid=True))
DOWN = InputSnapshot(barrier_down=True)
Position = Literal["up", "down", "mid"]
#: The barrier's limit switches with the arm up, down, or between the two.
LIMITS: dict[Position, dict[str, bool]] = {
    "up": {"barrier_up": True, "barrier_down": False},
    "down": {"barrier_up": False, "barrier_down": True},
    "mid": {"barrier_up": False, "barrier_down": False},
}


@dataclass
class Run:
    """A lane driven through time, with every action it returned."""

    lane: Lane
    t: float = 0.0
    inputs: InputSnapshot = DOWN
    actions: list[ev.LaneAction] = field(default_factory=list)

    def send(self, event: ev.LaneEvent, dt: float = 0.0) -> list[ev.LaneAction]:
        self.t += dt
        out = self.lane.handle(event, self.t)
        self.actions.extend(out)
        return out

    def set(self, dt: float = 0.0, **inputs: bool) -> list[ev.LaneAction]:
        self.inputs = replace(self.inputs, **inputs)
        return self.send(ev.Inputs(self.inputs), dt)

    def tick(self, dt: float) -> list[ev.LaneAction]:
        return self.send(ev.Tick(), dt)

    def state(self) -> ev.LaneState:
        return self.lane.state

    # --- the usual steps of a vehicle ---

    def arrive(self) -> None:
        self.set(entry_loop=True)
        self.tick(self.lane.config.arrive_settle_s)
        assert self.lane.state is S.IDENTIFYING

    def to_deciding(self, kg: float = 30_000.0) -> None:
        self.arrive()
        self.send(ev.ScaleStable(kg), 0.3)
        self.send(ev.Identified(PLATE), 0.5)
        assert self.lane.state is S.DECIDING

    def to_passing(self) -> None:
        self.to_deciding()
        self.send(ev.Decided(Outcome.PASS, (), "105000000001"), 0.2)
        self.set(1.5, barrier_up=True, barrier_down=False)
        assert self.lane.state is S.PASSING

    def drive_through(self) -> None:
        self.set(1.0, exit_loop=True, photocell=True)
        self.set(1.0, entry_loop=False)
        self.set(1.0, photocell=False)
        self.set(1.0, exit_loop=False)

    def to_hold(self, outcome: Outcome = Outcome.HOLD) -> None:
        self.to_deciding()
        self.send(ev.Decided(outcome, (Reason.WEIGHT_OUT_OF_TOLERANCE,), "105000000001"), 0.2)
        assert self.lane.state is S.HOLD


def numbered_lane(config: LaneConfig) -> Lane:
    """A lane whose transactions are tx-1, tx-2, ... in the order they start."""
    ids = itertools.count(1)
    return Lane(config, new_id=lambda: f"tx-{next(ids)}")


def started(snapshot: InputSnapshot = DOWN, **config: Any) -> Run:
    run = Run(numbered_lane(LaneConfig(**config)), inputs=snapshot)
    run.actions.extend(run.lane.startup(snapshot, 0.0))
    return run


def of(kind: type[A], actions: list[ev.LaneAction]) -> list[A]:
    return [a for a in actions if isinstance(a, kind)]


def path(actions: list[ev.LaneAction]) -> list[ev.LaneState]:
    """The states entered, in order."""
    return [t.to_state for t in of(ev.Transition, actions)]


def barrier_commands(actions: list[ev.LaneAction]) -> list[ev.LaneAction]:
    return [a for a in actions if isinstance(a, ev.OpenBarrier | ev.CloseBarrier)]
