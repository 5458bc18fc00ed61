"""Plain-text indicators, described by a regex (``ScaleConfig.ascii_pattern``) instead of code.

Each terminated line is matched with ``re.search``. Named groups: ``weight`` (required), ``sign`` (``-`` makes
it negative), ``motion`` (non-empty means in motion), ``unit`` (kg when absent or empty; g, t and lb are
converted). Lines that do not match are counted as garbage.
"""

from __future__ import annotations

import math
import re

from devices.scale.reading import FrameStats, WeightReading

_MAX_LINE = 256  # a longer run without a terminator is noise
_KG_PER_UNIT = {"": 1.0, "kg": 1.0, "g": 0.001, "t": 1000.0, "lb": 0.45359237}


def encode_ascii(
    weight_kg: float, motion: bool = False, decimals: int = 0, terminator: str = "\r\n"
) -> bytes:
    """A line in the shape the default ``ascii_pattern`` reads: ``-  1234 kg M``."""
    sign = "-" if weight_kg < 0 else " "
    motion_flag = " M" if motion else ""
    return f"{sign}{abs(weight_kg):>8.{max(decimals, 0)}f} kg{motion_flag}{terminator}".encode("ascii")


class AsciiParser:
    """Incremental line parser over a configured regex; bad input is counted, never raised.

    ``stats.extra`` counts ``unsupported_unit`` and ``resync_bytes`` (the partial line dropped after
    :meth:`reset`).
    """

    def __init__(self, pattern: str, terminator: str = "\r\n") -> None:
        self._pattern = re.compile(pattern)
        if "weight" not in self._pattern.groupindex:
            raise ValueError(f"ascii_pattern needs a named group 'weight': {pattern!r}")
        if not terminator:
            raise ValueError("ascii_terminator must not be empty")
        self._terminator = terminator.encode("latin-1")
        self.stats = FrameStats()
        self._buf = b""
        self._resync = False
        self._overlong = False

    def reset(self) -> None:
        """The stream restarted: drop everything up to the next terminator, which may be mid-line."""
        self._buf = b""
        self._resync = True
        self._overlong = False

    def feed(self, data: bytes, at: float) -> list[WeightReading]:
        """Parse ``data`` (any split of the stream); every reading is stamped ``at``."""
        buf = self._buf + data if self._buf else data
        readings: list[WeightReading] = []
        term = self._terminator
        start = 0
        while True:
            end = buf.find(term, start)
            if end < 0:
                break
            line = buf[start:end]
            start = end + len(term)
            size = len(line) + len(term)
            if self._overlong or size > _MAX_LINE:
                self._overlong = self._resync = False
                self.stats.garbage_bytes += size
                continue
            if self._resync:
                self._resync = False
                self.stats.extra["resync_bytes"] = self.stats.extra.get("resync_bytes", 0) + size
                continue
            reading = self._line(line, size, at)
            if reading is not None:
                readings.append(reading)
        rest = buf[start:]
        if len(rest) > _MAX_LINE:
            # Too long to be a reading; the rest of it, up to the next terminator, is garbage too. Keep what
            # may be the first bytes of a split terminator.
            keep = len(term) - 1
            self.stats.garbage_bytes += len(rest) - keep
            rest = rest[len(rest) - keep :]
            self._overlong = True
        self._buf = rest
        return readings

    def _line(self, line: bytes, size: int, at: float) -> WeightReading | None:
        stats = self.stats
        match = self._pattern.search(line.decode("latin-1"))
        if match is None:
            stats.garbage_bytes += size
            return None
        try:
            weight = float(match["weight"])
        except (TypeError, ValueError):
            weight = math.nan
        if not math.isfinite(weight):
            stats.garbage_bytes += size
            return None
        groups = match.groupdict()
        unit = (groups.get("unit") or "").strip().lower()
        kg_per_unit = _KG_PER_UNIT.get(unit)
        if kg_per_unit is None:
            stats.extra["unsupported_unit"] = stats.extra.get("unsupported_unit", 0) + 1
            return None
        if (groups.get("sign") or "").strip() == "-":
            weight = -weight
        stats.frames += 1
        return WeightReading(
            gross_kg=weight * kg_per_unit, motion=bool((groups.get("motion") or "").strip()), at=at
        )
