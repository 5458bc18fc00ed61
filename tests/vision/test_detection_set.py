"""The detector's training set: rendered scenes whose YOLO labels sit on the plate and the container code."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from edge.cli import main
from vision.detection_set import LABELS, read_labels, write_detection_set


def test_labels_sit_on_the_plate_and_the_container_code(tmp_path: Path) -> None:
    data = write_detection_set(tmp_path, n=10, seed=3)
    spec = yaml.safe_load(data.read_text())
    assert spec["names"] == dict(enumerate(LABELS))
    assert len(list((tmp_path / "images" / "train").glob("*.jpg"))) == 8
    assert len(list((tmp_path / "images" / "val").glob("*.jpg"))) == 2
    for image_file in sorted((tmp_path / "images").rglob("*.jpg")):
        image = cv2.imread(str(image_file))
        labels = read_labels(image_file, image.shape)
        assert sorted(cls for cls, _ in labels) == [0, 1]
        boxes = dict(labels)
        scene_light = float(np.median(image))
        for cls, (x, y, w, h) in boxes.items():
            assert x >= 0
            assert y >= 0
            assert x + w <= image.shape[1]
            assert y + h <= image.shape[0]
            # The middle of the box is the object (light gain and noise aside): a plate is white paper, far
            # brighter than the scene; a container code's panel is red (BGR 60, 40, 150).
            inner = (
                image[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4].reshape(-1, 3).astype(float)
            )
            _, green, red = np.median(inner, axis=0)
            if cls == 0:
                assert np.median(inner) > 1.4 * scene_light, (image_file.name, cls)
            else:
                assert red > 1.8 * green, (image_file.name, cls)


def test_same_seed_same_set(tmp_path: Path) -> None:
    write_detection_set(tmp_path / "a", n=3, seed=5)
    write_detection_set(tmp_path / "b", n=3, seed=5)
    for name in ("labels/train/s00000.txt", "labels/val/s00002.txt"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_detector_set_command_writes_the_set_and_refuses_a_set_too_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vision", "detector-set", "--out", str(tmp_path), "--n", "4"]) == 0
    assert (tmp_path / "data.yaml").is_file()
    assert main(["vision", "detector-set", "--out", str(tmp_path / "x"), "--n", "1"]) == 1
    assert "at least 2 images" in capsys.readouterr().err


def test_a_folder_with_an_older_set_is_refused(tmp_path: Path) -> None:
    write_detection_set(tmp_path, n=3, seed=1)
    with pytest.raises(ValueError, match="not empty"):
        write_detection_set(tmp_path, n=2, seed=2)  # its images would mix with the older set's
