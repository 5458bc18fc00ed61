"""MT-SICS weight replies (``SI`` polled, ``SIR`` repeated), as Mettler Toledo terminals answer them.

A reply is a CR LF terminated line: ``S S <weight> <unit>`` (stable), ``S D <weight> <unit>`` (dynamic, i.e.
in motion), ``S +`` / ``S -`` (over- / underload), ``S I`` (command understood but not executable now).
``ES``, ``ET`` and ``EL`` report syntax, transmission and logical errors.
"""

from __future__ import annotations

import re

from devices.scale.lines import LineParser
from devices.scale.reading import WeightReading

SI = b"SI\r\n"
SIR = b"SIR\r\n"
BUSY = b"S I\r\n"
_TERMINATOR = b"\n"
_MAX_LINE = 128  # a longer run without LF is noise, not a reply

_KG_PER_UNIT = {"kg": 1.0, "g": 0.001, "t": 1000.0, "lb": 0.45359237}
_WEIGHT = re.compile(rb"S ([SD]) +([-+]?\d+(?:\.\d+)?) +([A-Za-z]+)")
_ERRORS = frozenset((b"ES", b"ET", b"EL"))


def encode_mtsics(
    weight_kg: float,
    *,
    motion: bool = False,
    overload: bool = False,
    underload: bool = False,
    decimals: int = 1,
) -> bytes:
    """Build one weight reply in kg, the weight right-aligned in ten characters."""
    if overload:
        return b"S +\r\n"
    if underload:
        return b"S -\r\n"
    value = f"{weight_kg:.{max(decimals, 0)}f}"
    return f"S {'D' if motion else 'S'} {value:>10} kg\r\n".encode("ascii")


class MtsicsParser(LineParser):
    """Incremental line parser; bad input is counted in ``stats`` and skipped, never raised.

    ``stats.extra`` counts ``busy`` (``S I``), ``command_errors`` (ES/ET/EL) and ``resync_bytes`` (the partial
    line dropped after :meth:`reset`). ``S +`` and ``S -`` give a reading with ``overload`` set and no weight.
    """

    def __init__(self) -> None:
        super().__init__(_TERMINATOR, _MAX_LINE)

    def _line(self, line: bytes, size: int, at: float) -> WeightReading | None:
        line = line.rstrip(b"\r")
        stats = self.stats
        match = _WEIGHT.fullmatch(line)
        if match is not None:
            kg_per_unit = _KG_PER_UNIT.get(match[3].decode("ascii"))
            if kg_per_unit is None:
                self._count("unsupported_unit")
                return None
            stats.frames += 1
            return WeightReading(
                gross_kg=float(match[2]) * kg_per_unit, motion=match[1] == b"D", overload=False, at=at
            )
        if line in (b"S +", b"S -"):
            stats.frames += 1
            stats.out_of_range += 1
            return WeightReading(gross_kg=0.0, overload=True, at=at)
        if line == b"S I":
            self._count("busy")
        elif line in _ERRORS:
            self._count("command_errors")
        else:
            stats.garbage_bytes += size
        return None
