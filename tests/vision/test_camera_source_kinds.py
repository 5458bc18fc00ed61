"""A camera `source` that cannot be a camera is refused at open with the reason, and a camera that takes
the connection but never answers is said to have timed out, not to have sent bad data."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vision.cameras import SourceError, open_source

pytestmark = pytest.mark.timeout(30)  # a FIFO held the reader forever


def test_a_fifo_source_is_refused_at_open_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "cam"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r"is a FIFO \(named pipe\): a camera source is a stream URL"):
        open_source(str(fifo))


def test_a_device_that_is_not_a_video_device_is_refused() -> None:
    with pytest.raises(SourceError, match="/dev/null is a character device that is not a video device"):
        open_source("/dev/null")


def test_a_missing_path_is_still_named() -> None:
    with pytest.raises(SourceError, match="no such video file or device: /nonexistent/cam0"):
        open_source("/nonexistent/cam0")


@pytest.fixture
def silent_camera() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server.getsockname()[1]


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_a_camera_that_never_answers_is_said_to_have_timed_out(silent_camera: int, scheme: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        open_source(f"{scheme}://127.0.0.1:{silent_camera}/stream", 1.0).read()
    assert "timed out after 1 s" in str(info.value)
    assert "Invalid data" not in str(info.value)
    assert time.monotonic() - started < 10
