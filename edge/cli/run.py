"""`gate-edge run` (the lane daemon on real hardware) and `gate-edge demo` (a whole simulated lane)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.cli.loading import load_or_exit
from edge.cli.signals import run_until_signal
from edge.config import GateConfig
from edge.watchdog import task_check
from vision.identity import Identification, IdentificationSource


class NoCameras:
    """Identification source for a lane whose cameras are not configured: every vehicle goes to an officer."""

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        return Identification(plate=None)


def _identifier(config: GateConfig) -> IdentificationSource:
    """The lane's cameras, or NoCameras when none are configured (every vehicle then goes to an officer)."""
    if not config.vision.cameras:
        return NoCameras()
    from vision.identifier import CameraIdentifier
    from vision.read import ModelError

    try:
        cameras = CameraIdentifier(config.vision)
    except ModelError as exc:
        print(f"vision: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    cameras.start()
    return cameras


def _report_end(what: str) -> Callable[[asyncio.Task[Any]], None]:
    """A done-callback that logs a background task that ended by crashing (once, with its traceback)."""

    def done(task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logging.getLogger("edge.cli").error("%s stopped", what, exc_info=task.exception())

    return done


def cmd_run(args: argparse.Namespace) -> int:
    from edge.daemon import LaneDaemon, LaneProcessEnded
    from edge.sdnotify import SdNotifier

    config = load_or_exit(args.config, args)
    identifier = _identifier(config)

    async def _main() -> bool:
        """Run until a signal; True when the lane failed (the exit status must tell systemd)."""
        from edge.kiosk.server import run_kiosk
        from edge.uplink import Uplink

        daemon = LaneDaemon(config, identifier, notifier=SdNotifier.from_env())
        uplink = Uplink.for_daemon(daemon, config.sync)
        daemon.uplink_status = uplink.status
        task = asyncio.create_task(daemon.run())
        link = asyncio.create_task(uplink.run())
        link.add_done_callback(_report_end("uplink to central"))
        # A dead uplink stops the watchdog pings: systemd restarts the daemon (events wait in the outbox).
        daemon.watchdog.register("uplink", task_check(link))
        # A stuck or crashed inbound task would leave revocations unapplied: the same, and /readyz says so.
        daemon.watchdog.register("uplink-inbound", uplink.inbound_alive)
        kiosk = asyncio.create_task(run_kiosk(daemon, config.kiosk, sync_status=uplink.status))
        failed = False
        try:
            await run_until_signal(task)
        except LaneProcessEnded:
            failed = True
        kiosk.cancel()  # before the daemon closes the store the kiosk reads
        with contextlib.suppress(asyncio.CancelledError):
            await kiosk
        await uplink.stop()  # a retained offline status; undelivered events stay in the outbox
        with contextlib.suppress(Exception):  # a crashed uplink was reported when it ended
            await link
        await daemon.stop()
        with contextlib.suppress(LaneProcessEnded):  # already counted above
            await task
        return failed

    try:
        failed = asyncio.run(_main())
    finally:
        stop = getattr(identifier, "stop", None)
        if stop is not None:
            stop()
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from edge.demo.runner import DemoGate, DemoStartError

    config = load_or_exit(args.config, args)
    if args.vehicles is not None:
        config = config.model_copy(
            update={"demo": config.demo.model_copy(update={"vehicles": args.vehicles})}
        )
    if args.db:
        config = config.model_copy(update={"store": config.store.model_copy(update={"path": Path(args.db)})})
    config.store.path.parent.mkdir(parents=True, exist_ok=True)
    if not args.keep_store:  # a demo starts clean: exits from an earlier run would reject its traffic
        for suffix in ("", "-wal", "-shm"):
            Path(f"{config.store.path}{suffix}").unlink(missing_ok=True)

    async def _main() -> None:
        gate = DemoGate(config)
        task = asyncio.create_task(gate.run(config.demo.vehicles))
        await run_until_signal(task)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        printer = gate.printer
        print(f"demo: {printer.decided} vehicles decided, {printer.as_expected} as the scenario expected")

    try:
        asyncio.run(_main())
    except DemoStartError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


_RUN_DESCRIPTION = """\
Run one lane's daemon on real hardware until SIGTERM or Ctrl-C (systemd runs this).

It connects the lane I/O controller (Modbus TCP or RTU), the weighbridge indicator and the cameras named
in the configuration, runs the lane state machine in a process of its own, serves the officer's kiosk,
and sends every lane event to the central office through the store-and-forward outbox. Without cameras
every vehicle is held for an officer. Under systemd it reports ready and pings the watchdog. Exit
status 1 when the lane process ended by itself (systemd restarts the service), 0 on a clean stop.
Check a configuration first with `gate-edge check-config FILE`.
"""

_DEMO_DESCRIPTION = """\
Run a whole simulated gate lane on the production code paths, until Ctrl-C (or --vehicles N).

The lane I/O controller is a real Modbus TCP server (pymodbus) and the weighbridge indicator writes real
Toledo frames into a pty; generated trucks (most cleared, some with one known fault each) drive onto the
weighbridge, and their plates and containers are drawn into camera frames and read by the real ONNX
models (demo.cameras: rendered). Each transaction is printed as it happens, and so is every officer
action (who, what, why). The officer's kiosk is served (kiosk.port, 8080 by default) and the demo
prints accounts for it with passwords made for the run. Where Debian's mosquitto is installed, a private
broker and the reference central office start too, and central sends the gate its declarations.

A simulated officer answers held trucks after demo.officer_auto_s seconds; set it to 0 in a copy of
config/demo.yaml to be the officer yourself at the kiosk: each truck then does what you decide (drives
through once approved, backs out once rejected). The store (store.path) starts empty unless
--keep-store. On Ctrl-C it prints how many vehicles were decided as their scenario expected.
"""


def add_run_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `run` and `demo` to gate-edge's subcommands."""
    p = subparsers.add_parser(
        "run",
        help="Run the lane daemon on real hardware.",
        description=_RUN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        required=True,
        metavar="FILE",
        help="The lane's YAML configuration (`gate-edge config example --site` writes a commented one).",
    )
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser(
        "demo",
        help="Run a whole simulated lane until Ctrl-C (embedded defaults unless --config).",
        description=_DEMO_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="A YAML configuration (default: the embedded one, as config/demo.yaml); its demo section "
        "sets the traffic, the cameras and the simulated officer.",
    )
    p.add_argument(
        "--vehicles",
        type=int,
        default=None,
        metavar="N",
        help="Send N vehicles through, then stop (default: demo.vehicles; 0 runs until Ctrl-C).",
    )
    p.add_argument("--db", default=None, metavar="FILE", help="The store file (overrides store.path).")
    p.add_argument(
        "--keep-store",
        action="store_true",
        help="Keep the store of an earlier demo run (default: start empty, as exits recorded by an earlier "
        "run would reject its trucks).",
    )
    p.set_defaults(func=cmd_demo)
