"""Serving the kiosk with uvicorn inside the daemon's own asyncio loop.

uvicorn normally owns the process: it installs SIGINT/SIGTERM handlers and calls sys.exit when it cannot
bind. Embedded in the daemon, the daemon owns signals, and a port already in use is a typed error the
daemon can log and act on, not an exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator
from datetime import datetime
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from edge.kiosk.app import create_app
from edge.kiosk.config import KioskConfig
from edge.kiosk.context import KioskContext
from edge.kiosk.live import SyncStatus

if TYPE_CHECKING:
    from edge.kiosk.lane_access import LaneAccess

log = logging.getLogger("edge.kiosk")

GRACEFUL_S = 2.0


class KioskStartError(Exception):
    """The kiosk could not start (port in use, bad certificate, ...)."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers to the daemon."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def uvicorn_config(app: FastAPI, config: KioskConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        ssl_certfile=str(config.tls_cert) if config.tls_cert else None,
        ssl_keyfile=str(config.tls_key) if config.tls_key else None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",  # the live view is server-sent events
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(GRACEFUL_S),
    )


async def serve_kiosk(
    lane: LaneAccess,
    config: KioskConfig,
    *,
    clock: Callable[[], float] | None = None,
    wall: Callable[[], datetime] | None = None,
    started: asyncio.Event | None = None,
    sync_status: SyncStatus | None = None,
) -> None:
    """Serve the kiosk until cancelled, then stop gracefully (open live streams end at once).

    Raises KioskStartError if it cannot listen. `started` is set once it accepts connections;
    `sync_status` (the uplink's `status`) feeds the broker and clearance figures of the screen.
    """
    app = create_app(lane, config, clock=clock, wall=wall, sync_status=sync_status)
    server = _EmbeddedServer(uvicorn_config(app, config))
    serving = asyncio.create_task(_serve(server), name="kiosk-uvicorn")
    try:
        while not server.started:
            if serving.done():
                await serving  # raises KioskStartError
                raise KioskStartError("kiosk server stopped before it started")
            await asyncio.sleep(0.02)
        scheme = "https" if config.tls else "http"
        log.info("kiosk listening on %s://%s:%d", scheme, config.host, config.port)
        if started is not None:
            started.set()
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        context: KioskContext = app.state.kiosk
        await context.hub.close()  # ends the live streams, so shutdown need not wait for them
        server.should_exit = True
        with contextlib.suppress(KioskStartError):
            await serving
        raise


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn's answer to a failed bind or lifespan startup
        raise KioskStartError(
            f"kiosk could not start on {server.config.host}:{server.config.port} (see the log above)"
        ) from exc


async def run_kiosk(lane: LaneAccess, config: KioskConfig, *, sync_status: SyncStatus | None = None) -> None:
    """`serve_kiosk` as the daemon's command runs it: nothing when disabled; a failed start is logged once
    and the lane runs on without its screen (the barrier never depends on the kiosk)."""
    if not config.enabled:
        log.info("kiosk disabled in the configuration")
        return
    try:
        await serve_kiosk(lane, config, sync_status=sync_status)
    except KioskStartError as exc:
        log.error("%s: the lane runs without its kiosk", exc)
