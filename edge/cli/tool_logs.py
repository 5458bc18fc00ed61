"""Logging for the installer's tools (io, scale, vision snapshot): on stderr, warnings and up by default.

What these commands print is their output; the drivers' own INFO lines (link up, port open) would repeat
it on the same stream. --log-level DEBUG or INFO brings them back, on stderr.
"""

from __future__ import annotations

import argparse
import sys

from edge.config import GateConfig
from edge.logs import configure_logging


def tool_logging(args: argparse.Namespace, config: GateConfig | None = None) -> None:
    """Log to stderr at --log-level, else WARNING; the configuration's format and redaction otherwise."""
    configure_logging(
        config.logging if config else None,
        fmt=args.log_format,
        level=args.log_level or "WARNING",
        stream=sys.stderr,
    )
