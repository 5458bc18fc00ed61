"""Checks every scale parser must pass, whatever its protocol: each protocol's tests feed them its bytes."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from devices.scale.parsers import ScaleParser
from devices.scale.reading import WeightReading

#: Bytes on the wire and the reading they must give.
Encoded = tuple[bytes, WeightReading]


def assert_tail_recovered(parser: ScaleParser, noise: bytes, tail: list[Encoded]) -> None:
    """After `noise`, whatever it holds, the readings of `tail` are the last ones the parser gives."""
    readings = parser.feed(noise + b"".join(raw for raw, _ in tail), 0.0)
    expected = [reading for _, reading in tail]
    assert readings[len(readings) - len(expected) :] == expected


def assert_chunking_changes_nothing(
    new_parser: Callable[[], ScaleParser], stream: bytes, cuts: list[int]
) -> None:
    """`stream` fed in pieces cut at `cuts` gives the same readings and counts as fed whole."""
    whole_parser = new_parser()
    whole = whole_parser.feed(stream, 0.0)
    chunked_parser = new_parser()
    chunked: list[WeightReading] = []
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    for lo, hi in itertools.pairwise(bounds):
        chunked += chunked_parser.feed(stream[lo:hi], 0.0)
    assert chunked == whole
    assert chunked_parser.stats == whole_parser.stats
