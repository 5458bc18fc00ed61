"""`gate-edge io watch|pulse`: the lane I/O controller by its configured point names, for commissioning.

`watch` reads only: it polls through the lane's own driver (LaneIO) with the controller watchdog left alone,
so what it prints is what the lane would see. `pulse` (edge/cli/io_pulse.py) drives one output briefly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import datetime

from devices.config import DevicesConfig
from devices.lane_inputs import InputChanged, InputSnapshot, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, LaneIO
from edge.cli.io_points import change_text, points, snapshot_lines
from edge.cli.io_pulse import MAX_PULSE_MS, cmd_io_pulse
from edge.cli.loading import load_or_exit
from edge.cli.signals import run_until_signal
from edge.cli.tool_logs import tool_logging


def read_only(devices: DevicesConfig) -> DevicesConfig:
    """The devices with the controller watchdog not armed: a watcher must not take the outputs over."""
    link = devices.io
    waived = {"enabled": False, "waive_reason": "read-only: gate-edge io watch"}
    quiet = link.watchdog.model_copy(update=waived)
    return devices.model_copy(update={"io": link.model_copy(update={"watchdog": quiet})})


def _stamp() -> str:
    return datetime.now().astimezone().strftime("%H:%M:%S.%f")[:-3]


def _say(text: str) -> None:
    print(text, flush=True)


class _Printer:
    """Prints the full snapshot when the link comes up, then one line per change."""

    def __init__(self, devices: DevicesConfig) -> None:
        self._points = points(devices)
        self._last: InputSnapshot | None = None
        self.stopping = False

    def __call__(self, event: LaneIOEvent) -> None:
        if self.stopping:
            return
        if isinstance(event, LinkChanged):
            if not event.up:
                self._last = None
                unknown = "inputs unknown; the lane treats them as occupied"
                _say(f"{_stamp()}  link down: {event.detail} ({unknown})")
                return
            self._last = event.snapshot
            _say(f"{_stamp()}  link up: {event.detail}")
            for line in snapshot_lines(self._points, event.snapshot):
                _say(f"              {line}")
        elif isinstance(event, InputChanged):
            before, self._last = self._last, event.snapshot
            if before is not None:
                _say(f"{_stamp()}  {change_text(self._points, before, event.snapshot)}")


def cmd_io_watch(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    tool_logging(args, config)
    devices = read_only(config.devices)
    printer = _Printer(devices)
    io = LaneIO(devices, printer)
    _say(f"io watch: {io.endpoint}, reading only (Ctrl-C ends)")

    async def _main() -> None:
        task = asyncio.create_task(io.run())
        await run_until_signal(task)
        printer.stopping = True  # the driver's own "link down: driver stopped" is no news here
        await io.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(_main())
    _say("io watch: stopped")
    return 0


def _pulse_ms(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ms must be whole milliseconds, not {text!r}") from None
    if not 1 <= value <= MAX_PULSE_MS:
        raise argparse.ArgumentTypeError(f"--ms must be 1..{MAX_PULSE_MS}, not {value}")
    return value


def add_io_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `io` (watch, pulse) to gate-edge's subcommands."""
    p = subparsers.add_parser(
        "io", help="Commissioning: watch the lane I/O controller's inputs, pulse an output."
    )
    sub = p.add_subparsers(dest="action", required=True)

    q = sub.add_parser(
        "watch",
        help="Print the inputs by their configured names (a snapshot, then a line per change) until Ctrl-C; "
        "reads only, the controller watchdog is not armed.",
    )
    q.add_argument("--config", default=None, help="Gate configuration (embedded defaults if omitted).")
    q.set_defaults(func=cmd_io_watch)

    q = sub.add_parser(
        "pulse",
        help="Switch one output on for --ms, then off. Refused while the daemon drives the controller, and "
        "for the barrier coils while a loop or the photocell is occupied.",
    )
    q.add_argument(
        "coil",
        choices=[c.value for c in CoilName],
        metavar="COIL",
        help="barrier_open, barrier_close, light_green or light_red (addresses from the configuration).",
    )
    q.add_argument(
        "--ms",
        type=_pulse_ms,
        default=500,
        help=f"How long the output stays on, 1..{MAX_PULSE_MS} ms (default 500); it is switched off after, "
        "on Ctrl-C, and for a barrier coil as soon as a loop or the photocell is occupied.",
    )
    q.add_argument("--config", default=None, help="Gate configuration (embedded defaults if omitted).")
    q.set_defaults(func=cmd_io_pulse)
