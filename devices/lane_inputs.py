"""Typed events of the lane I/O controller: what the loops, photocell and limit switches report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The controller's activation counters are 16-bit input registers that wrap to 0 after 65535.
COUNTER_MODULUS: Final = 1 << 16


@dataclass(frozen=True, slots=True)
class InputSnapshot:
    """The discrete inputs at one poll. True means occupied / blocked / at the limit.

    `exit_count` and `photocell_count` are the controller's own counts of each detector's activations
    (rising edges, wrapping at 16 bits), read with the inputs; None where the controller has no counter.
    They tell what happened between two polls that saw nothing, a link outage included.
    """

    entry_loop: bool = False
    exit_loop: bool = False
    photocell: bool = False
    barrier_up: bool = False
    barrier_down: bool = False
    exit_count: int | None = None
    photocell_count: int | None = None

    @classmethod
    def link_down(cls) -> InputSnapshot:
        """What the lane must assume when the controller cannot be read: every detector occupied."""
        return cls(entry_loop=True, exit_loop=True, photocell=True, barrier_up=False, barrier_down=False)

    @property
    def barrier_path_obstructed(self) -> bool:
        """A vehicle (or anything) under the barrier arm: closing is forbidden."""
        return self.exit_loop or self.photocell

    def path_used_since(self, earlier: InputSnapshot) -> bool:
        """The barrier path is occupied now, or its counters saw something pass since `earlier`.

        A vehicle can trip the photocell between the read of the inputs and the read of the counters, or
        come and go between two polls: either way the path was not clear all along.
        """
        return self.barrier_path_obstructed or bool(self.activations_since(earlier))

    def activations_since(self, earlier: InputSnapshot) -> int | None:
        """Activations of the barrier path's detectors counted since `earlier` (the most of the two counters).

        None when no counter is read in both snapshots: then nothing can be said about what happened in
        between. It assumes the controller kept counting: one that restarted in between (counters back
        at 0) can under-count.
        """
        counted = [
            (now - then) % COUNTER_MODULUS
            for now, then in (
                (self.exit_count, earlier.exit_count),
                (self.photocell_count, earlier.photocell_count),
            )
            if now is not None and then is not None
        ]
        return max(counted) if counted else None


@dataclass(frozen=True, slots=True)
class InputChanged:
    """One or more inputs changed between two polls."""

    snapshot: InputSnapshot
    changed: frozenset[str]
    at: float


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """The Modbus link to the controller went down or came back."""

    up: bool
    detail: str
    at: float
    snapshot: InputSnapshot


LaneIOEvent = InputChanged | LinkChanged
