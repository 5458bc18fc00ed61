"""Reading hypotheses of a frame's regions: which crops to read, and which reads to join.

A region is read as one line, as two rows joined, or (containers) as a vertical stack; neighbouring
regions that line up are joined without reading more; a valid plate read is confirmed on a wider,
stretched crop. Each hypothesis names the crops whose reads make it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from vision import layout
from vision.detect import Region, crop_quad, quad_from_box
from vision.identity import ReadKind
from vision.read import Image, LineRead

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels

# The confirming read of a valid plate: its box grown sideways by this many heights (room for one or two
# characters a cut box left out) and stretched sideways by this factor (more CTC time steps per
# character, so a run of one digit is not merged).
_WIDEN = 0.6
_STRETCH = 1.15
_SLOT_MARGIN = 0.15  # around a box read by the plate-trained reader, in box heights (see slot_crop)
# A detected region is cut into two plate rows only when it is about as square as a two-line plate
# (Vietnamese: about 1.4:1) and tall enough for two readable rows.
_TWO_ROW_WIDEST = 2.2
_MIN_ROW_HEIGHT = 10
# A container serial read without its check digit, and how far (in heights) to widen it to the right.
_SERIAL_ALONE = re.compile(r"[0-9]{6}")
_SERIAL_ROOM = 0.9
# A vertical code's stack read this short (characters, at least and fewer than) is a column cut short.
_COLUMN_SHORT = (4, 11)
# A container region is cut into rows only when its line read shows this many characters.
_ROWS_MIN_READ = 4


@dataclass(slots=True)
class Hypothesis:
    box: Box
    parts: list[int] = field(default_factory=list)  # indices of crops read and joined in order


def wider(view: Image, box: Box) -> list[Image]:
    """The box grown sideways by `_WIDEN` line heights (where the rest of a cut plate would be) and a
    little up and down, cut straight from the view and stretched.

    A box as square as a two-line plate holds two lines: grown by its whole height, it would take in
    so much beside the plate that its rows could no longer be found.
    """
    x, y, w, h = box
    line = h / 2 if layout.may_be_two_rows(w, h, _TWO_ROW_WIDEST) else h
    dx, dy = round(_WIDEN * line), round(0.15 * line)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    crop = view[y0 : min(view.shape[0], y + h + dy), x0 : min(view.shape[1], x + w + dx)]
    return [restretched(np.ascontiguousarray(crop))] if min(crop.shape[:2]) >= 4 else []


def slot_crop(view: Image, box: Box) -> Image:
    """What the plate-trained reader reads for a box: the box with `_SLOT_MARGIN` heights all round.

    The reader was trained on whole plates, frame and all; a text detector's box is the characters'.
    (openalpr, the reader on the detected box with no margin / 0.15 / 0.3 heights: us 84 / 92 / 86 of
    108 right, O = 0; br 48 / 52 / 52 of 55.)
    """
    x, y, w, h = box
    m = round(_SLOT_MARGIN * h)
    x0, y0 = max(0, x - m), max(0, y - m)
    return np.ascontiguousarray(view[y0 : min(view.shape[0], y + h + m), x0 : min(view.shape[1], x + w + m)])


def restretched(crop: Image) -> Image:
    """The crop stretched sideways: the reader sees other pixels and more time steps per character."""
    h, w = crop.shape[:2]
    return np.asarray(cv2.resize(crop, (round(w * _STRETCH), h), interpolation=cv2.INTER_CUBIC), np.uint8)


def add_layouts(
    crop: Image, box: Box, kind: ReadKind, crops: list[Image], hyps: list[Hypothesis], rows: bool = True
) -> None:
    """Hypotheses for one region: one line; two rows joined (if `rows`); a vertical stack of characters."""
    h, w = crop.shape[:2]
    if h < 4 or w < 4:
        return
    if layout.is_vertical(w, h):
        if kind is ReadKind.CONTAINER:  # plates are never written one character under another
            for stacked in layout.vertical_variants(crop):
                crops.append(stacked)
                hyps.append(Hypothesis(box, [len(crops) - 1]))
        return
    crops.append(crop)
    hyps.append(Hypothesis(box, [len(crops) - 1]))
    if rows and layout.may_be_two_rows(w, h, 3.0 if kind is ReadKind.PLATE else 5.0):
        split = layout.split_rows(crop)
        if split is not None:
            crops.extend(split)
            top, bottom = len(crops) - 2, len(crops) - 1
            hyps.append(Hypothesis(box, [top, bottom]))
            if kind is ReadKind.CONTAINER:  # the number alone above its size/type code
                hyps.extend([Hypothesis(box, [top]), Hypothesis(box, [bottom])])


def add_regions(
    view: Image,
    regions: Sequence[Region],
    kind: ReadKind,
    crops: list[Image],
    hyps: list[Hypothesis],
    rows: bool,
) -> tuple[list[Image], list[int]]:
    """Each region cut out (upright, with its margin) and its layouts added (see `add_layouts`).

    Returns each region's crop and the index in `crops` of its one-line crop (-1: none, the crop is
    empty or vertical).
    """
    region_crops = []
    line_of: list[int] = []
    for region in regions:
        crop = crop_quad(view, upright_quad(region, kind), pad=crop_margin(region, kind))
        region_crops.append(crop)
        line_of.append(len(crops) if crop.size and not layout.is_vertical(*crop.shape[1::-1]) else -1)
        add_layouts(crop, region.box, kind, crops, hyps, rows=rows)
    return region_crops, line_of


def add_serial_room(
    view: Image,
    regions: Sequence[Region],
    line_of: Sequence[int],
    lines: Sequence[LineRead],
    first: int,
    hyps: list[Hypothesis],
) -> tuple[list[Region], list[Image]]:
    """Serials read without their check digit, cut again with the room to their right.

    The check digit is painted in a box a little apart from the serial; the detector often finds
    no region for it (`DRYU 213877 [4]`). A region that reads as six digits alone is cut again,
    widened to the right by a character or so. Returns a region of its own for each (for the joins
    with the owner code) and the crops to read, the first of which will be crop `first`; their
    hypotheses are added to `hyps`.
    """
    extended: list[Region] = []
    more: list[Image] = []
    for region, line in zip(regions, line_of, strict=True):
        if line < 0 or not _SERIAL_ALONE.fullmatch(lines[line].text):
            continue
        x, y, w, h = region.box
        x, y = max(0, x), max(0, y)  # a YOLO box may start outside the frame
        x1 = min(view.shape[1], x + w + round(_SERIAL_ROOM * h))
        crop = np.ascontiguousarray(view[y : y + h, x:x1])
        if x1 <= x + w or min(crop.shape[:2]) < 4:  # no room to the right: nothing more to read
            continue
        box = (x, y, x1 - x, h)
        more.append(crop)
        hyps.append(Hypothesis(box, [first + len(more) - 1]))
        extended.append(Region(quad_from_box(*box), region.score))
    return extended, more


def add_column_room(
    view: Image, regions: Sequence[Region], lines: Sequence[LineRead], first: int, hyps: list[Hypothesis]
) -> tuple[list[Region], list[Image]]:
    """Vertical codes found cut short, cut again with the rest of their column.

    At a coarse scale the detector often ends a column a few characters early (`MSKU3866` of
    `MSKU3866036`, the rest found as a stub or not at all): a vertical region whose stack reads 4 to 10
    characters is cut again, lengthened by the characters missing (downwards when its read starts with
    an owner code, else both ways). Returns a region for each (for the joins) and the crops to read, the
    first of which will be crop `first`; their hypotheses are added to `hyps`.
    """
    stack_of: dict[Box, int] = {}
    for hyp in hyps:
        if len(hyp.parts) == 1:
            stack_of.setdefault(hyp.box, hyp.parts[0])
    extended: list[Region] = []
    more: list[Image] = []
    for region in regions:
        x, y, w, h = region.box
        if not layout.is_vertical(w, h) or region.box not in stack_of:
            continue
        text = lines[stack_of[region.box]].text
        if not _COLUMN_SHORT[0] <= len(text) < _COLUMN_SHORT[1]:
            continue
        missing = round((_COLUMN_SHORT[1] - len(text) + 0.5) * h / len(text))
        up = 0 if text[:4].isalpha() else missing
        x, y0 = max(0, x), max(0, y - up)
        y1 = min(view.shape[0], y + h + missing)
        box = (x, y0, w, y1 - y0)
        crop = crop_quad(view, quad_from_box(*box), pad=0.1)
        for stacked in layout.vertical_variants(crop):
            more.append(stacked)
            hyps.append(Hypothesis(box, [first + len(more) - 1]))
        extended.append(Region(quad_from_box(*box), region.score))
    return extended, more


def add_container_rows(
    region_crops: Sequence[Image],
    line_of: Sequence[int],
    lines: Sequence[LineRead],
    first: int,
    hyps: list[Hypothesis],
    boxes: Sequence[Box],
) -> list[Image]:
    """Container regions square enough for a number over its size/type code, cut into their two rows:
    the crops to read (the first will be crop `first`), their hypotheses (both rows joined, each row
    alone) added to `hyps`.

    Only regions whose one-line read shows `_ROWS_MIN_READ` characters or more: clutter that reads as
    nothing as a line reads as nothing in rows.
    """
    more: list[Image] = []
    for crop, line, box in zip(region_crops, line_of, boxes, strict=True):
        if line < 0 or len(lines[line].text) < _ROWS_MIN_READ:
            continue
        h, w = crop.shape[:2]
        if not layout.may_be_two_rows(w, h, 5.0):
            continue
        split = layout.split_rows(crop)
        if split is not None:
            top, bottom = first + len(more), first + len(more) + 1
            more.extend(split)
            hyps.extend([Hypothesis(box, [top, bottom]), Hypothesis(box, [top]), Hypothesis(box, [bottom])])
    return more


def add_row_splits(
    regions: Sequence[Region],
    region_crops: Sequence[Image],
    line_of: Sequence[int],
    lines: Sequence[LineRead],
    taken: Sequence[Box],
    first: int,
    hyps: list[Hypothesis],
) -> list[Image]:
    """Plate regions as square as a two-line plate, cut into their rows: the crops to read (the first
    will be crop `first`), their hypotheses added to `hyps`.

    Only regions whose one-line read shows some characters (clutter reads as nothing; a two-line plate
    read as one line does not) and that no valid read in `taken` already covers.
    """
    more: list[Image] = []
    for region, crop, line in zip(regions, region_crops, line_of, strict=True):
        _, _, w, h = region.box
        if not layout.may_be_two_rows(w, h, _TWO_ROW_WIDEST) or h < 2 * _MIN_ROW_HEIGHT:
            continue
        if line < 0 or len(lines[line].text) < 2:
            continue
        if any(overlap(box, region.box) > 0.5 for box in taken):
            continue
        split = layout.split_rows(crop)
        if split is not None:
            at = first + len(more)
            more.extend(split)
            hyps.append(Hypothesis(region.box, [at, at + 1]))
    return more


def plausible(regions: list[Region], kind: ReadKind) -> list[Region]:
    """Regions that can hold what is sought, largest and surest first.

    Every region costs a recognition crop (or three), so the shapes no plate line has are dropped before
    reading: taller than wide (plates are never vertical) or a sliver longer than 12 heights.
    """
    keep = []
    for r in regions:
        _, _, w, h = r.box
        if min(w, h) < 6 or w * h < 150:
            continue
        if kind is ReadKind.PLATE and (h > 1.1 * w or w > 12 * h or h < 8):
            continue
        keep.append(r)
    keep.sort(key=lambda r: -(r.score * np.sqrt(r.box[2] * r.box[3])))
    return keep


def add_columns(view: Image, regions: Sequence[Region], crops: list[Image], hyps: list[Hypothesis]) -> None:
    """Characters detected one under another (a vertical code): their union, read as a stack."""
    # Character-sized boxes only: words one under another (a serial over its size/type code, `170036`
    # over `22G1`) read as a stack give confident nonsense.
    chars = sorted((r.box for r in regions if 0.5 * r.box[3] < r.box[2] < 1.6 * r.box[3]), key=lambda b: b[1])
    used: set[int] = set()
    for i, first in enumerate(chars):
        if i in used:
            continue
        column = [first]
        for j in range(i + 1, len(chars)):
            last = column[-1]
            b = chars[j]
            centre_gap = abs((b[0] + b[2] / 2) - (last[0] + last[2] / 2))
            if centre_gap < 0.6 * max(b[2], last[2]) and b[1] - (last[1] + last[3]) < 1.5 * last[3]:
                column.append(b)
                used.add(j)
        if len(column) < 3:
            continue
        union = functools.reduce(_union, column)
        crop = crop_quad(view, quad_from_box(*union), pad=0.1)
        for stacked in layout.vertical_variants(crop):
            crops.append(stacked)
            hyps.append(Hypothesis(union, [len(crops) - 1]))


def add_neighbours(
    regions: Sequence[Region], hyps: list[Hypothesis], kind: ReadKind = ReadKind.PLATE
) -> None:
    """Codes split across boxes, joined: a plate's number cut at a gap or a bolt (`6L` `SU216`), a
    two-line plate's rows; a container's owner code, serial and boxed check digit, or its two rows.
    No new crop is read: the join is of lines already read.

    Containers also join three boxes, down a vertical code's column, and rows whose boxes overlap more
    (a container's painted rows sit close); plates keep to pairs and to the tighter row rule, which keeps
    the state name under a US plate (`AYX8803` / `ARIZONA`) out of the plate.
    """
    container = kind is ReadKind.CONTAINER
    rows_overlap = 0.35 if container else 0.2
    by_box: dict[Box, int] = {}
    for h in hyps:
        if len(h.parts) == 1:
            by_box.setdefault(h.box, h.parts[0])  # the region read as one line, not one of its rows
    boxes = [r.box for r in regions if r.box in by_box]
    for a in boxes:
        for b in boxes:
            if a == b or not (_line_up(a, b, rows_overlap) or (container and _column_goes_on(a, b))):
                continue
            hyps.append(Hypothesis(_union(a, b), [by_box[a], by_box[b]]))
            if not container:
                continue
            # A third box further along the same line or down the same column: a container's owner
            # code, serial and boxed check digit (`BEAU` `257687` `8`), each found as a region of its
            # own. The digit's box is found smaller than the words' (67 px against 104 for
            # `TRHU 170036 9`).
            for c in boxes:
                if c in (a, b):
                    continue
                if (_same_line(a, b) and _same_line(b, c, smallest=0.55)) or _column_goes_on(b, c):
                    hyps.append(Hypothesis(_union(_union(a, b), c), [by_box[a], by_box[b], by_box[c]]))


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    return x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0


def _column_goes_on(a: Box, b: Box) -> bool:
    """Whether b continues a vertical code a (characters one under another) downwards: centred under
    it, about as wide (the width is the characters' size), a short gap. b may be the boxed check
    digit alone (`BEAU` / `257687` / `8` of a side camera)."""
    wa, wb = a[2], b[2]
    if a[3] < 2.0 * wa or not 0.5 < wb / wa < 2.0:
        return False
    gap_y = b[1] - (a[1] + a[3])
    centred = abs((a[0] + wa / 2) - (b[0] + wb / 2)) < 0.6 * max(wa, wb)
    return centred and -0.3 * wa <= gap_y < 1.5 * wa


def _same_line(a: Box, b: Box, smallest: float = 0.7) -> bool:
    """Whether b continues a's line to the right (see `_line_up`), b at least `smallest` as high."""
    ha, hb = a[3], b[3]
    gap_x = b[0] - (a[0] + a[2])
    return (
        smallest < hb / ha < 1.45
        and abs((a[1] + ha / 2) - (b[1] + hb / 2)) < 0.3 * ha
        and -0.2 * ha <= gap_x < 2.0 * ha
    )


def _line_up(a: Box, b: Box, rows_overlap: float = 0.2) -> bool:
    """Whether b continues a's code: the same character height, and either further along a's line
    (centres level, a short gap) or the row under it (left edges or centres aligned, a short gap, no
    wider than twice and a half a: a container's serial under its owner code, a plate's number under
    its province and series)."""
    ha, hb = a[3], b[3]
    if not 0.7 < hb / ha < 1.45:
        return False
    gap_y = b[1] - (a[1] + ha)
    aligned = abs(a[0] - b[0]) < 0.8 * ha or abs((a[0] + a[2] / 2) - (b[0] + b[2] / 2)) < 0.8 * ha
    next_row = aligned and -rows_overlap * ha <= gap_y < 0.8 * ha and b[2] < 2.5 * a[2]
    return _same_line(a, b) or next_row


def upright_quad(region: Region, kind: ReadKind) -> npt.NDArray[np.float32]:
    """The region's corners ordered so that a vertical container code is cut out standing.

    The detector orders a slightly tilted, tall box's corners from its bottom-left along its long side:
    cut out as given, the column comes out lying on its side (673 x 81 px for a 661 px tall code) and is
    read as one line of rotated characters. Ordered top-left, top-right, bottom-right, bottom-left by
    position, it comes out tall and is read as a stack.
    """
    _, _, w, h = region.box
    if kind is not ReadKind.CONTAINER or not layout.is_vertical(w, h):
        return region.quad
    q = region.quad
    total, diff = q.sum(axis=1), q[:, 1] - q[:, 0]
    ordered = [q[np.argmin(total)], q[np.argmin(diff)], q[np.argmax(total)], q[np.argmax(diff)]]
    return np.asarray(ordered, dtype=np.float32)


def crop_margin(region: Region, kind: ReadKind) -> float:
    """How much of the surroundings a region's crop takes in, in heights.

    A container's check digit is painted in a box of its own: cut with a margin, the crop shows the box's
    frame around the digit and the reader reads nothing (`9` of `TRHU 170036 9`); a character-sized
    square region of a container is cut tight.
    """
    _, _, w, h = region.box
    if kind is ReadKind.CONTAINER and 0.5 < w / max(1, h) < 1.3:
        return 0.0
    return 0.12
