"""Logging for the installer's tools (io, scale, vision snapshot): on stderr, warnings and up by default.

What these commands print is their output; the drivers' own INFO lines (link up, port open) would repeat
it on the same stream. --log-level DEBUG or INFO brings them back, on stderr. pymodbus's own ERROR lines
(`No response received after 3 retries`) repeat the command's words about the same fault: they too show
only at a --log-level given.
"""

from __future__ import annotations

import argparse
import sys

from edge.config import GateConfig
from edge.logs import LoggingConfig, configure_logging

_QUIET = "CRITICAL"  # a library's level when the command's own lines already say what it would


def tool_logging(args: argparse.Namespace, config: GateConfig | None = None) -> None:
    """Log to stderr at --log-level, else WARNING; the configuration's format and redaction otherwise."""
    logging_config = config.logging if config else LoggingConfig()
    levels = {**logging_config.levels, "pymodbus": args.log_level or _QUIET}
    configure_logging(
        logging_config.model_copy(update={"levels": levels}),
        fmt=args.log_format,
        level=args.log_level or "WARNING",
        stream=sys.stderr,
    )
