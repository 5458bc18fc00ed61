"""What the lane learns about a vehicle from its cameras: reads of plates and container numbers.

This is the seam between recognition and the lane: vision/ produces `Identification`s, and anything
else that identifies vehicles (the demo's traffic generator, an officer's correction) produces the
same types, so the lane and the decision never know where a read came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class ReadKind(StrEnum):
    PLATE = "plate"
    CONTAINER = "container"


@dataclass(frozen=True, slots=True)
class Read:
    """One object's text after fusion across frames."""

    kind: ReadKind
    text: str
    confidence: float  # 0..1
    valid: bool  # grammar (plate) or ISO 6346 check digit (container) holds
    alternatives: tuple[tuple[str, float], ...] = ()
    source: str = "camera"  # camera id, "officer" for a correction, "simulator"
    evidence_sha256: str | None = None
    # The best frame as JPEG with the region drawn; its SHA-256 is evidence_sha256.
    evidence_jpeg: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Identification:
    """Everything read about the vehicle at the stop line during its identification window."""

    plate: Read | None
    containers: tuple[Read, ...] = field(default_factory=tuple)


class IdentificationSource(Protocol):
    """Anything that can tell the lane who is at the stop line: the cameras, or the demo's traffic."""

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        """Collect reads for up to `window_s` seconds and return the fused result."""
        ...
