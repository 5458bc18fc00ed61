"""Recognition settings side by side on a labelled set: each image read by every setting in turn.

A shared box's load changes from one minute to the next, so two runs one after the other compare the
load as much as the code. Here each image is read by each setting, the order alternating from image to
image, in one process, and the figures (exact, valid, valid right, p50 / p95 ms, PP-OCR crops and input
pixels, detections) come out per setting with the load average at the start and the end, and every
image whose read differs between settings is named.

    python benchmarks/bench_recognition_side_by_side.py --dataset ../shared/datasets/container-marsa \
        --kind container
    python benchmarks/bench_recognition_side_by_side.py --dataset ../shared/datasets/plates-openalpr/eu \
        --kind plate --grammar generic

Settings: `unpacked` (each crop padded alone to the model's 320 px, as before) and `packed` (narrow
container crops share an input row: vision/read.py). Prints JSON lines {"bench": "recognition", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vision.config import VisionConfig
from vision.evaluate import Sample, load_labels, pick
from vision.identity import ReadKind
from vision.pipeline import Recognizer, Timings, build_recognizer
from vision.read import Image, TextReader
from vision.render import CONTAINER_LAYOUTS, render_container_code, render_scene


def _packing(on: bool) -> Callable[[Recognizer], None]:
    def apply(recognizer: Recognizer) -> None:
        recognizer.reader.pack = on

    return apply


SETTINGS: dict[str, Callable[[Recognizer], None]] = {
    "unpacked": _packing(False),
    "packed": _packing(True),
}


RENDERED = "MSKU3866036"
RENDERED_AT = (700, 150)
MARSA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "container-marsa"


@dataclass
class Tally:
    """One setting's reads of the set, in the set's order."""

    reads: list[tuple[str, bool]] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    crops: int = 0
    pixels: int = 0  # the recognition model's input columns (rows x width), padding included
    detections: int = 0


class PixelCount:
    """Counts the recognition model's input columns, by wrapping its session's run."""

    def __init__(self, reader: TextReader) -> None:
        self.columns = 0
        session = reader._session  # the bench measures what the model is given
        run = session.run

        def counted(names: object, feed: dict[str, np.ndarray]) -> object:
            tensor = next(iter(feed.values()))
            self.columns += int(tensor.shape[0] * tensor.shape[3])
            return run(names, feed)

        session.run = counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=MARSA, help=f"a folder with labels.csv ({MARSA})")
    parser.add_argument("--kind", choices=("plate", "container"), default="container")
    parser.add_argument("--grammar", default=None, help="plate grammar (as gate-edge vision eval --grammar)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument(
        "--rendered",
        type=int,
        default=0,
        metavar="N",
        help="instead of --dataset: the container camera's rendered frame of each painted layout, N times",
    )
    parser.add_argument(
        "--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}"
    )
    args = parser.parse_args()
    if not args.rendered and not (args.dataset / "labels.csv").is_file():
        if args.dataset == MARSA:  # `make bench` on a box without the shared sets
            print(json.dumps({"bench": "recognition", "skipped": f"no labels.csv in {MARSA}"}))
            return
        parser.error(f"--dataset: no labels.csv in {args.dataset}")
    names = args.settings.split(",")
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"--settings: unknown {unknown[0]!r}; known: {', '.join(SETTINGS)}")
    settings = {} if args.grammar is None else {"grammar": args.grammar}
    recognizer = build_recognizer(VisionConfig.model_validate(settings))
    kind = ReadKind(args.kind)
    pixels = PixelCount(recognizer.reader)
    samples = _rendered(args.rendered) if args.rendered else load_labels(args.dataset)[: args.limit]
    kind = ReadKind.CONTAINER if args.rendered else kind
    frames = {layout: _render(layout) for layout in CONTAINER_LAYOUTS} if args.rendered else {}
    tallies = {n: Tally() for n in names}
    load_before = os.getloadavg()[0]
    for k, sample in enumerate(samples):
        image = frames.get(sample.filename)
        if image is None:
            image = np.asarray(
                cv2.imread(str(args.dataset / sample.filename), cv2.IMREAD_COLOR), dtype=np.uint8
            )
        for name in names if k % 2 == 0 else names[::-1]:
            SETTINGS[name](recognizer)
            tally = tallies[name]
            before = pixels.columns
            recognizer.timings = Timings()  # read_crop adds to the last frame's
            start = time.perf_counter()
            text, valid = _read(recognizer, image, kind, sample.box)
            tally.ms.append((time.perf_counter() - start) * 1000)
            tally.reads.append((text, valid))
            tally.crops += recognizer.timings.crops
            tally.detections += recognizer.timings.detections
            tally.pixels += (pixels.columns - before) * 48
    load_after = os.getloadavg()[0]
    truth = [s.text for s in samples]
    first = tallies[names[0]]
    for name, tally in tallies.items():
        right = [(t, r) for t, (r, v) in zip(truth, tally.reads, strict=True) if v]
        p50 = statistics.median(tally.ms)
        record: dict[str, object] = {
            "bench": "recognition",
            "set": "rendered layouts" if args.rendered else args.dataset.name,
            "setting": name,
            "n": len(samples),
            "exact": sum(t == r for t, (r, _) in zip(truth, tally.reads, strict=True)),
            "valid": len(right),
            "valid_right": sum(t == r for t, r in right),
            "p50_ms": round(p50, 1),
            "p95_ms": round(float(np.percentile(tally.ms, 95)), 1),
            "p50_vs_first": round(p50 / statistics.median(first.ms), 3),
            "median_ratio_per_image": round(
                statistics.median(a / b for a, b in zip(tally.ms, first.ms, strict=True)), 3
            ),
            "crops": tally.crops,
            "input_mpixels": round(tally.pixels / 1e6, 1),
            "detections": tally.detections,
            "load_average": [round(load_before, 1), round(load_after, 1)],
        }
        if args.rendered:
            record["p50_ms_by_layout"] = {
                layout: round(
                    statistics.median(
                        ms for s, ms in zip(samples, tally.ms, strict=True) if s.filename == layout
                    ),
                    1,
                )
                for layout in CONTAINER_LAYOUTS
            }
        print(json.dumps(record))
    for i, sample in enumerate(samples):
        reads = {name: tallies[name].reads[i] for name in names}
        if len(set(reads.values())) > 1:
            print(
                json.dumps({"bench": "recognition", "differs": sample.filename, "label": sample.text} | reads)
            )


def _render(layout: str) -> Image:
    """bench_vision.py's container camera frame: one code painted in `layout`."""
    code = render_container_code(RENDERED, layout=layout, height=40)
    return render_scene([(code, RENDERED_AT)], seed=1)


def _rendered(times: int) -> list[Sample]:
    """Each layout's frame `times` times, labelled with the code's box."""
    boxes = {}
    for layout in CONTAINER_LAYOUTS:
        h, w = render_container_code(RENDERED, layout=layout, height=40).shape[:2]
        boxes[layout] = (*RENDERED_AT, w, h)
    return [Sample(layout, RENDERED, boxes[layout]) for _ in range(times) for layout in CONTAINER_LAYOUTS]


def _read(
    recognizer: Recognizer, image: Image, kind: ReadKind, box: tuple[int, int, int, int] | None
) -> tuple[str, bool]:
    found = (
        recognizer.read_crop(image, kind) if box is None else pick(recognizer.read_frame(image, kind), box)
    )
    return (found.text, found.valid) if found else ("", False)


if __name__ == "__main__":
    main()
