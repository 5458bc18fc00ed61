"""`gate-edge`: the command line of the lane daemon."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge.central_cli import add_central_parser
from edge.config import ConfigError, GateConfig, load_config, watchdog_not_set
from edge.declaration import Declaration
from edge.keys_cli import add_keys_parser
from edge.kiosk.cli import add_kiosk_parsers
from edge.logs import configure_logging
from edge.vision_cli import add_vision_parser
from edge.watchdog import task_check
from vision.identity import Identification, IdentificationSource


class NoCameras:
    """Identification source for a lane whose cameras are not configured: every vehicle goes to an officer."""

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        return Identification(plate=None)


def _load(path: str | None, args: argparse.Namespace | None = None) -> GateConfig:
    """Read the configuration (exit 1 naming every bad key); with `args`, log as it and the flags say."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"{exc.source}: {line}", file=sys.stderr)
        raise SystemExit(1) from None
    if args is not None:
        configure_logging(config.logging, fmt=args.log_format, level=args.log_level)
    return config


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
        unguarded = watchdog_not_set(config)
        if unguarded is not None:
            raise ConfigError(args.file, [unguarded])
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        print(f"{exc.source}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    watchdog = config.devices.io.watchdog
    if watchdog.enabled:
        print(
            f"controller watchdog: outputs safe ({watchdog.safe_action.value}) {watchdog.timeout_s} s after "
            "the daemon's last refresh"
        )
    else:
        print(f"warning: controller watchdog waived: {watchdog.waive_reason}", file=sys.stderr)
    if config.sync.enabled and not config.sync.clearance_keys:
        print(
            "warning: sync.clearance_keys is empty: every clearance from central is rejected until central's "
            "public key is added (gate-edge keys public KEYFILE at central; docs/deploy.md)",
            file=sys.stderr,
        )
    print(f"{args.file}: ok (gate {config.gate_id}, lane {config.lane.lane_id})")
    return 0


async def _run_until_signal(main: asyncio.Task[Any]) -> None:
    """Wait for `main` to finish or for SIGINT/SIGTERM, whichever comes first."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if main in done:
        main.result()


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

    config = _load(args.config, args)
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
            await _run_until_signal(task)
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

    config = _load(args.config, args)
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
        await _run_until_signal(task)
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


#: A declaration is about a kilobyte: this is hundreds of thousands of them.
MAX_IMPORT_BYTES = 256 * 1024 * 1024
#: Errors printed for one import file; the rest are counted.
MAX_IMPORT_ERRORS = 20


def cmd_declarations_import(args: argparse.Namespace) -> int:
    from edge.store import Store
    from sync.contract import Rejected, decode_json

    config = _load(args.config)
    try:
        with Path(args.file).open("rb") as file:
            raw = file.read(MAX_IMPORT_BYTES + 1)
        data = decode_json(raw, MAX_IMPORT_BYTES)  # bounded: size, digits, depth, surrogates, duplicate keys
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Rejected as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 1
    if not isinstance(data, list):
        print(f"{args.file}: expected a JSON list of declarations", file=sys.stderr)
        return 1
    decls, errors, bad = _validated_declarations(data)
    for line in errors:
        print(f"{args.file}: {line}", file=sys.stderr)
    if bad:
        print(f"{args.file}: {bad} of {len(data)} declarations invalid; nothing imported", file=sys.stderr)
        return 1
    store = Store(config.store.path)
    try:
        applied = sum(1 for d in decls if store.declarations.upsert(d))
    finally:
        store.close()
    print(f"{applied} of {len(decls)} declarations applied (older or equal versions are kept)")
    return 0


def _validated_declarations(items: list[Any]) -> tuple[list[Declaration], list[str], int]:
    """Each item validated on its own: the valid ones, the first MAX_IMPORT_ERRORS errors by index, and
    how many items were invalid (memory stays bounded whatever the file holds)."""
    decls: list[Declaration] = []
    errors: list[str] = []
    bad = 0
    for index, item in enumerate(items):
        try:
            decls.append(Declaration.model_validate(item))
        except ValidationError as exc:
            bad += 1
            for err in exc.errors()[: max(0, MAX_IMPORT_ERRORS - len(errors))]:
                errors.append(f"{index}.{'.'.join(map(str, err['loc']))}: {err['msg']}")
    return decls, errors, bad


def cmd_config_example(args: argparse.Namespace) -> int:
    from edge.examples import render_demo, render_site

    print(render_site() if args.site else render_demo(), end="")
    return 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    print(json.dumps(GateConfig.model_json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-edge", description="Customs border-gate lane daemon.")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=None,
        help="Level of every logger (overrides logging.level of the configuration).",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="text for a terminal, json (one object per line) for journald; overrides logging.format.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check-config", help="Validate a gate configuration file; exit 1 on any error.")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("config", help="Print an example configuration or the JSON Schema.")
    csub = p.add_subparsers(dest="action", required=True)
    q = csub.add_parser("example", help="A commented example configuration.")
    q.add_argument("--site", action="store_true", help="A real lane rather than the demo gate.")
    q.add_argument("--demo", action="store_true", help="The demo gate (default).")
    q.set_defaults(func=cmd_config_example)
    q = csub.add_parser("schema", help="The JSON Schema of the configuration.")
    q.set_defaults(func=cmd_config_schema)

    p = sub.add_parser("run", help="Run the lane daemon on real hardware.")
    p.add_argument("--config", required=True)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="Run a whole simulated lane (embedded defaults unless --config).")
    p.add_argument("--config", default=None)
    p.add_argument("--vehicles", type=int, default=None, help="Vehicles to send through (0: until Ctrl-C).")
    p.add_argument("--db", default=None, help="Store file (overrides store.path).")
    p.add_argument("--keep-store", action="store_true", help="Keep the store of an earlier demo run.")
    p.set_defaults(func=cmd_demo)

    add_vision_parser(sub)
    add_kiosk_parsers(sub)
    add_central_parser(sub)
    add_keys_parser(sub)

    p = sub.add_parser("declarations", help="Manage the cached declarations.")
    dsub = p.add_subparsers(dest="action", required=True)
    q = dsub.add_parser("import", help="Import declarations from a JSON list (newer versions win).")
    q.add_argument("file")
    q.add_argument("--config", default=None)
    q.set_defaults(func=cmd_declarations_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Until a command has read its configuration: the defaults (pymodbus quiet) and the flags.
    configure_logging(fmt=args.log_format, level=args.log_level)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
