"""What the cameras cost while nobody looks: CPU per camera on a 1080p25 H.264 RTSP stream, idle (key frames
only), identifying (every frame) and through the old OpenCV path (every frame, always), and the time from
the identification window opening to the first current frame, as JSON lines.

The stream is a generated test pattern (PyAV's libx264, 4 Mbit/s, key frames every `--gop` frames, its frame
number drawn in), served by the tests' GStreamer RTSP server in its own process, paced and looping; the
cameras are `vision.cameras.Camera`s in this process, all on that one stream. CPU is this process's CPU
time (every thread, FFmpeg's included) per second of stream, divided by the cameras: the RTSP server's is
not counted. The three modes run in turn, `--rounds` times, and each figure is the median of its rounds.

A frame is current when the camera got it at or after the window opened and it is the frame the server was
sending then, or a later one: its drawn number against the server's pace, learnt from the earliest arrival
of the frames seen (idle key frames, decoded as they come, arrive the earliest).

The windows are opened with one camera and with all of them at once (a lane's cameras catching up together
on two cores); each catch-up (the kept packets decoded at once, the newest frame converted) is timed in
the reader thread's CPU time, which does not depend on what else the box runs.

Run: python benchmarks/bench_camera_decode.py [--cameras 5] [--gop 25] [--rounds 3] [--seconds 6]
[--openings 30]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.vision.h264_camera import frame_number, free_port, start_rtsp_server, write_pattern
from vision.cameras import Camera, CaptureSource, FrameSource
from vision.config import CameraConfig, CameraRole
from vision.read import Image
from vision.stream_decoder import StreamSource

FPS = 25
LOOP = 250  # frames in the generated pattern; the server loops it (10 s)
BENCH = "camera_decode"


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": BENCH, "metric": metric, "value": round(value, 3), "unit": unit}), flush=True)


def _opencv(source: str, stall_timeout_s: float) -> FrameSource:
    return CaptureSource(source, stall_timeout_s)


def _cameras(url: str, n: int, opener: Callable[[str, float], FrameSource]) -> list[Camera]:
    cameras = [
        Camera(CameraConfig(id=f"cam{i}", role=CameraRole.PLATE_FRONT, source=url), opener) for i in range(n)
    ]
    for camera in cameras:
        camera.start()
    deadline = time.monotonic() + 30
    while not all(c.stats().frames for c in cameras):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no frames: {[c.stats() for c in cameras]}")
        time.sleep(0.05)
    return cameras


def cpu_share(url: str, n: int, mode: str, seconds: float) -> float:
    """% of one core per camera: process CPU seconds per second of stream, over `n` cameras."""
    cameras = _cameras(url, n, _opencv if mode == "opencv" else StreamSource)
    try:
        for camera in cameras:
            camera.set_active(mode == "active")
        time.sleep(2.0)  # past the catch-up and the connection's first packets
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(seconds)
        return 100 * (time.process_time() - cpu) / (time.monotonic() - wall) / n
    finally:
        for camera in cameras:
            camera.stop()


class Pace:
    """Which frame the server is sending at a moment: learnt from the earliest arrival of frame numbers."""

    def __init__(self) -> None:
        self._phases: list[float] = []  # (arrival - number / fps) mod the loop, per frame seen

    def see(self, at: float, number: int) -> None:
        self._phases.append((at - number / FPS) % (LOOP / FPS))

    def live(self, at: float) -> int:
        """The number of the frame the server sent last at `at`."""
        period = LOOP / FPS
        first = self._phases[0]
        # The earliest arrivals, but not the very earliest: one misread number must not move the pace.
        delays = sorted((p - first + period / 2) % period - period / 2 for p in self._phases)
        start = first + delays[len(delays) // 100]
        return int(((at - start) % period) * FPS) % LOOP


def _current(number: int, live: int) -> bool:
    return (number - live) % LOOP < LOOP // 2


class TimedSource(StreamSource):
    """A StreamSource that notes each catch-up: the kept packets decoded at once on activation, and the
    reader thread's CPU seconds for it."""

    catch_ups: ClassVar[list[tuple[int, float]]] = []

    def _decode_kept(self) -> Image | None:
        kept = len(self._kept)
        if not self._active or kept < 2:
            return super()._decode_kept()
        started = time.thread_time()
        image = super()._decode_kept()
        TimedSource.catch_ups.append((kept, time.thread_time() - started))
        return image


def first_frames(url: str, n: int, openings: int, rng: random.Random) -> list[float]:
    """Seconds from set_active(True) to a current frame, per camera and opening."""
    cameras = _cameras(url, n, TimedSource)
    pace = Pace()
    latencies: list[float] = []
    try:
        _watch(cameras, pace, 4.0)
        for _ in range(openings):
            for camera in cameras:
                camera.set_active(False)
            _watch(cameras, pace, rng.uniform(0.6, 1.6))  # idle, the window opening anywhere in a GOP
            opened = time.monotonic()
            for camera in cameras:
                camera.set_active(True)
            live = pace.live(opened)
            waiting = set(range(n))
            while waiting and time.monotonic() - opened < 5.0:
                for i in list(waiting):
                    latest = cameras[i].latest()
                    if latest and latest[1] >= opened and _current(frame_number(latest[0]), live):
                        latencies.append(latest[1] - opened)
                        waiting.discard(i)
                time.sleep(0.002)
            latencies += [5.0] * len(waiting)
            _watch(cameras, pace, 0.3)
    finally:
        for camera in cameras:
            camera.stop()
    return latencies


def _watch(cameras: list[Camera], pace: Pace, seconds: float) -> None:
    end = time.monotonic() + seconds
    seen: set[float] = set()
    while time.monotonic() < end:
        for camera in cameras:
            latest = camera.latest()
            if latest and latest[1] not in seen:
                seen.add(latest[1])
                pace.see(latest[1], frame_number(latest[0]))
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=5)
    parser.add_argument("--gop", type=int, default=25, help="frames from one key frame to the next")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="CPU measured per mode and round")
    parser.add_argument("--openings", type=int, default=30, help="windows opened, with 1 and all cameras")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        units = Path(tmp) / "pattern.h264au"
        write_pattern(units, size=(1920, 1080), frames=LOOP, fps=FPS, gop=args.gop, bitrate=4_000_000)
        port = free_port()
        server = start_rtsp_server(port, units, FPS)
        url = f"rtsp://127.0.0.1:{port}/cam"
        try:
            shares: dict[str, list[float]] = {"idle": [], "active": [], "opencv": []}
            for _ in range(args.rounds):
                for mode, values in shares.items():
                    values.append(cpu_share(url, args.cameras, mode, args.seconds))
            openings = {
                k: first_frames(url, k, args.openings, random.Random(13)) for k in sorted({1, args.cameras})
            }
        finally:
            server.kill()
            server.wait()
    emit("cameras", args.cameras, "cameras")
    emit("gop", args.gop, "frames")
    emit("idle_cpu_per_camera", statistics.median(shares["idle"]), "% of a core")
    emit("identifying_cpu_per_camera", statistics.median(shares["active"]), "% of a core")
    emit("opencv_cpu_per_camera", statistics.median(shares["opencv"]), "% of a core")
    emit("idle_vs_opencv", statistics.median(shares["opencv"]) / statistics.median(shares["idle"]), "x")
    for k, latencies in openings.items():
        ms = sorted(1000 * s for s in latencies)
        name = f"first_current_frame_{k}_camera{'s' if k > 1 else ''}"
        emit(f"{name}_p50", statistics.median(ms), "ms")
        emit(f"{name}_p95", ms[int(0.95 * (len(ms) - 1))], "ms")
        emit(f"{name}_max", ms[-1], "ms")
    packets, cpu = zip(*TimedSource.catch_ups, strict=True)
    emit("catch_up_packets_p50", statistics.median(packets), "packets")
    emit("catch_up_cpu_p50", 1000 * statistics.median(cpu), "ms")
    emit("catch_up_cpu_max", 1000 * max(cpu), "ms")
    emit("catch_up_cpu_per_packet", 1000 * sum(cpu) / sum(packets), "ms")
    emit("openings", args.openings, "windows opened per camera count")


if __name__ == "__main__":
    main()
