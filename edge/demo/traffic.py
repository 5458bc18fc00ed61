"""A traffic generator for the simulated gate: declarations to seed and vehicles to send through.

Most vehicles match a cleared declaration; the rest carry one known fault each, so every decision
reason shows up in the demo and the expected outcome of each vehicle is known in advance. Customs keeps
clearing: when few passable declarations are left, a fresh batch is issued (`take_issued` hands it to the
gate), so a demo that runs for days keeps the same mix of passes, holds and rejects.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from edge.decision import Outcome
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from vision.identity import Identification, Read, ReadKind
from vision.iso6346 import complete

_SERIES = "ABCDEFGHKLMNPRSTUVXYZ"  # Vietnamese plate series letters (no I, J, O, Q, W)
_OWNERS = ("MSK", "CSQ", "TCL", "HLX", "OOL", "EGH", "CMA", "ONE")
LOW_WATER = 5  # passable declarations left before customs clears a fresh batch
BATCH = 10  # declarations in each fresh batch
KEEP_RECENT = 400  # declarations (and exited ones) a long demo remembers to draw faults from


class Scenario(StrEnum):
    CLEARED = "cleared"
    RED_UNINSPECTED = "red_uninspected"
    UNCLEARED = "uncleared"
    WRONG_CONTAINER = "wrong_container"
    OVERWEIGHT = "overweight"
    ALREADY_EXITED = "already_exited"
    UNKNOWN_PLATE = "unknown_plate"
    LOW_CONFIDENCE = "low_confidence"


EXPECTED: dict[Scenario, Outcome] = {
    Scenario.CLEARED: Outcome.PASS,
    Scenario.RED_UNINSPECTED: Outcome.HOLD,
    Scenario.UNCLEARED: Outcome.REJECT,
    Scenario.WRONG_CONTAINER: Outcome.HOLD,
    Scenario.OVERWEIGHT: Outcome.HOLD,
    Scenario.ALREADY_EXITED: Outcome.REJECT,
    Scenario.UNKNOWN_PLATE: Outcome.HOLD,
    Scenario.LOW_CONFIDENCE: Outcome.HOLD,
}


@dataclass(frozen=True, slots=True)
class SimVehicle:
    """One truck: what it really is, what the cameras will read, and what the gate should decide."""

    plate: str
    containers: tuple[str, ...]
    gross_kg: float
    scenario: Scenario
    expected: Outcome
    identification: Identification


def _plate(rng: random.Random) -> str:
    return f"{rng.randint(11, 99)}{rng.choice(_SERIES)}{rng.randint(10000, 99999)}"


def _container(rng: random.Random) -> str:
    return complete(f"{rng.choice(_OWNERS)}U{rng.randint(0, 999999):06d}")


def _read(kind: ReadKind, text: str, confidence: float) -> Read:
    return Read(kind=kind, text=text, confidence=confidence, valid=True, source="simulator")


class TrafficGenerator:
    """Deterministic for a seed: the same declarations and the same vehicles in the same order."""

    def __init__(
        self, seed: int, declarations: int, mismatch_share: float, now: datetime | None = None
    ) -> None:
        self._rng = random.Random(seed)
        self._mismatch_share = mismatch_share
        self._clock: Callable[[], datetime] = (
            (lambda: now) if now is not None else (lambda: datetime.now(UTC))
        )
        self._now = self._clock()
        self.declarations: list[Declaration] = [self._declaration(i) for i in range(declarations)]
        self._unused = [d for d in self.declarations if self._passable(d)]
        self._rng.shuffle(self._unused)
        # Exited trucks' declarations, for the already-exited scenario: the latest ones only.
        self._used: deque[Declaration] = deque(maxlen=KEEP_RECENT)
        self._issued: list[Declaration] = []  # issued after the start, not yet handed to the gate
        self._count = declarations

    def take_issued(self) -> list[Declaration]:
        """Declarations cleared since the last call: the gate must hold them before the next truck."""
        issued, self._issued = self._issued, []
        return issued

    def _replenish(self) -> None:
        """Customs clears more: a fresh batch with the usual share of pending and red-channel ones."""
        if len(self._unused) >= LOW_WATER:
            return
        self._now = self._clock()  # fresh declarations are valid from now on
        fresh = [self._declaration(self._count + i) for i in range(BATCH)]
        self._count += BATCH
        self.declarations = [*self.declarations, *fresh][-KEEP_RECENT:]
        self._unused.extend(d for d in fresh if self._passable(d))
        self._issued.extend(fresh)

    @staticmethod
    def _passable(decl: Declaration) -> bool:
        return decl.status is DeclarationStatus.CLEARED and decl.channel is not Channel.RED

    def _declaration(self, i: int) -> Declaration:
        rng = self._rng
        n_containers = rng.choice((0, 1, 1, 2))
        containers = tuple(
            ContainerLine(number=_container(rng), seal=f"VN{rng.randint(100000, 999999)}")
            for _ in range(n_containers)
        )
        roll = rng.random()
        status = DeclarationStatus.PENDING if roll < 0.1 else DeclarationStatus.CLEARED
        channel = (
            Channel.RED if 0.1 <= roll < 0.2 else rng.choice((Channel.GREEN, Channel.GREEN, Channel.YELLOW))
        )
        return Declaration(
            number=f"10{rng.randint(1000000000, 9999999999)}",
            status=status,
            channel=channel,
            inspection_done=False,
            plates=(_plate(rng),),
            containers=containers,
            gross_kg=float(rng.randrange(12000, 36000, 20)) + 2200.0 * n_containers,
            valid_from=self._now - timedelta(days=2),
            valid_until=self._now + timedelta(days=5),
        )

    def next_vehicle(self) -> SimVehicle:
        """The next vehicle: cleared most of the time, otherwise one fault drawn at random."""
        rng = self._rng
        self._replenish()
        if self._unused and rng.random() >= self._mismatch_share:
            decl = self._unused.pop()
            self._used.append(decl)
            return self._vehicle(decl, Scenario.CLEARED)
        scenario = rng.choice([s for s in Scenario if s is not Scenario.CLEARED])
        if scenario is Scenario.ALREADY_EXITED and not self._used:
            scenario = Scenario.UNKNOWN_PLATE
        if scenario is Scenario.UNCLEARED:
            pending = [d for d in self.declarations if d.status is DeclarationStatus.PENDING]
            if pending:
                return self._vehicle(rng.choice(pending), scenario)
            scenario = Scenario.UNKNOWN_PLATE
        if scenario is Scenario.RED_UNINSPECTED:
            red = [
                d
                for d in self.declarations
                if d.channel is Channel.RED and d.status is DeclarationStatus.CLEARED
            ]
            if red:
                return self._vehicle(rng.choice(red), scenario)
            scenario = Scenario.UNKNOWN_PLATE
        if scenario is Scenario.ALREADY_EXITED:
            return self._vehicle(rng.choice(self._used), scenario)
        if scenario is Scenario.UNKNOWN_PLATE:
            return self.next_vehicle_unknown()
        if not self._unused:  # every passable declaration has exited: a fault on top would also REJECT
            return self.next_vehicle_unknown()
        # The fault spends the declaration: offered again as cleared, it could find its own exit recorded
        # (a corrected low-confidence read passes). Not `_used`: a held or rejected truck did not exit.
        decl = self._unused.pop(rng.randrange(len(self._unused)))
        return self._vehicle(decl, scenario)

    def next_vehicle_unknown(self) -> SimVehicle:
        """A truck whose plate no declaration names."""
        fake = self.declarations[0].model_copy(update={"plates": (_plate(self._rng),)})
        return self._vehicle(fake, Scenario.UNKNOWN_PLATE)

    def _vehicle(self, decl: Declaration, scenario: Scenario) -> SimVehicle:
        rng = self._rng
        plate = decl.plates[0]
        containers = tuple(c.number for c in decl.containers)
        declared = decl.gross_kg or 20000.0
        gross = round((declared * rng.uniform(0.98, 1.02)) / 20) * 20
        if scenario is Scenario.OVERWEIGHT:
            gross = round(declared * 1.25 / 20) * 20
        if scenario is Scenario.WRONG_CONTAINER:
            containers = (*containers[:-1], _container(rng)) if containers else (_container(rng),)
        plate_conf = rng.uniform(0.9, 0.99)
        if scenario is Scenario.LOW_CONFIDENCE:
            plate_conf = rng.uniform(0.4, 0.6)
        ident = Identification(
            plate=_read(ReadKind.PLATE, plate, plate_conf),
            containers=tuple(_read(ReadKind.CONTAINER, c, rng.uniform(0.9, 0.99)) for c in containers),
        )
        return SimVehicle(plate, containers, float(gross), scenario, EXPECTED[scenario], ident)
