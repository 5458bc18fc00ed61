"""Cameras on real streams and files: an RTSP camera (GStreamer's RTSP server, in its own process) that goes
away and comes back, an HTTP MJPEG camera served here (what many IP cameras offer beside RTSP) that stalls,
dies and comes back, both read through PyAV (vision/stream_decoder.py), and a video file through OpenCV.
The H.264 streams and what the cameras decode while idle: test_stream_decoder.py.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision.conftest import wait_until
from tests.vision.h264_camera import start_rtsp_server
from vision.cameras import Camera, CameraState
from vision.config import CameraConfig, CameraRole
from vision.render import render_plate, render_scene


class MjpegCamera:
    """An HTTP server sending one JPEG frame every 50 ms as multipart/x-mixed-replace, like an IP camera.

    `stall()` keeps the connections open and sends nothing; `stop()` closes everything; `start()` again
    serves on the same port.
    """

    def __init__(self, frame: np.ndarray) -> None:
        ok, jpeg = cv2.imencode(".jpg", frame)
        assert ok
        self.jpeg = jpeg.tobytes()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/video.mjpg"
        self.sending = threading.Event()
        self.serving = threading.Event()
        self._server: http.server.HTTPServer | None = None

    def start(self) -> None:
        camera = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(camera.jpeg)
                try:
                    while camera.serving.is_set():
                        if camera.sending.is_set():
                            self.wfile.write(part + camera.jpeg + b"\r\n")
                        time.sleep(0.05)
                except OSError:
                    return

            def log_message(self, *args: object) -> None:
                return None

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        server = Server(("127.0.0.1", self.port), Handler)
        self._server = server
        self.serving.set()
        self.sending.set()
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stall(self) -> None:
        self.sending.clear()

    def resume(self) -> None:
        self.sending.set()

    def stop(self) -> None:
        self.serving.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def test_stream_camera_faults_on_a_stall_and_on_loss_and_comes_back() -> None:
    frame = render_scene([(render_plate("51C12345", height=40), (200, 200))], size=(640, 480))
    server = MjpegCamera(frame)
    server.start()
    config = CameraConfig(id="gate-ip", role=CameraRole.PLATE_FRONT, source=server.url, stall_timeout_s=1.0)
    camera = Camera(config, backoff_s=(0.1, 0.4))
    camera.set_active(True)  # every frame, as in an identification window (idle: a frame a second or so)
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 5), camera.stats()
        stats = camera.stats()
        assert stats.state is CameraState.OK
        assert stats.fps > 5  # the stream's own rate (20 fps served), not the file fps_limit
        latest = camera.latest()
        assert latest is not None
        assert latest[0].shape == frame.shape

        server.stall()  # connection open, no frames: FAULT after the stall timeout, not OpenCV's 30 s
        stalled_at = time.monotonic()
        assert wait_until(lambda: camera.stats().state is CameraState.FAULT), camera.stats()
        assert time.monotonic() - stalled_at < 5.0
        server.resume()
        assert wait_until(lambda: camera.stats().state is CameraState.OK), camera.stats()

        server.stop()  # the camera is gone: FAULT, and reopened with backoff until it is back
        assert wait_until(lambda: camera.stats().state is CameraState.FAULT), camera.stats()
        before = camera.stats().reconnects
        assert wait_until(lambda: camera.stats().reconnects > before + 1)  # tries again and again
        frames = camera.stats().frames
        server.start()
        assert wait_until(lambda: camera.stats().state is CameraState.OK and camera.stats().frames > frames)
    finally:
        camera.stop()
        server.stop()


@pytest.fixture
def rtsp_cameras() -> Iterator[Callable[[int], subprocess.Popen[str]]]:
    """Starts GStreamer RTSP servers on a port (each waited for, at most 20 s); kills every one at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(port: int) -> subprocess.Popen[str]:
        started.append(start_rtsp_server(port))
        return started[-1]

    yield start
    for server in started:
        server.kill()
        server.wait()


def test_rtsp_camera_reads_frames_faults_when_the_camera_goes_and_recovers(
    rtsp_cameras: Callable[[int], subprocess.Popen[str]],
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = rtsp_cameras(port)
    config = CameraConfig(
        id="gate-rtsp",
        role=CameraRole.PLATE_FRONT,
        source=f"rtsp://127.0.0.1:{port}/cam",
        stall_timeout_s=2.0,
    )
    camera = Camera(config, backoff_s=(0.2, 0.5))
    camera.set_active(True)
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 10, timeout=15), camera.stats()
        stats = camera.stats()
        assert stats.state is CameraState.OK
        assert stats.fps > 5  # the camera's 15 fps, not a file's fps_limit
        latest = camera.latest()
        assert latest is not None
        assert latest[0].shape == (480, 640, 3)

        server.kill()  # the camera loses power
        server.wait()
        assert wait_until(lambda: camera.stats().state is CameraState.FAULT), camera.stats()
        frames = camera.stats().frames
        rtsp_cameras(port)  # and comes back
        assert wait_until(lambda: camera.stats().frames > frames + 5, timeout=15), camera.stats()
        assert camera.stats().state is CameraState.OK
        assert camera.stats().reconnects >= 1
    finally:
        camera.stop()


@pytest.mark.parametrize("frames", [4, 1], ids=["four-frames", "one-frame"])
def test_video_file_is_replayed_looping_without_a_fault(tmp_path: Path, frames: int) -> None:
    # A one-frame video reads nothing after seeking back to its start: it is opened again instead.
    video = tmp_path / "lane.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(frames):
        writer.write(cv2.resize(render_plate(f"51C1234{i}", height=40), (320, 240)))
    writer.release()
    camera = Camera(
        CameraConfig(id="replay", role=CameraRole.PLATE_FRONT, source=str(video), fps_limit=100),
        backoff_s=(0.05, 0.1),
    )
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 3 * frames + 2), (
            camera.stats()
        )  # round the file 3 times
        stats = camera.stats()
        assert stats.state is CameraState.OK
        assert (stats.reconnects, stats.error) == (0, None)
    finally:
        camera.stop()


def test_stopping_during_a_stall_leaves_the_camera_stopped_not_faulty() -> None:
    frame = render_scene([(render_plate("51C12345", height=40), (200, 200))], size=(640, 480))
    server = MjpegCamera(frame)
    server.start()
    camera = Camera(
        CameraConfig(id="ip", role=CameraRole.PLATE_FRONT, source=server.url, stall_timeout_s=1.5),
        backoff_s=(0.1, 0.4),
    )
    camera.start()
    try:
        assert wait_until(lambda: camera.stats().frames >= 3), camera.stats()
        server.stall()
        time.sleep(0.3)  # the reader is now waiting on a read that will time out
        camera.stop()  # waits out the stalled read
        time.sleep(0.5)
        assert camera.stats().state is CameraState.STOPPED
        assert camera.stats().error is None
    finally:
        server.stop()
