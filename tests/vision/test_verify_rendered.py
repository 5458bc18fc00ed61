"""Verification through the real models on rendered plates and container codes: the expected text is
matched, a text one character off is not, and the camera identifier applies it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision import iso6346
from vision.config import CameraConfig, CameraRole, VisionConfig
from vision.identifier import CameraIdentifier
from vision.identity import Expected, ReadKind, ReadPath
from vision.pipeline import Recognizer, build_recognizer
from vision.read import Image
from vision.render import Degradation, degrade, render_container_code, render_plate, render_scene
from vision.verifier import Verifier, resolve, verdicts
from vision.verify import Verdict

from .conftest import wait_until

PLATE = "51F44614"
NEAR_PLATES = ["51F44615", "51F44641", "51F4461", "51F446140"]  # one character off, swapped, short, long
OTHER_PLATES = ["30A12345", "29B67890", "15C11223"]
CONTAINER = "MSKU3866036"
NEAR_CONTAINER = iso6346.complete("MSKU386604")  # MSKU3866041: two characters off, its check digit holds


@pytest.fixture(scope="module")
def verifier(recognizer: Recognizer) -> Verifier:
    return Verifier.for_recognizer(recognizer)


def _whole(image: Image) -> list[tuple[int, int, int, int]]:
    h, w = image.shape[:2]
    return [(0, 0, w, h)]


@pytest.fixture(scope="module")
def blurred_plate(recognizer: Recognizer) -> Image:
    """A small, blurred plate: the two readers disagree, so the free read is not valid."""
    spoil = Degradation(noise=8.0, blur=1.8, light=0.8, jpeg=60)
    plate = degrade(render_plate(PLATE, height=24), spoil, np.random.default_rng(0))
    free = recognizer.read_crop(plate, ReadKind.PLATE)
    assert free is not None
    assert not free.valid  # the premise: the free path alone would hold this truck
    return plate


def _verdict(verifier: Verifier, image: Image, kind: ReadKind, texts: list[str]) -> Verdict:
    [verdict] = verdicts(texts, verifier.scores(image, _whole(image), kind, texts), kind, verifier.margins)
    return verdict


def test_the_expected_plate_is_verified_where_the_free_read_is_not_valid(
    verifier: Verifier, blurred_plate: Image
) -> None:
    verdict = _verdict(verifier, blurred_plate, ReadKind.PLATE, [PLATE, *NEAR_PLATES, *OTHER_PLATES])
    assert verdict.text == PLATE
    assert verdict.score > -verifier.margins.free
    assert resolve("51F4461A", False, verdict) == (PLATE, ReadPath.VERIFIED)


def test_with_its_own_plate_not_expected_a_plate_one_character_off_is_not_accepted(
    verifier: Verifier, blurred_plate: Image
) -> None:
    for near in NEAR_PLATES:
        verdict = _verdict(verifier, blurred_plate, ReadKind.PLATE, [near, *OTHER_PLATES])
        assert verdict.text is None, (near, verdict.score)
        assert verdict.score < -verifier.margins.free
    assert _verdict(verifier, blurred_plate, ReadKind.PLATE, NEAR_PLATES + OTHER_PLATES).text is None


def test_a_container_is_verified_against_the_declared_containers_and_a_near_number_is_refused(
    verifier: Verifier,
) -> None:
    spoil = Degradation(noise=8.0, blur=1.5, jpeg=60)
    code = degrade(render_container_code(CONTAINER, height=48), spoil, np.random.default_rng(0))
    declared = [CONTAINER, "TGHU1234567", "CSQU3054383"]
    assert _verdict(verifier, code, ReadKind.CONTAINER, [*declared, NEAR_CONTAINER]).text == CONTAINER
    refused = _verdict(verifier, code, ReadKind.CONTAINER, [NEAR_CONTAINER, *declared[1:]])
    assert refused.text is None
    assert refused.score < -verifier.margins.free


@pytest.fixture(scope="module")
def generic_recognizer() -> Recognizer:
    return build_recognizer(VisionConfig(threads=2, det_sizes=(640, 960), grammar="generic"))


@pytest.mark.parametrize(
    ("expected", "text", "valid", "path"),
    [
        pytest.param(("KZ4051", "KZ4058", "AB12CD"), "KZ4051", True, ReadPath.VERIFIED, id="expected"),
        pytest.param(("KZ4058", "AB12CD"), "KZ4051", False, ReadPath.FREE, id="not-expected"),
    ],
)
async def test_camera_identifier_matches_an_expected_plate_the_free_read_cannot_make_valid(
    tmp_path: Path,
    generic_recognizer: Recognizer,
    expected: tuple[str, ...],
    text: str,
    valid: bool,
    path: ReadPath,
) -> None:
    # A generic plate with a 0 is never valid read freely (O and 0 are one glyph on many plates); the gate
    # expecting it tells which it is.
    folder = tmp_path / "front"
    folder.mkdir()
    cv2.imwrite(
        str(folder / "0.jpg"), render_scene([(render_plate("KZ4051", "generic", height=36), (800, 800))])
    )
    config = VisionConfig(
        grammar="generic",
        cameras=(CameraConfig(id="front", role=CameraRole.PLATE_FRONT, source=str(folder)),),
    )
    identifier = CameraIdentifier(config, recognizer=generic_recognizer)
    identifier.expect(lambda: Expected(plates=frozenset(expected)))
    identifier.start()
    try:
        assert wait_until(lambda: identifier.stats()["front"].frames > 0, timeout=5.0)
        ident = await identifier.identify("tx1", 2.0)
    finally:
        identifier.stop()
    plate = ident.plate
    assert plate is not None
    assert (plate.text, plate.valid, plate.path, plate.source) == (text, valid, path, "front")
    assert plate.verification is not None
    assert plate.verification.accepted is valid
    assert plate.verification.expected == len(expected)
    assert plate.verification.score is not None
    assert plate.evidence_sha256 is not None
