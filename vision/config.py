"""Configuration of the vision subsystem: cameras, models, threads, grammar and thresholds."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from vision.plates import GRAMMARS

# The class names a YOLO region detector must give the plate and the container code.
YOLO_KIND_LABELS = ("plate", "container_code")


class CameraRole(StrEnum):
    PLATE_FRONT = "plate_front"
    PLATE_REAR = "plate_rear"
    CONTAINER_LEFT = "container_left"
    CONTAINER_RIGHT = "container_right"
    CONTAINER_REAR = "container_rear"
    CONTAINER_TOP = "container_top"

    @property
    def reads_plates(self) -> bool:
        return self.value.startswith("plate")


class CameraConfig(BaseModel, extra="forbid", frozen=True):
    """One camera of the lane."""

    id: str = Field(description="Camera id, used in logs, the lane status and each read's `source`.")
    role: CameraRole = Field(description="What the camera looks at: a plate or a side of the containers.")
    source: str = Field(
        description="OpenCV source: rtsp:// or http(s):// URL, a USB device index ('0'), a video file, "
        "or a folder of images (replayed in name order, looping)."
    )
    roi: tuple[int, int, int, int] | None = Field(
        None, description="Region of interest x, y, w, h in (rotated) frame pixels; null for the whole frame."
    )
    rotation: int = Field(0, description="Clockwise rotation applied to every frame: 0, 90, 180 or 270.")
    fps_limit: float = Field(
        10.0,
        gt=0,
        description="Frames per second at most taken from a file or folder source (live "
        "sources run at their own rate; only the newest frame is kept).",
    )
    stall_timeout_s: float = Field(
        5.0,
        gt=0,
        le=60,
        description="A stream that opens or sends no frame for this long is in FAULT and is reopened "
        "(OpenCV alone would wait 30 s, the lane's last frame growing old meanwhile).",
    )

    @field_validator("rotation")
    @classmethod
    def _right_angle(cls, value: int) -> int:
        if value not in (0, 90, 180, 270):
            raise ValueError("rotation must be 0, 90, 180 or 270")
        return value


def _model_dir() -> Path:
    from vision.read import default_model_dir

    return default_model_dir()


class VisionConfig(BaseModel, extra="forbid", frozen=True):
    """Cameras, models and recognition thresholds of the lane."""

    @property
    def det_model(self) -> Path:
        """The detection model to load (the bundled one unless a file is configured)."""
        return self.det_model_file or _model_dir() / "PP-OCRv6_det_small.onnx"

    @property
    def rec_model(self) -> Path:
        """The recognition model to load (the bundled one unless a file is configured)."""
        return self.rec_model_file or _model_dir() / "PP-OCRv6_rec_small.onnx"

    cameras: tuple[CameraConfig, ...] = Field(
        (), description="The lane's cameras; with none, every vehicle goes to an officer."
    )
    det_model_file: Path | None = Field(
        None, description="Text detection ONNX model; null: the PP-OCR detection model in the rapidocr wheel."
    )
    rec_model_file: Path | None = Field(
        None,
        description="Text recognition ONNX model; null: the PP-OCR recognition model in the rapidocr wheel.",
    )
    yolo_model: Path | None = Field(
        None,
        description="Optional YOLOv8/11 ONNX plate/container-code detector used instead of PP-OCR detection.",
    )
    yolo_labels: tuple[str, ...] = Field(
        ("plate", "container_code"),
        description="Class names of the YOLO model, in class-id order. The plate class must be named "
        "`plate` and the container-code class `container_code`; other classes are detected and ignored.",
    )
    threads: int = Field(
        2, ge=1, le=64, description="onnxruntime intra-op threads per session (cores to use)."
    )
    det_sizes: tuple[int, ...] = Field(
        (480, 960),
        min_length=1,
        description="Longer side the frame is scaled to for detection (a region of interest is scaled "
        "alike, so it costs fewer pixels); the next size is tried only when the previous found nothing "
        "valid.",
    )
    max_regions: int = Field(16, ge=1, description="Detected regions read per frame at most.")
    rec_batch: int = Field(8, ge=1, description="Crops per recognition batch.")
    grammar: str = Field("vietnam", description="Plate grammar: vietnam, generic (4-9 A-Z0-9) or gms.")
    min_valid_confidence: float = Field(
        0.8,
        ge=0,
        le=1,
        description="A read is reported valid only when its grammar holds and its weakest "
        "character is at least this sure (keeps the precision of valid reads high).",
    )
    min_frames: int = Field(1, ge=1, description="Frames that must agree before a read is reported.")
    min_container_frames: int = Field(
        2,
        ge=1,
        description="Frames that must read a container number valid and the same before it is reported "
        "valid (a check digit alone lets one wrong read in ten pass).",
    )
    frame_interval_s: float = Field(
        0.1, gt=0, description="Pause between frames taken from one camera during an identification window."
    )
    evidence_jpeg_quality: int = Field(85, ge=30, le=100, description="JPEG quality of evidence images.")

    @field_validator("grammar")
    @classmethod
    def _known_grammar(cls, value: str) -> str:
        if value not in GRAMMARS:
            raise ValueError(f"unknown grammar {value!r}; known: {', '.join(GRAMMARS)}")
        return value

    @field_validator("yolo_labels")
    @classmethod
    def _both_kinds_named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The pipeline reads a kind from the regions of its class only: a model whose classes are named
        # otherwise would find nothing, and every vehicle would be held without a word why.
        missing = [name for name in YOLO_KIND_LABELS if name not in value]
        if missing:
            raise ValueError(
                f"the YOLO classes must include {', '.join(missing)} (given: {', '.join(value)})"
            )
        return value
