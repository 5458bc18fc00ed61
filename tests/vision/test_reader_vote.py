"""Two plate readers' reads of one place, voted (vision/reader_vote.py): table tests on made-up reads."""

from __future__ import annotations

import numpy as np
import pytest

from vision.candidates import Candidate, Judge
from vision.identity import ReadKind
from vision.plate_reader import ALPHABET, SlotRead
from vision.plates import GENERIC, VIETNAM
from vision.reader_vote import combine, vote

BOX = (10, 20, 120, 30)
GENERIC_JUDGE = Judge(GENERIC)
VIETNAM_JUDGE = Judge(VIETNAM)


def ppocr(
    text: str,
    p: float | list[float],
    judge: Judge = GENERIC_JUDGE,
    runners: dict[int, tuple[str, float]] | None = None,
) -> Candidate:
    """A PP-OCR candidate as the judge makes it: `p` per character (or each's), runner-ups where given."""
    probs = tuple(p if isinstance(p, list) else [p] * len(text))
    runner = [(runners or {}).get(i, ("Q", 0.001)) for i in range(len(text))]
    match = judge.grammar.check(text)
    valid = match.valid and min(probs) >= judge.surest
    return Candidate(ReadKind.PLATE, text, probs, valid, BOX, tuple(runner), 0, match.valid)


def slots(text: str, p: float | list[float], others: dict[int, dict[str, float]] | None = None) -> SlotRead:
    """A slot read of `text`: `p` on each character, `others` spread at given slots, pads after."""
    probs = np.zeros((9, len(ALPHABET)), dtype=np.float32)
    ps = p if isinstance(p, list) else [p] * len(text)
    for i in range(9):
        ch = text[i] if i < len(text) else "_"
        probs[i, ALPHABET.index(ch)] = ps[i] if i < len(text) else 0.999
        for other, q in (others or {}).get(i, {}).items():
            probs[i, ALPHABET.index(other)] = q
        rest = probs[i] == 0
        probs[i, rest] = (1.0 - probs[i].sum()) / rest.sum()  # the rest spread: each row sums to 1
    conf = tuple(float(probs[i, ALPHABET.index(ch)]) for i, ch in enumerate(text))
    return SlotRead(text, conf, probs)


def test_agreement_raises_confidence_and_needs_no_confirming_crop() -> None:
    # Alone, neither read is sure enough for a generic plate (0.92 a character); together they are.
    pp = ppocr("AB12CD", 0.85)
    assert not pp.valid
    (best,) = vote([pp], slots("AB12CD", 0.85), GENERIC_JUDGE, BOX)
    assert (best.text, best.valid, best.agreed) == ("AB12CD", True, True)
    assert best.confidence > 0.95


def test_agreement_on_a_look_alike_both_readers_hesitate_over_is_not_raised() -> None:
    # openalpr br OEL1145: both readers read the O of a Brazilian plate as a D, both with O second.
    pp = ppocr("DEL1145", [0.70] + [0.99] * 6, runners={0: ("O", 0.26)})
    read = slots("DEL1145", [0.77] + [0.99] * 6, others={0: {"O": 0.12, "0": 0.11}})
    (best,) = vote([pp], read, GENERIC_JUDGE, BOX)
    assert best.agreed
    assert best.probs[0] == pytest.approx(0.77, abs=0.01)  # the surer reader's own, not raised
    assert not best.valid


def test_two_sure_readers_that_disagree_make_no_valid_read() -> None:
    pp = ppocr("AB12CD", 0.97)
    assert pp.valid
    found = vote([pp], slots("AB12CB", 0.97), GENERIC_JUDGE, BOX)
    assert not any(c.valid for c in found)
    assert not any(c.agreed for c in found)
    assert {c.text for c in found} <= {"AB12CD", "AB12CB"}
    assert max(c.confidence for c in found) < 0.6  # halved: the disagreement lowers it


def test_a_sure_reader_carries_one_position_the_other_was_unsure_of() -> None:
    # The plate reader guesses the first digit of many Vietnamese plates (71 for 51, 0.45).
    pp = ppocr("51F88270", 0.99, VIETNAM_JUDGE)
    read = slots("71F88270", [0.45] + [0.99] * 7, others={0: {"5": 0.35}})
    (best,) = vote([pp], read, VIETNAM_JUDGE, BOX)
    assert (best.text, best.valid, best.agreed) == ("51F88270", True, False)  # valid, still to confirm


def test_the_grammar_picks_the_reading_that_fits() -> None:
    # Alone, PP-OCR's S and the plate reader's 5 are about as likely; ABCDEFS has no digit: not a plate.
    pp = ppocr("ABCDEFS", [0.99] * 6 + [0.6], runners={6: ("5", 0.35)})
    read = slots("ABCDEF5", [0.99] * 6 + [0.45], others={6: {"S": 0.4}})
    found = vote([pp], read, GENERIC_JUDGE, BOX)
    assert found[0].text == "ABCDEF5"
    assert found[0].grammatical
    assert not found[0].valid  # a disagreement neither reader was sure of


def test_reads_of_other_lengths_disagree_unless_the_plate_reader_is_unsure() -> None:
    pp = ppocr("U41257", 0.97)
    assert pp.valid
    sure = vote([pp], slots("AU41257", 0.99), GENERIC_JUDGE, BOX)
    assert sure[0].text == "AU41257"  # grammatical both, the surer
    assert not any(c.valid for c in sure)
    # A word beside the plate, read by the plate reader as garbage it is unsure of: no say.
    assert vote([pp], slots("1R6A95X", 0.3), GENERIC_JUDGE, BOX) == [pp]


def test_the_plate_reader_alone_stands_and_places_it_did_not_read_keep_their_reads() -> None:
    read = slots("AB12CD", 0.99)
    (alone,) = vote([], read, GENERIC_JUDGE, BOX)
    assert (alone.text, alone.valid, alone.agreed) == ("AB12CD", True, False)
    elsewhere = Candidate(ReadKind.PLATE, "XY34ZW", (0.99,) * 6, True, (400, 20, 120, 30))
    found = combine([ppocr("AB12CD", 0.9), elsewhere], {BOX: read}, GENERIC_JUDGE)
    assert elsewhere in found
    assert any(c.agreed and c.text == "AB12CD" for c in found)


def test_a_plate_reader_that_read_nothing_leaves_ppocr_reads_as_they_are() -> None:
    pp = ppocr("AB12CD", 0.97)
    assert vote([pp], slots("", 0.99), GENERIC_JUDGE, BOX) == [pp]


def test_a_character_the_grammar_forbids_at_its_position_is_no_opinion() -> None:
    # vito ndata115: the plate reader is sure of a C where the serial's last digit must be.
    pp = ppocr("30A28610", 0.99, VIETNAM_JUDGE)
    read = slots("30A2861C", [0.99] * 7 + [0.999])
    found = vote([pp], read, VIETNAM_JUDGE, BOX)
    assert (found[0].text, found[0].valid, found[0].agreed) == ("30A28610", True, False)
    # Where the class allows both readings, the same sure disagreement is one: not valid.
    assert not vote([pp], slots("30A28619", [0.99] * 7 + [0.999]), VIETNAM_JUDGE, BOX)[0].valid
