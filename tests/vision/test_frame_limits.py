"""A camera that sends frames too large to hold faults with the reason, before the frame is decoded where its
size is known first: generated H.264 streams (MPEG-TS files read through PyAV, as a network stream is)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.vision.conftest import wait_until
from vision.cameras import MAX_FRAME_PIXELS, Camera, CameraState, SourceError, check_frame, open_source
from vision.config import CameraConfig, CameraRole
from vision.stream_decoder import IDLE_FRAME_INTERVAL_S, StreamSource, StreamUnsupported

OVER = 4112  # 4112x4112 is just over 4096x4096


def _h264(width: int, height: int, frames: int) -> bytes:
    """An MPEG-TS H.264 stream of `frames` flat frames."""
    out = io.BytesIO()
    container = av.open(out, "w", format="mpegts")
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.options = {"preset": "ultrafast"}
    for i in range(frames):
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([i * 20 % 256]) * plane.buffer_size)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return out.getvalue()


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("limits")
    made = {
        "oversized": _h264(OVER, OVER, 1),
        "small": _h264(320, 240, 5),
        # A camera that changes its resolution mid-stream, after the 1 s the stream is probed for when opened:
        # 2 s of 320x240, then 640x480 (a new SPS and key frame).
        "grows": _h264(320, 240, 50) + _h264(640, 480, 5),
    }
    urls = {}
    for name, data in made.items():
        path: Path = folder / f"{name}.ts"
        path.write_bytes(data)
        urls[name] = f"file://{path}"
    return urls


def test_a_frame_over_the_pixel_limit_is_refused_and_a_4k_frame_is_not() -> None:
    # Views of one pixel: the test allocates no such frames.
    pixel = np.zeros((1, 1, 3), np.uint8)
    uhd = np.broadcast_to(pixel, (2160, 3840, 3))
    assert check_frame(uhd, "cam") is uhd
    assert MAX_FRAME_PIXELS == 4096 * 4096
    with pytest.raises(SourceError, match=r"^cam: a frame of 4096x4097 pixels is over the limit of 16777216"):
        check_frame(np.broadcast_to(pixel, (4097, 4096, 3)), "cam")
    with pytest.raises(SourceError, match="a frame of 640x480 pixels is over the limit of 1000 pixels"):
        check_frame(np.broadcast_to(pixel, (480, 640, 3)), "cam", max_pixels=1000)


def test_an_oversized_stream_is_refused_when_opened_and_not_handed_to_opencv(streams: dict[str, str]) -> None:
    url = streams["oversized"]
    with pytest.raises(SourceError, match=f"a frame of {OVER}x{OVER} pixels is over the limit") as info:
        StreamSource(url, 3.0)
    assert not isinstance(info.value, StreamUnsupported)  # which would fall back to OpenCV's capture
    with pytest.raises(SourceError, match="over the limit"):
        open_source(url, 3.0)


def test_the_limit_is_a_setting_of_the_source(streams: dict[str, str]) -> None:
    with pytest.raises(SourceError, match="a frame of 320x240 pixels is over the limit of 76799 pixels"):
        StreamSource(streams["small"], 3.0, max_pixels=320 * 240 - 1)
    source = StreamSource(streams["small"], 3.0, max_pixels=320 * 240)
    try:
        assert source.read().shape == (240, 320, 3)
    finally:
        source.close()


@pytest.mark.parametrize("active", [True, False])
def test_a_stream_that_grows_over_the_limit_is_refused_at_its_first_large_frame(
    streams: dict[str, str], active: bool
) -> None:
    source = StreamSource(streams["grows"], 3.0, max_pixels=320 * 240)
    source.set_active(active)
    try:
        # Idle, a key frame is decoded only when the last frame is IDLE_FRAME_INTERVAL_S old; the file is read
        # as fast as it goes, so the reads wait that long.
        shapes, error = _read_until_refused(source, 0.0 if active else IDLE_FRAME_INTERVAL_S)
        assert "a frame of 640x480 pixels is over the limit of 76800 pixels" in error
        assert shapes
        assert set(shapes) == {(240, 320, 3)}
        assert source.stats().kept == 0
    finally:
        source.close()


def _read_until_refused(source: StreamSource, pause_s: float) -> tuple[list[tuple[int, ...]], str]:
    """The shapes of the frames read (`pause_s` apart) before the source raised, and its message."""
    shapes: list[tuple[int, ...]] = []
    for _ in range(80):
        try:
            shapes.append(source.read().shape)
        except SourceError as exc:
            return shapes, str(exc)
        time.sleep(pause_s)
    raise AssertionError(f"no SourceError after {shapes}")


def test_a_camera_sending_oversized_frames_is_in_fault_with_the_reason(streams: dict[str, str]) -> None:
    config = CameraConfig(
        id="big", role=CameraRole.PLATE_FRONT, source=streams["oversized"], stall_timeout_s=2
    )
    camera = Camera(config, backoff_s=(0.2, 0.5))
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().state is CameraState.FAULT), camera.stats()
        assert "over the limit" in (camera.stats().error or "")
        assert camera.latest() is None
    finally:
        camera.stop()
