"""How many of the demo's cleared trucks the real pipeline would hold on its reads, as JSON lines.

Generated trucks are drawn as edge/demo/rendered.py draws them, every frame read (no identification window,
so the figure is the reading's, not this box's load; --frames N reads only the first N, what a loaded box
reads in the window), and fused as the lane fuses them. A truck is held
when its plate or a container is not read back valid, or when any container read is not valid (the
decision holds on that too). One line per held truck (its reads per frame), then the summary.

Run: python benchmarks/bench_demo_holds.py [--trucks 40] [--seed 7] [--frames 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.demo.rendered import RenderedIdentifier, render_frames
from edge.demo.traffic import Scenario, TrafficGenerator
from vision.config import VisionConfig
from vision.fuse import Observation
from vision.identifier import fuse_reads
from vision.identity import ReadKind
from vision.pipeline import build_recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trucks", type=int, default=40, help="cleared trucks with containers read")
    parser.add_argument("--seed", type=int, default=7, help="the traffic generator's seed")
    parser.add_argument(
        "--frames", type=int, default=0, help="frames read per truck, as a loaded window allows (0: all)"
    )
    args = parser.parse_args()
    cfg = VisionConfig()
    recognizer = build_recognizer(cfg.model_copy(update={"yolo_model": None}))
    RenderedIdentifier(cfg, recognizer).warm_up()
    traffic = TrafficGenerator(seed=args.seed, declarations=80, mismatch_share=0.0)
    held = seen = 0
    start = time.perf_counter()
    while seen < args.trucks:
        truck = traffic.next_vehicle()
        if truck.scenario is not Scenario.CLEARED or not truck.containers:
            continue
        seen += 1
        observations: list[Observation] = []
        per_frame: list[list[str]] = []
        frames = list(render_frames(truck))
        for frame in frames[: args.frames or len(frames)]:
            found = recognizer.read_frame(frame.image, frame.kind, frame.roi)
            observations.extend(Observation(c, frame.image, frame.camera) for c in found[:3])
            if frame.kind is ReadKind.CONTAINER:
                per_frame.append([c.text for c in found[:3]])
        ident = fuse_reads(
            observations, cfg.plate_grammar, cfg.min_valid_confidence, cfg.min_container_frames, 85
        )
        plate = ident.plate.text if ident.plate and ident.plate.valid else None
        boxes = sorted(r.text for r in ident.containers if r.valid)
        doubtful = sorted(r.text for r in ident.containers if not r.valid)  # the decision holds on these too
        if plate != truck.plate or boxes != sorted(truck.containers) or doubtful:
            held += 1
            print(
                json.dumps(
                    {
                        "truck": truck.plate,
                        "containers": truck.containers,
                        "plate_read": plate,
                        "valid": boxes,
                        "not_valid": doubtful,
                        "frames": per_frame,
                    }
                ),
                flush=True,
            )
    print(
        json.dumps(
            {
                "bench": "demo_holds",
                "seed": args.seed,
                "frames": args.frames or "all",
                "trucks": seen,
                "held": held,
                "hold_rate": round(held / seen, 3),
                "seconds": round(time.perf_counter() - start),
                "load": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
