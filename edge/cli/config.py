"""`gate-edge check-config` and `gate-edge config example|schema`."""

from __future__ import annotations

import argparse
import json
import sys

from edge.config import ConfigError, GateConfig, load_config, watchdog_not_set


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
    model_error = _vision_model_error(config)
    if model_error:
        print(model_error, file=sys.stderr)
        print(f"{args.file}: 1 error(s)", file=sys.stderr)
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


def _vision_model_error(config: GateConfig) -> str | None:
    """Why the plate-trained reader's model cannot be used (missing, damaged, not a plate reader), when
    a camera reads with it; checked as the daemon will load it, so the fault shows before the start."""
    from vision.config import PlateReaderKind
    from vision.plate_reader import PlateReader
    from vision.read import ModelError

    vision = config.vision
    if not vision.cameras or PlateReaderKind.CCT not in vision.readers_in_use():
        return None
    try:
        PlateReader(vision.plate_reader_file, threads=1)
    except ModelError as exc:
        return f"vision.plate_reader_file: {exc}"
    return None


def cmd_config_example(args: argparse.Namespace) -> int:
    from edge.examples import render_demo, render_site

    print(render_site() if args.site else render_demo(), end="")
    return 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    print(json.dumps(GateConfig.model_json_schema(), indent=2))
    return 0


def add_config_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `check-config` and `config` (example, schema) to gate-edge's subcommands."""
    p = subparsers.add_parser("check-config", help="Validate a gate configuration file; exit 1 on any error.")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = subparsers.add_parser("config", help="Print an example configuration or the JSON Schema.")
    csub = p.add_subparsers(dest="action", required=True)
    q = csub.add_parser("example", help="A commented example configuration.")
    q.add_argument("--site", action="store_true", help="A real lane rather than the demo gate.")
    q.add_argument("--demo", action="store_true", help="The demo gate (default).")
    q.set_defaults(func=cmd_config_example)
    q = csub.add_parser("schema", help="The JSON Schema of the configuration.")
    q.set_defaults(func=cmd_config_schema)
