"""Reading the gate configuration for a command: exit 1 naming every bad key."""

from __future__ import annotations

import argparse
import sys

from edge.config import ConfigError, GateConfig, load_config
from edge.logs import configure_logging


def load_or_exit(path: str | None, args: argparse.Namespace | None = None) -> GateConfig:
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
