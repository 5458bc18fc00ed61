"""A weighbridge indicator on a pseudo-terminal: the driver under test opens a real tty and reads real bytes.

The peer owns both ends of a pty pair; ``port_name`` is the slave device the driver opens. A writer thread
streams frames (Toledo continuous, ASCII) or answers MT-SICS ``SI`` / ``SIR`` commands, following a weight
profile: a truck driving on ramps up, bounces with the motion flag set, then settles exactly on the weight
quantised to the division.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import select
import threading
import time
import tty
from dataclasses import dataclass

from devices.config import ScaleProtocol
from devices.scale.ascii_format import encode_ascii
from devices.scale.mtsics import encode_mtsics
from devices.scale.toledo import encode_toledo

_BOUNCE_HZ = 1.5


@dataclass(frozen=True, slots=True)
class _Profile:
    """A move from ``start_kg`` to ``target_kg`` starting at ``t0``: ramp, decaying bounce, then still."""

    t0: float
    start_kg: float
    target_kg: float
    settle_s: float
    bounce_kg: float
    motion_after: bool = False

    def sample(self, now: float) -> tuple[float, bool]:
        elapsed = now - self.t0
        if elapsed >= self.settle_s:
            return self.target_kg, self.motion_after
        ramp_s = self.settle_s * 0.4
        if elapsed < ramp_s:
            return self.start_kg + (self.target_kg - self.start_kg) * elapsed / ramp_s, True
        phase = elapsed - ramp_s
        decay = (1.0 - phase / (self.settle_s - ramp_s)) ** 2
        return self.target_kg + self.bounce_kg * decay * math.sin(2 * math.pi * _BOUNCE_HZ * phase), True


class ScaleSimPeer:
    """Simulated indicator; ``close()`` unplugs it (the pty disappears under the driver)."""

    def __init__(
        self,
        protocol: ScaleProtocol,
        checksum: bool = True,
        rate_hz: float = 20,
        division_kg: float = 20,
    ) -> None:
        self.protocol = protocol
        self.checksum = checksum
        self.rate_hz = rate_hz
        self.division_kg = division_kg
        self._decimals = max(0, -math.floor(math.log10(division_kg) + 1e-9))
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        os.set_blocking(self._master, False)  # a reader that went away must not block the writer
        self.port_name = os.ttyname(self._slave)
        self._profile = _Profile(time.monotonic(), 0.0, 0.0, 0.0, 0.0)
        self._injected: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._sir = False
        self._commands = b""
        self.commands_seen: list[bytes] = []

    # -- weight profile -------------------------------------------------------------------------------------

    def quantise(self, kg: float) -> float:
        """What the indicator displays for ``kg``: the nearest multiple of the division."""
        return round(round(kg / self.division_kg) * self.division_kg, self._decimals)

    def drive_on(self, gross_kg: float, settle_s: float = 2.0) -> None:
        """A truck drives on: ramp up, bounce with motion set, settle exactly on ``gross_kg`` (quantised)."""
        start, _ = self._profile.sample(time.monotonic())
        target = self.quantise(gross_kg)
        bounce = max(abs(target - start) * 0.05, 3 * self.division_kg)
        self._profile = _Profile(time.monotonic(), start, target, settle_s, bounce)

    def drive_off(self, settle_s: float = 1.0) -> None:
        """The truck leaves: back to zero with motion set, then still."""
        start, _ = self._profile.sample(time.monotonic())
        self._profile = _Profile(time.monotonic(), start, 0.0, settle_s, 0.0)

    def set_weight(self, kg: float, motion: bool = False) -> None:
        """Show ``kg`` (quantised) from now on."""
        self._profile = _Profile(time.monotonic(), kg, self.quantise(kg), 0.0, 0.0, motion)

    def inject(self, raw: bytes) -> None:
        """Write ``raw`` between two frames (garbage, a cut frame, a bad checksum)."""
        self._injected.put(raw)

    def current(self) -> tuple[float, bool]:
        """The displayed weight and motion flag right now."""
        kg, motion = self._profile.sample(time.monotonic())
        return self.quantise(kg), motion

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start talking (a stopped peer stays plugged in but silent)."""
        if self._closed:
            raise RuntimeError("scale sim peer is closed")
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scale-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Go silent, keeping the port (the stale-data case)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def close(self) -> None:
        """Unplug: stop and close both ends of the pty."""
        self.stop()
        if not self._closed:
            self._closed = True
            os.close(self._master)
            os.close(self._slave)

    def __enter__(self) -> ScaleSimPeer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writer thread --------------------------------------------------------------------------------------

    def _frame(self) -> bytes:
        kg, motion = self.current()
        if self.protocol is ScaleProtocol.TOLEDO:
            return encode_toledo(kg, 0.0, motion, False, self._decimals, self.checksum)
        if self.protocol is ScaleProtocol.MTSICS:
            return encode_mtsics(kg, motion=motion, decimals=self._decimals)
        return encode_ascii(kg, motion, self._decimals)

    def _write(self, data: bytes) -> None:
        # Nobody reads the port: the bytes are lost, as on a real line.
        with contextlib.suppress(BlockingIOError):
            os.write(self._master, data)

    def _answer(self, data: bytes) -> None:
        self._commands += data
        while b"\n" in self._commands:
            line, self._commands = self._commands.split(b"\n", 1)
            command = line.strip()
            self.commands_seen.append(command)
            if command == b"SI":
                self._sir = False
                self._write(self._frame())
            elif command == b"SIR":
                self._sir = True
            elif command == b"@":
                self._sir = False
                self._write(b'I4 A "0123456789"\r\n')
            else:
                self._write(b"ES\r\n")

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        next_frame = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], max(0.0, next_frame - time.monotonic()))
            if ready:
                try:
                    data = os.read(self._master, 1024)
                except BlockingIOError:
                    data = b""
                if self.protocol is ScaleProtocol.MTSICS:
                    self._answer(data)
            while not self._injected.empty():
                self._write(self._injected.get())
            now = time.monotonic()
            if now >= next_frame:
                next_frame = max(next_frame + period, now)
                if self.protocol is not ScaleProtocol.MTSICS or self._sir:
                    self._write(self._frame())
