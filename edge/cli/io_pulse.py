"""`gate-edge io pulse COIL`: one output on for a bounded time, then off, whatever happens in between.

Refused while the lane daemon drives the controller (edge/cli/io_guard.py says how that is seen) and, for
the barrier coils, while a loop or the photocell is occupied; a barrier pulse also ends the moment one
becomes occupied. The coil is switched off in a `finally` (end of the time, Ctrl-C, SIGTERM, a link fault),
and the pulse arms the controller's own watchdog like the daemon does, so even a pulse killed with SIGKILL
leaves no coil on for longer than the watchdog's time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Final

from devices.config import DevicesConfig
from devices.lane_inputs import InputChanged, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, IOWriteError, LaneIO
from edge.cli.io_guard import ControllerUnreachable, kiosk_listening, watchdog_in_use
from edge.cli.io_points import occupied
from edge.cli.loading import load_or_exit
from edge.cli.tool_logs import tool_logging

#: Long enough to drive a barrier arm from one limit to the other, short enough that nothing is left on.
MAX_PULSE_MS: Final = 10_000
BARRIER_COILS: Final = frozenset({CoilName.BARRIER_OPEN, CoilName.BARRIER_CLOSE})
#: Tries to switch the coil off again after a failed write, one per request timeout.
_OFF_TRIES: Final = 5
_STOP_DAEMON: Final = "stop it first (systemctl stop gate-edge) and run the pulse again"


class _Refused(Exception):
    """The pulse must not start; the message says why (one line, no traceback)."""


class _Pulse:
    """The driver's events: the link state and, for a barrier coil, an obstruction that ends the pulse."""

    def __init__(self, coil: CoilName) -> None:
        self.coil = coil
        self.up = asyncio.Event()
        self.link_detail = "not connected yet"
        self.obstructed = asyncio.Event()
        self.why_ended = ""
        self.on = False  # events end the pulse only while the coil is on

    def __call__(self, event: LaneIOEvent) -> None:
        if isinstance(event, LinkChanged):
            self.link_detail = event.detail
            if event.up:
                self.up.set()
            else:
                self.up.clear()
                self.stop_if(True, f"link lost: {event.detail}")
        elif isinstance(event, InputChanged) and self.coil in BARRIER_COILS:
            now = occupied(event.snapshot)
            self.stop_if(bool(now), f"{', '.join(now)} occupied")

    def stop_if(self, condition: bool, why: str) -> None:
        if condition and self.on and not self.obstructed.is_set():
            self.why_ended = why
            self.obstructed.set()


async def _switch_off(io: LaneIO, coil: CoilName, timeout_s: float) -> str | None:
    """Write the coil OFF (read back), retrying while the link comes back; None when done, else the error."""
    error = ""
    for _ in range(_OFF_TRIES):
        try:
            await io.write_coil(coil, False)
            return None
        except IOWriteError as exc:
            error = str(exc)
            await asyncio.sleep(timeout_s)
    return error


async def _pulse(devices: DevicesConfig, coil: CoilName, ms: int) -> int:
    state = _Pulse(coil)
    io = LaneIO(devices, state)
    runner = asyncio.create_task(io.run())
    link = devices.io
    try:
        try:
            async with asyncio.timeout(link.timeout_s * 4 + link.backoff_initial_s + 2):
                await state.up.wait()
        except TimeoutError:
            raise _Refused(f"refused: cannot reach the controller: {state.link_detail}") from None
        busy = occupied(io.snapshot)
        if coil in BARRIER_COILS and busy:
            why = "a barrier coil is never pulsed with a vehicle there"
            raise _Refused(f"refused: {', '.join(busy)} occupied: {why}")
        await _on_for(io, state, devices, ms)
    except _Refused as exc:
        print(f"io pulse: {exc}", file=sys.stderr)
        return 1
    finally:
        await io.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    if state.why_ended:
        print(f"io pulse: {coil} switched off early: {state.why_ended}", file=sys.stderr)
        return 1
    return 0


async def _on_for(io: LaneIO, state: _Pulse, devices: DevicesConfig, ms: int) -> None:
    """The coil ON for `ms` (less if a barrier coil's path fills, the link drops, a signal), then OFF."""
    coil = state.coil
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted.set)
    try:
        # Whatever happens from here (the ON write failing half-way included), the coil is switched OFF.
        state.on = True
        await io.write_coil(coil, True)
        print(f"io pulse: {coil} ON for {ms} ms", flush=True)
        busy = occupied(io.snapshot) if coil in BARRIER_COILS else []
        state.stop_if(bool(busy), f"{', '.join(busy)} occupied")  # filled between the check and the write
        ended = [asyncio.create_task(state.obstructed.wait()), asyncio.create_task(interrupted.wait())]
        await asyncio.wait(ended, timeout=ms / 1000, return_when=asyncio.FIRST_COMPLETED)
        state.on = False
        for task in ended:
            task.cancel()
        if interrupted.is_set() and not state.why_ended:
            state.why_ended = "interrupted (Ctrl-C or SIGTERM)"
    except IOWriteError as exc:
        state.why_ended = f"the ON write failed: {exc}"
    finally:
        state.on = False
        error = await _switch_off(io, coil, devices.io.timeout_s)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    wd = devices.io.watchdog
    if error is not None:
        after = (
            f"the controller's watchdog switches it off {wd.timeout_s:g} s after this pulse's last refresh"
            if wd.enabled
            else "the controller watchdog is waived: switch it off at the controller"
        )
        raise _Refused(f"{coil} may still be ON: switching it off failed ({error}); {after}")
    print(f"io pulse: {coil} OFF (read back)", flush=True)
    if wd.enabled:
        print(
            f"io pulse: the controller's watchdog, armed for the pulse, expires {wd.timeout_s:g} s after it: "
            "the outputs take their safe values (devices.io.watchdog) until the daemon starts",
            flush=True,
        )


def cmd_io_pulse(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    tool_logging(args, config)
    coil = CoilName(args.coil)
    devices = config.devices
    kiosk = config.kiosk
    if kiosk.enabled and kiosk_listening(kiosk.host, kiosk.port):
        print(
            f"io pulse: refused: something listens on the kiosk's address {kiosk.host}:{kiosk.port}, so the "
            f"lane daemon seems to run on this machine; {_STOP_DAEMON}",
            file=sys.stderr,
        )
        return 1
    try:
        busy = asyncio.run(watchdog_in_use(devices.io))
    except KeyboardInterrupt:
        print("io pulse: interrupted; no output was switched", file=sys.stderr)
        return 130
    except ControllerUnreachable as exc:
        print(f"io pulse: cannot check the controller: {exc}", file=sys.stderr)
        return 1
    if busy:
        print(f"io pulse: refused: {busy}; {_STOP_DAEMON}", file=sys.stderr)
        return 1
    if busy == "":
        print(
            "io pulse: warning: the controller's watchdog has no trigger or status register to read, so "
            "whether the lane daemon drives it cannot be seen from here: make sure it is stopped",
            file=sys.stderr,
        )
    try:
        return asyncio.run(_pulse(devices, coil, args.ms))
    except KeyboardInterrupt:  # before the coil was switched on (after, the pulse handles it)
        print("io pulse: interrupted; no output was switched", file=sys.stderr)
        return 130
