"""What the demo's camera scenes cost: milliseconds to draw one 1080p frame (vision/render_scene.py, as
edge/demo/rendered.py draws them) and to read it with the real ONNX pipeline, as JSON lines.

Drawing is timed in this process's CPU time with one OpenCV thread (what a demo frame costs, whatever else
the box runs) and in wall time; reading in wall time, per camera, as a share of the lane's identification
window is what matters there. The trucks are the demo's traffic generator's, each under its own look.

Run: python benchmarks/bench_demo_frames.py [--trucks 30] [--read 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.demo.rendered import render_frames
from edge.demo.traffic import TrafficGenerator
from vision.config import VisionConfig
from vision.pipeline import build_recognizer


def emit(metric: str, value: float, unit: str, **extra: object) -> None:
    print(
        json.dumps(
            {"bench": "demo_frames", "metric": metric, "value": round(value, 1), "unit": unit, **extra}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trucks", type=int, default=30, help="trucks drawn (each 2 to 5 frames)")
    parser.add_argument("--read", type=int, default=8, help="of which read by the real models")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    traffic = TrafficGenerator(seed=3, declarations=40, mismatch_share=0.0)
    trucks = [traffic.next_vehicle() for _ in range(args.trucks)]
    list(render_frames(trucks[0]))  # the noise field is made once per frame size
    frames = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for truck in trucks:
        frames += sum(1 for _ in render_frames(truck))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    emit("draw_cpu_per_frame", 1000 * cpu / frames, "ms", frames=frames)
    emit("draw_wall_per_frame", 1000 * wall / frames, "ms", frames=frames)
    recognizer = build_recognizer(VisionConfig().model_copy(update={"yolo_model": None}))
    cv2.setNumThreads(0)
    took: dict[str, list[float]] = {}
    for n, truck in enumerate(trucks[: args.read]):
        for frame in render_frames(truck):
            start = time.perf_counter()
            recognizer.read_frame(frame.image, frame.kind, frame.roi)
            if n:  # the first truck's reads warm the sessions up
                took.setdefault(frame.camera, []).append(1000 * (time.perf_counter() - start))
    for camera, times in took.items():
        emit(f"read_{camera}_p50", statistics.median(times), "ms", frames=len(times))


if __name__ == "__main__":
    main()
