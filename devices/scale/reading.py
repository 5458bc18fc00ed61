"""Typed values of the weighbridge indicator, shared by every protocol parser and the driver."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WeightReading:
    """One decoded indicator frame."""

    gross_kg: float
    tare_kg: float = 0.0
    motion: bool = False
    overload: bool = False  # out of range (over- or under-load): the weight is not usable
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class StableWeight:
    """The indicator settled: readings within the spread for the window, no motion."""

    kg: float
    at: float


@dataclass(frozen=True, slots=True)
class ScaleFault:
    """The scale cannot be read (port missing, no valid frame for too long)."""

    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class ScaleRecovered:
    at: float


@dataclass(slots=True)
class FrameStats:
    """Counters of what a parser saw; bad input is counted and skipped, never raised."""

    frames: int = 0
    garbage_bytes: int = 0
    bad_checksum: int = 0
    cut_frames: int = 0
    out_of_range: int = 0
    extra: dict[str, int] = field(default_factory=dict)


ScaleEvent = WeightReading | StableWeight | ScaleFault | ScaleRecovered
