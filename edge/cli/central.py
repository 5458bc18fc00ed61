"""`gate-edge central ...`: a thin alias of `gate-central`, the central office's own command line.

The gate never imports the central package: this parser takes every argument after ``central`` as it is
(its prefix character is one no argument starts with, so even ``--help`` passes through) and the command
imports central only when it runs. ``python -m edge.cli.central`` runs it alone, as before.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_central(args: argparse.Namespace) -> int:
    from central.cli import main  # the central package: imported only for this command

    return main(list(args.central_args), prog="gate-edge central")


def add_central_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``central`` (run, clearances, command, report: `gate-central --help`) to the gate CLI."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "central",
        help="The central office (same as gate-central): run, clearances, command, report.",
        add_help=False,
        prefix_chars="\x00",
    )
    parser.add_argument("central_args", nargs=argparse.REMAINDER)
    parser.set_defaults(func=cmd_central)
    return parser


def main(argv: list[str] | None = None) -> int:
    return cmd_central(argparse.Namespace(central_args=sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
