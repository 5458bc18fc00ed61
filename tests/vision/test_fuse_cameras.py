"""Fusion across frames, camera sources and their faults, and the CameraIdentifier end to end."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision.conftest import wait_until
from vision.cameras import Camera, CameraState, SourceError, decode_image, open_source
from vision.candidates import Candidate, contested
from vision.config import CameraConfig, CameraRole, VisionConfig
from vision.fuse import Observation, fuse, group
from vision.identifier import CameraIdentifier, fuse_reads
from vision.identity import ReadKind
from vision.pipeline import Recognizer
from vision.plates import VIETNAM
from vision.render import render_plate, render_scene


def _cand(text: str, probs: list[float], valid: bool = True) -> Candidate:
    return Candidate(ReadKind.PLATE, text, tuple(probs), valid, (10, 10, 50, 20))


def _validate(text: str) -> tuple[str, bool]:
    m = VIETNAM.check(text)
    return m.text, m.valid


def test_fusion_votes_per_character_weighted_by_confidence() -> None:
    frame = np.full((100, 100, 3), 200, np.uint8)
    obs = [
        Observation(_cand("51C12345", [0.9] * 8), frame, "cam1"),
        Observation(_cand("51C12345", [0.8] * 8), frame, "cam1"),
        Observation(_cand("51C12845", [0.9] * 5 + [0.4, 0.9, 0.9]), frame, "cam2"),
    ]
    fused = fuse(group(obs)[0], _validate)
    assert fused is not None
    assert fused.text == "51C12345"
    assert fused.valid
    assert "51C12845" in [t for t, _ in fused.alternatives]
    assert fused.confidence < 0.9  # the disputed position lowers it


def test_evidence_jpeg_has_the_reported_sha256() -> None:
    frame = np.full((100, 200, 3), 200, np.uint8)
    fused = fuse([Observation(_cand("51C12345", [0.95] * 8), frame, "cam1")], _validate)
    assert fused is not None
    assert fused.evidence_jpeg is not None
    assert cv2.imdecode(np.frombuffer(fused.evidence_jpeg, np.uint8), cv2.IMREAD_COLOR) is not None
    assert fused.evidence_sha256 == hashlib.sha256(fused.evidence_jpeg).hexdigest()


def test_different_objects_are_not_fused_together() -> None:
    obs = [
        Observation(_cand("51C12345", [0.9] * 8), None, "a"),
        Observation(_cand("29A99887", [0.9] * 8), None, "a"),
    ]
    assert len(group(obs)) == 2


def test_corrupt_truncated_and_empty_images_raise_source_error(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".jpg", render_plate("51C12345"))
    assert ok
    with pytest.raises(SourceError, match="empty file"):
        decode_image(b"", "x.jpg")
    with pytest.raises(SourceError, match="corrupt or truncated"):
        decode_image(b"\xff\xd8garbage", "x.jpg")
    with pytest.raises(SourceError):
        decode_image(buf.tobytes()[:40], "truncated.jpg")


def test_missing_video_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such"):
        open_source(str(tmp_path / "gone.mp4"))


def test_camera_keeps_newest_frame_and_faults_when_its_folder_vanishes(tmp_path: Path) -> None:
    folder = tmp_path / "cam"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.jpg"), render_plate(f"51C1234{i}"))
    camera = Camera(
        CameraConfig(id="c1", role=CameraRole.PLATE_FRONT, source=str(folder), fps_limit=50),
        backoff_s=(0.05, 0.2),
    )
    camera.start()
    try:
        wait_until(lambda: camera.stats().frames >= 5, timeout=5.0)
        stats = camera.stats()
        assert stats.state is CameraState.OK
        assert stats.dropped > 0  # nobody took the frames: older ones were replaced
        assert stats.last_frame_age_s is not None
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
        wait_until(lambda: camera.stats().state is CameraState.FAULT, timeout=5.0)
        assert camera.stats().state is CameraState.FAULT
        assert camera.stats().error
    finally:
        camera.stop()


def test_camera_with_corrupt_image_faults_without_crashing(tmp_path: Path) -> None:
    folder = tmp_path / "cam"
    folder.mkdir()
    (folder / "bad.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    camera = Camera(
        CameraConfig(id="c1", role=CameraRole.PLATE_FRONT, source=str(folder)), backoff_s=(0.05, 0.1)
    )
    camera.start()
    try:
        wait_until(lambda: camera.stats().state is CameraState.FAULT, timeout=5.0)
        assert "corrupt" in (camera.stats().error or "")
    finally:
        camera.stop()


async def test_camera_identifier_reads_plate_from_a_folder_camera(
    tmp_path: Path, recognizer: Recognizer
) -> None:
    folder = tmp_path / "front"
    folder.mkdir()
    scene = render_scene([(render_plate("51C12345", height=36), (800, 800))])
    cv2.imwrite(str(folder / "0.jpg"), scene)
    config = VisionConfig(
        cameras=(CameraConfig(id="front", role=CameraRole.PLATE_FRONT, source=str(folder)),)
    )
    identifier = CameraIdentifier(config, recognizer=recognizer)
    identifier.start()
    try:
        wait_until(lambda: identifier.stats()["front"].frames > 0, timeout=5.0)
        ident = await identifier.identify("tx1", 3.0)
    finally:
        identifier.stop()
    assert ident.plate is not None
    assert (ident.plate.text, ident.plate.valid, ident.plate.source) == ("51C12345", True, "front")
    assert ident.plate.evidence_jpeg is not None
    assert ident.plate.evidence_sha256 == hashlib.sha256(ident.plate.evidence_jpeg).hexdigest()


async def test_camera_identifier_with_faulted_camera_returns_no_plate(
    tmp_path: Path, recognizer: Recognizer
) -> None:
    config = VisionConfig(
        cameras=(CameraConfig(id="front", role=CameraRole.PLATE_FRONT, source=str(tmp_path / "x.mp4")),)
    )
    identifier = CameraIdentifier(config, recognizer=recognizer)
    identifier.start()
    try:
        ident = await identifier.identify("tx1", 0.3)
        assert identifier.faulted == ["front"]
    finally:
        identifier.stop()
    assert ident.plate is None


def _box(text: str, conf: float = 0.95, box: tuple[int, int, int, int] = (10, 10, 200, 40)) -> Candidate:
    return Candidate(ReadKind.CONTAINER, text, (conf,) * len(text), True, box)


def test_container_read_valid_in_one_frame_only_is_not_reported_valid() -> None:
    one = fuse_reads([Observation(_box("MSKU3866036"), None, "left")], VIETNAM)
    assert [(r.text, r.valid) for r in one.containers] == [("MSKU3866036", False)]
    two = fuse_reads(
        [Observation(_box("MSKU3866036"), None, "left"), Observation(_box("MSKU3866036"), None, "right")],
        VIETNAM,
    )
    assert [(r.text, r.valid) for r in two.containers] == [("MSKU3866036", True)]


def test_a_container_number_read_twice_in_one_frame_is_one_frame_s_evidence() -> None:
    """Two crops of one frame (two views, two layouts) are not the two independent frames a number needs."""
    frame = np.zeros((100, 300, 3), np.uint8)
    same_frame = fuse_reads(
        [
            Observation(_box("MSKU3866036"), frame, "left"),
            Observation(_box("MSKU3866036", 0.9), frame, "left"),
        ],
        VIETNAM,
    )
    assert [(r.text, r.valid) for r in same_frame.containers] == [("MSKU3866036", False)]
    next_frame = frame.copy()
    two_frames = fuse_reads(
        [
            Observation(_box("MSKU3866036"), frame, "left"),
            Observation(_box("MSKU3866036"), next_frame, "left"),
        ],
        VIETNAM,
    )
    assert [(r.text, r.valid) for r in two_frames.containers] == [("MSKU3866036", True)]


def test_valid_read_that_a_close_rival_nearly_matches_is_not_valid() -> None:
    sure = Candidate(ReadKind.PLATE, "UH1F0F", (0.91,) * 6, True, (0, 0, 60, 30))
    rival = Candidate(ReadKind.PLATE, "UHIF0F", (0.9,) * 6, True, (0, 0, 60, 30))
    far = Candidate(ReadKind.PLATE, "UH1F0F", (0.91,) * 6, True, (500, 0, 60, 30))
    judged = contested([sure, rival, far])
    assert [c.valid for c in judged] == [False, False, True]
    assert contested([sure, replace(rival, probs=(0.5,) * 6)])[0].valid
