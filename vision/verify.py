"""Verification: how likely each text the gate expects is under the readers' own probabilities, and the
matcher that accepts one only when it is clearly the answer.

The gate knows which plates and container numbers may come (its cleared declarations). A reader that
misreads one character of a plate still gives the true character some probability; scored as a whole,
the expected plate can be far more likely than any other expected one even when the free read is wrong.

A text's score is a natural-log likelihood relative to the reader's surest free read of the same region:
0 means the text is as likely as what the reader would have said unprompted, -3 that it is e^3 = 20
times less likely. Per reader:

- PP-OCR (CTC): the forward algorithm's probability of the text, summed over every alignment. The
  decoder's "other" class (separators, glyphs outside A-Z0-9) counts as blank. A line whose free read is
  longer than the longest text sought is also scored on each run of its words (the frames between
  separators): the dealer's name beside a plate is no part of it. A region is read in several views (one
  line, two rows joined): a text takes its best view, the reference is the surest view's free read
  (greedy text), so a view the reader cannot make sense of lends no text any support.
- the plate-trained slot reader ([slots, 37], a softmax per slot, `_` pads): the product over slots of
  the text's characters then pads; the reference is each slot's most likely character.
- the free reading's own reads of the region (`own_reads`), where it read a text as is and both plate
  readers alike (or a container number, read by PP-OCR alone): the product of the read's character
  probabilities, for that text only. The verifier's own cut of a region can read worse than the free
  reading's crops (its rounds, its wider cuts), and a read both readers made is both readers' evidence.

Two readers of a region can be taken as a mixture (`either`: one of them is right), so a reader that
misaligned a plate (a dropped character shifts every slot) does not veto a good read by the other; the
lane uses PP-OCR alone (vision/verifier.py says why). A match is accepted only when the best expected text
is within `Margins.free` of the free reads, at least `Margins.rival` above the runner-up expected text,
and supported by the reader itself: its per-character likelihood against the free reads, exp(score /
characters), at least `Margins.support` (the list alone never fills in a character the reader did not
see; a lone expected text has no rival to lose to). Pure: arrays in, numbers out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision import iso6346
from vision.identity import ReadKind
from vision.plates import Grammar

Floats = npt.NDArray[np.float64]

CTC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # vision.read's steps: blank, other, then these
SLOT_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"  # vision.plate_reader's slots
SLOT_PAD = "_"
_FLOOR = 1e-12  # probabilities below this are taken as this: log(0) would make every mismatch equal
_MAX_PIECES = 6  # runs of words of a line scored separately: at most 21 spans per line
# No plate or container number is longer; a longer text is not scored (-inf), so a declaration cannot make
# the forward pass long (its cost is frames x characters x texts).
MAX_TEXT = 16


@dataclass(frozen=True, slots=True)
class Margins:
    """How clear a match must be, in nats (natural log of a likelihood ratio)."""

    # The match may be at most this much less likely than the free reads. On the dev sets the true text
    # scored -5.7 at worst (one or two characters misread) and the best wrong one -10.3 (a plate one
    # character longer than the truth), with the reader only on the labelled box; see docs/vision.md.
    free: float = 8.0
    # And it must be at least this much more likely than the runner-up expected text (the true text was
    # 9.7 ahead at least; a character the readers cannot tell apart costs under 3).
    rival: float = 5.0
    # A valid free read of a text not matched is overruled by a match only this close to the free reads
    # (e^-1: at least a third as likely). At 4 nats the voted readers' sure misreads 6TTX874 and MHGV4L
    # of the expected 6TIX874 and MH6V4L (-2.2, -2.7) were matched, but so was 51C21670 for a truck read
    # 51G21670 validly, had only 51C21670 been expected (PP-OCR's G against C: 3 nats; 3 % of the
    # Vietnamese images): a sure free read stands.
    overrule: float = 1.0
    # The reader must support the match itself: its per-character likelihood against the free reads,
    # exp(score / characters), at least this. With one text expected the rival margin does nothing, and a
    # smudged character (51C21M70 of a truck 51C21370, the 6 of the expected 51C21670 at 0.003) would be
    # filled in by the list alone at -5.3 nats, within `free`: per character 0.52. 0.8 lets an 8-character
    # text be e^1.8 = 6 times less likely than the free reads: one character the reader gave a sixth of
    # its choice's probability, not one it ruled out.
    support: float = 0.8


DEFAULT_MARGINS = Margins()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The matcher's answer for one object: the matched text (None: not verified) and the scores."""

    text: str | None
    best: str | None  # the most likely expected text, accepted or not
    score: float  # its score, relative to the free reads (0: as likely; -inf when nothing was scored)
    runner_up: str | None
    runner_up_score: float | None
    # best's per-character likelihood against the free reads, exp(score / characters), at most 1: an
    # absolute figure (not a share among the expected texts) the lane's minimum confidence applies to
    confidence: float
    expected: int  # how many texts were expected

    @property
    def verified(self) -> bool:
        return self.text is not None


# -- CTC (PP-OCR) ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineScores:
    """One reading's log-likelihoods of the expected texts, and of its own free read (the reference)."""

    scores: Floats
    free: float


def ctc_line(
    steps: npt.NDArray[np.floating],
    texts: Sequence[str],
    longest: int | None = None,
    extra: str = "",
    one_glyph: str = "",
) -> LineScores:
    """Each text's log-likelihood under one line's CTC steps ([T, 2 + 36 + len(extra)]: blank, other,
    A-Z0-9, then the reader's `extra` characters, whose probability "other" holds as well).

    The best over the line and, when its free read is longer than `longest` characters, over its runs of
    words (the other words as the free read has them); the reference is the free read's likelihood.
    -inf for a text with a character the reader has no column for. `one_glyph` ("O0"): two characters
    that are one glyph on the lane's plates (US, Slovak), scored as one: the declaration says which it is
    written with, and no reader could tell.
    """
    alphabet = CTC_ALPHABET + extra
    log_probs = _merged_log(steps, len(extra))
    if one_glyph:
        kept, folded = one_glyph[0], one_glyph[1:]
        k = alphabet.index(kept) + 1
        for ch in folded:
            f = alphabet.index(ch) + 1
            log_probs[:, k] = np.logaddexp(log_probs[:, k], log_probs[:, f])
            log_probs[:, f] = np.log(_FLOOR)
        texts = [t.translate(str.maketrans(folded, kept * len(folded))) for t in texts]

    def free(start: int, end: int) -> float:
        """The free read's log-likelihood on frames start..end (0 for none)."""
        window = log_probs[start:end]
        return (
            float(ctc_log_likelihood(window, [free_text(window, alphabet)], alphabet, None)[0])
            if end > start
            else 0.0
        )

    # A text read on a run of words, the frames around it as the free read has them: every span's score
    # is then a likelihood of the whole line, comparable with the free read's.
    frames = log_probs.shape[0]
    best = np.full(len(texts), -np.inf)
    for start, end in _spans(steps, log_probs, longest, alphabet):
        around = free(0, start) + free(end, frames)
        best = np.maximum(best, ctc_log_likelihood(log_probs[start:end], texts, alphabet) + around)
    return LineScores(best, free(0, frames))


def relative(readings: Sequence[LineScores]) -> Floats:
    """Scores of one reader's views of one region (one line, two rows joined, ...): each text's best
    log-likelihood over the views minus the surest view's free read, so a view the reader cannot make
    sense of, unsure of everything, lends no text any support."""
    if not readings:
        return np.zeros(0)
    best = np.max([r.scores for r in readings], axis=0)
    return np.asarray(best - max(r.free for r in readings))


def either(*scores: Floats) -> Floats:
    """Scores of several readers of one region, taken as a mixture (one of them is right): a reader that
    misaligned a plate (a character dropped shifts every slot) does not veto what another read well."""
    stacked = np.array(scores)
    return np.asarray(np.logaddexp.reduce(stacked, axis=0) - np.log(len(scores)))


def free_text(log_probs: npt.NDArray[np.floating], alphabet: str = CTC_ALPHABET) -> str:
    """The greedy CTC text of merged log-probabilities ([T, 1 + len(alphabet)], blank first)."""
    out: list[str] = []
    previous = 0
    for k in log_probs.argmax(axis=1).tolist():
        if k and k != previous:
            out.append(alphabet[k - 1])
        previous = k
    return "".join(out)


def ctc_log_likelihood(
    log_probs: npt.NDArray[np.floating],
    texts: Sequence[str],
    alphabet: str = CTC_ALPHABET,
    max_length: int | None = MAX_TEXT,
) -> Floats:
    """log P(text | frames) by the CTC forward algorithm, for every text at once.

    `log_probs`: [T, 1 + len(alphabet)], blank in column 0. -inf for a text that cannot be aligned
    (longer than the frames allow, or than `max_length`) or has a character outside the alphabet.
    """
    frames = log_probs.shape[0]
    out = np.full(len(texts), -np.inf)
    # A text longer than `max_length`, or than the frames can hold (a character each, a blank between
    # repeats: no alignment), is not scored, so a declaration's long text costs nothing.
    limit = frames if max_length is None else min(frames, max_length)
    labels = [
        _labels(t, alphabet) if len(t) <= limit and _frames_needed(t) <= frames else None for t in texts
    ]
    usable = [i for i, lab in enumerate(labels) if lab is not None]
    if frames == 0 or not usable:
        return out
    longest = max(len(labels[i] or ()) for i in usable)
    states = 2 * longest + 1
    ext = np.zeros((len(usable), states), dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    ends = np.zeros(len(usable), dtype=np.int64)
    for row, i in enumerate(usable):
        lab = labels[i] or ()
        ext[row, 1 : 2 * len(lab) : 2] = lab
        ends[row] = 2 * len(lab)
    # A skip from s-2 to s is allowed onto a character that differs from the one before the blank.
    skip = np.zeros_like(ext, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != 0) & (ext[:, 2:] != ext[:, :-2])
    alpha = np.full(ext.shape, -np.inf)
    alpha[:, 0] = log_probs[0, 0]
    if states > 1:
        alpha[:, 1] = log_probs[0, ext[:, 1]]
    for t in range(1, frames):
        stay = alpha
        step = np.concatenate([np.full((len(usable), 1), -np.inf), alpha[:, :-1]], axis=1)
        jump = np.full_like(alpha, -np.inf)
        jump[:, 2:] = np.where(skip[:, 2:], alpha[:, :-2], -np.inf)
        alpha = np.logaddexp(np.logaddexp(stay, step), jump) + log_probs[t, ext]
    rows = np.arange(len(usable))
    last = alpha[rows, ends]
    before = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], -np.inf)
    out[usable] = np.logaddexp(last, before)
    return out


def _frames_needed(text: str) -> int:
    """The fewest CTC frames that can hold the text: one per character, one blank between repeats."""
    return len(text) + sum(a == b for a, b in itertools.pairwise(text))


def _labels(text: str, alphabet: str) -> tuple[int, ...] | None:
    if not all(ch in alphabet for ch in text):
        return None
    return tuple(alphabet.index(ch) + 1 for ch in text)


def _merged_log(steps: npt.NDArray[np.floating], extra: int = 0) -> Floats:
    """Blank and "other" (less the extra characters it holds) as one blank column, then the characters;
    natural log, floored."""
    steps = np.asarray(steps, dtype=np.float64)
    chars = steps[:, 2 : 2 + len(CTC_ALPHABET) + extra]
    blank = steps[:, :1] + np.clip(
        steps[:, 1:2] - steps[:, 2 + len(CTC_ALPHABET) :].sum(axis=1, keepdims=True), 0, 1
    )
    return np.asarray(np.log(np.maximum(np.concatenate([blank, chars], axis=1), _FLOOR)))


def _spans(
    steps: npt.NDArray[np.floating], log_probs: Floats, longest: int | None, alphabet: str
) -> list[tuple[int, int]]:
    """The whole line; and when its free read is longer than `longest`, every run of its words: the
    frames between the separators (frames whose most likely class is "other") that read something."""
    frames = log_probs.shape[0]
    whole = [(0, frames)]
    if longest is None or len(free_text(log_probs, alphabet)) <= longest:
        return whole
    # A separator: "other" beyond the extra characters it holds is the most likely class.
    others = np.asarray(steps, dtype=np.float64).copy()
    others[:, 1] -= others[:, 2 + len(CTC_ALPHABET) :].sum(axis=1)
    separator = others.argmax(axis=1) == 1
    pieces: list[tuple[int, int]] = []
    start = None
    for t in range(frames + 1):
        inside = t < frames and not separator[t]
        if inside and start is None:
            start = t
        elif not inside and start is not None:
            if free_text(log_probs[start:t], alphabet):
                pieces.append((start, t))
            start = None
    if len(pieces) < 2 or len(pieces) > _MAX_PIECES:
        return whole
    return whole + [
        (pieces[i][0], pieces[j][1])
        for i in range(len(pieces))
        for j in range(i, len(pieces))
        if (i, j) != (0, len(pieces) - 1)
    ]


# -- the free reading's own reads ----------------------------------------------------------------------------


def own_reads(
    reads: Sequence[tuple[str, Sequence[float]]], texts: Sequence[str], one_glyph: str = ""
) -> Floats:
    """Each text's log-likelihood under the free reading's own reads of a region that may vouch for it
    (`verifier.vouching`: read as is, by both plate readers alike): the sum of the log-probabilities of
    a read's characters for the text it read (O and 0 one glyph where `one_glyph`), -inf for any other.

    Absolute, not against a free read: exp(score / characters) is the read's own per-character
    confidence, so the support rule applies to it as to the line scores. A read vouches for its own text
    only, never for one a character away: a look-alike of what the readers read gets no support here.
    """
    fold = str.maketrans(one_glyph[1:], one_glyph[0] * len(one_glyph[1:])) if one_glyph else {}
    best: dict[str, float] = {}
    for text, probs in reads:
        if not text or len(probs) != len(text):
            continue
        key = text.translate(fold)
        score = float(np.log(np.maximum(np.asarray(probs, dtype=np.float64), _FLOOR)).sum())
        best[key] = max(score, best.get(key, -np.inf))
    return np.array([best.get(t.translate(fold), -np.inf) for t in texts], dtype=np.float64)


# -- slot reader --------------------------------------------------------------------------------------------


def slot_line(
    probs: npt.NDArray[np.floating], texts: Sequence[str], alphabet: str = SLOT_ALPHABET
) -> LineScores:
    """Each text's log-likelihood under one slot read ([slots, len(alphabet)], a softmax per slot, `_`
    pads): its characters then pads, slot by slot; the reference is each slot's most likely character.
    -inf for a text longer than the slots or with a character outside the alphabet."""
    log_probs = np.log(np.maximum(np.asarray(probs, dtype=np.float64), _FLOOR))
    slots = log_probs.shape[0]
    pad = alphabet.index(SLOT_PAD)
    out = np.full(len(texts), -np.inf)
    for i, text in enumerate(texts):
        if len(text) > slots or not all(ch in alphabet and ch != SLOT_PAD for ch in text):
            continue
        columns = [alphabet.index(ch) for ch in text] + [pad] * (slots - len(text))
        out[i] = float(log_probs[np.arange(slots), columns].sum())
    return LineScores(out, float(log_probs.max(axis=1).sum()))


def judged(text: str, kind: ReadKind, grammar: Grammar | None) -> tuple[bool, str | None]:
    """A verified text judged by the lane's rules: (valid, grammar). A plate is valid only in the form of
    one of the lane's grammars as written, no look-alike swapped (`has_plate_form`; a Lao plate declared
    as its digits `1234` is none of the lane's: not valid, grammar ""); where O and 0 are one glyph
    (generic), the declaration says which it is written with, a plate no eye could tell from the other.
    A container number by its check digit."""
    if kind is ReadKind.CONTAINER:
        return iso6346.is_valid(text), None
    if grammar is None or not has_plate_form(text, grammar):
        return False, ""
    return True, grammar.check(text).grammar


def has_plate_form(text: str, grammar: Grammar) -> bool:
    """Whether a declared plate has the form of one of the lane's grammars as written (valid or, where O
    and 0 are one glyph, of its form): only such a plate can be verified (`edge.decision.expected`)."""
    checked = grammar.check(text)
    return bool(text) and checked.text == text and (checked.valid or bool(checked.grammar))


# -- matching -----------------------------------------------------------------------------------------------


def match(
    texts: Sequence[str], scores: npt.NDArray[np.floating], margins: Margins = DEFAULT_MARGINS
) -> Verdict:
    """The expected text the scores single out, or a verdict with text None when none is clear.

    Accepted only when the best is within `margins.free` of the free reads (score >= -free), at least
    `margins.rival` above the second best, and its confidence (`support`) is at least `margins.support`.
    Texts listed twice count once.
    """
    best_of: dict[str, float] = {}
    for text, score in zip(texts, np.asarray(scores, dtype=np.float64).tolist(), strict=True):
        if score > best_of.get(text, -np.inf) or text not in best_of:
            best_of[text] = score
    ranked = sorted(best_of.items(), key=lambda kv: (-kv[1], kv[0]))
    finite = [(t, s) for t, s in ranked if np.isfinite(s)]
    if not finite:
        return Verdict(None, None, -np.inf, None, None, 0.0, len(best_of))
    best, top = finite[0]
    runner_up, second = finite[1] if len(finite) > 1 else (None, None)
    confidence = support(best, top)
    clear = (
        top >= -margins.free
        and (second is None or top - second >= margins.rival)
        and confidence >= margins.support
    )
    return Verdict(best if clear else None, best, top, runner_up, second, confidence, len(best_of))


def support(text: str, score: float) -> float:
    """A text's per-character likelihood against the free reads, exp(score / characters), at most 1: 1 as
    likely as what the reader read, 0.52 for a character it gave 0.003 against its own choice's 0.6."""
    if not text or not np.isfinite(score):
        return 0.0
    return float(min(1.0, np.exp(score / len(text))))
