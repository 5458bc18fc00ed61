"""The detector stage: find text regions in a (downscaled) frame.

Two detectors, both onnxruntime: PP-OCR's DB text detector (shipped in the rapidocr wheel, works on a
fresh install) and any YOLOv8/YOLO11 ONNX export trained on plates and container codes
(`gate-edge vision train-detector`). Both return quadrilaterals in the input frame's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vision.read import Image, ModelError, open_session

TEXT_LABEL = "text"


@dataclass(frozen=True, slots=True)
class Region:
    """A detected region: four corners (clockwise from top-left) in frame pixels, a score and a class."""

    quad: npt.NDArray[np.float32]  # shape (4, 2)
    score: float
    label: str = TEXT_LABEL  # a text line of any kind: the PP-OCR detector names no classes

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The axis-aligned bounding box as x, y, w, h."""
        x0, y0 = self.quad.min(axis=0)
        x1, y1 = self.quad.max(axis=0)
        return int(x0), int(y0), round(x1 - x0), round(y1 - y0)


class Detector(Protocol):
    def detect(self, frame: Image) -> list[Region]:
        """Regions found in a BGR frame, in its pixels."""
        ...


def quad_from_box(x: float, y: float, w: float, h: float) -> npt.NDArray[np.float32]:
    """The four corners of an axis-aligned box."""
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)


class TextDetector:
    """PP-OCR DB text detection at a reduced size: the frame's longer side is scaled to `max_side`."""

    def __init__(
        self,
        model_path: Path,
        threads: int = 2,
        max_side: int = 640,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
    ) -> None:
        from rapidocr.ch_ppocr_det.utils import DBPostProcess

        self._session = open_session(model_path, threads)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] != 3:
            raise ModelError(f"{model_path}: not a text detection model (inputs {inputs})")
        self._input = inputs[0].name
        self.max_side = max_side
        self._post = DBPostProcess(
            thresh=0.3, box_thresh=box_thresh, unclip_ratio=unclip_ratio, use_dilation=True
        )

    def detect(self, frame: Image, max_side: int | None = None) -> list[Region]:
        """Text regions in `frame`, which is resized so its longer side is `max_side` (multiple of 32)."""
        h, w = frame.shape[:2]
        if h < 8 or w < 8:
            return []
        side = max_side or self.max_side
        scale = min(1.0, side / max(h, w))
        rw = max(32, round(w * scale / 32) * 32)
        rh = max(32, round(h * scale / 32) * 32)
        resized = cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_AREA)
        tensor = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[np.newaxis]
        pred = self._session.run(None, {self._input: tensor})[0]
        boxes, scores = self._post(np.asarray(pred), (h, w))
        return [Region(np.asarray(b, dtype=np.float32), float(s)) for b, s in zip(boxes, scores, strict=True)]


class YoloDetector:
    """A YOLOv8/YOLO11 ONNX export (output `[1, 4 + classes, anchors]`): letterbox, decode, NMS."""

    def __init__(
        self,
        model_path: Path,
        labels: tuple[str, ...] = ("plate", "container_code"),
        threads: int = 2,
        conf: float = 0.25,
        iou: float = 0.5,
    ) -> None:
        self._session = open_session(model_path, threads)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"{model_path}: not a YOLO detection model (inputs {inputs})")
        self._input = inputs[0].name
        shape = inputs[0].shape
        self.size = (
            int(shape[2]) if isinstance(shape[2], int) else 640,
            int(shape[3]) if isinstance(shape[3], int) else 640,
        )
        self.labels = labels
        self.conf = conf
        self.iou = iou

    def detect(self, frame: Image) -> list[Region]:
        tensor, scale, pad = letterbox(frame, self.size)
        out = np.asarray(self._session.run(None, {self._input: tensor})[0])
        return decode_yolo(out, scale, pad, self.labels, self.conf, self.iou)


def letterbox(
    frame: Image, size: tuple[int, int]
) -> tuple[npt.NDArray[np.float32], float, tuple[float, float]]:
    """Resize keeping the aspect ratio, pad with grey to `size` (h, w); RGB, 0..1, NCHW."""
    h, w = frame.shape[:2]
    scale = min(size[0] / h, size[1] / w)
    nh, nw = round(h * scale), round(w * scale)
    top, left = (size[0] - nh) / 2, (size[1] - nw) / 2
    canvas = np.full((size[0], size[1], 3), 114, dtype=np.uint8)
    canvas[int(top) : int(top) + nh, int(left) : int(left) + nw] = cv2.resize(frame, (nw, nh))
    tensor = canvas[:, :, ::-1].transpose(2, 0, 1)[np.newaxis].astype(np.float32) / 255.0
    return np.ascontiguousarray(tensor), scale, (left, top)


def decode_yolo(
    out: npt.NDArray[np.float32],
    scale: float,
    pad: tuple[float, float],
    labels: tuple[str, ...],
    conf: float,
    iou: float,
) -> list[Region]:
    """Decode a YOLOv8/11 head `[1, 4 + classes, anchors]` (cx, cy, w, h, class scores) into regions."""
    if out.ndim != 3 or out.shape[1] < 5:
        raise ModelError(f"unexpected YOLO output shape {out.shape}")
    preds = out[0].T  # anchors x (4 + classes)
    class_scores = preds[:, 4:]
    classes = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(preds)), classes]
    keep = scores >= conf
    if not keep.any():
        return []
    preds, classes, scores = preds[keep], classes[keep], scores[keep]
    cx, cy, bw, bh = preds[:, 0], preds[:, 1], preds[:, 2], preds[:, 3]
    x0 = (cx - bw / 2 - pad[0]) / scale
    y0 = (cy - bh / 2 - pad[1]) / scale
    boxes = np.stack([x0, y0, bw / scale, bh / scale], axis=1)
    chosen = cv2.dnn.NMSBoxesBatched(boxes.tolist(), scores.tolist(), classes.tolist(), conf, iou)
    regions = []
    for i in np.asarray(chosen, dtype=np.int64).reshape(-1).tolist():
        x, y, w, h = boxes[i].tolist()
        cls = int(classes[i])
        label = labels[cls] if cls < len(labels) else str(cls)
        regions.append(Region(quad_from_box(x, y, w, h), float(scores[i]), label))
    regions.sort(key=lambda r: -r.score)
    return regions


def crop_quad(frame: Image, quad: npt.NDArray[np.float32], pad: float = 0.0) -> Image:
    """The quadrilateral warped to an upright rectangle, grown by `pad` times its height on each side."""
    q = quad.astype(np.float32)
    width = float(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    height = float(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    if width < 2 or height < 2:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    margin = pad * min(width, height)
    out_w, out_h = round(width + 2 * margin), round(height + 2 * margin)
    target = np.array(
        [
            [margin, margin],
            [margin + width, margin],
            [margin + width, margin + height],
            [margin, margin + height],
        ],
        dtype=np.float32,
    )
    matrix = cv2.getPerspectiveTransform(q, target)
    warped = cv2.warpPerspective(
        frame, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(warped, dtype=np.uint8)
