"""Configuration of the vision subsystem: cameras, models, threads, grammar and thresholds."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from vision import plates
from vision.plates import GRAMMARS, Grammar
from vision.reader_choice import GrammarReaders as GrammarReaders
from vision.reader_choice import PlateReaderKind as PlateReaderKind
from vision.reader_choice import Readers, able
from vision.reader_choice import grammar_characters as grammar_characters
from vision.reader_choice import unreadable as unreadable

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


_READERS_DOC = (
    "Plate readers, combined when more than one: `ppocr` (PP-OCR text recognition, the rapidocr wheel's "
    "model) and `cct` (the plate-trained reader shipped in vision/models/plate_reader). A list: the "
    "readers of every grammar's plates; or per grammar of the lane (`{vietnam: [ppocr, cct], china: "
    "[ppocr]}`), a grammar not named keeping its default. Each must be able to write every character of "
    "the grammar's plates."
)
# `plate_readers`: one list for every grammar, or a list per grammar name (its errors those of its form).
ReaderChoice = Annotated[
    Annotated[tuple[PlateReaderKind, ...], Tag("list")]
    | Annotated[dict[str, tuple[PlateReaderKind, ...]], Tag("per_grammar")],
    Discriminator(lambda v: "per_grammar" if isinstance(v, dict) else "list"),
]


def _reader_names(value: Any) -> Any:
    """`plate_readers` as written, refused with the reader or grammar it names wrongly (before pydantic,
    whose message for a union would describe both forms)."""
    if value is None:
        return value
    lists = value.items() if isinstance(value, dict) else [("", value)]
    known = ", ".join(PlateReaderKind)
    for name, readers in lists:
        where = f"{name}: " if name else ""
        if not isinstance(readers, list | tuple):
            raise ValueError(f"{where}give a list of readers ({known}) or one per grammar, not {readers!r}")
        for reader in readers:
            if reader not in set(PlateReaderKind):
                raise ValueError(f"{where}unknown plate reader {reader!r}; known: {known}")
    return value


def _chosen(choice: ReaderChoice | None, grammar_name: str) -> Readers | None:
    """The readers `choice` names for the grammar's plates; None when it names none."""
    if isinstance(choice, dict):
        return choice.get(grammar_name)
    return choice


def _choice_errors(where: str, choice: ReaderChoice | None, lane: tuple[str, ...]) -> list[str]:
    """What is wrong with a `plate_readers` setting for a lane of the grammars `lane`, by key path."""
    if choice is None:
        return []
    if not isinstance(choice, dict):
        why = unreadable(choice, lane if len(lane) > 1 else lane[0])
        if why and len(lane) > 1:
            why += f"; name the readers per grammar instead ({where}: {{{lane[0]}: [ppocr, cct], ...}})"
        return [f"{where}: {why}"] if why else []
    if not choice:
        return [f"{where}: name the readers of one grammar at least ({', '.join(lane)})"]
    errors = []
    for name, readers in choice.items():
        if name not in lane:
            errors.append(f"{where}.{name}: not one of the lane's grammars ({', '.join(lane)})")
        elif not readers:
            errors.append(f"{where}.{name}: name one reader at least (ppocr, cct)")
        elif why := unreadable(readers, name):
            errors.append(f"{where}.{name}: {why}")
    return errors


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

    plate_readers: ReaderChoice | None = Field(
        None,
        min_length=1,
        description=f"{_READERS_DOC} Null: the vision section's `plate_readers`; a grammar this camera's "
        "list does not name: the section's for it.",
    )

    _known_readers = field_validator("plate_readers", mode="before")(_reader_names)

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
    plate_readers: ReaderChoice | None = Field(
        None,
        min_length=1,
        description=f"{_READERS_DOC} Null (or a grammar not named): every reader that can write the "
        "grammar's plates (ppocr and cct for the Latin grammars, ppocr for china).",
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

    _known_readers = field_validator("plate_readers", mode="before")(_reader_names)

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

    @property
    def grammar_names(self) -> tuple[str, ...]:
        """The lane's grammars, in its order of preference."""
        return (self.grammar,) if isinstance(self.grammar, str) else tuple(dict.fromkeys(self.grammar))

    def readers(self, camera: CameraConfig | None = None, grammar: str | None = None) -> Readers:
        """The plate readers of `camera` for the plates of one of the lane's grammars (the camera's own
        choice, else the section's, else every reader that can write them); with no grammar, every reader
        the camera reads with."""
        if grammar is None:
            return self.reading(camera).used
        for choice in (camera.plate_readers if camera else None, self.plate_readers):
            chosen = _chosen(choice, grammar)
            if chosen:
                return tuple(dict.fromkeys(chosen))
        return able(grammar)

    def reading(self, camera: CameraConfig | None = None) -> GrammarReaders:
        """The plate readers of `camera` per grammar, for the pipeline (Recognizer.read_frame)."""
        chosen = {name: self.readers(camera, name) for name in self.grammar_names}
        if len(set(chosen.values())) == 1:  # one choice for the lane: as before, for reads of any form
            return GrammarReaders.every(next(iter(chosen.values())))
        return GrammarReaders.of_lane(chosen)

    def readers_in_use(self) -> set[PlateReaderKind]:
        """Every plate reader the section or one of its cameras reads with (the models to load)."""
        return {r for camera in (None, *self.cameras) for r in self.readers(camera)}

    @model_validator(mode="after")
    def _readers_can_read_the_grammar(self) -> VisionConfig:
        # A reader that cannot write a character of the grammar's plates would read every such plate
        # wrong, and as sure as any other: refused at start, naming the reader and the characters.
        lane = self.grammar_names
        errors = _choice_errors("plate_readers", self.plate_readers, lane)
        for c in self.cameras:
            errors += _choice_errors(f"cameras[{c.id}].plate_readers", c.plate_readers, lane)
        if errors:
            raise ValueError("; ".join(errors))
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
