"""Cutting the indicator's byte stream into the frames a technician should see, one printed line each.

Only for display: the parsers (devices/scale) keep their own framing and decide what is a reading. This
cut lets `gate-edge scale watch` show each raw frame next to what the parser made of it, garbage and cut
frames included, so a wrong protocol, speed or checksum setting shows at a glance.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Final

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.reading import FrameStats
from devices.scale.toledo import STX

_TOLEDO_BODY: Final = 17  # STX .. CR
#: Longer runs without a frame boundary are shown in pieces of this size (noise at a wrong baud rate).
MAX_SHOWN: Final = 64
_MTSICS_TERMINATOR: Final = b"\r\n"


class DisplayFramer:
    """Splits a byte stream into frames: Toledo at each STX (and after a whole frame), lines after their
    terminator; `flush()` hands over what is left when the line goes quiet."""

    def __init__(self, config: ScaleConfig) -> None:
        self._toledo = config.protocol is ScaleProtocol.TOLEDO
        self._frame_len = _TOLEDO_BODY + (1 if config.toledo_checksum else 0)
        if config.protocol is ScaleProtocol.ASCII:
            self._terminator = config.ascii_terminator.encode("latin-1", "replace")
        else:
            self._terminator = _MTSICS_TERMINATOR
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        while self._buf:
            cut = self._toledo_cut() if self._toledo else self._line_cut()
            if cut is None:
                if len(self._buf) < MAX_SHOWN:
                    break
                cut = MAX_SHOWN
            frames.append(self._buf[:cut])
            self._buf = self._buf[cut:]
        return frames

    def flush(self) -> bytes:
        rest, self._buf = self._buf, b""
        return rest

    def _toledo_cut(self) -> int | None:
        buf = self._buf
        if buf[0] != STX:
            start = buf.find(STX)
            return start if start > 0 else None
        # A new STX inside the body cuts the frame; the checksum byte may itself be 0x02, so not after CR.
        inner = buf.find(STX, 1, _TOLEDO_BODY)
        if inner > 0:
            return inner
        return self._frame_len if len(buf) >= self._frame_len else None

    def _line_cut(self) -> int | None:
        end = self._buf.find(self._terminator)
        return None if end < 0 else end + len(self._terminator)


def escaped(raw: bytes) -> str:
    """The bytes as a Python bytes literal's inside: printable ASCII as is, the rest as \\xNN, \\r, \\n."""
    return str(raw)[2:-1]


def stats_delta(before: FrameStats, after: FrameStats) -> list[str]:
    """What the parser counted as bad between two copies of its stats, in words."""
    words = {
        "garbage_bytes": "garbage bytes (not part of a frame)",
        "bad_checksum": "bad checksum",
        "cut_frames": "cut frame",
        "out_of_range": "out of range (over capacity or under zero)",
    }
    found: list[str] = []
    for f in fields(FrameStats):
        if f.name in words:
            grown = getattr(after, f.name) - getattr(before, f.name)
            if grown > 0:
                found.append(f"{grown} {words[f.name]}" if f.name == "garbage_bytes" else words[f.name])
    for key, value in after.extra.items():
        grown = value - before.extra.get(key, 0)
        if grown > 0 and key != "reconnects":
            found.append(f"{key.replace('_', ' ')} +{grown}")
    return found


def copy_stats(stats: FrameStats) -> FrameStats:
    return FrameStats(
        frames=stats.frames,
        garbage_bytes=stats.garbage_bytes,
        bad_checksum=stats.bad_checksum,
        cut_frames=stats.cut_frames,
        out_of_range=stats.out_of_range,
        extra=dict(stats.extra),
    )
