"""CameraIdentifier: the lane's IdentificationSource over the configured cameras and the real models.

During the identification window, every camera's newest frame is run through the pipeline in one
inference thread (the box has two cores; parallel sessions would only fight over them), reads are
collected per object and fused when the window ends or every wanted object has enough agreeing
valid frames.

When the daemon says which texts the gate expects (`expect`: the plates and container numbers of its
cleared declarations), every frame's regions are also scored against them (vision/verifier.py), and a
read the free reading could not make valid may be matched to an expected text instead (`Read.path`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from vision import iso6346
from vision.cameras import Camera, CameraState, CameraStats, FrameSource, open_source
from vision.candidates import Candidate
from vision.config import CameraConfig, VisionConfig
from vision.fuse import Observation, fuse, group
from vision.identity import Expected, Identification, Read, ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import Grammar
from vision.read import Image
from vision.verifier import Verifier, apply, expected_texts, keep_containers, regions
from vision.verify import DEFAULT_MARGINS, Verdict

log = logging.getLogger(__name__)


class CameraIdentifier:
    """Identifies the vehicle at the stop line from the lane's cameras (IdentificationSource)."""

    def __init__(
        self,
        config: VisionConfig,
        recognizer: Recognizer | None = None,
        opener: Callable[[str, float], FrameSource] = open_source,
        verifier: Verifier | None = None,
    ) -> None:
        self.config = config
        self._grammar = config.plate_grammar
        self._recognizer = recognizer or build_recognizer(config)
        self.cameras = [Camera(c, opener) for c in config.cameras]
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-infer")
        self._verifier = verifier
        self._expected: Callable[[], Expected] | None = None

    def expect(self, source: Callable[[], Expected]) -> None:
        """Check every window's reads against `source()`, asked once per window on the caller's loop."""
        if self._verifier is None:
            self._verifier = Verifier.for_recognizer(self._recognizer)
        self._expected = source

    def start(self) -> None:
        for camera in self.cameras:
            camera.start()

    def stop(self) -> None:
        for camera in self.cameras:
            camera.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def stats(self) -> dict[str, CameraStats]:
        """Per camera: state (OK/FAULT), fps, dropped frames, last-frame age, last error."""
        return {c.config.id: c.stats() for c in self.cameras}

    @property
    def faulted(self) -> list[str]:
        return [c.config.id for c in self.cameras if c.stats().state is CameraState.FAULT]

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        """Read every camera until the window ends or the reads agree; fuse per object.

        The cameras decode every frame while the window is open, key frames only otherwise
        (`Camera.set_active`); a frame from before the window opened is not read.
        """
        for camera in self.cameras:
            camera.set_active(True)
        try:
            return await self._identify(tx_id, window_s)
        finally:
            for camera in self.cameras:
                camera.set_active(False)

    async def _identify(self, tx_id: str, window_s: float) -> Identification:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + max(0.0, window_s)
        seen = dict.fromkeys((c.config.id for c in self.cameras), time.monotonic())
        observations: list[Observation] = []
        expected = self._expected_now(tx_id)
        checked: dict[ReadKind, list[Verdict]] = {ReadKind.PLATE: [], ReadKind.CONTAINER: []}
        while True:
            fresh = False
            for camera in self.cameras:
                latest = camera.latest()
                if latest is None or latest[1] <= seen[camera.config.id]:
                    continue
                frame, at = latest
                seen[camera.config.id] = at
                fresh = True
                kind = ReadKind.PLATE if camera.config.role.reads_plates else ReadKind.CONTAINER
                found, verdicts = await loop.run_in_executor(
                    self._executor, self._read, frame, kind, camera.config, expected
                )
                observations.extend(Observation(c, frame, camera.config.id) for c in found[:3])
                checked[kind].extend(verdicts)
            if time.monotonic() >= deadline or self._settled(observations, checked):
                break
            await asyncio.sleep(self.config.frame_interval_s if fresh else 0.02)
        result = self.fuse(observations)
        if expected is not None:
            margins = self._verifier.margins if self._verifier else DEFAULT_MARGINS
            result = apply(
                result,
                checked[ReadKind.PLATE],
                checked[ReadKind.CONTAINER],
                margins,
                self._grammar,
                self.config.min_frames,
            )
        log.info(
            "tx %s identified plate=%s (%s) containers=%s from %d reads",
            tx_id,
            result.plate.text if result.plate else "-",
            result.plate.path.value if result.plate else "-",
            [f"{r.text} ({r.path.value})" for r in result.containers],
            len(observations),
        )
        return result

    def _expected_now(self, tx_id: str) -> Expected | None:
        if self._expected is None:
            return None
        try:
            return self._expected()
        except Exception as exc:  # the store failing must not stop identification: free reads only
            log.error("tx %s: the expected plates and containers could not be read: %s", tx_id, exc)
            return None

    def _read(
        self, frame: Image, kind: ReadKind, camera: CameraConfig, expected: Expected | None
    ) -> tuple[list[Candidate], list[Verdict]]:
        """One frame's reads (the inference thread), and its verdicts when texts are expected."""
        found = self._recognizer.read_frame(frame, kind, camera.roi, self.config.reading(camera))
        texts = expected_texts(expected, kind, self._grammar)
        if self._verifier is None or not texts:
            return found, []
        return found, self._verifier.check(frame, regions(found), kind, texts, found)

    def _settled(self, observations: Sequence[Observation], checked: dict[ReadKind, list[Verdict]]) -> bool:
        """Every wanted object has enough agreeing valid frames (a verified frame counts as one)."""

        def texts(kind: ReadKind) -> list[str]:
            """Each valid text once per frame that read it (two crops of one frame are one frame)."""
            valid = {
                (o.candidate.text, frame_key(o))
                for o in observations
                if o.candidate.kind is kind and o.candidate.valid
            }
            return [text for text, _ in valid] + [v.text for v in checked[kind] if v.text is not None]

        wants_plate = any(c.config.role.reads_plates for c in self.cameras)
        if wants_plate and not _agreeing(texts(ReadKind.PLATE), self.config.min_frames):
            return False
        wants_boxes = any(not c.config.role.reads_plates for c in self.cameras)
        needed = max(self.config.min_frames, self.config.min_container_frames)
        return not wants_boxes or _agreeing(texts(ReadKind.CONTAINER), needed)

    def fuse(self, observations: Sequence[Observation]) -> Identification:
        """The fused plate (best-supported group) and containers (valid groups first)."""
        return fuse_reads(
            observations,
            self._grammar,
            self.config.min_valid_confidence,
            self.config.min_container_frames,
            self.config.evidence_jpeg_quality,
        )


def fuse_reads(
    observations: Sequence[Observation],
    plate_grammar: Grammar,
    min_valid_confidence: float = 0.8,
    min_container_frames: int = 2,
    jpeg_quality: int = 85,
) -> Identification:
    """The fused plate (best-supported group) and containers (valid groups first) of one window.

    A container number is valid only when at least `min_container_frames` frames read it valid, the
    same: the check digit lets one garbage read in ten through, two independent frames one in a hundred.
    Every valid container number is kept, however many (`verifier.keep_containers`): a third one is the
    decision's to report, not to vanish.
    """
    plate_groups = group([o for o in observations if o.candidate.kind is ReadKind.PLATE])
    plate = (
        _fused(plate_groups[0], ReadKind.PLATE, plate_grammar, min_valid_confidence, 1, jpeg_quality)
        if plate_groups
        else None
    )
    boxes = [
        fused
        for g in group([o for o in observations if o.candidate.kind is ReadKind.CONTAINER])
        if (
            fused := _fused(
                g, ReadKind.CONTAINER, plate_grammar, min_valid_confidence, min_container_frames, jpeg_quality
            )
        )
        is not None
    ]
    return Identification(plate=plate, containers=keep_containers(boxes))


def _fused(
    observations: list[Observation],
    kind: ReadKind,
    plate_grammar: Grammar,
    min_valid_confidence: float,
    min_frames: int,
    jpeg_quality: int,
) -> Read | None:
    def validate(text: str) -> tuple[str, bool]:
        if kind is ReadKind.PLATE:
            match = plate_grammar.check(text)
            return match.text, match.valid
        repaired = iso6346.repair(text)
        return repaired.text, repaired.valid

    read = fuse(observations, validate, jpeg_quality)
    if read is None:
        return None
    if kind is ReadKind.PLATE:
        # The form of a grammar, when a frame's read had it by evidence (not a guessed province character).
        seen = any(o.candidate.grammar for o in observations)
        read = replace(read, grammar=plate_grammar.check(read.text).grammar if seen else "")
    agreeing = len(
        {frame_key(o) for o in observations if o.candidate.valid and o.candidate.text == read.text}
    )
    if read.confidence < min_valid_confidence or agreeing < min_frames:
        return replace(read, valid=False)
    return read


def frame_key(observation: Observation) -> int:
    """Which frame an observation came from: the same number read twice in one frame (two crops, two
    layouts) is one frame's evidence, not the two independent frames a container number needs. An
    observation without its frame (a test's, a verifier's) stands for a frame of its own."""
    return id(observation.frame) if observation.frame is not None else id(observation)


def _agreeing(texts: Sequence[str], needed: int) -> bool:
    counts: dict[str, int] = {}
    for text in texts:
        counts[text] = counts.get(text, 0) + 1
    return any(n >= needed for n in counts.values())
