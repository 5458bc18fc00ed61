"""Camera sources: one reader thread per camera keeps only the newest frame.

Network streams (rtsp://, http(s)://) are read with PyAV (stream_decoder.py), which decodes only key frames
while the camera is idle and every frame while it is active (`Camera.set_active`: the identification
window); OpenCV reads USB devices, video files, and streams PyAV cannot open. Folders of images are
replayed in name order. A source that fails is reopened with exponential backoff; while it is down the
camera is in FAULT with the reason, and the reader thread never dies of it.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from pacing.backoff import Backoff
from vision.config import CameraConfig
from vision.read import Image

log = logging.getLogger(__name__)

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
DEFAULT_STALL_S = 5.0  # CameraConfig.stall_timeout_s's default
# The largest frame a camera may send: a 4096x4096 BGR frame is 48 MiB, and each is copied a few times on
# its way through recognition. A 4K camera (3840x2160) fits; an 8192x8192 stream (hundreds of MiB per frame
# decoded and converted) faults the camera instead of exhausting the gate's memory.
MAX_FRAME_SIDE = 4096
MAX_FRAME_PIXELS = MAX_FRAME_SIDE * MAX_FRAME_SIDE
_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


class CameraState(StrEnum):
    STARTING = "STARTING"
    OK = "OK"
    FAULT = "FAULT"
    STOPPED = "STOPPED"


class SourceError(RuntimeError):
    """A source cannot be opened or gave a frame that cannot be used."""


@dataclass(frozen=True, slots=True)
class CameraStats:
    state: CameraState
    fps: float
    frames: int
    dropped: int  # frames replaced before anyone took them
    last_frame_age_s: float | None
    error: str | None
    reconnects: int


class FrameSource(Protocol):
    def read(self) -> Image:
        """The next frame; SourceError when there is none or it is unusable."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Activatable(Protocol):
    """A source that decodes less while idle (stream_decoder.StreamSource)."""

    def set_active(self, active: bool) -> None: ...


class CaptureSource:
    """An OpenCV VideoCapture: stream URL, device index or video file (replayed, looping)."""

    def __init__(self, source: str, stall_timeout_s: float = DEFAULT_STALL_S) -> None:
        self._target: str | int = int(source) if source.isdigit() else source
        stream = is_stream(source)
        # A video file is replayed in a loop; a device path (/dev/video0) is not a file and is not.
        self._file = not stream and Path(source).is_file()
        if not stream and not self._file and isinstance(self._target, str):
            _check_device(source)
        self._timeouts: list[int] = []
        if stream:
            # Bounded waits: a camera that stops sending while its connection stays open would otherwise
            # hold the reader for OpenCV's default 30 s.
            ms = round(stall_timeout_s * 1000)
            self._timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        self._source = source
        self._cap = self._open()
        self._frames = 0  # read since the source was opened or the file last started again

    def _open(self) -> cv2.VideoCapture:
        if self._timeouts:
            cap = cv2.VideoCapture(self._target, cv2.CAP_FFMPEG, self._timeouts)
        else:
            cap = cv2.VideoCapture(self._target)
        if not cap.isOpened():
            raise SourceError(f"cannot open {self._source}")
        return cap

    def read(self) -> Image:
        ok, frame = self._cap.read()
        if (not ok or frame is None) and self._file and self._frames:
            # The end of a video file: opened again and replayed from the start, as a folder of images is
            # (seeking back is not enough for every file: a one-frame video reads nothing after a seek).
            self._cap.release()
            self._cap = self._open()
            self._frames = 0
            ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceError(f"{self._source}: no frame (stream ended or camera gone)")
        self._frames += 1
        return check_frame(np.asarray(frame, dtype=np.uint8), self._source)

    def close(self) -> None:
        self._cap.release()


_VIDEO_MAJOR = 81  # Linux's video4linux devices (/dev/video*)


def _check_device(source: str) -> None:
    """A path that is neither a file nor a folder must be a video device: OpenCV would wait forever on a
    FIFO that nothing writes to, or read a disk or a terminal as if it were a camera."""
    try:
        mode = os.stat(source)
    except FileNotFoundError:
        raise SourceError(f"no such video file or device: {source}") from None
    except OSError as exc:
        raise SourceError(f"cannot open {source}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode.st_mode) or (stat.S_ISCHR(mode.st_mode) and os.major(mode.st_rdev) == _VIDEO_MAJOR):
        return
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode.st_mode)
        else "a socket"
        if stat.S_ISSOCK(mode.st_mode)
        else "a block device (a disk)"
        if stat.S_ISBLK(mode.st_mode)
        else "a character device that is not a video device"
    )
    raise SourceError(
        f"{source} is {kind}: a camera source is a stream URL, a video device (/dev/video0), a video file "
        "or a folder of images"
    )


class FolderSource:
    """A folder of images, replayed in name order and looping (the demo and the tests)."""

    def __init__(self, folder: Path) -> None:
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"{folder}: no images")
        self._next = 0

    def read(self) -> Image:
        path = self._files[self._next % len(self._files)]
        self._next += 1
        if not path.exists():
            raise SourceError(f"{path}: vanished")
        return decode_image(path.read_bytes(), str(path))

    def close(self) -> None:
        return None


def decode_image(data: bytes, name: str) -> Image:
    """Decode an encoded image; SourceError for empty, corrupt or truncated data."""
    if not data:
        raise SourceError(f"{name}: empty file")
    frame = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise SourceError(f"{name}: not a decodable image (corrupt or truncated)")
    return check_frame(np.asarray(frame, dtype=np.uint8), name)


def check_frame(frame: Image, name: str, max_pixels: int = MAX_FRAME_PIXELS) -> Image:
    """Reject empty and flat frames (a camera that sends black or no pixels) and frames over `max_pixels`."""
    if frame.size == 0 or frame.ndim != 3 or min(frame.shape[:2]) < 16:
        raise SourceError(f"{name}: empty frame")
    height, width = frame.shape[:2]
    check_frame_size(width, height, name, max_pixels)
    return frame


def check_frame_size(width: int, height: int, name: str, max_pixels: int = MAX_FRAME_PIXELS) -> None:
    """SourceError for a frame larger than `max_pixels`: checked before a frame is decoded or converted
    where its size is known first (stream_decoder.py)."""
    if width * height > max_pixels:
        raise SourceError(
            f"{name}: a frame of {width}x{height} pixels is over the limit of {max_pixels} pixels; "
            "set the camera to a lower resolution"
        )


def is_stream(source: str) -> bool:
    """A network camera's URL (rtsp://, http://, ...)."""
    return "://" in source


def is_live(source: str) -> bool:
    """A stream or a device (index or /dev path): it runs at its own rate, where files are paced."""
    return is_stream(source) or source.isdigit() or source.startswith("/dev/")


def open_source(source: str, stall_timeout_s: float = DEFAULT_STALL_S) -> FrameSource:
    """The frame source for a configured `source` string: PyAV for a stream, unless it cannot handle it."""
    path = Path(source)
    if not is_stream(source):
        return FolderSource(path) if path.is_dir() else CaptureSource(source, stall_timeout_s)
    from vision.stream_decoder import StreamSource, StreamUnsupported  # imports this module

    try:
        return StreamSource(source, stall_timeout_s)
    except StreamUnsupported as exc:
        log.info("%s: read through OpenCV (%s)", source, exc)
        return CaptureSource(source, stall_timeout_s)


class Camera:
    """A camera with its reader thread: `latest()` returns the newest frame only."""

    def __init__(
        self,
        config: CameraConfig,
        opener: Callable[[str, float], FrameSource] = open_source,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.config = config
        self._opener = opener
        self._reopen = Backoff(*backoff_s)
        self._lock = threading.Lock()
        self._frame: Image | None = None
        self._frame_at = 0.0
        self._taken = True
        self._frames = 0
        self._dropped = 0
        self._reconnects = 0
        self._state = CameraState.STARTING
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{config.id}", daemon=True)
        self._times: list[float] = []
        self._live = is_live(config.source)
        self._active = False
        self._source: FrameSource | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop the reader; by default wait as long as a stalled stream can hold it, and a second more."""
        self._stop.set()
        self._thread.join(self.config.stall_timeout_s + 1.0 if timeout_s is None else timeout_s)
        with self._lock:
            self._state = CameraState.STOPPED

    def set_active(self, active: bool) -> None:
        """Active: every frame decoded (the identification window); idle: key frames only, where the
        source can (a stream read through PyAV); other sources read every frame either way."""
        with self._lock:  # held so that the reader cannot pass on an older state to a new source
            self._active = active
            if isinstance(self._source, Activatable):
                self._source.set_active(active)

    def latest(self) -> tuple[Image, float] | None:
        """The newest frame and its monotonic time, or None if there is none yet."""
        with self._lock:
            if self._frame is None:
                return None
            self._taken = True
            return self._frame, self._frame_at

    def stats(self) -> CameraStats:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._times if now - t < 5.0]
            fps = (
                (len(recent) - 1) / (recent[-1] - recent[0])
                if len(recent) > 1 and recent[-1] > recent[0]
                else 0.0
            )
            return CameraStats(
                self._state,
                round(fps, 2),
                self._frames,
                self._dropped,
                round(now - self._frame_at, 3) if self._frame is not None else None,
                self._error,
                self._reconnects,
            )

    def _fault(self, message: str) -> None:
        with self._lock:
            if self._stop.is_set():  # a read cut short by stop(): the camera is STOPPED, not faulty
                return
            if self._error != message:
                log.warning("camera %s FAULT: %s", self.config.id, message)
            self._state = CameraState.FAULT
            self._error = message

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                source = self._opener(self.config.source, self.config.stall_timeout_s)
            except SourceError as exc:
                self._fault(str(exc))
                self._stop.wait(self._reopen.next())
                self._reconnects += 1
                continue
            with self._lock:
                self._source = source
                if isinstance(source, Activatable):
                    source.set_active(self._active)
            try:
                self._pump(source)
            finally:
                with self._lock:
                    self._source = None
                source.close()

    def _pump(self, source: FrameSource) -> None:
        """Read frames until the source fails (then wait out the backoff) or the camera stops."""
        period = 0.0 if self._live else 1.0 / self.config.fps_limit
        while not self._stop.is_set():
            try:
                frame = rotate(source.read(), self.config.rotation)
            except SourceError as exc:
                self._fault(str(exc))
                self._stop.wait(self._reopen.next())
                self._reconnects += 1
                return
            now = time.monotonic()
            with self._lock:
                if not self._taken:
                    self._dropped += 1
                self._frame, self._frame_at, self._taken = frame, now, False
                self._frames += 1
                self._times = [*self._times[-49:], now]
                if self._stop.is_set():
                    break
                if self._state is not CameraState.OK:
                    log.info("camera %s OK", self.config.id)
                self._state, self._error = CameraState.OK, None
            self._reopen.reset()
            if period:
                self._stop.wait(period)


def rotate(frame: Image, degrees: int) -> Image:
    """The frame turned clockwise by 0, 90, 180 or 270 degrees."""
    if degrees == 0:
        return frame
    return np.asarray(cv2.rotate(frame, _ROTATIONS[degrees]), dtype=np.uint8)
