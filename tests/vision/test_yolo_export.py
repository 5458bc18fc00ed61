"""A real YOLO11 ONNX export (trained by `vision train-detector` on rendered scenes) through the runtime.

The model file was made by the recipe in training/detector/README.md; these tests check that the loader,
the letterbox and the decoder agree with what ultralytics exported, on scenes the model never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from vision.config import VisionConfig
from vision.detect import YoloDetector
from vision.detection_set import LABELS, read_labels, write_detection_set
from vision.hypotheses import overlap
from vision.identity import ReadKind
from vision.pipeline import build_recognizer
from vision.read import ModelError
from vision.render import render_container_code, render_plate, render_scene

MODEL = Path(__file__).parent / "data" / "yolo11n-gate-synthetic.onnx"


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_the_export_finds_plates_and_container_codes_in_scenes_it_never_saw(tmp_path: Path) -> None:
    import cv2

    detector = YoloDetector(MODEL, LABELS)
    assert detector.size == (480, 480)  # read from the export, not assumed
    write_detection_set(tmp_path, n=20, seed=2026)  # the model was trained on seed 0
    found = {label: 0 for label in LABELS}
    for image_file in sorted((tmp_path / "images").rglob("*.jpg")):
        image = np.asarray(cv2.imread(str(image_file)), dtype=np.uint8)
        regions = detector.detect(image)
        for cls, truth in read_labels(image_file, image.shape):
            label = LABELS[cls]
            if any(r.label == label and _iou(r.box, truth) > 0.5 for r in regions):
                found[label] += 1
    assert found["plate"] >= 18, found
    assert found["container_code"] >= 18, found


def test_the_pipeline_reads_each_kind_through_the_yolo_detector_only_in_its_own_regions() -> None:
    recognizer = build_recognizer(VisionConfig(yolo_model=MODEL, det_sizes=(640,)))
    plate = render_plate("51C12345", height=40)
    code = render_container_code("MSKU3866036", layout="one_block", height=30)
    scene = render_scene([(plate, (300, 420)), (code, (800, 150))], size=(1280, 720), seed=7)

    plates = recognizer.read_frame(scene, ReadKind.PLATE)
    assert plates
    assert (plates[0].text, plates[0].valid) == ("51C12345", True)
    assert overlap(plates[0].box, (300, 420, plate.shape[1], plate.shape[0])) > 0.5
    assert recognizer.timings.regions == 1  # the container code's region is not read as a plate

    containers = recognizer.read_frame(scene, ReadKind.CONTAINER)
    assert containers
    assert (containers[0].text, containers[0].valid) == ("MSKU3866036", True)
    assert recognizer.timings.regions == 1


def test_a_yolo_model_whose_classes_do_not_name_both_kinds_is_refused() -> None:
    # Read by class, such a model would find nothing, and every vehicle would be held without a word why.
    # Built unvalidated (model_copy), as a config that slipped past VisionConfig's own check would be.
    unchecked = VisionConfig().model_copy(
        update={"yolo_model": MODEL, "yolo_labels": ("license_plate", "container_code")}
    )
    with pytest.raises(ModelError, match="must include plate, container_code"):
        build_recognizer(unchecked)
    with pytest.raises(ValidationError, match="must include container_code"):
        VisionConfig.model_validate({"yolo_model": str(MODEL), "yolo_labels": ["plate", "code"]})
