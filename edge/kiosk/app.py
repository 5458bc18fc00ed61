"""The kiosk app factory: the officer's page, the JSON API under /api/v1 and the probes, for one lane.

Every handler is `async def` on purpose: they run on the daemon's own loop, between lane events, so they
read the lane and its store from the thread that owns them (sqlite connections never cross threads).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from edge.kiosk import routes_history, routes_lane, routes_pages, routes_session
from edge.kiosk.body_limit import BodyLimit
from edge.kiosk.config import KioskConfig
from edge.kiosk.context import KioskContext
from edge.kiosk.live import LiveHub, SyncStatus
from edge.kiosk.login_throttle import LoginThrottle
from edge.kiosk.refusals import answer_refusal
from edge.kiosk.sessions import RateLimiter, SessionStore
from edge.kiosk.users import UsersRepo
from edge.kiosk.validation_errors import answer_validation_error
from edge.kiosk.views import ErrorBody
from edge.metrics import mount_metrics
from sync.outbox import utc_now
from webauth.base_style import mount_base_style
from webauth.headers import SecurityHeaders

if TYPE_CHECKING:
    from edge.kiosk.lane_access import LaneAccess

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    lane: LaneAccess,
    config: KioskConfig,
    *,
    clock: Callable[[], float] | None = None,
    wall: Callable[[], datetime] | None = None,
    sync_status: SyncStatus | None = None,
) -> FastAPI:
    """The kiosk for `lane`; `sync_status` reports the link to central (the uplink's `status`).

    `clock` (monotonic) and `wall` (aware UTC) are injectable for tests.
    """
    clock = clock or time.monotonic
    wall = wall or utc_now
    hub = LiveHub(lane, sync_status)
    context = KioskContext(
        lane=lane,
        config=config,
        users=UsersRepo(lane.store.conn),
        sessions=SessionStore(config.session_idle_timeout_s, config.session_max_age_s, clock),
        login_limiter=RateLimiter(config.login_rate_per_minute, 60.0, clock),
        login_throttle=LoginThrottle(config, clock),
        hub=hub,
        clock=clock,
        wall=wall,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            await hub.close()

    app = FastAPI(
        title="border-gate-edge kiosk",
        version="1",
        summary="The gate officer's screen and API for one lane.",
        docs_url=None,  # the interactive docs load from a CDN; the schema itself stays at /openapi.json
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.kiosk = context
    app.add_exception_handler(RequestValidationError, answer_validation_error)
    app.add_exception_handler(HTTPException, answer_refusal)  # refusals in both languages
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: the 413s get the headers too
    mount_base_style(app)  # before /static, which would otherwise answer /static/base/...
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    too_large = {"model": ErrorBody, "description": f"Request body over {config.max_body_bytes} bytes."}
    for module in (routes_session, routes_lane, routes_history, routes_pages):
        app.include_router(module.router, responses={413: too_large})
    mount_metrics(app, lane.metrics)  # Prometheus scrapes the daemon's own port: no login, firewall it
    return app
