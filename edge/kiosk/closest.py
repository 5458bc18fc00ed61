"""The cleared declarations closest to a held vehicle's reads, so the officer corrects a misread by a tap.

Closeness is the edit distance between the normalised texts (a plate and its declaration's plates, each
read container and the declared ones, paired closest first). Only declarations an officer could let the
vehicle through under are considered (cleared, valid now, their newest version), only texts within a few
edits of a read are offered, and at most `LIMIT`: the list answers "which truck did the camera mean", it
is no search of the declarations. Each offered text says which of its characters differ from the read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from edge.declaration import Declaration, DeclarationStatus
from vision.iso6346 import normalise as normalise_container
from vision.plates import normalise_plate

LIMIT = 3
MAX_PLATE_EDITS = 3  # a plate is 7-10 characters: more than 3 edits away is another truck
MAX_CONTAINER_EDITS = 3  # of 11 characters


@dataclass(frozen=True, slots=True)
class CloseText:
    """A declared text beside the read it was compared with; `differs`: its positions that differ."""

    text: str
    read: str | None
    distance: int | None
    differs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CloseDeclaration:
    plate: CloseText
    containers: tuple[CloseText, ...]
    distance: int  # plate edits plus the paired containers' edits


def edit_distance(a: str, b: str, bound: int) -> int | None:
    """Levenshtein distance, or None when it is over `bound` (stops as soon as every path is)."""
    if abs(len(a) - len(b)) > bound:
        return None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > bound:
            return None
        previous = current
    return previous[-1] if previous[-1] <= bound else None


def differing(text: str, read: str) -> tuple[int, ...]:
    """The positions of `text` that an alignment of least edits with `read` does not keep as they are."""
    rows = [[0] * (len(read) + 1) for _ in range(len(text) + 1)]
    for i in range(len(text) + 1):
        rows[i][0] = i
    for j in range(len(read) + 1):
        rows[0][j] = j
    for i in range(1, len(text) + 1):
        for j in range(1, len(read) + 1):
            same = text[i - 1] == read[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + (not same))
    marked: list[int] = []
    i, j = len(text), len(read)
    while i > 0:
        if j > 0 and text[i - 1] == read[j - 1] and rows[i][j] == rows[i - 1][j - 1]:
            i, j = i - 1, j - 1
        elif j > 0 and rows[i][j] == rows[i - 1][j - 1] + 1:
            marked.append(i - 1)  # replaced
            i, j = i - 1, j - 1
        elif rows[i][j] == rows[i - 1][j] + 1:
            marked.append(i - 1)  # not in the read
            i -= 1
        else:
            j -= 1  # a read character the declared text lacks: nothing of the text to mark
    return tuple(sorted(marked))


def _close(text: str, read: str | None, bound: int) -> CloseText:
    distance = None if read is None else edit_distance(text, read, bound)
    marks = differing(text, read) if read is not None and distance is not None else ()
    return CloseText(text, read, distance, marks)


def _newest_valid(declarations: Iterable[Declaration], now: datetime) -> list[Declaration]:
    newest: dict[str, Declaration] = {}
    for d in declarations:
        held = newest.get(d.number)
        if held is None or d.version > held.version:
            newest[d.number] = d
    return [
        d
        for d in newest.values()
        if d.status is DeclarationStatus.CLEARED and d.valid_from <= now <= d.valid_until
    ]


def _pair_containers(declared: Sequence[str], reads: Sequence[str]) -> list[CloseText]:
    """Each declared container beside its closest read, every read used once, closest pairs first."""
    pairs = []
    for i, text in enumerate(declared):
        for j, read in enumerate(reads):
            distance = edit_distance(text, read, MAX_CONTAINER_EDITS)
            if distance is not None:
                pairs.append((distance, i, j))
    chosen: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in chosen and j not in used:
            chosen[i] = j
            used.add(j)
    unread = CloseText("", None, None, ())
    return [
        _close(text, reads[chosen[i]], MAX_CONTAINER_EDITS) if i in chosen else replace(unread, text=text)
        for i, text in enumerate(declared)
    ]


def closest_declarations(
    declarations: Iterable[Declaration], plate: str | None, containers: Sequence[str], now: datetime
) -> list[CloseDeclaration]:
    """The valid cleared declarations nearest the reads (`plate`, `containers`), nearest first, at most LIMIT.

    A declaration is offered when its plate or one of its containers is within a few edits of a read,
    and it would change something: one that already matches every read is no correction.
    """
    read_plate = normalise_plate(plate) if plate else None
    read_boxes = [normalise_container(c) for c in containers if c]
    found: list[tuple[int, str, CloseDeclaration]] = []
    for d in _newest_valid(declarations, now):
        plates = [_close(normalise_plate(p), read_plate, MAX_PLATE_EDITS) for p in d.plates]
        best_plate = min(plates, key=lambda c: (c.distance is None, c.distance or 0))
        boxes = _pair_containers([normalise_container(c.number) for c in d.containers], read_boxes)
        near = [c.distance for c in (best_plate, *boxes) if c.distance is not None]
        if not near or all(c.distance == 0 for c in (best_plate, *boxes)):
            continue
        plate_edits = best_plate.distance if best_plate.distance is not None else MAX_PLATE_EDITS + 1
        distance = (plate_edits if read_plate else 0) + sum(c.distance or 0 for c in boxes)
        found.append((distance, d.number, CloseDeclaration(best_plate, tuple(boxes), distance)))
    found.sort(key=lambda f: (f[0], f[1]))
    return [f[2] for f in found[:LIMIT]]
