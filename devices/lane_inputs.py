"""Typed events of the lane I/O controller: what the loops, photocell and limit switches report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputSnapshot:
    """The discrete inputs at one poll. True means occupied / blocked / at the limit."""

    entry_loop: bool = False
    exit_loop: bool = False
    photocell: bool = False
    barrier_up: bool = False
    barrier_down: bool = False

    @classmethod
    def link_down(cls) -> InputSnapshot:
        """What the lane must assume when the controller cannot be read: every detector occupied."""
        return cls(entry_loop=True, exit_loop=True, photocell=True, barrier_up=False, barrier_down=False)

    @property
    def barrier_path_obstructed(self) -> bool:
        """A vehicle (or anything) under the barrier arm: closing is forbidden."""
        return self.exit_loop or self.photocell


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
