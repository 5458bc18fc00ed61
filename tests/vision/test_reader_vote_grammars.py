"""The vote of one place by the readers of the grammar it is read in (reader_vote.place / combine), in a
lane with Vietnamese and Chinese plates: table tests on made-up reads, judged by the lane's grammar."""

from __future__ import annotations

import numpy as np

from vision import plates
from vision.candidates import Candidate, Judge
from vision.plate_reader import ALPHABET, SlotRead
from vision.read import LineRead
from vision.reader_choice import GrammarReaders, PlateReaderKind
from vision.reader_vote import combine, place, slot_line

PPOCR, CCT = PlateReaderKind.PPOCR, PlateReaderKind.CCT
BOX = (10, 20, 120, 30)
ELSEWHERE = (400, 20, 120, 30)
LANE = Judge(plates.grammar(("vietnam", "china")))
# The lane's default: Vietnamese plates by both readers, Chinese ones by PP-OCR (no province characters).
PER_GRAMMAR = GrammarReaders.of_lane({"vietnam": (PPOCR, CCT), "china": (PPOCR,)})


def read(text: str, p: float | list[float], box: tuple[int, int, int, int] = BOX) -> Candidate:
    """PP-OCR's read of `text` (each character `p` sure) as the lane's judge makes it a candidate."""
    probs = tuple(p if isinstance(p, list) else [p] * len(text))
    cand = LANE.plate(LineRead(text, probs, tuple(("Q", 0.001) for _ in text)), box)
    assert cand is not None
    return cand


def slots(text: str, p: float) -> SlotRead:
    """The plate reader's read of `text`, each character `p` sure, the rest of each slot spread."""
    probs = np.zeros((9, len(ALPHABET)), dtype=np.float32)
    for i in range(9):
        probs[i, ALPHABET.index(text[i] if i < len(text) else "_")] = p if i < len(text) else 0.999
        rest = probs[i] == 0
        probs[i, rest] = (1.0 - probs[i].sum()) / rest.sum()
    return SlotRead(text, tuple(float(p) for _ in text), probs)


def test_a_chinese_plate_stands_as_ppocr_read_it_whatever_the_plate_reader_says() -> None:
    chinese = read("皖AHG892", 0.97)
    assert (chinese.grammar, chinese.valid) == ("china", True)
    # The plate reader writes no province character: its sure `AHG892` is no disagreement here.
    assert place([chinese], slots("AHG892", 0.99), LANE, BOX, PER_GRAMMAR) == [chinese]
    # Named for every grammar (a tuple passed to the pipeline), it still has no say on what it cannot write.
    both = GrammarReaders.every((PPOCR, CCT))
    assert place([chinese], slots("AHG8920", 0.99), LANE, BOX, both) == [chinese]


def test_a_vietnamese_plate_in_the_same_lane_is_voted_by_both_readers() -> None:
    alone = read("51C12345", 0.85)
    assert (alone.grammar, alone.valid) == ("vietnam", True)
    (agreed,) = place([alone], slots("51C12345", 0.99), LANE, BOX, PER_GRAMMAR)
    assert (agreed.text, agreed.valid, agreed.agreed, agreed.grammar) == ("51C12345", True, True, "vietnam")
    assert agreed.confidence > alone.confidence
    # Two sure readers that disagree: not valid, as in a Vietnam-only lane.
    found = place([read("51C12345", 0.97)], slots("51C12845", 0.99), LANE, BOX, PER_GRAMMAR)
    assert not any(c.valid for c in found)


def test_a_merged_read_in_a_lane_of_grammars_uses_their_position_classes_and_says_its_grammar() -> None:
    # vito ndata115 with `vietnam, china`: the plate reader sure of a C where the serial's digit must be.
    # The lane's combined grammar has no templates of its own; its members' decide (the digit stands).
    pp = read("30A28610", [0.99] * 7 + [0.866])
    (merged, *_) = place([pp], slots("30A2861C", 0.999), LANE, BOX, PER_GRAMMAR)
    assert (merged.text, merged.valid, merged.grammar) == ("30A28610", True, "vietnam")
    # A merged text takes the form of the text chosen, not of the PP-OCR read it was built on.
    unread = read("29178725", [0.984, 0.667, 0.477, 1, 1, 1, 1, 1])
    assert unread.grammar == ""
    (merged, *_) = place([unread], slots("29A78725", 0.999), LANE, BOX, PER_GRAMMAR)
    assert (merged.text, merged.valid, merged.grammar) == ("29A78725", True, "vietnam")


def test_a_latin_read_set_aside_for_a_chinese_guess_is_voted_when_the_plate_reader_reads_a_plate() -> None:
    # vito ndata524: PP-OCR's `29178725` gave way to the constrained `新Z78725` (the province guessed, 0.0).
    guessed = Candidate(read("29178725", 0.9).kind, "新Z78725", (0.0, 0.98, 1, 1, 1, 1, 1), False, BOX)
    aside = read("29178725", [0.984, 0.667, 0.477, 1, 1, 1, 1, 1])
    found = place([guessed], slots("29A78725", 0.999), LANE, BOX, PER_GRAMMAR, [aside])
    assert [(c.text, c.valid) for c in found] == [("29A78725", True), ("新Z78725", False)]
    # Without a Latin read of PP-OCR's to vote with, the plate reader alone does not take the place.
    assert place([guessed], slots("29A78725", 0.999), LANE, BOX, PER_GRAMMAR) == [guessed]
    # A plate reader that reads no plate's form there (a Chinese plate's Latin part): PP-OCR's guess stays.
    assert place([guessed], slots("AHG892", 0.999), LANE, BOX, PER_GRAMMAR, [aside]) == [guessed]
    # A vote that makes no valid plate of them (a Lao plate's `N21234`, the plate reader's `7Z1234`, a
    # Cambodian form): the place stays PP-OCR's, of no grammar's form, held as unreadable.
    south = Judge(plates.grammar(("vietnam", "china", "cambodia")))
    lao = Candidate(guessed.kind, "浙N21234", (0.0, 0.6, 0.7, 1, 1, 1, 1), False, BOX)
    latin = south.plate(LineRead("N21234", (0.5, 0.6, 0.9, 0.9, 0.9, 0.9), (("Q", 0.001),) * 6), BOX)
    assert latin is not None
    cambodian = south.plate(slot_line(slots("7Z1234", 0.95)), BOX)
    assert cambodian is not None
    assert (cambodian.grammar, cambodian.valid) == ("cambodia", True)  # the plate reader alone: valid
    assert place([lao], slots("7Z1234", 0.95), south, BOX, PER_GRAMMAR, [latin]) == [lao]


def test_a_grammar_read_by_the_plate_reader_alone_makes_ppocrs_reads_of_it_not_valid() -> None:
    cct_for_vietnam = GrammarReaders.of_lane({"vietnam": (CCT,), "china": (PPOCR,)})
    elsewhere = read("51C12345", 0.99, ELSEWHERE)
    chinese = read("皖AHG892", 0.97, ELSEWHERE)
    assert elsewhere.valid
    assert chinese.valid
    found = combine(
        [elsewhere, chinese, read("29A78725", 0.9)], {BOX: slots("29A78725", 0.99)}, LANE, cct_for_vietnam
    )
    by_text = {c.text: c for c in found}
    assert not by_text["51C12345"].valid  # PP-OCR's own read of a Vietnamese plate
    assert by_text["皖AHG892"].valid  # China's are PP-OCR's
    assert by_text["29A78725"].valid  # the plate reader's, alone
    assert not by_text["29A78725"].agreed
