"""Keeping OpenCV's and FFmpeg's own log lines out of a command's output.

OpenCV writes its warnings (`[ WARN:0@2.8] global loadsave.cpp ...`) straight to stderr from C++, with no
hook Python can take: they are silenced unless the command runs at --log-level DEBUG, where they are left
on. FFmpeg's lines come through PyAV, which hands them to Python's `libav` loggers: they are logged again
at DEBUG under `edge.cli.media`, so they show with --log-level DEBUG and nowhere else.
"""

from __future__ import annotations

import logging

log = logging.getLogger("edge.cli.media")


class _AtDebug(logging.Handler):
    """Re-logs every record of the `libav` loggers at DEBUG under edge.cli.media."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("%s: %s", record.name, record.getMessage())


def route_media_logs() -> None:
    """Call after logging is configured: its level decides whether OpenCV may still write to stderr."""
    import av.logging
    import cv2

    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    cv_logging = cv2.utils.logging
    cv_logging.setLogLevel(cv_logging.LOG_LEVEL_DEBUG if debug else cv_logging.LOG_LEVEL_SILENT)
    libav = logging.getLogger("libav")
    if not any(isinstance(h, _AtDebug) for h in libav.handlers):
        libav.addHandler(_AtDebug())
    libav.propagate = False
    libav.setLevel(logging.DEBUG)
    av.logging.set_level(av.logging.VERBOSE if debug else av.logging.WARNING)
