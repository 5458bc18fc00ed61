"""RenderedIdentifier: the demo's vehicles drawn into camera frames and read back by the real models.

The demo runner sets `current` to the vehicle on the stop line; `identify` draws what the gate's cameras
would see (vision/render_scene.py): the truck's front with its plate on the bumper for the plate camera,
the side of its containers with their painted codes for the container camera, under a light, an angle
and a blur of the truck's own (seeded by its plate). The real ONNX recognizer reads them in a worker
thread and the reads are fused exactly as the lane's cameras would fuse them. A LOW_CONFIDENCE vehicle's
plate is half washed out by glare: no whole, sure plate can be read from it, so the lane holds it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from edge.decision import Outcome
from edge.demo.traffic import Scenario, SimVehicle
from vision.config import VisionConfig
from vision.fuse import Observation
from vision.hypotheses import Box
from vision.identifier import fuse_reads
from vision.identity import Identification, ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import Grammar
from vision.read import Image
from vision.render import render_container_code, render_plate
from vision.render_scene import SIZE, Look, container_side, random_look, through_camera, truck_front

PLATE_ROI: Box = (480, 480, 960, 600)  # the plate camera looks at the bumper: the lower middle of its frame
PLATE_HEIGHT = 40  # the plate's text height in the plate camera's frame, pixels
CODE_HEIGHT = 46  # a container code's text height in the container camera's frame
# Where the truck is in the first frame (x and y ranges of its offset from the frame's middle), and how
# far it moves between two frames as it rolls onto the stop line: the plate stays in PLATE_ROI.
START_RANGE = ((-120, 40), (-25, 25))
ROLL_PX = (14, -5)


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One camera frame of the vehicle and what the camera is for."""

    camera: str
    kind: ReadKind
    image: Image
    roi: Box | None


def truck_look(vehicle: SimVehicle) -> tuple[Look, np.random.Generator]:
    """The truck's look and its frames' generator, both seeded by its plate (same truck, same frames)."""
    rng = np.random.default_rng(zlib.crc32(vehicle.plate.encode()))
    look = random_look(rng)
    if vehicle.scenario is Scenario.LOW_CONFIDENCE:  # a low sun straight into the lens
        look = replace(look, blur=max(look.blur, 1.2))
    return look, rng


def render_frames(vehicle: SimVehicle, frames_per_camera: int = 3) -> Iterator[RenderedFrame]:
    """The container camera's and the plate camera's (two at most) frames of `vehicle`, interleaved.

    Container numbers need two agreeing frames to be valid, a plate one: a container frame comes first, so
    the first three frames (all a loaded box reads in the window) hold two of the containers and one of the
    plate. Each frame is drawn when asked for, so the identification window's time goes to the first ones.
    """
    look, rng = truck_look(vehicle)
    (x0, x1), (y0, y1) = START_RANGE
    start = (int(rng.integers(x0, x1)), int(rng.integers(y0, y1)))
    plate = render_plate(vehicle.plate, height=PLATE_HEIGHT)
    if vehicle.scenario is Scenario.LOW_CONFIDENCE:
        plate = _glare(plate)
    layout = ("one_block", "two_row")[int(rng.integers(0, 2))]
    size_type = "42G1" if len(vehicle.containers) == 1 else "22G1"  # one 40 ft box, or two 20 ft ones
    codes = [render_container_code(n, size_type, layout, CODE_HEIGHT) for n in vehicle.containers[:2]]
    for i in range(frames_per_camera):
        if i >= 2 and not vehicle.containers:
            break
        at = (start[0] + ROLL_PX[0] * i, start[1] + ROLL_PX[1] * i)
        if codes:
            side = container_side(codes, look, at, SIZE)
            yield RenderedFrame("container_left", ReadKind.CONTAINER, through_camera(side, look, rng), None)
        if i < 2:
            front, _ = truck_front(plate, look, at, SIZE)
            yield RenderedFrame("plate_front", ReadKind.PLATE, through_camera(front, look, rng), PLATE_ROI)


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
            longest = 0.0  # the slowest frame so far: one started later would end after the window
            frames = render_frames(vehicle, self._frames)
            while time.monotonic() + longest < deadline:  # like the cameras: what was read in the window
                started = time.monotonic()
                frame = next(frames, None)
                if frame is None:
                    break
                found = recognizer.read_frame(frame.image, frame.kind, frame.roi)
                observations.extend(Observation(c, frame.image, frame.camera) for c in found[:3])
                longest = max(longest, time.monotonic() - started)
        return fuse_reads(
            observations,
            self._grammar,
            self.config.min_valid_confidence,
            self.config.min_container_frames,
            self.config.evidence_jpeg_quality,
        )

    def warm_up(self) -> None:
        """Load the models and read one frame of each camera now (a few seconds), not in the first
        vehicle's window: a first inference is slow, and the window stops before a frame that would
        outlast it."""
        nothing = Identification(plate=None)
        sample = SimVehicle("51C12345", ("MSKU3866036",), 20000.0, Scenario.CLEARED, Outcome.PASS, nothing)
        with self._lock:
            recognizer = self._loaded()
            for frame in itertools.islice(render_frames(sample), 2):
                recognizer.read_frame(frame.image, frame.kind, frame.roi)

    def _loaded(self) -> Recognizer:
        if self._recognizer is None:
            # The rendered frames are read with the text detector, a configured YOLO model or not.
            self._recognizer = build_recognizer(self.config.model_copy(update={"yolo_model": None}))
        return self._recognizer
