"""Hand-written CTC reads for the verifier's tests: a line as a list of frames (character -> probability),
turned into the reader's step matrix, so a test says which characters are unsure and how unsure."""

from __future__ import annotations

import numpy as np

from vision.read import ALPHABET

Frame = dict[str, float]  # a CTC frame: character -> probability ("" blank); the rest goes to blank


def steps(frames: list[Frame]) -> np.ndarray:
    """The reader's steps for `frames`: blank, other, then ALPHABET; every row sums to 1."""
    rows = []
    for frame in frames:
        row = np.full(2 + len(ALPHABET), 1e-6)
        for ch, p in frame.items():
            row[0 if ch == "" else 2 + ALPHABET.index(ch)] = p
        row[0] += max(0.0, 1 - row.sum())
        rows.append(row / row.sum())
    return np.array(rows, dtype=np.float32)


def read_as(text: str, unsure: dict[int, Frame] | None = None) -> list[Frame]:
    """A line reading `text` surely, a blank after each character; `unsure` replaces some characters."""
    frames: list[Frame] = []
    for i, ch in enumerate(text):
        frames += [(unsure or {}).get(i, {ch: 0.99}), {"": 0.99}]
    return frames
