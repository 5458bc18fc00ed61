"""The weighbridge indicator on a serial port: a reader thread that turns bytes into typed scale events.

pyserial has no asyncio transport worth depending on, so the port is read in a dedicated thread. Events are
delivered by calling ``on_event`` *from that thread*; an asyncio caller hands them over itself::

    driver = ScaleDriver(config, lambda event: loop.call_soon_threadsafe(queue.put_nowait, event))

Reconnects and the stale-data watchdog live here, not in the caller: a missing or unplugged port, or an
indicator that sends nothing readable for ``stale_s``, is one :class:`ScaleFault` per outage (logged once),
and the first valid frame afterwards is a :class:`ScaleRecovered`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.mtsics import SI, SIR
from devices.scale.parsers import make_parser
from devices.scale.reading import (
    FrameStats,
    ScaleEvent,
    ScaleFault,
    ScaleRecovered,
    WeightReading,
)
from devices.scale.stability import StabilityDetector

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1
# A write that cannot drain (a pty nobody reads, a stuck USB adapter) is treated as a lost port.
WRITE_TIMEOUT_S = 1.0


class ScaleDriver:
    """Reads one indicator; ``start()`` spawns the reader thread, ``stop()`` joins it.

    ``clock`` stamps readings and drives the stale watchdog (monotonic seconds).
    """

    def __init__(
        self,
        config: ScaleConfig,
        on_event: Callable[[ScaleEvent], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._on_event = on_event
        self._clock = clock
        self._parser = make_parser(config)
        self._stability = StabilityDetector(
            config.division_kg, config.stability.divisions, config.stability.window_ms
        )
        self._stop = threading.Event()
        self.turns = 0  # reader loop iterations (reads and reopen attempts), for liveness checks
        self._thread: threading.Thread | None = None
        self._faulted = False
        self._opened_before = False
        self._last_reading: WeightReading | None = None
        self._parser.stats.extra["reconnects"] = 0

    @property
    def stats(self) -> FrameStats:
        """Live parser counters; ``extra["reconnects"]`` counts opens after the first successful one."""
        return self._parser.stats

    @property
    def last_reading(self) -> WeightReading | None:
        return self._last_reading

    @property
    def faulted(self) -> bool:
        """True from a fault until the next valid frame."""
        return self._faulted

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("scale driver already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scale-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading and join the thread (it wakes at least every read timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.turns += 1
            port = self._open()
            if port is not None:
                try:
                    self._read(port)
                except (serial.SerialException, OSError) as exc:
                    self._fault(f"scale port {self._config.port} lost: {exc}")
                except Exception as exc:
                    # A bug must not leave the lane waiting on a dead thread: report it as a fault (the
                    # traceback once per outage) and start over after the reconnect delay.
                    if not self._faulted:
                        log.exception("scale reader failed", extra={"device": "scale"})
                    self._fault(f"scale reader failed: {exc!r}")
                finally:
                    self._close(port)
            self._stop.wait(self._config.reconnect_s)

    def _open(self) -> Any:
        cfg = self._config
        try:
            port = serial.Serial(
                cfg.port,
                baudrate=cfg.baudrate,
                bytesize=cfg.bytesize,
                parity=cfg.parity,
                stopbits=cfg.stopbits,
                timeout=READ_TIMEOUT_S,
                write_timeout=WRITE_TIMEOUT_S,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._fault(f"scale port {cfg.port} cannot be opened: {exc}")
            return None
        if self._opened_before:
            self.stats.extra["reconnects"] += 1
        self._opened_before = True
        log.info("scale port open", extra={"device": "scale", "port": cfg.port, "protocol": cfg.protocol})
        return port

    def _close(self, port: Any) -> None:
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            log.debug("closing scale port failed: %s", exc, extra={"device": "scale"})

    def _read(self, port: Any) -> None:
        cfg = self._config
        parser = self._parser
        parser.reset()
        mtsics = cfg.protocol is ScaleProtocol.MTSICS
        polling = mtsics and cfg.mtsics_mode == "SI"
        poll_s = cfg.mtsics_poll_ms / 1000.0
        now = self._clock()
        last_valid = now
        next_poll = now
        sir = mtsics and not polling
        sir_sent = now
        if sir:
            port.write(SIR)
        while not self._stop.is_set():
            if polling and now >= next_poll:
                port.write(SI)
                next_poll = max(next_poll + poll_s, now)
            elif sir and now >= max(sir_sent + cfg.reconnect_s, last_valid + cfg.stale_s):
                # An indicator power-cycled behind a USB adapter forgets SIR while the port stays open.
                port.write(SIR)
                sir_sent = now
            data = port.read(max(1, port.in_waiting))
            self.turns += 1  # the watchdog's proof of life: a hung read stops it
            now = self._clock()
            if data:
                for reading in parser.feed(data, now):
                    last_valid = now
                    self._reading(reading)
            if not self._faulted and now - last_valid >= cfg.stale_s:
                self._fault(
                    f"no valid {cfg.protocol} frame from the scale on {cfg.port} for {cfg.stale_s:g} s"
                    f" ({self._stats_summary()})"
                )

    def _stats_summary(self) -> str:
        s = self.stats
        return (
            f"{s.frames} frames, {s.garbage_bytes} garbage bytes, {s.bad_checksum} bad checksums,"
            f" {s.cut_frames} cut frames so far"
        )

    def _reading(self, reading: WeightReading) -> None:
        self._last_reading = reading
        if self._faulted:
            self._faulted = False
            log.info("scale recovered", extra={"device": "scale", "port": self._config.port})
            self._emit(ScaleRecovered(at=reading.at))
        self._emit(reading)
        stable = self._stability.update(reading)
        if stable is not None:
            self._emit(stable)

    def _fault(self, detail: str) -> None:
        """One fault per outage; retries during the outage stay quiet."""
        self._stability.reset()
        if self._faulted:
            log.debug("scale still faulted: %s", detail, extra={"device": "scale"})
            return
        self._faulted = True
        log.warning("scale fault: %s", detail, extra={"device": "scale", "port": self._config.port})
        self._emit(ScaleFault(detail=detail, at=self._clock()))

    def _emit(self, event: ScaleEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            # A failing consumer must not kill the reader; say so once with the traceback, then count.
            errors = self.stats.extra.get("callback_errors", 0)
            self.stats.extra["callback_errors"] = errors + 1
            if errors == 0:
                log.exception("scale event callback failed", extra={"device": "scale"})
