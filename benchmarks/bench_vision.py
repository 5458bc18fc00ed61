"""Per-stage timings of the vision pipeline on a rendered 1080p frame; plain PP-OCR full-frame alongside.

The plate camera's frame (plate and container code in view), with and without its region of interest;
then the container camera's frame once per painted layout, read as deployed (the frame left once two views
read its number alike) and with every round read, interleaved.

Prints JSON lines {"bench": "vision", "metric": NAME, "value": N, "unit": UNIT}. Runs on whatever cores the
box has: on a shared box the figures are slower than on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from vision.cameras import decode_image
from vision.config import VisionConfig
from vision.fuse import Observation, fuse
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import VIETNAM
from vision.read import Image
from vision.render import CONTAINER_LAYOUTS, render_container_code, render_plate, render_scene

ROUNDS = 8
CONTAINER_ROUNDS = 4
CONTAINER = "MSKU3866036"
PLATE_ROI = (480, 540, 960, 540)  # x, y, w, h of a plate camera's region of interest


def decode(data: np.ndarray) -> Image:
    """A camera's JPEG, decoded as the camera reader does."""
    return decode_image(data.tobytes(), "bench frame")


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": "vision", "metric": metric, "value": round(value, 2), "unit": unit}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--yolo",
        type=Path,
        default=None,
        metavar="ONNX",
        help="also time this YOLO region detector side by side",
    )
    args = parser.parse_args()
    cfg = VisionConfig()
    recognizer = build_recognizer(cfg)
    scene = render_scene(
        [
            (render_plate("51C12345", height=36), (800, 800)),
            (render_container_code("MSKU3866036", height=48), (400, 300)),
        ]
    )
    ok, jpeg = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    data = np.asarray(jpeg)
    stages: dict[str, list[float]] = {"decode": [], "detect": [], "read": [], "fuse": [], "total": []}
    for _ in range(ROUNDS + 1):
        t0 = time.perf_counter()
        frame = decode(data)
        t1 = time.perf_counter()
        found = recognizer.read_frame(frame, ReadKind.PLATE)
        t2 = time.perf_counter()
        fuse([Observation(c, frame, "bench") for c in found[:1]], lambda t: (t, VIETNAM.check(t).valid))
        t3 = time.perf_counter()
        stages["decode"].append((t1 - t0) * 1000)
        stages["detect"].append(recognizer.timings.detect_ms)
        stages["read"].append(recognizer.timings.read_ms)
        stages["fuse"].append((t3 - t2) * 1000)
        stages["total"].append((t3 - t0) * 1000)
    for name, values in stages.items():
        emit(f"{name}_p50_ms", statistics.median(values[1:]), "ms")
    emit("regions_per_frame", recognizer.timings.regions, "regions")
    emit("crops_per_frame", recognizer.timings.crops, "crops")

    # A plate camera with its region of interest (the lower middle of the frame) set, as deployed.
    roi_totals = []
    for _ in range(ROUNDS + 1):
        t0 = time.perf_counter()
        frame = decode(data)
        found = recognizer.read_frame(frame, ReadKind.PLATE, roi=PLATE_ROI)
        fuse([Observation(c, frame, "bench") for c in found[:1]], lambda t: (t, VIETNAM.check(t).valid))
        roi_totals.append((time.perf_counter() - t0) * 1000)
    if not found or found[0].text != "51C12345":
        raise SystemExit(f"the plate was not read inside its region of interest: {found}")
    emit("total_roi_p50_ms", statistics.median(roi_totals[1:]), "ms")
    emit("crops_per_frame_roi", recognizer.timings.crops, "crops")

    container_frames(recognizer)
    if args.yolo is not None:
        yolo = build_recognizer(cfg.model_copy(update={"yolo_model": args.yolo}))
        side_by_side(recognizer, yolo, decode(data))

    from rapidocr import RapidOCR

    engine = RapidOCR(
        params={"Global.log_level": "error", "EngineConfig.onnxruntime.intra_op_num_threads": cfg.threads}
    )
    engine(scene)
    plain = []
    for _ in range(max(3, ROUNDS // 2)):
        t0 = time.perf_counter()
        engine(decode(data))
        plain.append((time.perf_counter() - t0) * 1000)
    emit("plain_ppocr_full_frame_p50_ms", statistics.median(plain), "ms")
    emit("speedup", statistics.median(plain) / statistics.median(stages["total"][1:]), "x")


def container_frames(recognizer: Recognizer) -> None:
    """The container camera's frame, one code per layout: per-stage medians, crops and detection passes
    per frame, read as deployed (left once two views read the number alike) and with every round read
    (`all_rounds`), the two interleaved round by round."""
    for layout in CONTAINER_LAYOUTS:
        code = render_container_code(CONTAINER, layout=layout, height=40)
        frame = render_scene([(code, (700, 150))], seed=1)
        totals: dict[bool, list[float]] = {True: [], False: []}
        detect: dict[bool, list[float]] = {True: [], False: []}
        read: dict[bool, list[float]] = {True: [], False: []}
        timings = {}
        right = {}
        for _ in range(CONTAINER_ROUNDS + 1):
            for early in (True, False):
                recognizer.early_exit = early
                t0 = time.perf_counter()
                found = recognizer.read_frame(frame, ReadKind.CONTAINER)
                totals[early].append((time.perf_counter() - t0) * 1000)
                detect[early].append(recognizer.timings.detect_ms)
                read[early].append(recognizer.timings.read_ms)
                timings[early] = recognizer.timings
                right[early] = bool(found) and found[0].text == CONTAINER and found[0].valid
        recognizer.early_exit = True
        for early, name in ((True, f"container_{layout}"), (False, f"container_{layout}_all_rounds")):
            emit(f"{name}_total_p50_ms", statistics.median(totals[early][1:]), "ms")
            emit(f"{name}_detect_p50_ms", statistics.median(detect[early][1:]), "ms")
            emit(f"{name}_read_p50_ms", statistics.median(read[early][1:]), "ms")
            emit(f"{name}_crops_per_frame", timings[early].crops, "crops")
            emit(f"{name}_detections_per_frame", timings[early].detections, "passes")
            emit(f"{name}_read_valid_and_right", int(right[early]), "bool")


def side_by_side(text: Recognizer, yolo: Recognizer, plate_frame: Image) -> None:
    """The plate frame and a container frame through both region detectors, interleaved round by round."""
    code = render_container_code(CONTAINER, layout="one_block", height=40)
    frames = {
        "plate": (plate_frame, ReadKind.PLATE, "51C12345"),
        "container": (render_scene([(code, (700, 150))], seed=1), ReadKind.CONTAINER, CONTAINER),
    }
    for name, (frame, kind, truth) in frames.items():
        totals: dict[str, list[float]] = {"text": [], "yolo": []}
        detects: dict[str, list[float]] = {"text": [], "yolo": []}
        right = {}
        for _ in range(ROUNDS + 1):
            for which, recognizer in (("text", text), ("yolo", yolo)):
                t0 = time.perf_counter()
                found = recognizer.read_frame(frame, kind)
                totals[which].append((time.perf_counter() - t0) * 1000)
                detects[which].append(recognizer.timings.detect_ms)
                right[which] = bool(found) and found[0].text == truth and found[0].valid
        for which in ("text", "yolo"):
            emit(f"{name}_frame_{which}_detector_total_p50_ms", statistics.median(totals[which][1:]), "ms")
            emit(f"{name}_frame_{which}_detector_detect_p50_ms", statistics.median(detects[which][1:]), "ms")
            emit(f"{name}_frame_{which}_detector_read_valid_and_right", int(right[which]), "bool")
        ratio = statistics.median(totals["text"][1:]) / statistics.median(totals["yolo"][1:])
        emit(f"{name}_frame_yolo_speedup", ratio, "x")


if __name__ == "__main__":
    main()
