"""Each reason states the true cause of a read the fusion did not accept, in both languages: a container
number with a right check digit seen in too few frames is neither "an invalid check digit" nor "declared
but not read"; a plate of the lane's form read with low confidence is not "not a valid plate number"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.decision import Decision, DecisionConfig, Reason, decide
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from vision.candidates import Candidate
from vision.fuse import Observation
from vision.identifier import fuse_reads
from vision.identity import Identification, Read, ReadKind
from vision.plates import grammar

NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
PLATE = "51C12345"
DECLARED = "OOLU4971280"  # a right check digit: the number of the report
WRONG = "OOLU4971287"  # the same with check digit 7; its first ten give 0


def _declaration() -> Declaration:
    return Declaration(
        number="D1",
        status=DeclarationStatus.CLEARED,
        channel=Channel.GREEN,
        plates=(PLATE,),
        containers=(ContainerLine(number=DECLARED),),
        gross_kg=None,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
    )


def _decide(plate: Read | None, *containers: Read) -> Decision:
    return decide(
        Identification(plate, containers),
        None,
        [_declaration()],
        {},
        frozenset(),
        NOW,
        DecisionConfig(),
    )


def _plate(confidence: float = 0.95, valid: bool = True, text: str = PLATE) -> Read:
    return Read(ReadKind.PLATE, text, confidence, valid, grammar="vietnam")


def _said(decision: Decision, reason: Reason) -> tuple[str, str]:
    index = decision.reasons.index(reason)
    return decision.details[index], decision.details_vi[index]


def test_a_right_container_number_seen_in_too_few_frames_is_said_to_be_unconfirmed() -> None:
    # The fusion marks a container number read valid in one frame of the two required as not valid.
    decision = _decide(_plate(), Read(ReadKind.CONTAINER, DECLARED, 0.93, valid=False))
    en, vi = _said(decision, Reason.CONTAINER_MISMATCH)
    assert en == (
        f"Containers differ from declaration D1: read in fewer frames than required to confirm: {DECLARED}"
    )
    assert vi == (
        f"Container không khớp với tờ khai D1: đọc được ở ít khung hình hơn số cần để xác nhận: {DECLARED}"
    )
    doubt_en, doubt_vi = _said(decision, Reason.LOW_CONFIDENCE)
    assert f"container {DECLARED!r} was read in fewer frames than required to confirm it" in doubt_en
    assert f"số container {DECLARED!r} được đọc ở ít khung hình hơn số cần để xác nhận" in doubt_vi
    for text in (en, vi, doubt_en, doubt_vi):
        assert "check digit" not in text
        assert "chữ số kiểm tra" not in text
        assert "not read" not in text
        assert "không đọc được" not in text


def test_a_right_container_number_read_with_low_confidence_is_said_to_be_so() -> None:
    decision = _decide(_plate(), Read(ReadKind.CONTAINER, DECLARED, 0.55, valid=False))
    en, vi = _said(decision, Reason.CONTAINER_MISMATCH)
    assert en.endswith(f"read with low confidence: {DECLARED}")
    assert vi.endswith(f"đọc được nhưng độ tin cậy thấp: {DECLARED}")
    doubt_en, doubt_vi = _said(decision, Reason.LOW_CONFIDENCE)
    assert doubt_en == f"Uncertain reads: container {DECLARED!r} read at confidence 0.55, below 0.80"
    assert doubt_vi == (
        f"Kết quả đọc không chắc chắn: số container {DECLARED!r} đọc với độ tin cậy 0,55, dưới ngưỡng 0,80"
    )


def test_a_wrong_check_digit_names_the_digit_and_the_one_expected() -> None:
    decision = _decide(_plate(), Read(ReadKind.CONTAINER, WRONG, 0.93, valid=False))
    en, vi = _said(decision, Reason.CONTAINER_MISMATCH)
    assert en == (
        f"Containers differ from declaration D1: declared but not read: {DECLARED}; "
        f"read with an invalid check digit: {WRONG}"
    )
    assert vi == (
        f"Container không khớp với tờ khai D1: khai báo nhưng không đọc được: {DECLARED}; "
        f"đọc được nhưng sai chữ số kiểm tra: {WRONG}"
    )
    doubt_en, doubt_vi = _said(decision, Reason.LOW_CONFIDENCE)
    assert f"container {WRONG!r} has check digit 7, its number gives 0" in doubt_en
    assert f"số container {WRONG!r} có chữ số kiểm tra 7, đúng ra phải là 0" in doubt_vi


def test_a_number_is_never_both_declared_but_not_read_and_read() -> None:
    reads = (
        Read(ReadKind.CONTAINER, DECLARED, 0.93, valid=False),
        Read(ReadKind.CONTAINER, "MSKU3866036", 0.6, valid=False),
        Read(ReadKind.CONTAINER, WRONG, 0.9, valid=False),
    )
    decision = _decide(_plate(), *reads)
    en, _ = _said(decision, Reason.CONTAINER_MISMATCH)
    parts = dict(part.split(": ", 1) for part in en.split(": ", 1)[1].split("; "))
    named = [number for numbers in parts.values() for number in numbers.split(", ")]
    assert len(named) == len(set(named))  # each number in one list only
    assert parts == {
        "read in fewer frames than required to confirm": DECLARED,
        "read with low confidence": "MSKU3866036",
        "read with an invalid check digit": WRONG,
    }


def test_a_plate_of_the_lanes_form_read_with_low_confidence_is_not_called_invalid() -> None:
    decision = _decide(_plate(confidence=0.62, valid=False), Read(ReadKind.CONTAINER, DECLARED, 0.95, True))
    assert decision.reasons == (Reason.LOW_CONFIDENCE,)
    assert decision.details == (f"Uncertain reads: plate {PLATE!r} read at confidence 0.62, below 0.80",)
    assert decision.details_vi == (
        f"Kết quả đọc không chắc chắn: biển số {PLATE!r} đọc với độ tin cậy 0,62, dưới ngưỡng 0,80",
    )


def test_a_plate_of_the_lanes_form_not_confirmed_at_good_confidence_says_why() -> None:
    decision = _decide(_plate(confidence=0.95, valid=False), Read(ReadKind.CONTAINER, DECLARED, 0.95, True))
    (en,), (vi,) = decision.details, decision.details_vi
    assert f"plate {PLATE!r} has the form of a vietnam plate but was not confirmed as one" in en
    assert f"biển số {PLATE!r} có dạng biển số vietnam nhưng chưa được xác nhận" in vi
    assert "not a valid plate number" not in en


def test_a_plate_judged_by_no_grammar_and_not_valid_is_still_called_invalid() -> None:
    read = Read(ReadKind.PLATE, "XX", 1.0, False, source="officer:a")
    decision = _decide(read, Read(ReadKind.CONTAINER, DECLARED, 0.95, True))
    assert (
        "plate 'XX' is not a valid plate number"
        in decision.details[decision.reasons.index(Reason.LOW_CONFIDENCE)]
    )


@pytest.mark.parametrize("frames", [1, 2])
def test_fused_reads_of_a_right_number_in_too_few_frames_are_said_to_be_unconfirmed(frames: int) -> None:
    """From the fusion itself: one frame of the two required is unconfirmed, two are a match."""

    def seen(kind: ReadKind, text: str) -> Observation:
        probs = (0.97,) * len(text)
        form = "vietnam" if kind is ReadKind.PLATE else ""
        candidate = Candidate(kind, text, probs, valid=True, box=(0, 0, 10, 10), grammar=form)
        return Observation(candidate, None, "cam")

    observations = [seen(ReadKind.PLATE, PLATE), *(seen(ReadKind.CONTAINER, DECLARED) for _ in range(frames))]
    ident = fuse_reads(observations, grammar("vietnam"), min_container_frames=2)
    decision = _decide(ident.plate, *ident.containers)
    if frames == 2:
        assert decision.reasons == ()
        return
    en, vi = _said(decision, Reason.CONTAINER_MISMATCH)
    assert en.endswith(f"read in fewer frames than required to confirm: {DECLARED}")
    assert "không đọc được" not in vi
