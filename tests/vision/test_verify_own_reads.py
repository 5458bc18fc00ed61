"""The free reading's own reads as verification evidence (`verify.own_reads`, `verifier.vouching`): a
text both plate readers read as is (or a container number read as is) may be verified on the reader's
own confidence in it, where the verifier's own cut of the region reads worse; and the attacks on that
path: it never vouches for a look-alike, a disputed or corrected character, or a weak one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import numpy as np

from edge.decision import DecisionConfig, Outcome, decide, expected
from edge.declaration import Channel, Declaration, DeclarationStatus
from tests.vision.ctc_frames import Frame, read_as, steps
from vision import iso6346
from vision.candidates import Candidate
from vision.identity import Identification, Read, ReadKind, ReadPath
from vision.plates import GENERIC, VIETNAM, Grammar
from vision.read import LineRead, TextReader
from vision.verifier import RegionRead, Verifier, apply, verdicts, vouching
from vision.verify import DEFAULT_MARGINS, Verdict, own_reads

BOX = (10, 10, 120, 30)


def _plate(text: str, probs: list[float], agreed: bool = True, corrections: int = 0) -> Candidate:
    return Candidate(ReadKind.PLATE, text, tuple(probs), False, BOX, corrections=corrections, agreed=agreed)


def _verdict(
    frames: list[Frame],
    found: list[Candidate],
    texts: list[str],
    lane: Grammar = VIETNAM,
    kind: ReadKind = ReadKind.PLATE,
) -> Verdict:
    """One frame's verdict on a region the verifier's cut read as `frames` and the free reading as
    `found`, as the lane's verifier gives it."""
    verifier = Verifier(cast(TextReader, None), grammar=lane)
    line = LineRead("", (), (), (), steps(frames))
    region = RegionRead(kind, (line,), None, vouching(found, BOX, kind))
    [verdict] = verdicts(texts, verifier.score([region], texts), kind, verifier.margins)
    return verdict


# A plate the verifier's cut reads badly (its 2 and 0 smudged into 7 and 8): 51F20314 well under 0.8 per
# character, refused on that evidence alone.
SMUDGED = read_as("51F20314", {3: {"7": 0.79, "2": 0.2}, 4: {"8": 0.79, "0": 0.2}})


def test_own_reads_score_the_text_read_and_nothing_a_character_away() -> None:
    read = ("51F20314", (0.9, 1.0, 1.0, 0.6, 1.0, 1.0, 1.0, 1.0))
    scores = own_reads([read], ["51F20314", "51F20374", "5"])
    assert scores[0] == np.log(0.9) + np.log(0.6)
    assert scores[1] == -np.inf
    assert scores[2] == -np.inf
    # O and 0 one glyph on the lane's plates: a read RK099AN vouches for a declared RKO99AN
    folded = own_reads([("RK099AN", (1.0,) * 7)], ["RKO99AN", "RK099AN"], one_glyph="O0")
    assert folded.tolist() == [0.0, 0.0]
    assert own_reads([("RK099AN", (1.0,) * 7)], ["RKO99AN"]).tolist() == [-np.inf]


def test_an_expected_plate_both_readers_read_is_verified_where_the_verifiers_own_cut_reads_worse() -> None:
    texts = ["51F20314", "30A12345"]
    alone = _verdict(SMUDGED, [], texts)
    assert alone.best == "51F20314"
    assert alone.text is None
    read = [0.99, 1.0, 1.0, 0.7, 0.95, 1.0, 1.0, 1.0]
    verdict = _verdict(SMUDGED, [_plate("51F20314", read)], texts)
    assert verdict.text == "51F20314"
    assert np.isclose(verdict.confidence, np.exp(np.log(read).sum() / 8))  # the read's own confidence
    free = Read(ReadKind.PLATE, "51F20314", 0.7, False, grammar="vietnam")
    plate = apply(Identification(free), [verdict], [], DEFAULT_MARGINS, VIETNAM).plate
    assert plate is not None
    assert plate.path is ReadPath.VERIFIED
    assert plate.valid


def test_a_container_number_read_as_is_vouches_for_itself_and_a_repaired_one_does_not() -> None:
    number = iso6346.complete("PCIU274312")
    frames = read_as(number, {2: {"A": 0.85, "I": 0.14}, 3: {"V": 0.85, "U": 0.14}})
    probs = (0.99, 0.79, 0.62, 0.84) + (1.0,) * 7
    as_read = Candidate(ReadKind.CONTAINER, number, probs, False, BOX)
    repaired = Candidate(ReadKind.CONTAINER, number, probs, False, BOX, corrections=1)
    assert _verdict(frames, [], [number], kind=ReadKind.CONTAINER).text is None  # the cut alone
    assert _verdict(frames, [repaired], [number], kind=ReadKind.CONTAINER).text is None
    assert _verdict(frames, [as_read], [number], kind=ReadKind.CONTAINER).text == number


# -- attacks ---------------------------------------------------------------------------------------------


def test_a_read_of_the_trucks_own_plate_never_vouches_for_a_declared_look_alike() -> None:
    # Truck 51F20374, not cleared, read surely by both readers; 51F20314 (one 7/1 away) is cleared.
    frames = read_as("51F20374", {6: {"7": 0.9, "1": 0.09}})
    verdict = _verdict(frames, [_plate("51F20374", [1.0] * 8)], ["51F20314"])
    assert verdict.text is None
    assert verdict.score == _verdict(frames, [], ["51F20314"]).score  # the read lent it nothing


def test_a_read_the_plate_readers_disputed_lends_no_support() -> None:
    # The vote took one reader's 2 over the other's 7 (halved): the list must not settle the dispute.
    disputed = _plate("51F20314", [1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0], agreed=False)
    assert vouching([disputed], BOX, ReadKind.PLATE) == ()
    assert _verdict(SMUDGED, [disputed], ["51F20314"]).text is None


def test_a_character_the_grammar_changed_lends_no_support() -> None:
    corrected = _plate("51F20314", [1.0] * 8, corrections=1)  # read 51F2O314, the O made a 0
    assert vouching([corrected], BOX, ReadKind.PLATE) == ()
    assert _verdict(SMUDGED, [corrected], ["51F20314"]).text is None


def test_a_read_elsewhere_in_the_frame_vouches_for_nothing_here() -> None:
    elsewhere = Candidate(ReadKind.PLATE, "51F20314", (1.0,) * 8, False, (400, 300, 120, 30), agreed=True)
    assert vouching([elsewhere], BOX, ReadKind.PLATE) == ()


def test_an_agreed_read_with_a_weak_character_is_still_held_to_the_support_rule() -> None:
    weak = _plate("51F20314", [1.0, 1.0, 1.0, 0.1, 1.0, 1.0, 1.0, 1.0])  # 0.1: 0.75 per character
    verdict = _verdict(SMUDGED, [weak], ["51F20314"])
    assert verdict.text is None
    assert verdict.confidence < DEFAULT_MARGINS.support


def test_two_declared_plates_a_look_alike_apart_stay_rivals_though_the_readers_read_one() -> None:
    # 51F20314 and 51F20374 both cleared; the cut reads the 1 as 1 0.6 / 7 0.39: no margin between them.
    frames = read_as("51F20314", {6: {"1": 0.6, "7": 0.39}})
    verdict = _verdict(frames, [_plate("51F20314", [1.0] * 8)], ["51F20314", "51F20374"])
    assert verdict.best == "51F20314"
    assert verdict.runner_up == "51F20374"
    assert verdict.text is None


def test_o_and_0_fold_only_on_a_lane_whose_plates_write_them_alike() -> None:
    frames = read_as("RK099AN", {2: {"0": 0.5, "Q": 0.49}, 3: {"9": 0.5, "8": 0.49}})
    read = [_plate("RK099AN", [1.0] * 7)]
    assert _verdict(frames, read, ["RKO99AN"], lane=GENERIC).text == "RKO99AN"
    assert _verdict(frames, read, ["RKO99AN"], lane=VIETNAM).text is None


def test_an_uncleared_truck_read_by_both_readers_is_held_though_a_look_alike_of_it_is_cleared() -> None:
    # Truck 51F20374, not cleared, both readers read it alike; 51F20314 (7/1) is cleared. Through the
    # lane's list, `apply` and the decision: held, and the cleared truck's own read passes.
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    cleared = [
        Declaration(
            number="D1",
            status=DeclarationStatus.CLEARED,
            channel=Channel.GREEN,
            plates=("51F20314",),
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(hours=1),
        )
    ]
    texts = sorted(expected(cleared, now, VIETNAM).plates)
    for truck, frames, cleared_truck in (
        ("51F20374", read_as("51F20374", {6: {"7": 0.9, "1": 0.09}}), False),
        ("51F20314", SMUDGED, True),
    ):
        read = [0.99, 1.0, 1.0, 0.7, 0.95, 1.0, 1.0, 1.0]
        verdict = _verdict(frames, [_plate(truck, read)], texts)
        free = Read(ReadKind.PLATE, truck, 0.7, False, grammar="vietnam")
        ident = apply(Identification(free), [verdict], [], DEFAULT_MARGINS, VIETNAM)
        decision = decide(ident, None, cleared, {}, set(), now, DecisionConfig())
        assert (decision.outcome is Outcome.PASS) is cleared_truck, truck
