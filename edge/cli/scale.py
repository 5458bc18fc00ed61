"""`gate-edge scale watch`: the weighbridge indicator's raw frames beside what the lane's parser reads.

Opens the configured port with the configured settings, and prints per frame: the bytes (escaped), then
the weight, tare, motion and out-of-range flags and the lane's stability rule, or what was wrong with the
frame. A wrong baud rate shows as garbage, a wrong checksum setting as bad checksums, a truck still
rocking as `stable: no`. Ctrl-C (or SIGTERM) ends it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import datetime
from typing import Any

import serial

from devices.config import ScaleConfig, ScaleProtocol
from devices.scale.mtsics import SI, SIR
from devices.scale.parsers import ScaleParser, make_parser
from devices.scale.reading import WeightReading
from devices.scale.stability import StabilityDetector
from edge.cli.io_guard import kiosk_listening
from edge.cli.loading import load_or_exit
from edge.cli.scale_frames import DisplayFramer, copy_stats, escaped, stats_delta
from edge.cli.tool_logs import tool_logging

#: A line quiet this long hands over the bytes it has (a cut frame is shown, not held back).
_QUIET_S = 0.3
_READ_TIMEOUT_S = 0.1


def _stamp() -> str:
    return datetime.now().astimezone().strftime("%H:%M:%S.%f")[:-3]


def _kg(value: float) -> str:
    return f"{value:g} kg"


class _Watch:
    """The parser and the lane's stability rule, fed one display frame at a time."""

    def __init__(self, config: ScaleConfig) -> None:
        self._parser: ScaleParser = make_parser(config)
        self._stability = StabilityDetector(
            config.division_kg, config.stability.divisions, config.stability.window_ms
        )
        self._window_ms = config.stability.window_ms

    def frame(self, raw: bytes, now: float) -> str:
        before = copy_stats(self._parser.stats)
        readings = self._parser.feed(raw, now)
        problems = stats_delta(before, self._parser.stats)
        parts = [self._reading(r) for r in readings]
        if problems:
            parts.append("error: " + ", ".join(problems))
        if not parts:
            parts.append("(incomplete: waiting for the rest of the frame)")
        return f'{_stamp()}  "{escaped(raw)}"  ' + "; ".join(parts)

    def _reading(self, reading: WeightReading) -> str:
        settled = self._stability.update(reading)
        if reading.overload:
            weight = "out of range (over capacity or under zero): no weight"
        else:
            weight = f"{_kg(reading.gross_kg)} tare {_kg(reading.tare_kg)}"
        motion = "yes" if reading.motion else "no"
        if settled is not None:
            stable = f"yes: settled at {_kg(settled.kg)} (the stable weight the lane takes)"
        else:
            stable = "yes" if self._stability.stable else f"no (needs {self._window_ms} ms within the band)"
        return f"{weight}, motion {motion}, stable {stable}"


def _open(config: ScaleConfig) -> Any:
    return serial.Serial(
        config.port,
        baudrate=config.baudrate,
        bytesize=config.bytesize,
        parity=config.parity,
        stopbits=config.stopbits,
        timeout=_READ_TIMEOUT_S,
        write_timeout=1.0,
    )


def _watch(config: ScaleConfig, port: Any) -> None:
    """Read until KeyboardInterrupt; serial errors propagate."""
    watch = _Watch(config)
    framer = DisplayFramer(config)
    polling = config.protocol is ScaleProtocol.MTSICS and config.mtsics_mode == "SI"
    if config.protocol is ScaleProtocol.MTSICS and not polling:
        port.write(SIR)
    next_poll = last_data = time.monotonic()
    while True:
        now = time.monotonic()
        if polling and now >= next_poll:
            port.write(SI)
            next_poll = max(next_poll + config.mtsics_poll_ms / 1000, now)
        data = port.read(max(1, port.in_waiting))
        now = time.monotonic()
        frames = framer.feed(data) if data else []
        if data:
            last_data = now
        elif now - last_data >= _QUIET_S:
            rest = framer.flush()
            frames = [rest] if rest else []
            if now - last_data >= config.stale_s:
                quiet = f"nothing received for {config.stale_s:g} s (devices.scale.stale_s)"
                print(f"{_stamp()}  {quiet}", flush=True)
                last_data = now
        for raw in frames:
            print(watch.frame(raw, now), flush=True)


def cmd_scale_watch(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    tool_logging(args, config)
    scale = config.devices.scale
    kiosk = config.kiosk
    if kiosk.enabled and kiosk_listening(kiosk.host, kiosk.port):
        print(
            f"scale watch: refused: something listens on the kiosk's address {kiosk.host}:{kiosk.port}, so "
            "the lane daemon seems to run and reads this port: each byte would reach only one of the two; "
            "stop it first (systemctl stop gate-edge)",
            file=sys.stderr,
        )
        return 1
    try:
        port = _open(scale)
    except (serial.SerialException, OSError, ValueError) as exc:
        print(
            f"scale watch: cannot open devices.scale.port {scale.port}: {exc} "
            "(ls -l /dev/serial/by-id shows the adapters plugged in)",
            file=sys.stderr,
        )
        return 1
    settings = f"{scale.baudrate} {scale.bytesize}{scale.parity}{scale.stopbits}"
    print(f"scale watch: {scale.protocol} on {scale.port} at {settings} (Ctrl-C ends)", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM ends it as Ctrl-C does
    status = 0
    try:
        _watch(scale, port)
    except KeyboardInterrupt:
        pass
    except (serial.SerialException, OSError) as exc:
        print(f"scale watch: port {scale.port} lost: {exc}", file=sys.stderr)
        status = 1
    finally:
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            print(f"scale watch: closing {scale.port}: {exc}", file=sys.stderr)
    print("scale watch: stopped", flush=True)
    return status


def add_scale_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `scale` (watch) to gate-edge's subcommands."""
    p = subparsers.add_parser(
        "scale", help="Commissioning: the weighbridge indicator's frames as the lane reads them."
    )
    sub = p.add_subparsers(dest="action", required=True)
    q = sub.add_parser(
        "watch",
        help="Print each raw frame (escaped) with its weight, motion and stability, or why it was refused, "
        "until Ctrl-C. Stop the daemon first: it reads the same port.",
    )
    q.add_argument("--config", default=None, help="Gate configuration (embedded defaults if omitted).")
    q.set_defaults(func=cmd_scale_watch)
