"""Text layouts the line reader cannot take as they are: two-row plates and vertical container codes.

A two-row plate is cut at the emptiest row near its middle and each row is read as a line. A vertical
container code (one character under another) is cut into characters by the gaps between them, and the
characters are laid side by side into one horizontal line, which the reader then takes in one go.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vision.read import REC_HEIGHT, Image


def ink_mask(crop: Image) -> npt.NDArray[np.bool_]:
    """Pixels that belong to characters: Otsu threshold, polarity chosen so that ink is the minority."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = binary > 0
    # Judge polarity away from the border, where plate frames and background dominate.
    h, w = mask.shape
    inner = mask[h // 6 : h - h // 6 or h, w // 8 : w - w // 8 or w]
    return np.asarray(~mask if inner.mean() > 0.5 else mask)


def split_rows(crop: Image) -> tuple[Image, Image] | None:
    """Cut a two-row plate at the emptiest row in its middle band; None when the crop is too small."""
    h = crop.shape[0]
    if h < 16:
        return None
    profile = ink_mask(crop).mean(axis=1)
    lo, hi = int(h * 0.3), int(h * 0.7)
    cut = lo + int(np.argmin(np.convolve(profile[lo:hi], np.ones(3) / 3, mode="same")))
    overlap = max(1, h // 20)
    return crop[: cut + overlap], crop[max(0, cut - overlap) :]


def character_rows(crop: Image, min_chars: int = 4) -> list[tuple[int, int]]:
    """The row spans of characters stacked one under another, top to bottom; [] if none are found."""
    mask = ink_mask(crop)
    _h, w = mask.shape
    # Ignore the outer columns, where container corrugation and frames make long vertical lines.
    core = mask[:, w // 10 : w - w // 10 or w]
    profile = core.mean(axis=1)
    inked = profile > max(0.04, float(profile.max()) * 0.12)
    spans: list[tuple[int, int]] = []
    start = -1
    for y, on in enumerate([*inked.tolist(), False]):
        if on and start < 0:
            start = y
        elif not on and start >= 0:
            spans.append((start, y))
            start = -1
    if not spans:
        return []
    heights = sorted(b - a for a, b in spans)
    typical = heights[len(heights) // 2]
    # A character taller than 1.7 typical heights is two touching characters: split it evenly.
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if b - a < typical * 0.35:
            continue
        parts = max(1, round((b - a) / typical)) if b - a > typical * 1.7 else 1
        step = (b - a) / parts
        out.extend((int(a + k * step), int(a + (k + 1) * step)) for k in range(parts))
    return out if len(out) >= min_chars else []


# A column cut into more characters than this is corrugation or a ladder of stripes, not a code (11
# characters, 15 with the size/type code under it): laid side by side it would be read at the reader's
# widest, five times a code's cost, for nothing.
MAX_STACKED = 18


def stack_vertical(crop: Image) -> Image | None:
    """One horizontal line made of the characters of a vertical code, or None if none are found (or
    more than `MAX_STACKED`)."""
    spans = character_rows(crop)
    if not spans or len(spans) > MAX_STACKED:
        return None
    h, w = crop.shape[:2]
    mask = ink_mask(crop)
    background = np.median(np.concatenate([crop[0], crop[-1]]), axis=0).astype(np.uint8)
    pieces: list[Image] = []
    gap = np.empty((REC_HEIGHT, REC_HEIGHT // 5, 3), dtype=np.uint8)
    gap[:] = background
    for a, b in spans:
        margin = max(1, (b - a) // 10)
        top, bottom = max(0, a - margin), min(h, b + margin)
        # Trim the glyph to its inked columns: wide empty margins make the reader see spaces.
        columns = np.flatnonzero(mask[a:b].mean(axis=0) > 0.05)
        left, right = (int(columns[0]), int(columns[-1]) + 1) if columns.size else (0, w)
        left, right = max(0, left - margin), min(w, right + margin)
        glyph = crop[top:bottom, left:right]
        # Text filling the whole line height reads worse than text with some room above and below.
        room = max(1, glyph.shape[0] // 6)
        glyph = np.asarray(
            cv2.copyMakeBorder(glyph, room, room, room // 2, room // 2, cv2.BORDER_REPLICATE), np.uint8
        )
        scale = REC_HEIGHT / glyph.shape[0]
        size = (max(4, round(glyph.shape[1] * scale)), REC_HEIGHT)
        pieces.append(np.asarray(cv2.resize(glyph, size), np.uint8))
        pieces.append(gap)
    return np.ascontiguousarray(np.concatenate([gap, gap, *pieces, gap], axis=1))


def vertical_variants(crop: Image) -> list[Image]:
    """Stacked lines of a vertical code from a contrast-equalised grey copy and from its ink mask.

    Painted codes on corrugated, unevenly lit steel read far better once the panel colour and the light
    gradient are gone (on generated degraded codes: 22 and 16 of 30 read, against 11 from the colour crop);
    the two variants fail on different codes, so both are read.
    """
    if crop.ndim != 3 or min(crop.shape[:2]) < 8:
        return []
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    equalised = cv2.cvtColor(_CLAHE.apply(gray), cv2.COLOR_GRAY2BGR)
    ink = ink_mask(crop)
    binary = np.where(ink[..., np.newaxis], 0, 255).astype(np.uint8).repeat(3, axis=2)
    out = []
    for variant in (equalised, binary):
        stacked = stack_vertical(np.ascontiguousarray(variant, dtype=np.uint8))
        if stacked is not None:
            out.append(stacked)
    return out


_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))


def is_vertical(w: int, h: int) -> bool:
    """A region much taller than wide holds a vertical code."""
    return h > 2.5 * w


def may_be_two_rows(w: int, h: int, widest: float = 3.0) -> bool:
    """A region this square may hold two rows (Vietnamese square plates are about 1.4:1; a container
    number over its size/type code about 4:1, hence a larger `widest` for containers)."""
    return w < widest * h
