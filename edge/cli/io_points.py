"""The I/O controller's points as an installer reads them: configured name, address and a word for the state.

`gate-edge io watch` prints these lines, so a technician walking a loop or breaking the photocell beam sees
which configured input moved, and can check the wiring against the configuration point by point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from devices.config import DevicesConfig
from devices.lane_inputs import InputSnapshot
from devices.modbus_io import counter_addresses, input_addresses


@dataclass(frozen=True, slots=True)
class Point:
    """One input of the snapshot: its name (as in InputSnapshot), where it is wired, and its state words."""

    name: str
    where: str  # "DI 2" (discrete input) or "IR 1" (input register)
    on: str = ""
    off: str = ""

    def state(self, snapshot: InputSnapshot) -> str:
        value = getattr(snapshot, self.name)
        if isinstance(value, bool):
            return self.on if value else self.off
        return str(value)


#: Words for True / False of each discrete input; the lane reads True as occupied, blocked, at the limit.
_WORDS: Final = {
    "entry_loop": ("occupied", "clear"),
    "exit_loop": ("occupied", "clear"),
    "photocell": ("blocked", "clear"),
    "barrier_up": ("at up limit", "off"),
    "barrier_down": ("at down limit", "off"),
}

#: Inputs that forbid moving the barrier by hand while True: a vehicle stands at or under the arm.
OCCUPANCY_INPUTS: Final = ("entry_loop", "exit_loop", "photocell")


def points(devices: DevicesConfig) -> list[Point]:
    """Every input the lane reads, in the order a technician walks the lane, with its configured address."""
    found = [Point(name, f"DI {addr}", *_WORDS[name]) for name, addr in input_addresses(devices).items()]
    found += [Point(name, f"IR {addr}") for name, addr in counter_addresses(devices).items()]
    return found


def snapshot_lines(all_points: list[Point], snapshot: InputSnapshot) -> list[str]:
    """One aligned line per point: name, address, state."""
    width = max(len(p.name) for p in all_points)
    return [f"{p.name:<{width}}  {p.where:<6}  {p.state(snapshot)}" for p in all_points]


def change_text(all_points: list[Point], before: InputSnapshot, after: InputSnapshot) -> str:
    """The points that changed, `name: old -> new`, comma-separated, in walking order."""
    changed = [p for p in all_points if getattr(before, p.name) != getattr(after, p.name)]
    return ", ".join(f"{p.name}: {p.state(before)} -> {p.state(after)}" for p in changed)


def occupied(snapshot: InputSnapshot) -> list[str]:
    """The occupancy inputs that are True now (a vehicle on a loop or in the beam)."""
    return [name for name in OCCUPANCY_INPUTS if getattr(snapshot, name)]
