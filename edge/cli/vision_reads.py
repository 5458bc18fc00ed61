"""What `gate-edge vision read` prints for one read, and why a read is not valid, in words.

`valid` there is the recognizer's verdict on one image: the text has the form of a plate of the lane's
grammar (or passes its ISO 6346 check digit), its weakest character is at least vision.min_valid_confidence
sure, no rival read of the same place comes close, and a plate was read alike by both readers or by a
second, differently framed crop. The lane asks more of a live camera: the read valid and alike in several
frames (vision.min_frames, vision.min_container_frames), which one image cannot show.
"""

from __future__ import annotations

from typing import Any

from vision import iso6346
from vision.candidates import Candidate
from vision.config import VisionConfig
from vision.identity import ReadKind

#: Container repairs trusted, as the reader's rules (vision/candidates.py) count them.
_MAX_CONTAINER_FIXES = 1


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def why_not_valid(read: Candidate, others: list[Candidate], vision: VisionConfig) -> str:
    """The first rule the read fails, as the recognizer applies them."""
    if read.kind is ReadKind.CONTAINER and not iso6346.is_valid(read.text):
        first10, last = read.text[:10], read.text[10:]
        try:
            digit = iso6346.check_digit(first10)
        except ValueError:
            digit = None
        if digit is not None and last.isdigit():
            return f"its ISO 6346 check digit does not hold: {first10} makes {digit}, not {last}"
        return "not a container number: no ISO 6346 owner code, serial and check digit"
    if read.kind is ReadKind.PLATE and not read.grammatical:
        names = (vision.grammar,) if isinstance(vision.grammar, str) else vision.grammar
        return f"not the form of a plate of the lane's grammar ({', '.join(names)})"
    if read.confidence < vision.min_valid_confidence:
        return (
            f"its weakest character is read {read.confidence:.2f} sure, below vision.min_valid_confidence "
            f"{vision.min_valid_confidence:g}"
        )
    if read.kind is ReadKind.CONTAINER and read.corrections > _MAX_CONTAINER_FIXES:
        return f"{read.corrections} look-alike characters had to change for its check digit to hold"
    rivals = [o.text for o in others if o.text != read.text and _overlaps(o.box, read.box)]
    if rivals:
        return f"contested: another read of the same place ({', '.join(rivals[:3])}) is nearly as sure"
    if read.kind is ReadKind.PLATE:
        return "unconfirmed: a second crop of the plate (or the second reader) did not read the same text"
    return "refused by the reader's rules (a fragment of a longer read, or a rival read of the same place)"


def frames_needed(kind: ReadKind, vision: VisionConfig) -> int:
    """Frames a live camera must read a text valid and alike in before the lane reports it valid."""
    if kind is ReadKind.CONTAINER:
        return max(vision.min_frames, vision.min_container_frames)
    return vision.min_frames


def read_json(read: Candidate, others: list[Candidate], vision: VisionConfig) -> dict[str, Any]:
    """One read as printed: text, validity in this image (with the reason when not valid), confidence,
    box, and how many frames the lane would need."""
    out: dict[str, Any] = {
        "text": read.text,
        "valid": read.valid,
        "confidence": round(read.confidence, 4),
        "box": list(read.box),
    }
    if not read.valid:
        out["reason"] = why_not_valid(read, others, vision)
    needed = frames_needed(read.kind, vision)
    if needed > 1:
        out["lane_needs_frames"] = needed
    return out


READ_EPILOG = (
    "Each read: text; valid (in this image: the grammar's form or the ISO 6346 check digit, every "
    "character at least vision.min_valid_confidence sure, no rival read of the place nearly as sure, a "
    "plate read alike by both readers or a second crop); reason (why not valid); confidence (its "
    "weakest character); box (x, y, w, h); lane_needs_frames (the lane reports a read valid only once "
    "that many frames of a live camera read it valid and alike: one image cannot confirm a container "
    "number)."
)
