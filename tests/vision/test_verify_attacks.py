"""The security review's attacks on verification (a read matched to the expected texts of cleared
declarations), each through the real scorer, matcher, `apply` and decision: a truck that is not cleared
never passes as one that is."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np

from edge.decision import DecisionConfig, Outcome, Reason, decide, expected
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from tests.vision.ctc_frames import Frame, read_as, steps
from vision import iso6346
from vision.candidates import Candidate
from vision.fuse import Observation
from vision.identifier import fuse_reads
from vision.identity import Identification, Read, ReadKind, ReadPath
from vision.plates import Grammar, grammar
from vision.read import LineRead, TextReader
from vision.verifier import RegionRead, Verifier, apply, one_object, verdicts
from vision.verify import CTC_ALPHABET, DEFAULT_MARGINS, Verdict, ctc_log_likelihood

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VIETNAM = grammar("vietnam")
LANE = grammar(("vietnam", "china", "cambodia"))


def _declaration(number: str, plates: tuple[str, ...], **changes: Any) -> Declaration:
    fields: dict[str, Any] = {
        "number": number,
        "status": DeclarationStatus.CLEARED,
        "channel": Channel.GREEN,
        "plates": plates,
        "valid_from": NOW - timedelta(hours=1),
        "valid_until": NOW + timedelta(hours=1),
    }
    return Declaration(**(fields | changes))


def _verdicts(frames: list[Frame], texts: list[str], lane: Grammar = VIETNAM) -> list[Verdict]:
    """One frame's verdict on a plate region the reader saw as `frames`, as the lane's verifier gives it."""
    verifier = Verifier(cast(TextReader, None), grammar=lane)
    region = RegionRead(ReadKind.PLATE, (LineRead("", (), (), (), steps(frames)),), None)
    return verdicts(texts, verifier.score([region], texts), ReadKind.PLATE, verifier.margins)


def _identify(
    free: Read, frames: list[Frame], declarations: list[Declaration], lane: Grammar
) -> Identification:
    texts = sorted(expected(declarations, NOW, lane).plates)
    return apply(Identification(free), _verdicts(frames, texts, lane), [], DEFAULT_MARGINS, lane)


def _decide(ident: Identification, declarations: list[Declaration], watchlist: set[str] | None = None) -> Any:
    return decide(ident, None, declarations, {}, watchlist or set(), NOW, DecisionConfig())


# -- F1: the grammar ---------------------------------------------------------------------------------------


def test_a_lao_plate_declared_as_its_digits_is_not_expected_and_never_verified_valid() -> None:
    cleared = [_declaration("LAO1", ("1234",))]  # ກຂ 1234 as the gate stores it: its digits
    assert expected(cleared, NOW, LANE).plates == frozenset()  # no plate of the lane's grammars
    # A truck ນວ 1234, not cleared: its digits read surely, the province in a script no reader knows.
    free = Read(ReadKind.PLATE, "1234", 0.97, False, grammar="")
    # Even with the digits in the list (an older list, another caller), the lane's grammar judges them.
    [verdict] = _verdicts(read_as("1234"), ["1234"], LANE)
    assert verdict.text == "1234"
    ident = apply(Identification(free), [verdict], [], DEFAULT_MARGINS, LANE)
    assert ident.plate is not None
    assert (ident.plate.path, ident.plate.valid, ident.plate.grammar) == (ReadPath.VERIFIED, False, "")
    decision = _decide(ident, cleared)
    assert decision.outcome is Outcome.HOLD
    assert Reason.LOW_CONFIDENCE in decision.reasons


def test_a_verified_plate_with_no_form_of_the_lanes_grammars_holds_whatever_it_says_valid() -> None:
    forged = Read(ReadKind.PLATE, "1234", 1.0, True, path=ReadPath.VERIFIED, grammar="")
    decision = _decide(Identification(forged), [_declaration("LAO1", ("1234",))])
    assert decision.outcome is Outcome.HOLD
    assert Reason.LOW_CONFIDENCE in decision.reasons


# -- F2: the watchlist, the confidence, the reader's own support --------------------------------------------


def test_a_watchlisted_truck_read_validly_but_unsure_is_held_though_verified_to_an_expected_plate() -> None:
    # 51G21670 is watchlisted; PP-OCR gives its G 0.55 and C 0.40; 51C21670 is cleared.
    frames = read_as("51G21670", {2: {"G": 0.55, "C": 0.40}})
    free = Read(ReadKind.PLATE, "51G21670", 0.55, True, grammar="vietnam")
    cleared = [_declaration("D1", ("51C21670",))]
    decision = _decide(_identify(free, frames, cleared, VIETNAM), cleared, {"51G21670"})
    assert decision.outcome is Outcome.HOLD
    assert Reason.WATCHLISTED in decision.reasons


def test_the_watchlist_is_checked_against_every_alternative_of_a_read() -> None:
    plate = Read(ReadKind.PLATE, "51C21670", 0.99, True, alternatives=(("51G21670", 0.4),), grammar="vietnam")
    decision = _decide(Identification(plate), [_declaration("D1", ("51C21670",))], {"51G21670"})
    assert Reason.WATCHLISTED in decision.reasons


def test_a_smudged_character_is_not_filled_in_by_the_expected_list_alone() -> None:
    # Truck 51C21370, not cleared; its 3 smudged: M 0.6, 3 0.39, 6 0.003. Only 51C21670 is cleared, alone
    # or among 2,000 unrelated plates: no rival, so only the reader's own support can refuse it.
    frames = read_as("51C21M70", {5: {"M": 0.6, "3": 0.39, "6": 0.003}})
    free = Read(ReadKind.PLATE, "51C21M70", 0.6, False, grammar="")
    others = [_declaration(f"X{i}", (f"29H{10000 + i}",)) for i in range(2000)]
    for cleared in ([_declaration("D1", ("51C21670",))], [_declaration("D1", ("51C21670",)), *others]):
        texts = sorted(expected(cleared, NOW, VIETNAM).plates)
        [verdict] = _verdicts(frames, texts)
        assert verdict.best == "51C21670"
        assert verdict.text is None  # -5.3 nats: 0.52 per character
        assert verdict.confidence < DEFAULT_MARGINS.support
        ident = apply(Identification(free), [verdict], [], DEFAULT_MARGINS, VIETNAM)
        assert _decide(ident, cleared).outcome is Outcome.HOLD


def test_a_valid_free_read_is_overruled_only_where_it_differs_from_the_match_in_one_place() -> None:
    for free, overruled in (("51G21670", True), ("51G21610", False), ("51C2167", False)):
        sure = Read(ReadKind.PLATE, free, 0.9, True, grammar="vietnam")
        close = Verdict("51C21670", "51C21670", -0.3, None, None, 0.96, 1)
        plate = apply(Identification(sure), [close], [], DEFAULT_MARGINS, VIETNAM).plate
        assert plate is not None
        assert (plate.path is ReadPath.VERIFIED) is overruled, free


def test_a_verified_plate_carries_the_readers_support_not_a_share_of_the_expected_texts() -> None:
    [verdict] = _verdicts(read_as("51C2167A", {7: {"A": 0.55, "0": 0.44}}), ["51C21670"])
    assert verdict.text == "51C21670"
    assert verdict.confidence < 1.0  # one expected text: the old softmax said 1.0 whatever the score
    assert verdict.confidence == np.exp(verdict.score / 8)


# -- F3: containers ------------------------------------------------------------------------------------------


def _container(owner: str, serial: int) -> str:
    return iso6346.complete(f"{owner}{serial:06d}")


Y1, Y2, X = _container("MSKU", 123456), _container("TGHU", 765432), _container("CAIU", 908172)


def _containers_declared() -> list[Declaration]:
    lines = (ContainerLine(number=Y1), ContainerLine(number=Y2))
    return [_declaration("D", ("51C21670",), containers=lines)]


PLATE = Read(ReadKind.PLATE, "51C21670", 0.99, True, grammar="vietnam")


def test_a_verified_container_never_pushes_a_valid_read_of_an_undeclared_one_off_the_list() -> None:
    free = Identification(
        PLATE, (Read(ReadKind.CONTAINER, Y1, 0.95, True), Read(ReadKind.CONTAINER, X, 0.85, True))
    )
    verified = apply(free, [], [Verdict(Y2, Y2, -0.5, None, None, 0.94, 2)])
    assert {r.text for r in verified.containers} == {Y1, Y2, X}
    decision = _decide(verified, _containers_declared())
    assert decision.outcome is Outcome.HOLD
    assert Reason.CONTAINER_MISMATCH in decision.reasons


def test_a_third_valid_container_read_is_kept_for_the_decision() -> None:
    three = (Y1, Y2, X)
    free = Identification(
        PLATE, tuple(Read(ReadKind.CONTAINER, c, 0.97 - i / 100, True) for i, c in enumerate(three))
    )
    assert {r.text for r in apply(free, [], []).containers} == set(three)
    observations = [
        Observation(Candidate(ReadKind.CONTAINER, c, (0.97,) * 11, True, (100 * i, 10, 90, 20)), None, "side")
        for i, c in enumerate(three)
        for _ in range(2)
    ]
    fused = fuse_reads(observations, VIETNAM)
    assert {r.text for r in fused.containers if r.valid} == set(three)
    assert _decide(fused, _containers_declared()).outcome is Outcome.HOLD


# -- F4: one glimpse ---------------------------------------------------------------------------------


def test_one_accepting_frame_among_rejecting_ones_does_not_verify_the_window() -> None:
    rejecting = [Verdict(None, "51C21670", -20.0, None, None, 0.08, 1)] * 9
    accepting = [Verdict("51C21670", "51C21670", -1.0, None, None, 0.88, 1)]
    assert one_object(rejecting + accepting) is not None
    assert one_object(rejecting + accepting).text is None  # type: ignore[union-attr]
    assert one_object(accepting * 2 + rejecting[:1]).text == "51C21670"  # type: ignore[union-attr]
    assert one_object(accepting, min_frames=2).text is None  # type: ignore[union-attr]


# -- F5: cost ----------------------------------------------------------------------------------------


def test_a_text_longer_than_the_frames_can_hold_costs_nothing() -> None:
    log_probs = np.log(np.full((40, 1 + len(CTC_ALPHABET)), 1 / (1 + len(CTC_ALPHABET))))
    tracemalloc.start()
    try:
        scores = ctc_log_likelihood(log_probs, ["9" * 100_000, "51C21670", "1" * 30])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scores[0] == -np.inf  # no alignment: not scored at all
    assert scores[2] == -np.inf  # 30 ones need 59 frames
    assert np.isfinite(scores[1])
    assert peak < 1_000_000  # the forward pass over 100,000 characters took 2.9 GB
