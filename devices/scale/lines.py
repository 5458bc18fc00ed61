"""Line framing shared by the line-based indicator protocols (MT-SICS replies, regex-described ASCII).

Bad input is counted, never raised: an over-long run is garbage up to its terminator, and after a reset
the first (possibly partial) line is dropped so a tail like ``234.5 kg`` is never read as a weight.
"""

from __future__ import annotations

from devices.scale.reading import FrameStats, WeightReading


class LineParser:
    """Incremental splitter into terminated lines; subclasses turn one line into a reading (or None)."""

    def __init__(self, terminator: bytes, max_line: int) -> None:
        if not terminator:
            raise ValueError("the line terminator must not be empty")
        self._terminator = terminator
        self._max_line = max_line
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
            if self._overlong or size > self._max_line:
                self._overlong = self._resync = False
                self.stats.garbage_bytes += size
                continue
            if self._resync:
                self._resync = False
                self._count("resync_bytes", size)
                continue
            reading = self._line(line, size, at)
            if reading is not None:
                readings.append(reading)
        rest = buf[start:]
        if len(rest) > self._max_line:
            # Too long to be a line; the rest of it, up to the next terminator, is garbage too. Keep what
            # may be the first bytes of a split terminator.
            keep = len(term) - 1
            self.stats.garbage_bytes += len(rest) - keep
            rest = rest[len(rest) - keep :]
            self._overlong = True
        self._buf = rest
        return readings

    def _count(self, key: str, n: int = 1) -> None:
        self.stats.extra[key] = self.stats.extra.get(key, 0) + n

    def _line(self, line: bytes, size: int, at: float) -> WeightReading | None:
        """One complete line without its terminator (`size` counts both, for the garbage counter)."""
        raise NotImplementedError
