"""Plates of the lane's grammars through the real reader, fusion and the decision: a Chinese plate
matches its declaration with the province character kept; a Lao plate, which no reader here knows, is
held with a reason the officer understands, never passed on a misread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from edge.decision import DecisionConfig, Outcome, Reason, decide
from edge.declaration import Channel, Declaration, DeclarationStatus
from vision.config import VisionConfig
from vision.fuse import Observation
from vision.identifier import fuse_reads
from vision.identity import Identification, Read, ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.render import degrade, random_degradation, render_lao_plate, render_plate, render_scene

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LANE = ("vietnam", "china", "cambodia")


@pytest.fixture(scope="module")
def lane() -> Recognizer:
    return build_recognizer(VisionConfig(threads=2, grammar=LANE))


def _identify(recognizer: Recognizer, plate: np.ndarray, frames: int = 2) -> Identification:
    """The plate pasted into `frames` camera frames, read and fused as the lane's identifier does."""
    rng = np.random.default_rng(5)
    observations = []
    for i in range(frames):
        shot = degrade(plate, random_degradation(rng, 0.5), rng)
        scene = render_scene([(shot, (700 + 9 * i, 560))], seed=i)
        observations += [
            Observation(c, scene, "plate-front") for c in recognizer.read_frame(scene, ReadKind.PLATE)[:3]
        ]
    return fuse_reads(observations, recognizer.judge.grammar)


def _declared(plate: str) -> Declaration:
    return Declaration(
        number="105000000777",
        status=DeclarationStatus.CLEARED,
        channel=Channel.GREEN,
        plates=(plate,),
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
    )


def _decide(identification: Identification, declared: str) -> tuple[Outcome, tuple[Reason, ...], str, str]:
    decision = decide(identification, None, [_declared(declared)], {}, frozenset(), NOW, DecisionConfig())
    return (
        decision.outcome,
        decision.reasons,
        " ".join(decision.details),
        " ".join(decision.details_vi or ()),
    )


def test_a_chinese_truck_passes_under_its_declaration_with_the_province_kept(lane: Recognizer) -> None:
    ident = _identify(lane, render_plate("桂A12345", "china", height=44))
    assert ident.plate is not None
    assert (ident.plate.text, ident.plate.valid, ident.plate.grammar) == ("桂A12345", True, "china")
    # the clerk typed it with the plate's dot and full-width digits
    outcome, reasons, _, _ = _decide(ident, "桂A·１２３４５")
    assert (outcome, reasons) == (Outcome.PASS, ())


def test_a_lao_plate_is_held_saying_its_script_cannot_be_read(lane: Recognizer) -> None:
    ident = _identify(lane, render_lao_plate("ກຂ 1234", height=44))
    assert ident.plate is not None  # something was read: Lao letters as look-alike Latin ones
    assert not ident.plate.valid
    assert ident.plate.grammar == ""
    outcome, reasons, en, vi = _decide(ident, "1234")
    assert outcome is Outcome.HOLD
    assert Reason.LOW_CONFIDENCE in reasons
    assert "check the plate by eye (a plate in Lao or any script other than Latin and Chinese" in en
    assert "chữ Lào" in vi


@pytest.mark.parametrize(
    ("read", "says"),
    [
        (Read(ReadKind.PLATE, "NU1234", 0.6, False, grammar=""), "cannot be read by the cameras"),
        (Read(ReadKind.PLATE, "51C12345", 0.6, False, grammar="vietnam"), "at confidence 0.60, below 0.80"),
        (Read(ReadKind.PLATE, "", 0.0, False, source="officer"), "is not a valid plate number"),
    ],
)
def test_only_a_read_in_none_of_the_lanes_forms_gets_the_script_reason(read: Read, says: str) -> None:
    _, reasons, en, _ = _decide(Identification(read), "51C12345")
    assert Reason.LOW_CONFIDENCE in reasons
    assert says in en
