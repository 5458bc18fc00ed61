"""What the lane learns about a vehicle from its cameras: reads of plates and container numbers.

This is the seam between recognition and the lane: vision/ produces `Identification`s, and anything
else that identifies vehicles (the demo's traffic generator, an officer's correction) produces the
same types, so the lane and the decision never know where a read came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ReadKind(StrEnum):
    PLATE = "plate"
    CONTAINER = "container"


class ReadPath(StrEnum):
    """How a read's text was arrived at."""

    FREE = "free"  # as read, judged by its grammar or check digit
    VERIFIED = "verified"  # matched to a text the gate expected, by the readers' own probabilities


@dataclass(frozen=True, slots=True)
class Verification:
    """The scores of the texts the gate expected against one object's reads (vision/verify.py).

    Scores are natural-log likelihoods relative to the readers' own free read (0: as likely as what
    they read unprompted); None where no text could be scored.
    """

    best: str  # the most likely expected text, whether accepted or not
    score: float | None
    runner_up: str | None
    runner_up_score: float | None
    expected: int  # how many texts were expected
    accepted: bool  # the margins held: `best` identifies the object


@dataclass(frozen=True, slots=True)
class Expected:
    """The texts the gate expects at its lane: plates and container numbers of its cleared declarations."""

    plates: frozenset[str] = frozenset()
    containers: frozenset[str] = frozenset()


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
    # The read's region in that frame (x, y, w, h in pixels): the kiosk shows it cut out beside the text.
    evidence_box: tuple[int, int, int, int] | None = None
    path: ReadPath = ReadPath.FREE
    # The expected texts' scores, when the gate had any to check the reads against (verified or not).
    verification: Verification | None = None
    # Plates: the grammar (of the lane's) whose form the text has, vietnam, china...; "" for none of them
    # (a plate in a script no reader knows, such as Lao, or a misread); None where none judged it (an
    # officer's correction, the demo's simulator).
    grammar: str | None = None


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


@runtime_checkable
class ExpectingSource(Protocol):
    """An identification source that can check its reads against the texts the gate expects."""

    def expect(self, source: Callable[[], Expected]) -> None:
        """Ask `source()` for the expected texts at the start of every identification window."""
        ...
