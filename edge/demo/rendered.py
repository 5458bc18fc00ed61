"""RenderedIdentifier: the demo's vehicles drawn into camera frames and read back by the real models.

The demo runner sets `current` to the vehicle on the stop line; `identify` renders its plate (plate
camera) and container numbers (container camera) into 1080p frames with camera-like degradations, runs
the real PP-OCR ONNX recognizer on them in a worker thread and fuses the reads exactly as the lane's
cameras would. A LOW_CONFIDENCE vehicle's plate is half washed out by glare and
blurred: no whole, sure plate can be read from it, so the lane holds it for an officer.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from edge.demo.traffic import Scenario, SimVehicle
from vision.config import VisionConfig
from vision.fuse import Observation
from vision.hypotheses import Box
from vision.identifier import fuse_reads
from vision.identity import Identification, ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import Grammar
from vision.read import Image
from vision.render import Degradation, degrade, render_container_code, render_plate, render_scene

FRAME = (1920, 1080)
PLATE_ROI: Box = (480, 480, 960, 600)  # the plate camera looks at the bumper: the lower middle of its frame
_PLATE_AT = (860, 760)
_CONTAINERS_AT = ((300, 260), (1100, 260))
_CAMERA_DEGRADATION = Degradation(noise=4.0, blur=0.6, light=0.9, gradient=0.2, jpeg=85)
_BAD_PLATE = Degradation(noise=10.0, blur=1.5, light=0.6, gradient=0.5, jpeg=50)


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One camera frame of the vehicle and what the camera is for."""

    camera: str
    kind: ReadKind
    image: Image
    roi: Box | None


def render_frames(vehicle: SimVehicle, frames_per_camera: int = 3) -> list[RenderedFrame]:
    """The plate camera's (two at most) and the container camera's frames of `vehicle`, interleaved,
    seeded by its plate. Container numbers need two agreeing frames to be valid, hence a third frame."""
    seed = zlib.crc32(vehicle.plate.encode())
    rng = np.random.default_rng(seed)
    out: list[RenderedFrame] = []
    for i in range(frames_per_camera):
        if i >= 2 and not vehicle.containers:
            break
        plate = render_plate(vehicle.plate, height=40)
        spoil = _BAD_PLATE if vehicle.scenario is Scenario.LOW_CONFIDENCE else _CAMERA_DEGRADATION
        if vehicle.scenario is Scenario.LOW_CONFIDENCE:
            plate = _glare(plate)
        plate = degrade(plate, spoil, rng)
        x, y = _PLATE_AT[0] + 12 * i, _PLATE_AT[1] - 6 * i  # the truck is still rolling in
        if i < 2:
            scene = render_scene([(plate, (x, y))], FRAME, seed=seed + i)
            out.append(RenderedFrame("plate_front", ReadKind.PLATE, scene, PLATE_ROI))
        if vehicle.containers:
            codes = [
                (degrade(render_container_code(number, height=48), _CAMERA_DEGRADATION, rng), at)
                for number, at in zip(vehicle.containers, _CONTAINERS_AT, strict=False)
            ]
            image = render_scene(
                [(c, (cx + 10 * i, cy)) for c, (cx, cy) in codes], FRAME, seed=seed + 100 + i
            )
            out.append(RenderedFrame("container_left", ReadKind.CONTAINER, image, None))
    return out


def _glare(plate: Image) -> Image:
    """Sun glare washing out the right part of the plate: what is left cannot be a whole valid plate."""
    h, w = plate.shape[:2]
    spoiled = plate.copy()
    cv2.ellipse(spoiled, (int(w * 0.78), h // 2), (int(w * 0.3), h), 0, 0, 360, (255, 255, 255), -1)
    return np.asarray(cv2.GaussianBlur(spoiled, (0, 0), 2.0), dtype=np.uint8)


class RenderedIdentifier:
    """An IdentificationSource for the demo: rendered frames of `current` through the real models."""

    def __init__(
        self,
        config: VisionConfig | None = None,
        recognizer: Recognizer | None = None,
        frames_per_camera: int = 3,
    ) -> None:
        self.config = config or VisionConfig()
        self.current: SimVehicle | None = None
        self._grammar: Grammar = self.config.plate_grammar
        self._recognizer = recognizer
        self._frames = max(1, frames_per_camera)
        self._lock = threading.Lock()  # one inference at a time; the models load once, on first use

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        """Read the vehicle on the stop line from its rendered frames; no vehicle: nothing read."""
        vehicle = self.current
        if vehicle is None:
            await asyncio.sleep(min(0.3, window_s))
            return Identification(plate=None)
        deadline = time.monotonic() + window_s
        return await asyncio.to_thread(self._identify, vehicle, deadline)

    def _identify(self, vehicle: SimVehicle, deadline: float) -> Identification:
        with self._lock:
            recognizer = self._loaded()
            observations: list[Observation] = []
            for frame in render_frames(vehicle, self._frames):
                if time.monotonic() >= deadline:  # like the cameras: what was read in the window counts
                    break
                found = recognizer.read_frame(frame.image, frame.kind, frame.roi)
                observations.extend(Observation(c, frame.image, frame.camera) for c in found[:3])
        return fuse_reads(
            observations,
            self._grammar,
            self.config.min_valid_confidence,
            self.config.min_container_frames,
            self.config.evidence_jpeg_quality,
        )

    def warm_up(self) -> None:
        """Load the models now (about a second) rather than in the first vehicle's window."""
        with self._lock:
            self._loaded()

    def _loaded(self) -> Recognizer:
        if self._recognizer is None:
            # The rendered frames are read with the text detector, a configured YOLO model or not.
            self._recognizer = build_recognizer(self.config.model_copy(update={"yolo_model": None}))
        return self._recognizer
