"""What readers chosen per grammar cost: the same plate crops read through each lane in turn, in one process.

A lane with Vietnamese and Chinese plates used to read every plate with PP-OCR alone; now its Vietnamese
plates are read by both readers and its Chinese ones by PP-OCR. Each crop is read by every lane before the
next crop (interleaved, so a busy box slows them alike); the median per crop and the crops the plate-trained
reader read are printed as JSON lines {"bench": "reader_lanes", "set": SET, "lane": LANE, "metric": NAME,
"value": N, "unit": UNIT}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from vision.config import VisionConfig
from vision.evaluate import load_labels
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer

LANES: dict[str, dict[str, object]] = {
    "vietnam": {"grammar": "vietnam"},
    "vietnam,china ppocr for all (before)": {"grammar": ["vietnam", "china"], "plate_readers": ["ppocr"]},
    "vietnam,china per grammar": {"grammar": ["vietnam", "china"]},
}
SETS = ("vn-plate-vito", "cn-plate-lprnet")


def _line(set_name: str, lane: str, metric: str, value: float, unit: str) -> str:
    fields = {"set": set_name, "lane": lane, "metric": metric, "value": value, "unit": unit}
    return json.dumps({"bench": "reader_lanes", **fields})


def bench(datasets: Path, n: int) -> None:
    recognizers: dict[str, Recognizer] = {
        name: build_recognizer(VisionConfig.model_validate(settings)) for name, settings in LANES.items()
    }
    for set_name in SETS:
        folder = datasets / set_name
        times: dict[str, list[float]] = {name: [] for name in recognizers}
        slot_crops = dict.fromkeys(recognizers, 0)
        samples = load_labels(folder)[:n]
        for sample in samples:
            raw = cv2.imread(str(folder / sample.filename), cv2.IMREAD_COLOR)
            if raw is None:
                raise SystemExit(f"{folder / sample.filename}: cannot decode image")
            image = np.asarray(raw, dtype=np.uint8)
            for name, recognizer in recognizers.items():
                recognizer.timings.slot_crops = 0
                start = time.perf_counter()
                recognizer.read_crop(image, ReadKind.PLATE)
                times[name].append((time.perf_counter() - start) * 1000)
                slot_crops[name] += recognizer.timings.slot_crops
        for name in recognizers:
            print(_line(set_name, name, "p50_ms", round(statistics.median(times[name]), 1), "ms"))
            print(_line(set_name, name, "plate_reader_crops", slot_crops[name], f"of {len(samples)} crops"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--n", type=int, default=120, help="crops of each set")
    args = parser.parse_args()
    bench(args.datasets, args.n)


if __name__ == "__main__":
    main()
