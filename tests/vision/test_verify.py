"""Verification's scoring and matcher on arrays: CTC forward, slot scores, margins, the free read's say."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from vision.candidates import Candidate
from vision.identity import Identification, Read, ReadKind, ReadPath
from vision.plates import VIETNAM
from vision.verifier import MAX_REGIONS, apply, one_object, regions
from vision.verify import (
    CTC_ALPHABET,
    SLOT_ALPHABET,
    LineScores,
    Margins,
    Verdict,
    ctc_line,
    ctc_log_likelihood,
    either,
    match,
    relative,
    slot_line,
)

COLUMNS = 2 + len(CTC_ALPHABET)  # blank, other, A-Z0-9: vision.read's steps


def _collapse(path: tuple[int, ...]) -> str:
    out, previous = [], -1
    for k in path:
        if k and k != previous:
            out.append(CTC_ALPHABET[k - 1])
        previous = k
    return "".join(out)


def test_ctc_forward_equals_the_sum_over_every_alignment() -> None:
    rng = np.random.default_rng(1)
    frames, used = 5, 3  # blank, '0', '1': every path enumerated
    probs = rng.dirichlet(np.ones(used), size=frames)
    log_probs = np.log(np.concatenate([probs, np.full((frames, 1 + len(CTC_ALPHABET) - used), 1e-300)], 1))
    brute: dict[str, float] = {}
    for path in itertools.product(range(used), repeat=frames):
        p = math.prod(probs[t, k] for t, k in enumerate(path))
        brute[_collapse(path)] = brute.get(_collapse(path), 0.0) + p
    texts = sorted(brute)
    assert {"00", "010", "11"} <= set(texts)  # repeats need a blank between them
    got = np.exp(ctc_log_likelihood(log_probs, texts))
    np.testing.assert_allclose(got, [brute[t] for t in texts], rtol=1e-9)
    assert ctc_log_likelihood(log_probs, ["000000"])[0] == -np.inf  # six zeros need eleven frames


def _steps(sequence: str, sure: float = 0.999) -> np.ndarray:
    """Steps of a line that reads `sequence`, one frame per symbol: '-' blank, ' ' other, else a character.
    PP-OCR's sure characters are about this sure (0.999, the rest spread over the other classes)."""
    steps = np.full((len(sequence), COLUMNS), (1 - sure) / (COLUMNS - 1))
    for t, ch in enumerate(sequence):
        steps[t, 0 if ch == "-" else 1 if ch == " " else 2 + CTC_ALPHABET.index(ch)] = sure
    return steps / steps.sum(axis=1, keepdims=True)


def test_the_free_read_scores_zero_and_one_confident_character_off_scores_far_below() -> None:
    line = ctc_line(_steps("-5-1-F-4-4-6-1-4-"), ["51F44614", "51F44615", "51F4461", "51F446144"])
    scores = relative([line])
    assert scores[0] == pytest.approx(0.0, abs=1e-9)
    assert (scores[1:] < -8).all()


def test_a_separator_is_no_character_and_a_long_line_is_scored_on_its_words() -> None:
    steps = _steps("-A-R-O-N-A-  -A-N-W-2-5-2-9-")
    whole = relative([ctc_line(steps, ["ARONAANW2529", "ANW2529"])])
    assert whole[0] == pytest.approx(0.0, abs=1e-6)  # "other" frames count as blank
    assert whole[1] < -20  # the plate alone cannot explain the dealer's name
    words = relative([ctc_line(steps, ["ANW2529", "NW2529"], longest=9)])
    assert words[0] == pytest.approx(0.0, abs=1e-6)
    assert words[1] < -8  # a word is cut at separators only: no fragment of one
    short = relative([ctc_line(_steps("-6-L-S-U-2-1-6-"), ["SU216"], longest=9)])
    assert short[0] < -10  # a line no longer than a plate is never cut


def test_a_view_the_reader_cannot_make_sense_of_lends_no_text_support() -> None:
    texts = ["29A94170", "29A7872"]
    sure = ctc_line(_steps("-2-9-A-9-4-1-7-0-"), texts)
    flat = ctc_line(np.full((17, COLUMNS), 1.0 / COLUMNS), texts)
    # Relative to its own free read, the flat view finds the wrong plate only mildly unlikely ...
    assert flat.scores[1] - flat.free > -70
    # ... but against the sure view's free read it gives the wrong plate no support.
    combined = relative([sure, flat])
    assert combined[0] == pytest.approx(0.0, abs=1e-6)
    assert combined[1] < -40


def test_extra_characters_of_a_reader_are_scored_and_not_counted_as_blank() -> None:
    extra = "皖"
    steps = np.concatenate([_steps("--A-1-"), np.zeros((6, 1))], axis=1)
    steps[1] = 0.0
    steps[1, 1] = steps[1, -1] = 0.95  # "other" holds the ideograph's probability too
    steps[1, 0] = 0.05
    scores = relative([ctc_line(steps, ["皖A1", "A1"], extra=extra)])
    assert scores[0] == pytest.approx(0.0, abs=1e-6)
    assert scores[1] < -2


def _slots(text: str, sure: float = 0.999) -> np.ndarray:
    probs = np.full((9, len(SLOT_ALPHABET)), (1 - sure) / (len(SLOT_ALPHABET) - 1))
    for i, ch in enumerate(text.ljust(9, "_")):
        probs[i, SLOT_ALPHABET.index(ch)] = sure
    return probs


def test_slot_score_is_the_product_over_slots_with_pads_against_each_slots_best() -> None:
    probs = _slots("51F44614")
    line = slot_line(probs, ["51F44614", "51F4461", "51F446145", "51F4461456", "51f44614"])
    scores = line.scores - line.free
    assert scores[0] == pytest.approx(0.0, abs=1e-9)
    pad_for_4 = math.log(0.999) - math.log(0.001 / 36)
    assert scores[1] == pytest.approx(-pad_for_4, rel=1e-6)  # the 4 missing: a pad where a 4 was read
    assert scores[2] < -8
    assert scores[3] == -np.inf  # ten characters
    assert scores[4] == -np.inf  # a letter outside the alphabet


def test_readers_are_a_mixture_one_misaligned_reader_does_not_veto_the_other() -> None:
    ctc = np.array([0.0, -30.0])
    slot = np.array([-80.0, -60.0])  # a dropped character shifted every slot
    mixed = either(ctc, slot)
    assert mixed[0] == pytest.approx(-math.log(2), abs=1e-6)
    assert mixed[1] < -29


def test_match_accepts_only_a_clear_best_within_the_free_margin() -> None:
    margins = Margins(free=8.0, rival=5.0)
    texts = ["AAA111", "AAA112", "BBB222"]
    clear = match(texts, np.array([-1.0, -9.0, -40.0]), margins)
    assert (clear.text, clear.best, clear.runner_up) == ("AAA111", "AAA111", "AAA112")
    assert clear.confidence == pytest.approx(math.exp(-1.0 / 6))  # per character, against the free reads
    rival = match(texts, np.array([-1.0, -4.0, -40.0]), margins)
    assert (rival.text, rival.best) == (None, "AAA111")
    far = match(texts, np.array([-9.0, -30.0, -40.0]), margins)
    assert (far.text, far.best) == (None, "AAA111")
    alone = match(["AAA111"], np.array([-1.0]), margins)
    assert (alone.text, alone.runner_up) == ("AAA111", None)
    nothing = match(texts, np.full(3, -np.inf), margins)
    assert (nothing.text, nothing.best, nothing.expected) == (None, None, 3)


def test_a_text_listed_twice_is_no_rival_of_itself() -> None:
    verdict = match(["AAA111", "AAA111", "BBB222"], np.array([-1.0, -1.0, -30.0]))
    assert (verdict.text, verdict.runner_up) == ("AAA111", "BBB222")


def _verdict(text: str | None, score: float, best: str | None = None) -> Verdict:
    return Verdict(text, best or text, score, "ZZZ999", score - 20, 0.99, 5)


def test_frames_naming_different_texts_verify_none() -> None:
    agreed = [_verdict("AAA111", -1.0), _verdict("AAA111", -1.5), _verdict(None, -9.0, "BBB222")]
    assert one_object(agreed).text == "AAA111"
    assert one_object([_verdict("AAA111", -1.0), _verdict("BBB222", -2.0)]).text is None
    assert one_object([]) is None


def _plate(text: str, valid: bool, confidence: float = 0.6) -> Read:
    return Read(ReadKind.PLATE, text, confidence, valid, source="front")


def test_a_verified_plate_replaces_a_free_read_that_is_not_valid() -> None:
    ident = apply(
        Identification(_plate("51F4461A", valid=False)), [_verdict("51F44614", -2.5)], [], grammar=VIETNAM
    )
    plate = ident.plate
    assert plate is not None
    assert (plate.text, plate.valid, plate.path, plate.source, plate.grammar) == (
        "51F44614",
        True,
        ReadPath.VERIFIED,
        "front",
        "vietnam",
    )
    assert plate.alternatives[0] == ("51F4461A", 0.6)
    assert plate.verification is not None
    assert (plate.verification.score, plate.verification.accepted) == (-2.5, True)


def test_a_valid_free_read_stands_even_when_verification_names_another_plate() -> None:
    ident = apply(
        Identification(_plate("51F44615", valid=True, confidence=0.95)), [_verdict("51F44614", -6.0)], []
    )
    assert ident.plate is not None
    assert (ident.plate.text, ident.plate.path) == ("51F44615", ReadPath.FREE)
    assert ident.plate.verification is not None
    assert ident.plate.verification.best == "51F44614"


def test_a_valid_free_read_is_overruled_only_by_a_match_within_the_overrule_margin() -> None:
    sure_misread = Identification(_plate("6TTX874", valid=True, confidence=0.93))
    close = apply(sure_misread, [_verdict("6TIX874", -2.2)], [], Margins(overrule=4.0))
    assert close.plate is not None
    assert (close.plate.text, close.plate.path) == ("6TIX874", ReadPath.VERIFIED)
    far = apply(sure_misread, [_verdict("6TIX874", -4.5)], [], Margins(overrule=4.0))
    assert far.plate is not None
    assert (far.plate.text, far.plate.path) == ("6TTX874", ReadPath.FREE)


def test_a_plate_not_verified_keeps_its_free_read_with_the_scores() -> None:
    ident = apply(Identification(_plate("51F4461A", valid=False)), [_verdict(None, -12.0, "51F44614")], [])
    assert ident.plate is not None
    assert (ident.plate.text, ident.plate.valid, ident.plate.path) == ("51F4461A", False, ReadPath.FREE)
    assert ident.plate.verification is not None
    assert not ident.plate.verification.accepted


def test_a_verified_container_replaces_its_unsure_read_and_a_sure_read_of_another_stands() -> None:
    unsure = Read(ReadKind.CONTAINER, "MSKU3866O36", 0.5, False)
    sure = Read(ReadKind.CONTAINER, "TGHU1234565", 0.95, True)
    ident = apply(
        Identification(None, (unsure, sure)),
        [],
        [_verdict("MSKU3866036", -3.0), _verdict("TGHU1234560", -6.0)],  # the second one: a sure read differs
    )
    got = {(r.text, r.valid, r.path) for r in ident.containers}
    assert got == {("MSKU3866036", True, ReadPath.VERIFIED), ("TGHU1234565", True, ReadPath.FREE)}


def test_line_scores_of_nothing_support_nothing() -> None:
    assert relative([]).size == 0
    assert relative([LineScores(np.full(2, -np.inf), -3.0)]).tolist() == [-np.inf, -np.inf]


def test_o_and_0_one_glyph_on_the_lanes_plates_score_as_one_and_two_such_texts_are_rivals() -> None:
    steps = _steps("-A-B-1-O-C-")
    apart = relative([ctc_line(steps, ["AB1OC", "AB10C"])])
    assert apart[1] < -8  # read as O, the 0 is far less likely to PP-OCR
    one = relative([ctc_line(steps, ["AB1OC", "AB10C"], one_glyph="O0")])
    assert one[0] == pytest.approx(one[1])
    assert one[0] == pytest.approx(0.0, abs=1e-6)
    assert match(["AB1OC", "AB10C"], one).text is None  # both declared: neither is told


def _at(kind: ReadKind, box: tuple[int, int, int, int]) -> Candidate:
    return Candidate(kind, "X", (0.5,), False, box)


def test_a_plate_row_inside_its_frames_box_is_a_region_of_its_own_and_a_container_box_is_not() -> None:
    # openalpr eu test_001: the frame's box (the dealer's name over the plate) read `26`, its lower row
    # PP587A0; about the same box twice counts once.
    frame, row, again = (183, 148, 112, 89), (183, 205, 112, 32), (185, 150, 110, 87)
    plates = [_at(ReadKind.PLATE, b) for b in (frame, again, row)]
    assert regions(plates) == [frame, row]
    # a truck's two containers must both find a place: a box inside another counts once
    containers = [_at(ReadKind.CONTAINER, b) for b in (frame, again, row)]
    assert regions(containers) == [frame]


def test_boxes_inside_one_another_never_raise_the_regions_read_past_the_limit() -> None:
    nested = [_at(ReadKind.PLATE, (100 - 10 * i, 100 - 5 * i, 40 + 20 * i, 10 + 10 * i)) for i in range(8)]
    assert len(regions(nested)) == MAX_REGIONS
