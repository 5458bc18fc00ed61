"""Plates read constrained to a grammar's position classes: CTC decoding over a read's steps.

The reader's free decoding takes the likeliest character at each time step. A grammar knows more: the
first character of a Chinese plate is one of 31 province characters, the second a letter but never I or
O, the serial never holds I or O (they are 1 and 0 there). Decoding constrained to the grammar's
templates finds the likeliest alignment of the steps with a text each template allows (the Viterbi path
of the CTC over the template's language: blank, then one character of each position's class, blanks
between, a character repeated only across a blank), and reads that text off it. This is how China's
plates are read at all: the free read drops the province character (the reader's "other" class), and
only the grammar's class at position 0 asks for it.

A character outside a position's class gives its probability to its look-alike in the class (O to 0,
I to 1, 8 to B), as `Grammar.check` would swap it. A character's probability is its highest at the
time steps aligned with it, as in the free read: a province character the reader hardly saw stays
unsure, and the read is not valid.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.plates import CLASSES, DIGIT_FOR_LETTER, LETTER_FOR_DIGIT, Grammar
from vision.read import ALPHABET, LineRead

Floats = npt.NDArray[np.float64]
_EPS = 1e-12
_NEG = -1e30
# A run of time steps that are this surely blank counts as one: the path there is blank anyway, and
# the decoding's time is linear in the steps left.
_BLANK_RUN = 0.98


@dataclass(frozen=True, slots=True)
class _Path:
    score: float  # log-probability of the best alignment
    chars: list[int]  # per position: the column of its character in the symbol set
    frames: list[list[int]]  # per position: the time steps aligned with it


def constrained(line: LineRead, grammar: Grammar) -> LineRead | None:
    """The line read again constrained to the templates of `grammar` (one grammar, not a combination);
    None when the line has no steps, or its steps lack a character the grammar needs."""
    if line.steps is None or not grammar.templates or any(ch not in line.extra for ch in grammar.script):
        return None
    symbols = ALPHABET + line.extra
    steps = np.asarray(line.steps, dtype=np.float64)
    emit = steps[:, 2:]
    # Separators (the "other" class less the extra characters, which it also holds) are blank here.
    blank = steps[:, 0] + np.clip(steps[:, 1] - emit[:, len(ALPHABET) :].sum(axis=1), 0.0, None)
    keep = _kept_steps(blank)
    emit, blank = emit[keep], blank[keep]
    if not len(blank):
        return None
    best: tuple[_Path, Floats] | None = None
    for template in grammar.templates:
        table, allowed = _emissions(emit, symbols, template)
        path = _viterbi(np.log(blank + _EPS), np.where(allowed, np.log(table + _EPS), _NEG))
        if path is not None and (best is None or path.score > best[0].score):
            best = (path, table)
    if best is None:
        return None
    path, table = best
    text, probs, runners = [], [], []
    for k, (col, frames) in enumerate(zip(path.chars, path.frames, strict=True)):
        at = max(frames, key=lambda t: table[t, k, col])
        text.append(symbols[col])
        probs.append(float(min(1.0, table[at, k, col])))
        row = table[at, k].copy()
        row[col] = -1.0
        alt = int(row.argmax())
        runners.append((symbols[alt], float(max(0.0, row[alt]))))
    return LineRead("".join(text), tuple(probs), tuple(runners), (), line.steps, line.extra)


def _kept_steps(blank: Floats) -> npt.NDArray[np.intp]:
    """The time steps that matter: every one but the second and later of a run of sure blanks."""
    sure = blank >= _BLANK_RUN
    repeat = np.zeros_like(sure)
    repeat[1:] = sure[1:] & sure[:-1]
    return np.flatnonzero(~repeat)


def _emissions(emit: Floats, symbols: str, template: str) -> tuple[Floats, npt.NDArray[np.bool_]]:
    """[T, positions, symbols]: each position's probability of each symbol, zero outside its class,
    with the look-alikes from outside the class folded in; and [positions, symbols], the class."""
    fold, mask = _folding(symbols, template)
    return np.einsum("ts,spk->tpk", emit, fold), mask


@functools.lru_cache(maxsize=64)
def _folding(symbols: str, template: str) -> tuple[Floats, npt.NDArray[np.bool_]]:
    """[symbols, positions, symbols]: where each symbol's probability goes at each position (itself
    inside the class, its look-alike in the class, else nowhere); and the classes as a mask."""
    index = {ch: i for i, ch in enumerate(symbols)}
    fold = np.zeros((len(symbols), len(template), len(symbols)))
    mask = np.zeros((len(template), len(symbols)), dtype=bool)
    for k, cls in enumerate(template):
        allowed = CLASSES[cls]
        for ch, i in index.items():
            target = ch if ch in allowed else DIGIT_FOR_LETTER.get(ch) or LETTER_FOR_DIGIT.get(ch)
            if target is not None and target in allowed and target in index:
                fold[i, k, index[target]] = 1.0
                mask[k, index[target]] = True
    return fold, mask


def _viterbi(log_blank: Floats, log_emit: Floats) -> _Path | None:
    """The likeliest CTC alignment of the steps with one text of the template (log_emit: [T, L, S],
    `_NEG` outside each position's class)."""
    steps, length, n_symbols = log_emit.shape
    if steps < length:
        return None
    # States: blank before position k (k = 0..L, L being the trailing blank), and position k emitting s.
    blank = np.full(length + 1, _NEG)
    emit = np.full((length, n_symbols), _NEG)
    blank[0] = log_blank[0]
    emit[0] = log_emit[0, 0]
    # Back pointers per step: blank k came from blank k (0) or from position k-1's best symbol (1);
    # position k symbol s stayed (0), came from blank k (1) or from position k-1's symbol `direct_from`.
    blank_from = np.zeros((steps, length + 1), dtype=np.int8)
    emit_from = np.zeros((steps, length, n_symbols), dtype=np.int8)
    direct_from = np.zeros((steps, length, n_symbols), dtype=np.intp)
    previous_best = np.zeros((steps, length), dtype=np.intp)
    rows = np.arange(length)
    for t in range(1, steps):
        top = emit.argmax(axis=1)
        top_value = emit[rows, top]
        second = emit.copy()
        second[rows, top] = _NEG
        second_value = second.max(axis=1)
        previous_best[t] = top
        # Blanks: stay, or close position k-1.
        closing = np.concatenate([[_NEG], top_value])
        blank_from[t] = closing > blank
        new_blank = np.maximum(blank, closing) + log_blank[t]
        # Symbols: stay, open from the blank before, or follow position k-1 directly (another symbol).
        direct = np.full((length, n_symbols), _NEG)
        if length > 1:
            same = np.arange(n_symbols)[None, :] == top[:-1, None]
            direct[1:] = np.where(same, second_value[:-1, None], top_value[:-1, None])
            direct_from[t, 1:] = np.where(same, second[:-1].argmax(axis=1)[:, None], top[:-1, None])
        opened = blank[:length, None]
        came = (opened > emit).astype(np.int8)
        best = np.maximum(emit, opened)
        followed = direct > best
        came[followed] = 2
        emit_from[t] = came
        emit = np.where(followed, direct, best) + log_emit[t]
        blank = new_blank
    last = int(emit[length - 1].argmax())
    if max(blank[length], emit[length - 1, last]) <= _NEG / 2:
        return None
    state: tuple[str, int, int] = ("b", length, 0)
    score = float(blank[length])
    if emit[length - 1, last] > blank[length]:
        state, score = ("e", length - 1, last), float(emit[length - 1, last])
    chars = [-1] * length
    frames: list[list[int]] = [[] for _ in range(length)]
    for t in range(steps - 1, -1, -1):
        kind, k, s = state
        if kind == "e":
            chars[k] = s
            frames[k].append(t)
        if t == 0:
            break
        if kind == "b":
            if blank_from[t, k]:
                state = ("e", k - 1, int(previous_best[t, k - 1]))
        elif emit_from[t, k, s] == 1:
            state = ("b", k, 0)
        elif emit_from[t, k, s] == 2:
            state = ("e", k - 1, int(direct_from[t, k, s]))
    if any(c < 0 for c in chars):
        return None
    return _Path(score, chars, frames)
