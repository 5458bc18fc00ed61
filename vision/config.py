"""Configuration of the vision subsystem: cameras, models, threads, grammar and thresholds."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from vision import plates
from vision.plates import GRAMMARS, Grammar

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


class PlateReaderKind(StrEnum):
    """A plate reader: PP-OCR's text line recognizer (read.py) or the plate-trained slot reader
    (plate_reader.py, `cct`)."""

    PPOCR = "ppocr"
    CCT = "cct"

    @property
    def characters(self) -> str | None:
        """The characters the reader can put in a plate; None: open (PP-OCR's model reads about 18 700,
        CJK included)."""
        if self is PlateReaderKind.PPOCR:
            return None
        from vision.plate_reader import ALPHABET, PAD

        return ALPHABET.replace(PAD, "")


def grammar_characters(g: Grammar) -> str:
    """The characters beyond 0-9 and A-Z that a grammar's plates hold (a lane's grammars together): those
    it declares (`script`) and those its pattern names (a province character is written into the pattern;
    A-Z0-9 are written as ranges)."""
    declared = "".join(m.script for m in (g, *g.members))
    named = (ch for ch in g.pattern.pattern if not ch.isascii() and ch.isprintable())
    return "".join(sorted({*declared, *named}))


def unreadable(readers: tuple[PlateReaderKind, ...], grammar_name: str | tuple[str, ...]) -> str | None:
    """Why `readers` cannot read the grammar's plates (a reader whose alphabet lacks some of their
    characters), or None. `grammar_name` may list a lane's grammars."""
    lane = plates.grammar(grammar_name)
    needed = grammar_characters(lane)
    for reader in readers:
        alphabet = reader.characters
        missing = "" if alphabet is None else "".join(ch for ch in needed if ch not in alphabet)
        if missing:
            return (
                f"plate reader {reader.value!r} cannot read the {lane.name!r} grammar's plates: its "
                f"alphabet has no {missing[:12]}{'...' if len(missing) > 12 else ''}"
            )
    return None


_READERS_DOC = (
    "Plate readers, combined when more than one: `ppocr` (PP-OCR text recognition, the rapidocr wheel's "
    "model) and `cct` (the plate-trained reader shipped in vision/models/plate_reader); each must be able "
    "to write every character of the grammar's plates."
)


class CameraConfig(BaseModel, extra="forbid", frozen=True):
    """One camera of the lane."""

    id: str = Field(description="Camera id, used in logs, the lane status and each read's `source`.")
    role: CameraRole = Field(description="What the camera looks at: a plate or a side of the containers.")
    source: str = Field(
        description="rtsp:// or http(s):// URL (read through PyAV, key frames only while the lane is idle, "
        "every frame during identification; through OpenCV if PyAV cannot open it), a USB device index "
        "('0') or a video file (OpenCV), or a folder of images (replayed in name order, looping)."
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
        description="A stream that opens, sends nothing or gives no decodable frame for this long is in "
        "FAULT and is reopened (FFmpeg alone would wait 30 s, the lane's last frame growing old meanwhile).",
    )

    plate_readers: tuple[PlateReaderKind, ...] | None = Field(
        None, min_length=1, description=f"{_READERS_DOC} Null: the vision section's `plate_readers`."
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
    grammar: str | tuple[str, ...] = Field(
        "vietnam",
        description="Plate grammar: vietnam, china, cambodia, generic (4-9 A-Z0-9) or gms; or a list of "
        "them, the plates the lane expects, in its order of preference (`[vietnam, china, cambodia]`): "
        "a read is valid when one of them holds, and says which (docs/vision.md).",
    )
    plate_readers: tuple[PlateReaderKind, ...] | None = Field(
        None,
        min_length=1,
        description=f"{_READERS_DOC} Null: every reader that can (ppocr and cct for the Latin grammars).",
    )
    plate_reader_file: Path | None = Field(
        None,
        description="Plate-trained reader ONNX model (uint8 RGB [N, H, W, 3] in, [N, slots, 37] out); null: "
        "the shipped one, checked by its SHA-256.",
    )
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
    def _known_grammar(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        names = (value,) if isinstance(value, str) else value
        if not names:
            raise ValueError(f"name one grammar at least; known: {', '.join(GRAMMARS)}")
        for name in names:
            if name not in GRAMMARS:
                raise ValueError(f"unknown grammar {name!r}; known: {', '.join(GRAMMARS)}")
        return value

    @property
    def plate_grammar(self) -> Grammar:
        """The lane's plate grammar: the one named, or those listed, combined in their order."""
        return plates.grammar(self.grammar)

    def readers(self, camera: CameraConfig | None = None) -> tuple[PlateReaderKind, ...]:
        """The plate readers of `camera` (its own, else the section's, else every one that can read the
        grammar's plates)."""
        chosen = (camera.plate_readers if camera else None) or self.plate_readers
        if chosen:
            return tuple(dict.fromkeys(chosen))
        return tuple(r for r in PlateReaderKind if unreadable((r,), self.grammar) is None)

    def readers_in_use(self) -> set[PlateReaderKind]:
        """Every plate reader the section or one of its cameras reads with (the models to load)."""
        return {r for camera in (None, *self.cameras) for r in self.readers(camera)}

    @model_validator(mode="after")
    def _readers_can_read_the_grammar(self) -> VisionConfig:
        # A reader that cannot write a character of the grammar's plates would read every such plate
        # wrong, and as sure as any other: refused at start, naming the reader and the characters.
        chosen = [("plate_readers", self.plate_readers)] + [
            (f"cameras[{c.id}].plate_readers", c.plate_readers) for c in self.cameras
        ]
        for where, readers in chosen:
            why = unreadable(readers, self.grammar) if readers else None
            if why:
                raise ValueError(f"{where}: {why}")
        return self

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
