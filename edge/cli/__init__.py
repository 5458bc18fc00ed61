"""`gate-edge`: the command line of the lane daemon, one module per command group.

Run it as `gate-edge` or `python -m edge.cli`; `python -m edge.cli.central` runs the central office alone.
"""

from __future__ import annotations

import argparse

from edge.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    # The command modules are imported here, not at the top: `python -m edge.cli.central` imports this
    # package first, and a package that had already imported central.py would make runpy warn on stderr.
    from edge.cli import (
        audit,
        central,
        config,
        declarations,
        io,
        keys,
        run,
        scale,
        store_backup,
        users,
        vision,
        watchlist,
    )

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
    config.add_config_parsers(sub)
    run.add_run_parsers(sub)
    vision.add_vision_parser(sub)
    users.add_users_parser(sub)
    audit.add_audit_parser(sub)
    central.add_central_parser(sub)
    keys.add_keys_parser(sub)
    declarations.add_declarations_parser(sub)
    watchlist.add_watchlist_parser(sub)
    io.add_io_parser(sub)
    scale.add_scale_parser(sub)
    store_backup.add_store_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Until a command has read its configuration: the defaults (pymodbus quiet) and the flags.
    configure_logging(fmt=args.log_format, level=args.log_level)
    return int(args.func(args))
