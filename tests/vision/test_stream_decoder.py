"""What a camera decodes while the lane is idle and when the identification window opens, on a real H.264
RTSP stream: a generated pattern with its frame number drawn in (h264_camera.py), served by GStreamer's RTSP
server in its own process, paced at 25 fps and looping every 250 frames (10 s).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.vision.conftest import wait_until
from tests.vision.h264_camera import frame_number, free_port, read_units, start_rtsp_server, write_pattern
from vision.cameras import Camera, CameraState, FrameSource, SourceError, open_source
from vision.config import CameraConfig, CameraRole, VisionConfig
from vision.identifier import CameraIdentifier
from vision.pipeline import Recognizer
from vision.stream_decoder import StreamSource

GOP = 25
LOOP = 250
FPS = 25


@pytest.fixture(scope="module")
def patterns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated streams: key frames every 25 frames, every 250 (one a loop), and none."""
    folder = tmp_path_factory.mktemp("h264")
    made = {"gop25": folder / "gop25.au", "gop250": folder / "gop250.au", "no_keys": folder / "no_keys.au"}
    write_pattern(made["gop25"], gop=GOP)
    write_pattern(made["gop250"], gop=LOOP)
    write_pattern(made["no_keys"], gop=GOP, drop_key_frames=True)
    return made


@pytest.fixture
def serve() -> Iterator[Callable[[Path], tuple[str, subprocess.Popen[str]]]]:
    """Serves a generated stream over RTSP on a free port: its URL and the server process (killed after)."""
    started: list[subprocess.Popen[str]] = []

    def start(units: Path) -> tuple[str, subprocess.Popen[str]]:
        port = free_port()
        started.append(start_rtsp_server(port, units, FPS))
        return f"rtsp://127.0.0.1:{port}/cam", started[-1]

    yield start
    for server in started:
        os.kill(server.pid, signal.SIGCONT)
        server.kill()
        server.wait()


def _ahead(number: int, of: int) -> int:
    """How many frames `number` is after `of`, across the loop (negative: before)."""
    return (number - of + LOOP // 2) % LOOP - LOOP // 2


def test_idle_stream_decodes_only_key_frames_and_active_every_frame(
    patterns: dict[str, Path], serve: Callable[[Path], tuple[str, subprocess.Popen[str]]]
) -> None:
    url, _ = serve(patterns["gop25"])
    source = StreamSource(url, 5.0)
    try:
        idle = [frame_number(source.read()) for _ in range(3)]
        stats = source.stats()
        assert all(n % GOP == 0 for n in idle), idle  # key frames only
        assert stats.decoded == stats.returned == 3
        assert stats.decoded <= stats.keys
        assert stats.packets >= 2 * GOP  # every packet received: two GOPs went by, 3 frames decoded

        source.set_active(True)
        active = [frame_number(source.read()) for _ in range(2 * GOP)]
        assert [_ahead(b, a) for a, b in itertools.pairwise(active)] == [1] * (2 * GOP - 1)
        assert source.stats().decoded >= stats.decoded + 2 * GOP

        source.set_active(False)  # idle again: the next frames are key frames, a GOP or more apart
        again = [frame_number(source.read()) for _ in range(2)]
        assert all(n % GOP == 0 for n in again), again
    finally:
        source.close()


def _stream_camera(url: str, stall_timeout_s: float = 5.0) -> tuple[Camera, list[FrameSource]]:
    opened: list[FrameSource] = []

    def opener(source: str, stall_s: float) -> FrameSource:
        opened.append(open_source(source, stall_s))
        return opened[-1]

    config = CameraConfig(
        id="lane-h264", role=CameraRole.PLATE_FRONT, source=url, stall_timeout_s=stall_timeout_s
    )
    return Camera(config, opener, backoff_s=(0.2, 0.5)), opened


def test_activating_a_camera_gives_the_current_frame_at_once_not_the_next_key_frame(
    patterns: dict[str, Path], serve: Callable[[Path], tuple[str, subprocess.Popen[str]]]
) -> None:
    url, _ = serve(patterns["gop25"])
    camera, opened = _stream_camera(url)
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 1), camera.stats()
        assert isinstance(opened[0], StreamSource)
        for _ in range(3):
            idle = time.monotonic() + 0.2  # a frame decoded while it was active may still come
            assert wait_until(lambda t=idle: (latest := camera.latest()) is not None and latest[1] > t)  # type: ignore[misc]
            key = camera.latest()
            assert key is not None
            assert frame_number(key[0]) % GOP == 0
            # 0.4 s after that key frame: the next one is 0.6 s away.
            time.sleep(max(0.0, 0.4 - (time.monotonic() - key[1])))
            activated = time.monotonic()
            camera.set_active(True)
            live = (frame_number(key[0]) + round((activated - key[1]) * FPS)) % LOOP
            assert wait_until(lambda t=activated: (latest := camera.latest()) is not None and latest[1] >= t)  # type: ignore[misc]
            frame, at = camera.latest() or key
            number = frame_number(frame)
            # The frame being sent when the window opened, or the next: decoded from the kept packets.
            assert -1 <= _ahead(number, live) <= 3, (number, live)
            assert number % GOP != 0
            assert at - activated < 0.5
            assert wait_until(lambda: camera.stats().fps > 15)  # then every frame
            camera.set_active(False)
        assert camera.stats().state is CameraState.OK
    finally:
        camera.stop()


def test_kept_packets_are_bounded_on_a_stream_with_a_long_gop(
    patterns: dict[str, Path], serve: Callable[[Path], tuple[str, subprocess.Popen[str]]]
) -> None:
    url, _ = serve(patterns["gop250"])  # a key frame every 10 s
    by_count = StreamSource(url, 5.0, max_kept_packets=20)
    try:
        numbers = [frame_number(by_count.read()) for _ in range(6)]
        stats = by_count.stats()
        assert stats.kept_peak == 20
        assert stats.early >= 4  # the kept packets decoded when 20 were kept, and the newest returned
        assert [_ahead(b, a) for a, b in itertools.pairwise(numbers)] == [20] * 5
    finally:
        by_count.close()
    by_bytes = StreamSource(url, 5.0, max_kept_bytes=20_000)
    try:
        for _ in range(4):
            by_bytes.read()
        stats = by_bytes.stats()
        # One packet past the bound at most (the one that reached it).
        assert 20_000 <= stats.kept_bytes_peak < 20_000 + max(len(u) for u in read_units(patterns["gop250"]))
        assert stats.kept_peak < 20
    finally:
        by_bytes.close()


def test_idle_camera_on_a_long_gop_keeps_a_frame_younger_than_its_stall_timeout(
    patterns: dict[str, Path], serve: Callable[[Path], tuple[str, subprocess.Popen[str]]]
) -> None:
    url, _ = serve(patterns["gop250"])
    camera, _ = _stream_camera(url, stall_timeout_s=2.0)
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 1), camera.stats()
        ages = []
        for _ in range(20):  # 4 s, two stall timeouts, with no key frame in most of it
            time.sleep(0.2)
            stats = camera.stats()
            assert stats.state is CameraState.OK, stats
            ages.append(stats.last_frame_age_s or 0.0)
        assert max(ages) < 2.0
        assert camera.stats().reconnects == 0
    finally:
        camera.stop()


def test_stream_without_key_frames_faults_and_keeps_nothing(
    patterns: dict[str, Path], serve: Callable[[Path], tuple[str, subprocess.Popen[str]]]
) -> None:
    url, _ = serve(patterns["no_keys"])
    source = StreamSource(url, 2.0)
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match="no decodable frame in 2 s \\(no key frame\\)"):
            source.read()
        assert 2.0 <= time.monotonic() - started < 4.0
        stats = source.stats()
        assert stats.packets > FPS  # the stream came, nothing of it could be decoded
        assert (stats.keys, stats.kept_peak, stats.decoded) == (0, 0, 0)
    finally:
        source.close()


def test_stalled_h264_camera_faults_and_recovers_when_it_sends_again(
    patterns: dict[str, Path], serve: Callable[[Path], tuple[str, subprocess.Popen[str]]]
) -> None:
    url, server = serve(patterns["gop25"])
    camera, opened = _stream_camera(url, stall_timeout_s=1.5)
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 1), camera.stats()
        os.kill(server.pid, signal.SIGSTOP)  # connection open, nothing sent
        stalled = time.monotonic()
        assert wait_until(lambda: camera.stats().state is CameraState.FAULT), camera.stats()
        assert time.monotonic() - stalled < 3.5
        assert "stalled" in (camera.stats().error or "")
        os.kill(server.pid, signal.SIGCONT)
        frames = camera.stats().frames
        assert wait_until(lambda: camera.stats().state is CameraState.OK and camera.stats().frames > frames)
        assert camera.stats().reconnects >= 1
        assert len(opened) >= 2
        assert isinstance(opened[-1], StreamSource)
    finally:
        camera.stop()


def test_a_stream_pyav_cannot_open_is_tried_through_opencv() -> None:
    # No FFmpeg protocol of that name: PyAV refuses it as unsupported, OpenCV is asked, and says it cannot.
    with pytest.raises(SourceError, match=r"^cannot open nosuch://camera/1$"):
        open_source("nosuch://camera/1", 1.0)


async def test_identification_window_decodes_every_frame_only_while_it_is_open(
    patterns: dict[str, Path],
    serve: Callable[[Path], tuple[str, subprocess.Popen[str]]],
    recognizer: Recognizer,
) -> None:
    url, _ = serve(patterns["gop25"])
    opened: list[StreamSource] = []

    def opener(source: str, stall_timeout_s: float) -> FrameSource:
        opened.append(StreamSource(source, stall_timeout_s))
        return opened[-1]

    camera = CameraConfig(id="front", role=CameraRole.PLATE_FRONT, source=url)
    identifier = CameraIdentifier(VisionConfig(cameras=(camera,)), recognizer=recognizer, opener=opener)
    identifier.start()
    try:
        assert wait_until(lambda: identifier.stats()["front"].frames >= 1)
        before = opened[0].stats().decoded
        await identifier.identify("tx1", 1.0)  # the pattern holds no plate: the whole window
        during = opened[0].stats().decoded - before
        await asyncio.sleep(1.0)
        after = opened[0].stats().decoded - before - during
        assert during >= 20  # a second of 25 fps, and the kept packets at the start
        assert after <= 2  # idle again: a key frame each 1.5 s
    finally:
        identifier.stop()
