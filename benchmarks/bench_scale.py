"""Scale parser throughput: frames parsed per second for each protocol, as JSON lines.

An indicator streams 10-50 frames/s, so any figure in the tens of thousands leaves the reader thread idle;
this bench exists to catch a regression by orders of magnitude (e.g. quadratic buffering).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.ascii_format import encode_ascii
from devices.scale.mtsics import encode_mtsics
from devices.scale.parsers import make_parser
from devices.scale.toledo import encode_toledo

FRAMES = 100_000
CHUNK = 4096  # roughly what one read of a busy port returns
BUDGET_S = 4.0  # per protocol


def _stream(encode: Callable[[float, bool], bytes], rng: random.Random) -> bytes:
    return b"".join(encode(rng.randrange(0, 60_000, 20), rng.random() < 0.3) for _ in range(FRAMES))


def _frames_per_s(config: ScaleConfig, stream: bytes) -> float:
    """Best of repeated full passes within the time budget."""
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    best = 0.0
    deadline = time.perf_counter() + BUDGET_S
    while time.perf_counter() < deadline:
        parser = make_parser(config)
        started = time.perf_counter()
        count = 0
        for chunk in chunks:
            count += len(parser.feed(chunk, 0.0))
        elapsed = time.perf_counter() - started
        assert count == FRAMES, f"{config.protocol}: parsed {count} of {FRAMES}"
        best = max(best, count / elapsed)
    return best


def main() -> None:
    rng = random.Random(6346)
    cases = [
        (
            "toledo_frames_per_s",
            ScaleConfig(protocol=ScaleProtocol.TOLEDO, toledo_checksum=True),
            _stream(lambda kg, motion: encode_toledo(kg, 0.0, motion, False, 0, True), rng),
        ),
        (
            "mtsics_frames_per_s",
            ScaleConfig(protocol=ScaleProtocol.MTSICS),
            _stream(lambda kg, motion: encode_mtsics(kg, motion=motion, decimals=0), rng),
        ),
        (
            "ascii_frames_per_s",
            ScaleConfig(protocol=ScaleProtocol.ASCII),
            _stream(lambda kg, motion: encode_ascii(kg, motion), rng),
        ),
    ]
    for metric, config, stream in cases:
        value = _frames_per_s(config, stream)
        print(json.dumps({"bench": "scale", "metric": metric, "value": round(value), "unit": "frames/s"}))


if __name__ == "__main__":
    main()
