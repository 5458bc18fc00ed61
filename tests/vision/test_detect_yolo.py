"""YOLOv8/11 export post-processing (the decoder and letterbox; no ONNX graph is built here)."""

from __future__ import annotations

import numpy as np

from vision.detect import decode_yolo, letterbox


def test_letterbox_keeps_aspect_and_reports_scale_and_padding() -> None:
    tensor, scale, pad = letterbox(np.zeros((1080, 1920, 3), np.uint8), (640, 640))
    assert tensor.shape == (1, 3, 640, 640)
    assert scale == 640 / 1920
    assert pad == (0.0, 140.0)


def test_yolo_head_is_decoded_to_frame_boxes_with_nms() -> None:
    # Three anchors, two classes: two overlapping plates (NMS keeps the better) and one container code.
    out = np.zeros((1, 6, 3), np.float32)
    out[0, :, 0] = [320, 320, 64, 32, 0.9, 0.0]
    out[0, :, 1] = [322, 321, 64, 32, 0.8, 0.0]
    out[0, :, 2] = [100, 200, 40, 200, 0.0, 0.7]
    scale, pad = 640 / 1920, (0.0, 140.0)
    regions = decode_yolo(out, scale, pad, ("plate", "container_code"), conf=0.25, iou=0.5)
    assert [r.label for r in regions] == ["plate", "container_code"]
    x, y, w, h = regions[0].box
    assert (x, y, w, h) == (864, 492, 192, 96)


def test_low_scores_give_no_regions() -> None:
    out = np.zeros((1, 6, 4), np.float32)
    assert decode_yolo(out, 1.0, (0.0, 0.0), ("plate",), conf=0.25, iou=0.5) == []
