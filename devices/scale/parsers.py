"""One parser interface over the indicator protocols, so the driver does not care which one is wired."""

from __future__ import annotations

from typing import Protocol

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.ascii_format import AsciiParser
from devices.scale.mtsics import MtsicsParser
from devices.scale.reading import FrameStats, WeightReading
from devices.scale.toledo import ToledoParser


class ScaleParser(Protocol):
    """Turns a byte stream, split anywhere, into readings; bad input goes to ``stats``, never raises."""

    stats: FrameStats

    def feed(self, data: bytes, at: float) -> list[WeightReading]:
        """Parse the next bytes of the stream; readings are stamped ``at``."""
        ...

    def reset(self) -> None:
        """The stream restarted (port reopened): drop the partial frame, resync on the next boundary."""
        ...


def make_parser(config: ScaleConfig) -> ScaleParser:
    """The parser for ``config.protocol``; raises ValueError for an unusable ascii pattern."""
    if config.protocol is ScaleProtocol.TOLEDO:
        return ToledoParser(checksum=config.toledo_checksum)
    if config.protocol is ScaleProtocol.MTSICS:
        return MtsicsParser()
    return AsciiParser(config.ascii_pattern, config.ascii_terminator)
