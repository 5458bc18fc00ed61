"""Plain-text indicators, described by a regex (``ScaleConfig.ascii_pattern``) instead of code.

Each terminated line is matched with ``re.search``. Named groups: ``weight`` (required), ``sign`` (``-`` makes
it negative), ``motion`` (non-empty means in motion), ``unit`` (kg when absent or empty; g, t and lb are
converted). Lines that do not match are counted as garbage.
"""

from __future__ import annotations

import math
import re

from devices.scale.lines import LineParser
from devices.scale.reading import WeightReading

_MAX_LINE = 256  # a longer run without a terminator is noise
_KG_PER_UNIT = {"": 1.0, "kg": 1.0, "g": 0.001, "t": 1000.0, "lb": 0.45359237}


def encode_ascii(
    weight_kg: float, motion: bool = False, decimals: int = 0, terminator: str = "\r\n"
) -> bytes:
    """A line in the shape the default ``ascii_pattern`` reads: ``-  1234 kg M``."""
    sign = "-" if weight_kg < 0 else " "
    motion_flag = " M" if motion else ""
    return f"{sign}{abs(weight_kg):>8.{max(decimals, 0)}f} kg{motion_flag}{terminator}".encode("ascii")


class AsciiParser(LineParser):
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
        super().__init__(terminator.encode("latin-1"), _MAX_LINE)

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
            self._count("unsupported_unit")
            return None
        if (groups.get("sign") or "").strip() == "-":
            weight = -weight
        stats.frames += 1
        return WeightReading(
            gross_kg=weight * kg_per_unit, motion=bool((groups.get("motion") or "").strip()), at=at
        )
